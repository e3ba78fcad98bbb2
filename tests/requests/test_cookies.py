"""The small cookie jar: host-only by default, Domain, Path, Secure, expiry."""

from __future__ import annotations

from yardcam.requests._cookies import CookieJar


def test_host_only_cookie_goes_back_to_its_host_only() -> None:
    jar = CookieJar()
    jar.extract("http", "cam.local", "/login", ["sid=1; HttpOnly"])
    assert jar.header_for("http", "cam.local", "/x") == "sid=1"
    assert jar.header_for("http", "sub.cam.local", "/x") is None
    assert jar.header_for("http", "other", "/x") is None
    assert dict(jar) == {"sid": "1"}


def test_domain_path_secure_and_order() -> None:
    jar = CookieJar()
    jar.extract("https", "a.example.com", "/", ["wide=1; Domain=.example.com; Path=/"])
    jar.extract("https", "a.example.com", "/", ["deep=2; Path=/api; Secure"])
    jar.extract("https", "a.example.com", "/", ["evil=3; Domain=other.com"])  # refused
    assert jar.header_for("https", "b.example.com", "/") == "wide=1"
    assert jar.header_for("https", "a.example.com", "/api/x") == "deep=2; wide=1"
    assert jar.header_for("http", "a.example.com", "/api/x") == "wide=1"  # Secure: https only
    assert jar.header_for("https", "a.example.com", "/apix") == "wide=1"
    assert "evil" not in jar


def test_expiry_deletes() -> None:
    jar = CookieJar()
    jar.extract("http", "h", "/", ["a=1", "b=2; Max-Age=100"])
    jar.extract("http", "h", "/", ["a=gone; Max-Age=0"])
    jar.extract("http", "h", "/", ["c=old; Expires=Wed, 21 Oct 2015 07:28:00 GMT"])
    assert jar.header_for("http", "h", "/") == "b=2"
    jar.set("manual", "m")
    assert jar.header_for("http", "any.host", "/") == "manual=m"  # no domain: every host
    jar.clear()
    assert len(jar) == 0
