import json
import stat
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from web.websupport import CHEAP
from yardcam.web import Accounts, create_first_user, ensure_secret_key


def test_verify_right_wrong_and_unknown_user() -> None:
    accounts = Accounts(hasher=CHEAP)
    accounts.set_password("alice", "s3cret-pass")
    assert accounts.verify("alice", "s3cret-pass")
    assert not accounts.verify("alice", "wrong-pass")
    assert not accounts.verify("mallory", "s3cret-pass")  # alice's password, wrong user
    assert "alice" in accounts and "mallory" not in accounts
    assert list(accounts) == ["alice"]


def test_unknown_user_with_no_users_at_all() -> None:
    assert not Accounts(hasher=CHEAP).verify("anyone", "any password")


@pytest.mark.parametrize("name", ["", "a b", "x" * 65, "é", "a/b"])
def test_bad_usernames_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="username"):
        Accounts(hasher=CHEAP).set_password(name, "long enough")


def test_short_password_is_refused() -> None:
    with pytest.raises(ValueError, match="password"):
        Accounts(hasher=CHEAP).set_password("alice", "short")


def test_file_store_is_private_atomic_and_reloaded(tmp_path: Path) -> None:
    path = tmp_path / "users.json"
    writer = Accounts(path, hasher=CHEAP)
    writer.set_password("alice", "s3cret-pass")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert list(tmp_path.iterdir()) == [path]  # no temporary files left behind
    stored = json.loads(path.read_text())["users"]["alice"]
    assert stored.startswith("$argon2id$") and "s3cret" not in path.read_text()

    reader = Accounts(path, hasher=CHEAP)
    assert reader.verify("alice", "s3cret-pass")
    writer.set_password("bob", "another-pass")  # a running server sees CLI changes
    assert reader.verify("bob", "another-pass")
    writer.remove("bob")
    assert "bob" not in reader


def test_hash_is_upgraded_when_parameters_change(tmp_path: Path) -> None:
    path = tmp_path / "users.json"
    Accounts(path, hasher=CHEAP).set_password("alice", "s3cret-pass")
    stronger = PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1)
    accounts = Accounts(path, hasher=stronger)
    before = json.loads(path.read_text())["users"]["alice"]
    assert accounts.verify("alice", "s3cret-pass")
    after = json.loads(path.read_text())["users"]["alice"]
    assert before != after and "t=2" in after and "m=2048" in after
    assert not accounts.verify("alice", "wrong-pass")


def test_session_tag_changes_with_the_password() -> None:
    accounts = Accounts(hasher=CHEAP)
    accounts.set_password("alice", "s3cret-pass")
    tag = accounts.session_tag("alice")
    accounts.set_password("alice", "s3cret-pass")  # same password, new salt
    assert tag is not None and accounts.session_tag("alice") not in (None, tag)
    assert accounts.session_tag("nobody") is None


@pytest.mark.parametrize("text", ['{"users": {"alice": 3}}', "{not json", "[]"])
def test_corrupt_file_at_startup_is_a_clear_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "users.json"
    path.write_text(text)
    with pytest.raises(ValueError, match="not a yardcam accounts file"):
        Accounts(path, hasher=CHEAP)


def test_corrupt_file_while_running_keeps_the_last_good_users(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "users.json"
    accounts = Accounts(path, hasher=CHEAP)
    accounts.set_password("alice", "s3cret-pass")
    path.write_text("{half an edit")
    assert accounts.verify("alice", "s3cret-pass")
    assert "keeping the 1 users loaded before" in caplog.text


def test_public_surface() -> None:
    import yardcam.web as web

    assert web.__all__ == [
        "CONTENT_SECURITY_POLICY",
        "CORS_MAX_AGE",
        "FRESH_SECONDS",
        "JWT_LIFETIME",
        "MAX_SESSIONS_PER_USER",
        "REMEMBER_SECONDS",
        "Accounts",
        "Auth",
        "CSRFMiddleware",
        "JwtSigner",
        "LiveSession",
        "LoginThrottle",
        "SecurityHeadersMiddleware",
        "Server",
        "ServingLimits",
        "SessionMiddleware",
        "SessionRegistry",
        "SessionStore",
        "WebSettings",
        "browser_zone",
        "create_first_user",
        "csrf_token",
        "ensure_secret_key",
        "ensure_self_signed_cert",
        "localtime",
        "make_templates",
        "new_session_id",
        "parse_basic",
        "raise_open_file_limit",
        "read_new_password",
        "rotate_csrf_token",
        "same_origin",
        "token_matches",
        "web_middleware",
        "zone_named",
    ]


def test_first_user_is_created_once(tmp_path: Path) -> None:
    accounts = Accounts(tmp_path / "users.json", hasher=CHEAP)
    password = create_first_user(accounts)
    assert password and len(password) >= 16 and accounts.verify("owner", password)
    assert create_first_user(accounts) is None
    assert list(accounts) == ["owner"]


def test_secret_key_is_private_and_stable(tmp_path: Path) -> None:
    path = tmp_path / "secret"
    key = ensure_secret_key(path)
    assert len(key) >= 32 and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert ensure_secret_key(path) == key
    path.write_text("short")  # a truncated or hand-edited secret is replaced, never used
    assert ensure_secret_key(path) not in ("short", key)
