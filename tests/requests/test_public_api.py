"""The public surface of yardcam.requests, pinned."""

from __future__ import annotations

import errno

from yardcam import requests


def test_exported_names_are_pinned() -> None:
    assert requests.__all__ == sorted(requests.__all__, key=lambda n: (not n.isupper(), n))
    assert set(requests.__all__) == {
        "DEFAULT_TIMEOUT",
        "AsyncSession",
        "Backoff",
        "BearerAuth",
        "ChunkedEncodingError",
        "ConnectTimeout",
        "ConnectionError",
        "ContentDecodingError",
        "CookieConflictError",
        "HTTPError",
        "Headers",
        "InvalidBody",
        "InvalidHeader",
        "InvalidJSONBody",
        "InvalidJSONError",
        "InvalidProxyURL",
        "InvalidRequest",
        "InvalidSchema",
        "InvalidURL",
        "JSONDecodeError",
        "MissingSchema",
        "PreparedRequest",
        "ProxyConnectTimeout",
        "ProxyError",
        "ReadTimeout",
        "Request",
        "RequestException",
        "Response",
        "Retry",
        "RetryError",
        "SSLError",
        "Session",
        "StreamConsumedError",
        "Timeout",
        "TimeoutConfig",
        "TooManyRedirects",
        "UnrewindableBodyError",
        "auth",
        "codes",
        "cookies",
        "create_ssl_context",
        "delete",
        "exceptions",
        "get",
        "head",
        "models",
        "options",
        "parse_retry_after",
        "patch",
        "post",
        "put",
        "request",
        "session",
        "sessions",
        "status_codes",
    }
    for name in requests.__all__:
        assert getattr(requests, name) is not None


def test_every_exception_is_an_oserror() -> None:
    for name in requests.__all__:
        obj = getattr(requests, name)
        if isinstance(obj, type) and issubclass(obj, BaseException):
            assert issubclass(obj, OSError), name


def test_timeouts_carry_etimedout() -> None:
    assert requests.ReadTimeout("x").errno == errno.ETIMEDOUT
    assert requests.ConnectTimeout("x").errno == errno.ETIMEDOUT
    assert isinstance(requests.ConnectTimeout("x"), requests.ConnectionError)


def test_default_timeout_is_documented_and_bounded() -> None:
    assert requests.DEFAULT_TIMEOUT == (5.0, 30.0)
    assert requests.DEFAULT_TIMEOUT.connect == 5.0
    assert requests.Session().timeout == requests.DEFAULT_TIMEOUT
    assert requests.Session(timeout=None).timeout == (None, None)
    assert requests.Session(timeout=2).timeout == (2.0, 2.0)


def test_docstring_examples_run() -> None:
    import doctest

    from yardcam.requests import _backoff, _retry

    for module in (
        requests,
        _backoff,
        requests.cookies,
        requests.models,
        _retry,
        requests.status_codes,
    ):
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert result.failed == 0 and result.attempted > 0, module.__name__
