"""What :class:`Session` and :class:`AsyncSession` share: request preparation and the send flow.

The flow (retries, redirects, cookies) is a generator that *describes* I/O instead of doing it:
it yields :class:`LoadTLS`, :class:`Send`, :class:`Sleep` and :class:`Discard` actions and
receives their results.
Each session runs it with its own kind of I/O (blocking or asyncio), so the policy exists once.
"""

from __future__ import annotations

import http.cookiejar
import re
import ssl
from collections.abc import Generator, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from yardcam.requests._body import encode_body
from yardcam.requests._config import DEFAULT_TIMEOUT, UNSET, TimeoutConfig, resolve_timeout
from yardcam.requests._decoders import ACCEPT_ENCODING
from yardcam.requests._headers import Headers
from yardcam.requests._pool import DEFAULT_POOL_SIZE
from yardcam.requests._proxies import Proxy, merge_proxies, select_proxy
from yardcam.requests._redirects import DEFAULT_MAX_REDIRECTS, next_request
from yardcam.requests._retry import Retry, RetryState
from yardcam.requests._tls import CertArg, TLSContexts
from yardcam.requests._urls import parse_url
from yardcam.requests.auth import AuthCallable, resolve_auth
from yardcam.requests.cookies import RequestsCookieJar
from yardcam.requests.exceptions import (
    InvalidRequest,
    RequestException,
    RetryError,
    TooManyRedirects,
)
from yardcam.requests.models import PreparedRequest, Request, Response

__all__ = ["BaseSession", "Discard", "LoadTLS", "Send", "Settings", "Sleep", "Verbs"]

_METHOD = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_NO_RETRIES = Retry(total=0)
#: What ``request()`` accepts besides method and url (requests' ``hooks`` is not).
_REQUEST_KEYWORDS = frozenset(
    {"params", "data", "json", "files", "headers", "cookies", "auth"}
    | {"timeout", "verify", "cert", "proxies", "retries", "allow_redirects", "stream"}
)


@dataclass(frozen=True, slots=True)
class Settings:
    """The per-call settings that shape how a request is sent, resolved against the session's."""

    timeout: TimeoutConfig
    verify: object  # turned into an SSLContext per hop: a redirect may change the scheme
    cert: CertArg
    proxies: dict[str, str]  # the session's and the request's; the environment is read per hop
    trust_env: bool
    retries: Retry
    allow_redirects: bool
    stream: bool


@dataclass(frozen=True, slots=True)
class LoadTLS:
    """Build the TLS context for these settings (slow: it reads certificate files); the
    result is the context. Only yielded when the session has not cached it yet."""

    verify: object
    cert: CertArg


@dataclass(frozen=True, slots=True)
class Send:
    request: PreparedRequest
    timeout: TimeoutConfig
    ssl_context: ssl.SSLContext | None
    proxy: Proxy | None


@dataclass(frozen=True, slots=True)
class Sleep:
    seconds: float


@dataclass(frozen=True, slots=True)
class Discard:
    """Free the connection of a response nobody will read (a redirect, a retried status)."""

    response: Response


Flow = Generator[LoadTLS | Send | Sleep | Discard, Any, Response]

R = TypeVar("R")


