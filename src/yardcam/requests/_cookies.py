"""A deliberately small cookie jar: what a server sets is sent back to the same host.

The cam talks to one or two known services, so the jar implements host-only cookies with path and
expiry (Max-Age / Expires) and the Secure flag; it does not implement the public-suffix domain
matching a browser needs. A ``Domain`` attribute widens a cookie to that domain's subdomains only
when the setting host is inside it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from http.cookies import CookieError, SimpleCookie

__all__ = ["Cookie", "CookieJar"]


@dataclass(slots=True)
class Cookie:
    name: str
    value: str
    domain: str  # the host it was set by, or the Domain attribute (without leading dot)
    host_only: bool
    path: str
    secure: bool
    expires: float | None  # time.time() deadline, None: session cookie

    def matches(self, scheme: str, host: str, path: str, now: float) -> bool:
        if self.expires is not None and self.expires <= now:
            return False
        if self.secure and scheme != "https":
            return False
        if self.host_only:
            if host != self.domain:
                return False
        elif self.domain and host != self.domain and not host.endswith("." + self.domain):
            return False
        return path == self.path or path.startswith(self.path.rstrip("/") + "/")


class CookieJar(Mapping[str, str]):
    """Cookies kept by a session; thread-safe. As a mapping it is name -> value (any host)."""

    def __init__(self) -> None:
        self._cookies: dict[tuple[str, str, str], Cookie] = {}
        self._lock = threading.Lock()

    def set(self, name: str, value: str, *, domain: str = "", path: str = "/") -> None:
        """Set a cookie by hand; an empty domain sends it to every host."""
        cookie = Cookie(name, value, domain, False, path, False, None)
        with self._lock:
            self._cookies[(domain, path, name)] = cookie

    def extract(self, scheme: str, host: str, path: str, set_cookie_values: list[str]) -> None:
        """Store what the ``Set-Cookie`` headers of a response from ``host`` ask for."""
        now = time.time()
        for raw in set_cookie_values:
            cookie = _parse_set_cookie(raw, host, path, now)
            if cookie is None:
                continue
            key = (cookie.domain, cookie.path, cookie.name)
            with self._lock:
                if cookie.expires is not None and cookie.expires <= now:
                    self._cookies.pop(key, None)  # Max-Age=0 / past Expires: the server deletes it
                else:
                    self._cookies[key] = cookie

    def header_for(self, scheme: str, host: str, path: str) -> str | None:
        """The ``Cookie`` header value for a request, or None when no cookie applies."""
        now = time.time()
        with self._lock:
            found = [c for c in self._cookies.values() if c.matches(scheme, host, path, now)]
        if not found:
            return None
        found.sort(key=lambda c: len(c.path), reverse=True)  # RFC 6265 5.4: longer paths first
        return "; ".join(f"{c.name}={c.value}" for c in found)

    def clear(self) -> None:
        with self._lock:
            self._cookies.clear()

    def __getitem__(self, name: str) -> str:
        with self._lock:
            for cookie in self._cookies.values():
                if cookie.name == name:
                    return cookie.value
        raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        with self._lock:
            names = list(dict.fromkeys(c.name for c in self._cookies.values()))
        return iter(names)

    def __len__(self) -> int:
        return len(list(iter(self)))


def _parse_set_cookie(raw: str, host: str, request_path: str, now: float) -> Cookie | None:
    parsed = SimpleCookie()
    try:
        parsed.load(raw)
    except CookieError:
        return None
    for morsel in parsed.values():  # one cookie per Set-Cookie header (RFC 6265)
        domain = morsel["domain"].lstrip(".").lower()
        if domain and host != domain and not host.endswith("." + domain):
            return None  # a server may not set cookies for a domain it is not in
        path = morsel["path"] or _default_path(request_path)
        return Cookie(
            name=morsel.key,
            value=morsel.value,
            domain=domain or host,
            host_only=not domain,
            path=path,
            secure=bool(morsel["secure"]),
            expires=_expiry(morsel["max-age"], morsel["expires"], now),
        )
    return None


def _default_path(request_path: str) -> str:
    # RFC 6265 5.1.4: the directory of the request path.
    path = request_path.split("?", 1)[0]
    if not path.startswith("/") or path.count("/") == 1:
        return "/"
    return path[: path.rfind("/")]


def _expiry(max_age: str, expires: str, now: float) -> float | None:
    if max_age:
        try:
            return now + int(max_age)
        except ValueError:
            pass
    if expires:
        try:
            return parsedate_to_datetime(expires).timestamp()
        except (TypeError, ValueError):
            return None
    return None
