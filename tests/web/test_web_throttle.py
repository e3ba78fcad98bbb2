from yardcam.web import LoginThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_locks_after_max_failures_and_doubles() -> None:
    clock = Clock()
    throttle = LoginThrottle(max_failures=3, lockout=10, max_lockout=25, clock=clock)
    for _ in range(2):
        throttle.failed("alice", "1.2.3.4")
        assert throttle.retry_after("alice", "1.2.3.4") is None
    throttle.failed("Alice", "1.2.3.4")  # case-folded: same budget
    assert throttle.retry_after("alice", "1.2.3.4") == 10
    assert throttle.retry_after("alice", "5.6.7.8") is None  # per address
    assert throttle.retry_after("bob", "1.2.3.4") is None  # per username
    clock.now += 10.5
    assert throttle.retry_after("alice", "1.2.3.4") is None
    throttle.failed("alice", "1.2.3.4")
    assert throttle.retry_after("alice", "1.2.3.4") == 20
    clock.now += 21
    throttle.failed("alice", "1.2.3.4")
    assert throttle.retry_after("alice", "1.2.3.4") == 25  # capped


def test_success_and_time_forget_failures() -> None:
    clock = Clock()
    throttle = LoginThrottle(max_failures=2, forget_after=60, clock=clock)
    throttle.failed("alice", "a")
    throttle.succeeded("alice", "a")
    throttle.failed("alice", "a")
    assert throttle.retry_after("alice", "a") is None
    clock.now += 61
    throttle.failed("alice", "a")
    assert throttle.retry_after("alice", "a") is None


def test_memory_is_bounded() -> None:
    throttle = LoginThrottle(max_failures=1, max_address_failures=10**9, max_keys=100)
    for i in range(1000):
        throttle.failed(f"user{i}", "a")
    assert throttle.retry_after("user999", "a") is not None
    assert throttle.retry_after("user0", "a") is None


def test_cycling_usernames_hits_the_address_budget() -> None:
    throttle = LoginThrottle(max_failures=5, max_address_failures=10, lockout=30, clock=Clock())
    for i in range(10):
        assert throttle.retry_after(f"user{i}", "1.2.3.4") is None
        throttle.failed(f"user{i}", "1.2.3.4")
    assert throttle.retry_after("someone-new", "1.2.3.4") == 30
    assert throttle.retry_after("someone-new", "5.6.7.8") is None
