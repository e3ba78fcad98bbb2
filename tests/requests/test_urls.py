"""URL validation and params: everything fails before a socket is opened."""

from __future__ import annotations

import pytest

from yardcam import requests
from yardcam.requests._urls import encode_params, join_url, parse_url


def test_parse_splits_what_the_connection_needs() -> None:
    url = parse_url("https://Example.COM:8443/a/b?x=1#frag", {"y": ["2", "3"], "z": None})
    assert (url.scheme, url.host, url.port) == ("https", "example.com", 8443)
    assert url.target == "/a/b?x=1&y=2&y=3"
    assert url.url == "https://Example.COM:8443/a/b?x=1&y=2&y=3"
    assert url.host_header == "example.com:8443"


def test_defaults_and_ipv6() -> None:
    assert parse_url("http://h").target == "/"
    assert parse_url("http://h").port == 80
    assert parse_url("https://h").host_header == "h"
    v6 = parse_url("http://[::1]:81/")
    assert (v6.host, v6.host_header) == ("::1", "[::1]:81")


def test_raw_non_ascii_is_percent_encoded_and_encoded_stays() -> None:
    assert parse_url("http://h/caf\u00e9 x?q=\u00e9").target == "/caf%C3%A9%20x?q=%C3%A9"
    assert parse_url("http://h/a%20b?q=%2F").target == "/a%20b?q=%2F"


@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("example.com/frames", requests.MissingSchema),
        ("localhost:8000/frames", requests.MissingSchema),
        ("ftp://example.com/", requests.InvalidSchema),
        ("file:///etc/passwd", requests.InvalidSchema),
        ("http://", requests.InvalidURL),
        ("http:///path", requests.InvalidURL),
        ("http://h:99999/", requests.InvalidURL),
        ("http://h/a\r\nX-Injected: 1", requests.InvalidURL),
        ("http://a b/", requests.InvalidURL),
        ("http://a\x01b/", requests.InvalidURL),
        (b"http://h/", requests.InvalidURL),
    ],
)
def test_bad_urls_fail_before_sending(url: object, error: type[Exception]) -> None:
    with pytest.raises(error):
        parse_url(url)
    with pytest.raises(error):
        requests.get(url)  # type: ignore[arg-type]
    assert issubclass(error, ValueError) and issubclass(error, OSError)


def test_params_forms() -> None:
    assert encode_params(None) == ""
    assert encode_params("a=1") == "a=1"
    assert encode_params([("a", 1), ("a", 2)]) == "a=1&a=2"
    assert encode_params({"q": "a b&c"}) == "q=a+b%26c"
    with pytest.raises(requests.InvalidURL):
        encode_params(42)


def test_join_location() -> None:
    assert join_url("http://h/a/b", "/c") == "http://h/c"
    assert join_url("http://h/a/b", "c") == "http://h/a/c"
    assert join_url("http://h/a", "https://o/x") == "https://o/x"


def test_params_never_stick_to_a_url_parsed_before() -> None:
    # Parsed URLs are cached per string; params are added to a copy.
    assert parse_url("http://h/p", {"a": "1"}).target == "/p?a=1"
    assert parse_url("http://h/p", "b=c d").url == "http://h/p?b=c%20d"
    assert parse_url("http://h/p").target == "/p"
    assert parse_url("http://h/p?").url == "http://h/p"
    assert parse_url("http://h/p?", {"a": "1"}).url == "http://h/p?a=1"
