"""The session's cookie jar: requests' dict-like API, the stdlib http.cookiejar rules."""

from __future__ import annotations

import http.cookiejar
import threading

import pytest

from yardcam import requests
from yardcam.requests._urls import parse_url
from yardcam.requests.cookies import RequestsCookieJar


def sent(jar: RequestsCookieJar, url: str) -> str | None:
    return jar.header_for(parse_url(url))


def test_host_only_cookie_goes_back_to_its_host_only() -> None:
    jar = RequestsCookieJar()
    jar.extract(parse_url("http://cam.local/login"), ["sid=1; HttpOnly"])
    assert sent(jar, "http://cam.local/x") == "sid=1"
    assert sent(jar, "http://sub.cam.local/x") is None  # RFC 6265: host-only
    assert sent(jar, "http://other/x") is None
    assert dict(jar) == {"sid": "1"}


def test_domain_path_secure_and_order() -> None:
    jar = RequestsCookieJar()
    url = parse_url("https://a.example.com/")
    jar.extract(url, ["wide=1; Domain=.example.com; Path=/"])
    jar.extract(url, ["deep=2; Path=/api; Secure"])
    assert sent(jar, "https://b.example.com/") == "wide=1"
    assert sent(jar, "https://a.example.com/api/x") == "deep=2; wide=1"  # longer path first
    assert sent(jar, "http://a.example.com/api/x") == "wide=1"  # Secure: https only
    assert sent(jar, "https://a.example.com/apix") == "wide=1"


def test_the_stdlib_policy_refuses_foreign_and_top_level_domains() -> None:
    jar = RequestsCookieJar()
    url = parse_url("https://a.example.com/")
    jar.extract(url, ["evil=3; Domain=other.com", "tld=4; Domain=com", "dot=5; Domain=.com"])
    assert len(jar) == 0 and "evil" not in jar and "tld" not in jar


def test_expiry_deletes() -> None:
    jar = RequestsCookieJar()
    url = parse_url("http://h.lan/")
    jar.extract(url, ["a=1", "b=2; Max-Age=100"])
    jar.extract(url, ["a=gone; Max-Age=0"])
    jar.extract(url, ["c=old; Expires=Wed, 21 Oct 2015 07:28:00 GMT"])
    assert sent(jar, "http://h.lan/") == "b=2"


def test_dict_like_get_set_delete() -> None:
    jar = RequestsCookieJar()
    jar["theme"] = "dark"
    assert sent(jar, "http://any.host/") == "theme=dark"  # set by hand: every host
    jar.set("sid", "7", domain="cam.lan", path="/api")
    assert sent(jar, "http://cam.lan/api/frames") == "sid=7; theme=dark"
    assert sent(jar, "http://live.cam.lan/api") == "sid=7; theme=dark"  # a domain covers subs
    assert sent(jar, "http://cam.lan/") == "theme=dark"
    assert (jar["sid"], jar.get("sid"), jar.get("nope"), jar.get("nope", "x")) == (
        "7",
        "7",
        None,
        "x",
    )
    assert "sid" in jar and "nope" not in jar
    assert sorted(jar.keys()) == ["sid", "theme"] and sorted(jar.items()) == [
        ("sid", "7"),
        ("theme", "dark"),
    ]
    assert jar.get_dict(domain="cam.lan") == {"sid": "7"}
    assert all(isinstance(c, http.cookiejar.Cookie) for c in jar)  # iterates like requests' jar
    del jar["theme"]
    jar.set("sid", None)  # None removes, as in requests
    assert len(jar) == 0
    with pytest.raises(KeyError):
        jar["sid"]
    with pytest.raises(KeyError):
        del jar["sid"]


def test_one_name_for_two_domains_must_be_told_apart() -> None:
    jar = RequestsCookieJar()
    jar.set("sid", "a", domain="a.lan")
    jar.set("sid", "b", domain="b.lan")
    with pytest.raises(requests.CookieConflictError, match=r"domain=\.\.\., path=\.\.\.") as info:
        jar["sid"]
    assert isinstance(info.value, RuntimeError)  # requests' contract
    assert jar.get("sid", domain="b.lan") == "b"


def test_thread_safe_reads_while_a_response_stores() -> None:
    jar = RequestsCookieJar()
    url = parse_url("http://cam.lan/")
    done = threading.Event()

    def store() -> None:
        for n in range(300):
            jar.extract(url, [f"c{n}={n}"])
        done.set()

    writer = threading.Thread(target=store)
    writer.start()
    while not done.is_set():
        assert len(jar.items()) <= 300
    writer.join()
    assert len(jar.keys()) == 300


def test_update_from_a_dict_or_a_jar() -> None:
    jar = RequestsCookieJar()
    jar.update({"a": "1"})
    other = RequestsCookieJar()
    other.set("b", "2", domain="cam.lan", path="/api")
    jar.update(other)
    assert sent(jar, "http://cam.lan/api/x") == "b=2; a=1"
    assert sent(jar, "http://other.lan/") == "a=1"
