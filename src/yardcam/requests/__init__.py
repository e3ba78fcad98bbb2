"""``from yardcam import requests``: the cam's HTTP client, with CPython requests' API.

Sync (:class:`Session`, module functions) and asyncio (:class:`AsyncSession`) share one
implementation of everything but the I/O. Every call has a timeout (:data:`DEFAULT_TIMEOUT`,
connect 5 s / read 30 s; ``timeout=None`` waits forever), every failure is an ``OSError``, bodies
stream in constant memory, connections are kept alive per host, and retries follow a
:class:`Retry` policy (none unless asked for: ``Session(retries=Retry(...))`` or ``retries=``).

The namespaces code written against requests reaches for are real modules here too:
``requests.exceptions`` (``from yardcam.requests.exceptions import Timeout``), ``requests.models``
(:class:`Request`, :class:`PreparedRequest`, :class:`Response`), ``requests.sessions``
(:class:`Session`, ``session()``), ``requests.auth`` (``AuthBase``, ``HTTPBasicAuth``,
:class:`BearerAuth`), ``requests.cookies`` (``RequestsCookieJar``, the type of
``Session.cookies``: requests' dict-like API over the stdlib ``http.cookiejar`` rules) and
``requests.status_codes`` (``codes.ok``, ``codes["not_found"]``); ``Response.json()`` raises
:class:`JSONDecodeError` (a ``ValueError`` and a :class:`RequestException`).

Module functions (``requests.post(...)``) need no setup: each call runs on a fresh
:class:`Session` closed when it returns, so nothing is shared between calls or threads; use a
:class:`Session` to reuse connections.

Proxies as in requests: ``proxies={"https": "http://user:pw@proxy:3128", "no_proxy": "cam.lan"}``
per request or as ``Session.proxies``, and with ``trust_env=True`` (the default) the
``HTTP_PROXY``/``HTTPS_PROXY``/``ALL_PROXY``/``NO_PROXY`` variables. https goes through a
CONNECT tunnel, verified end to end as without a proxy; http is sent in absolute-form. Only
``http://`` proxies: an https or socks proxy URL raises :class:`InvalidProxyURL`; an unreachable
or refusing proxy raises :class:`ProxyError`. Not supported: HTTPS/SOCKS proxies, HTTP/2,
``hooks``, transport adapters (``requests.adapters``, ``Session.mount``: retries are a session or
per-request setting, ``retries=Retry(...)``).

>>> from yardcam import requests
>>> requests.get("ftp://example.com/")  # doctest: +ELLIPSIS
Traceback (most recent call last):
    ...
yardcam.requests.exceptions.InvalidSchema: no connection adapter for 'ftp://example.com/': ...
"""

from yardcam.requests import auth, cookies, exceptions, models, sessions, status_codes
from yardcam.requests._api import delete, get, head, options, patch, post, put, request
from yardcam.requests._async_session import AsyncSession
from yardcam.requests._backoff import Backoff
from yardcam.requests._config import DEFAULT_TIMEOUT, TimeoutConfig
from yardcam.requests._headers import Headers
from yardcam.requests._retry import Retry, parse_retry_after
from yardcam.requests._tls import create_ssl_context
from yardcam.requests.auth import BearerAuth
from yardcam.requests.exceptions import (
    ChunkedEncodingError,
    ConnectionError,
    ConnectTimeout,
    ContentDecodingError,
    CookieConflictError,
    HTTPError,
    InvalidBody,
    InvalidHeader,
    InvalidJSONBody,
    InvalidJSONError,
    InvalidProxyURL,
    InvalidRequest,
    InvalidSchema,
    InvalidURL,
    JSONDecodeError,
    MissingSchema,
    ProxyConnectTimeout,
    ProxyError,
    ReadTimeout,
    RequestException,
    RetryError,
    SSLError,
    StreamConsumedError,
    Timeout,
    TooManyRedirects,
    UnrewindableBodyError,
)
from yardcam.requests.models import PreparedRequest, Request, Response
from yardcam.requests.sessions import Session, session
from yardcam.requests.status_codes import codes

__all__ = [
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
]