class Verbs(Generic[R]):
    """The verb shortcuts, written once: for AsyncSession ``R`` is an awaitable response."""

    def request(self, method: str, url: str, **kwargs: Any) -> R:
        raise NotImplementedError

    def get(self, url: str, params: object = None, **kwargs: Any) -> R:
        return self.request("GET", url, params=params, **kwargs)

    def options(self, url: str, **kwargs: Any) -> R:
        return self.request("OPTIONS", url, **kwargs)

    def head(self, url: str, **kwargs: Any) -> R:
        kwargs.setdefault("allow_redirects", False)  # as in requests
        return self.request("HEAD", url, **kwargs)

    def post(self, url: str, data: object = None, json: object = None, **kwargs: Any) -> R:
        return self.request("POST", url, data=data, json=json, **kwargs)

    def put(self, url: str, data: object = None, **kwargs: Any) -> R:
        return self.request("PUT", url, data=data, **kwargs)

    def patch(self, url: str, data: object = None, **kwargs: Any) -> R:
        return self.request("PATCH", url, data=data, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> R:
        return self.request("DELETE", url, **kwargs)


def default_headers() -> Headers:
    return Headers(
        {
            "User-Agent": "yardcam-requests/0.1",
            "Accept-Encoding": ACCEPT_ENCODING,
            "Accept": "*/*",
        }
    )


class BaseSession:
    """Settings and state shared by every request of a session; no I/O.

    Attributes mirror ``requests.Session``: ``headers``, ``auth``, ``cookies`` (a jar), ``verify``,
    ``cert``, ``proxies`` (a dict: ``{"https": "http://proxy:3128", "no_proxy": "cam.lan"}``),
    ``trust_env`` (read HTTP_PROXY/HTTPS_PROXY/ALL_PROXY/NO_PROXY, default True),
    ``max_redirects``, plus ``timeout`` (default :data:`DEFAULT_TIMEOUT`) and ``retries``
    (default: no retries; pass ``Retry(...)``).
    """

    def __init__(
        self,
        *,
        headers: Mapping[str, str] | None = None,
        auth: object = None,
        verify: object = True,
        cert: CertArg = None,
        proxies: Mapping[str, str] | None = None,
        trust_env: bool = True,
        timeout: object = DEFAULT_TIMEOUT,
        retries: Retry | int | None = None,
        max_redirects: int = DEFAULT_MAX_REDIRECTS,
        pool_maxsize: int = DEFAULT_POOL_SIZE,
    ) -> None:
        self.headers = default_headers()
        if headers:
            self.headers.update(headers)
        self.auth = auth
        self.cookies = RequestsCookieJar()
        self.verify = verify
        self.cert = cert
        self.proxies: dict[str, str] = dict(proxies or {})
        self.trust_env = trust_env
        self.timeout = timeout  # normalised by the setter
        self.retries = retries
        self.max_redirects = max_redirects
        self.pool_maxsize = pool_maxsize
        self._tls = TLSContexts()
        self._closed = False

    # Settable like requests.Session attributes, normalised (and validated) on assignment.
    @property
    def headers(self) -> Headers:
        return self._headers

    @headers.setter
    def headers(self, value: Mapping[str, str]) -> None:
        self._headers = value if isinstance(value, Headers) else Headers(value)

    @property
    def cookies(self) -> RequestsCookieJar:
        return self._cookies

    @cookies.setter
    def cookies(self, value: Mapping[str, str] | http.cookiejar.CookieJar) -> None:
        if isinstance(value, RequestsCookieJar):
            self._cookies = value
        else:  # a dict, or another kind of jar: copied into ours, as requests does
            self._cookies = RequestsCookieJar()
            self._cookies.update(value)

    @property
    def timeout(self) -> TimeoutConfig:
        return self._timeout

    @timeout.setter
    def timeout(self, value: object) -> None:
        self._timeout = resolve_timeout(value)

    @property
    def retries(self) -> Retry:
        return self._retries

    @retries.setter
    def retries(self, value: Retry | int | None) -> None:
        self._retries = _resolve_retries(value)

    # -- preparation ---------------------------------------------------------------------
    def prepare(
        self,
        method: str,
        url: str,
        *,
        params: object = None,
        data: object = None,
        json: object = None,
        files: object = None,
        headers: Mapping[str, str | None] | None = None,
        cookies: Mapping[str, str] | None = None,
        auth: object = None,
    ) -> PreparedRequest:
        """Validate everything and build the request; raises InvalidRequest before any I/O."""
        if not isinstance(method, str) or not _METHOD.match(method):
            raise InvalidRequest(f"invalid HTTP method {method!r}")
        method = method.upper()
        parsed = parse_url(url, params)
        merged = self.headers.copy()
        if headers:
            for name, value in headers.items():
                if value is None:
                    merged.pop(name, None)  # None removes a session default, as in requests
                else:
                    merged[name] = value
        body = encode_body(data=data, files=files, json=json)
        if body is not None:
            if body.content_type and "content-type" not in merged:
                merged.set_computed("Content-Type", body.content_type)
            if "content-length" not in merged and "transfer-encoding" not in merged:
                if body.content_length is None:
                    merged.set_computed("Transfer-Encoding", "chunked")
                else:
                    merged.set_computed("Content-Length", str(body.content_length))
        elif method in ("POST", "PUT", "PATCH") and "content-length" not in merged:
            # Some servers insist on a length for these methods.
            merged.set_computed("Content-Length", "0")
        if "host" not in merged:
            merged.set_computed("Host", parsed.host_header)
        if cookies is not None:
            cookies = dict(cookies)
        request = PreparedRequest(method, parsed, merged, body, cookies)
        auth_callable = resolve_auth(auth if auth is not None else self.auth)
        if auth_callable is not None:
            request = _apply_auth(auth_callable, request)
        self._add_cookie_header(request)
        return request

    def prepare_request(self, request: Request) -> PreparedRequest:
        """A :class:`Request` with this session's headers, cookies and auth merged in."""
        if not isinstance(request.method, str) or not isinstance(request.url, str):
            raise InvalidRequest("a Request needs a method and a url to be prepared")
        return self.prepare(
            request.method,
            request.url,
            params=request.params,
            data=request.data,
            json=request.json,
            files=request.files,
            headers=request.headers,
            cookies=request.cookies,
            auth=request.auth,
        )

    def _settings(
        self,
        *,
        timeout: object = UNSET,
        verify: object = UNSET,
        cert: object = UNSET,
        proxies: object = None,
        retries: object = UNSET,
        allow_redirects: bool = True,
        stream: bool = False,
    ) -> Settings:
        if self._closed:
            raise InvalidRequest("the session is closed")  # never silently reopen a pool
        verify = self.verify if verify is UNSET else verify
        cert = self.cert if cert is UNSET else cert
        return Settings(
            timeout=self.timeout if timeout is UNSET else resolve_timeout(timeout),
            verify=verify,
            cert=cert,  # type: ignore[arg-type]
            proxies=merge_proxies(self.proxies, proxies),
            trust_env=bool(self.trust_env),
            retries=self.retries if retries is UNSET else _resolve_retries(retries),
            allow_redirects=allow_redirects,
            stream=stream,
        )

    def _split_kwargs(
        self, method: str, url: str, kwargs: dict[str, Any]
    ) -> tuple[PreparedRequest, Settings]:
        """``request(...)`` keywords -> (prepared request, settings); unknown keywords fail."""
        unknown = kwargs.keys() - _REQUEST_KEYWORDS
        if unknown:
            raise InvalidRequest(f"unexpected keyword argument(s): {', '.join(sorted(unknown))}")
        settings = self._settings(
            timeout=kwargs.pop("timeout", UNSET),
            verify=kwargs.pop("verify", UNSET),
            cert=kwargs.pop("cert", UNSET),
            proxies=kwargs.pop("proxies", None),
            retries=kwargs.pop("retries", UNSET),
            allow_redirects=kwargs.pop("allow_redirects", True),
            stream=kwargs.pop("stream", False),
        )
        return self.prepare(method, url, **kwargs), settings

    def _add_cookie_header(self, request: PreparedRequest) -> None:
        url = request.parsed_url
        parts = []
        from_jar = self.cookies.header_for(url)
        if from_jar:
            parts.append(from_jar)
        if request.cookies:
            parts.extend(f"{name}={value}" for name, value in request.cookies.items())
        if parts:
            request.headers["Cookie"] = "; ".join(parts)

    # -- the send flow -------------------------------------------------------------------
    def _flow(self, request: PreparedRequest, settings: Settings) -> Flow:
        """Send ``request``, following redirects and retrying as ``settings`` say."""
        history: list[Response] = []
        retry = RetryState(settings.retries)
        while True:
            ssl_context = None
            if request.parsed_url.scheme == "https":
                ssl_context = self._tls.cached(settings.verify, settings.cert)
                if ssl_context is None:
                    ssl_context = yield LoadTLS(settings.verify, settings.cert)
            # Per hop: a redirect to another host or scheme may need another proxy, or none.
            proxy = select_proxy(request.parsed_url, settings.proxies, settings.trust_env)
            send = Send(request, settings.timeout, ssl_context, proxy)
            try:
                response: Response = yield send
            except RequestException as exc:
                delay = retry.delay_after_error(exc, request.method, request.headers)
                if delay is None or not _replayable(request):
                    raise
                yield Sleep(delay)
                request.rewind_body()
                continue
            try:
                following = yield from self._after_response(response, settings, retry, history)
            except BaseException:
                response.close()  # nobody will read it: free (or drop) the connection
                raise
            if following is None:
                response.history = history
                return response
            request = following

    def _after_response(
        self, response: Response, settings: Settings, retry: RetryState, history: list[Response]
    ) -> Generator[Sleep | Discard, Any, PreparedRequest | None]:
        """The request to send next (a retry or a redirect), or None to return ``response``."""
        request = response.request
        self._extract_cookies(response)
        delay = retry.delay_after_status(
            response.status_code,
            response.headers.get("retry-after"),
            request.method,
            request.headers,
        )
        if delay is not None and _replayable(request):
            yield Discard(response)
            yield Sleep(delay)
            request.rewind_body()
            return request
        if settings.retries.raise_on_status and retry.exhausted_on_status(response.status_code):
            raise RetryError(
                f"gave up after {retry.attempts} retries: {response.status_code}", response=response
            )
        following = next_request(response, request) if settings.allow_redirects else None
        if following is None:
            return None
        if len(history) >= self.max_redirects:
            raise TooManyRedirects(f"exceeded {self.max_redirects} redirects", response=response)
        yield Discard(response)
        history.append(response)
        if following.body is not None:
            following.rewind_body()  # 307/308: the same body again, from its start
        self._add_cookie_header(following)
        return following

    def _extract_cookies(self, response: Response) -> None:
        values = response._set_cookie_values()
        if values:
            self.cookies.extract(response.request.parsed_url, values)

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<{type(self).__name__} {state}>"


def _replayable(request: PreparedRequest) -> bool:
    return request.body is None or request.body.rewindable


def _apply_auth(auth: AuthCallable, request: PreparedRequest) -> PreparedRequest:
    result = auth(request)
    return request if result is None else result


def _resolve_retries(retries: object) -> Retry:
    if retries is None:
        return _NO_RETRIES
    if isinstance(retries, Retry):
        return retries
    if isinstance(retries, int) and not isinstance(retries, bool) and retries >= 0:
        return Retry(total=retries)
    raise InvalidRequest(f"retries must be a Retry, an int >= 0 or None, got {retries!r}")
