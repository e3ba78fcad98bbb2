"""Every exception ``yardcam.requests`` raises: ``requests.exceptions`` as in CPython requests.

Code written against requests catches these by the same names, from the same place
(``from yardcam.requests.exceptions import Timeout``, ``requests.exceptions.HTTPError``); each is
also exported from ``yardcam.requests`` itself. The tree (all of it derives from ``OSError``, so
``except OSError`` catches any failure, as the cam's archive code expects)::

    OSError
    └── RequestException
        ├── HTTPError                      raise_for_status() on a 4xx/5xx response
        ├── ConnectionError                the connection could not be opened or broke
        │   ├── ProxyError                 the proxy is unreachable, or refused the tunnel
        │   │   └── ProxyConnectTimeout (+ConnectTimeout)   errno == ETIMEDOUT
        │   ├── SSLError                   handshake or certificate verification failed
        │   └── ConnectTimeout (+Timeout)  no connection (DNS included) within the connect timeout
        ├── Timeout                        errno == ETIMEDOUT
        │   └── ReadTimeout                the server stopped answering mid-response
        ├── TooManyRedirects
        ├── RetryError                     the retry policy gave up
        ├── ChunkedEncodingError / ContentDecodingError   the response body is broken
        ├── StreamConsumedError            the body of a streamed response was already read
        ├── InvalidJSONError               JSON that cannot be read or written
        │   ├── JSONDecodeError (+json.JSONDecodeError)   Response.json() on a body not JSON
        │   └── InvalidJSONBody (+InvalidBody)   a json= value that cannot be serialised
        └── InvalidRequest (+ValueError)   API misuse, raised before anything is sent
            ├── MissingSchema / InvalidSchema
            ├── InvalidURL
            │   └── InvalidProxyURL        not an http:// proxy (https and socks are unsupported)
            ├── InvalidHeader
            ├── InvalidBody                a files=/data=/json= value that cannot be sent
            ├── CookieConflictError (+RuntimeError)   session.cookies[name] matches several
            └── UnrewindableBodyError      a retry or 307/308 needs a body that cannot be replayed

Of requests' documented exceptions only these are absent: ``URLRequired`` (requests itself no
longer raises it; a URL without a scheme is MissingSchema) and its warnings (``FileModeWarning``:
a file opened in text mode is refused with InvalidBody instead of sent with a wrong length).

"The request failed" (ConnectionError, Timeout, HTTPError...) is kept apart from "the API was
misused" (InvalidRequest). Socket, ssl and h11 errors are translated into this tree in exactly one
place, at the transport edge, and chained with ``from exc``.
"""

from __future__ import annotations

import errno
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from yardcam.requests.models import PreparedRequest as Request
    from yardcam.requests.models import Response

__all__ = [
    "ChunkedEncodingError",
    "ConnectTimeout",
    "ConnectionError",
    "ContentDecodingError",
    "CookieConflictError",
    "HTTPError",
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
    "ProxyConnectTimeout",
    "ProxyError",
    "ReadTimeout",
    "RequestException",
    "RetryError",
    "SSLError",
    "StreamConsumedError",
    "Timeout",
    "TooManyRedirects",
    "UnrewindableBodyError",
]


class RequestException(OSError):
    """Base of every yardcam.requests error; carries the request and response when known."""

    def __init__(
        self,
        *args: Any,
        request: Request | None = None,
        response: Response | None = None,
    ) -> None:
        super().__init__(*args)
        self.request = request
        self.response = response
        if request is None and response is not None:
            self.request = getattr(response, "request", None)


class HTTPError(RequestException):
    """The server answered with a 4xx or 5xx status (raised by ``raise_for_status``)."""


class ConnectionError(RequestException):  # shadows the builtin: the name requests users know
    """The connection could not be opened, or broke mid-transfer."""

    #: True when no connection was established: the request never reached the server, so
    #: retrying it is safe whatever the method.
    connect_failed: bool = False


class ProxyError(ConnectionError):
    """The proxy could not be reached, broke HTTP, or refused to open a tunnel (CONNECT)."""


class SSLError(ConnectionError):
    """The TLS handshake or certificate verification failed."""


class Timeout(RequestException):
    """The request timed out; ``errno`` is ``errno.ETIMEDOUT``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if len(args) == 1 and isinstance(args[0], str):
            args = (errno.ETIMEDOUT, args[0])
        elif not args:
            args = (errno.ETIMEDOUT, "timed out")
        super().__init__(*args, **kwargs)


class ConnectTimeout(ConnectionError, Timeout):
    """No connection within the connect timeout; safe to retry on any method."""

    connect_failed = True


class ProxyConnectTimeout(ProxyError, ConnectTimeout):
    """The proxy did not accept the connection or answer CONNECT within the connect timeout."""


class ReadTimeout(Timeout):
    """The server did not send data within the read timeout."""


class TooManyRedirects(RequestException):
    """More redirects than ``Session.max_redirects``."""


class RetryError(RequestException):
    """The retry policy was exhausted."""


class ChunkedEncodingError(RequestException):
    """The server sent a broken chunked or truncated body."""


class ContentDecodingError(RequestException, ValueError):
    """The body could not be decoded with its Content-Encoding."""


class StreamConsumedError(RequestException, TypeError):
    """The content of a streamed response was already consumed."""


class InvalidJSONError(RequestException):
    """JSON that cannot be read (a response body) or written (a ``json=`` value)."""


class JSONDecodeError(InvalidJSONError, json.JSONDecodeError):
    """``Response.json()`` found no JSON in the body.

    Both contracts hold, as in requests: ``except ValueError`` (and ``json.JSONDecodeError``, with
    its ``msg``, ``doc``, ``pos``, ``lineno``, ``colno``) and ``except RequestException`` catch it.
    """

    def __init__(self, msg: str, doc: str, pos: int, **kwargs: Any) -> None:
        json.JSONDecodeError.__init__(self, msg, doc, pos)  # sets msg, doc, pos, lineno, colno
        InvalidJSONError.__init__(self, *self.args, **kwargs)

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickle (multiprocessing, logging handlers) rebuilds it from json.JSONDecodeError's args.
        return type(self), (self.msg, self.doc, self.pos)


class InvalidRequest(RequestException, ValueError):
    """The request cannot be sent as given; nothing went over the network."""


class MissingSchema(InvalidRequest):
    """The URL has no scheme (``example.com/x`` instead of ``https://example.com/x``)."""


class InvalidSchema(InvalidRequest):
    """The URL scheme is not http or https."""


class InvalidURL(InvalidRequest):
    """The URL cannot be parsed or has no host."""


class InvalidProxyURL(InvalidURL):
    """A proxy URL that cannot be used: only ``http://`` proxies are supported (no https, socks)."""


class InvalidHeader(InvalidRequest):
    """A header name or value is not allowed (CR/LF, non-string...)."""


class InvalidBody(InvalidRequest):
    """A ``data=`` or ``files=`` value cannot be sent (not readable, closed, text mode...)."""


class InvalidJSONBody(InvalidBody, InvalidJSONError):
    """A ``json=`` value that cannot be serialised (a set, NaN...): an ``InvalidBody`` that code
    written against requests also catches as ``InvalidJSONError``."""


class CookieConflictError(InvalidRequest, RuntimeError):
    """``session.cookies[name]`` found cookies of that name for several domains or paths; pick
    one with ``session.cookies.get(name, domain=..., path=...)`` (a RuntimeError, as in requests).
    """


class UnrewindableBodyError(InvalidRequest):
    """A retry or 307/308 redirect must resend a body that cannot be replayed."""
