"""``requests.cookies``: the session's jar, requests' dict-like API over ``http.cookiejar``'s rules.

``Session.cookies`` is a :class:`RequestsCookieJar`, an ``http.cookiejar.CookieJar`` (iterating it
yields ``http.cookiejar.Cookie`` objects, as in requests) that also reads and writes like a dict::

    s.cookies["theme"] = "dark"                  # sent to every host, path /
    s.cookies.set("sid", "1", domain="cam.lan", path="/api")
    s.cookies.get("sid"), dict(s.cookies), "sid" in s.cookies
    del s.cookies["theme"]
    s.cookies.update({"a": "1"})
    s.cookies = {"a": "1"}                       # a mapping is copied into a new jar

What a server may set is decided by the stdlib's ``DefaultCookiePolicy``, not by code of ours:
a ``Domain`` the host is not inside, or one without an embedded dot (``Domain=com``), is refused;
Path, Secure, Expires and Max-Age (``Max-Age=0`` deletes) are honoured. One stricter setting, as
RFC 6265 asks: a cookie set without ``Domain`` goes back to the very host that set it, never to
its subdomains (``DomainStrictNonDomain``).

The stdlib jar wants urllib request and response objects; :class:`_RequestView` and
:class:`_SetCookieHeaders` give it what it reads from a URL and header values, so the jar does
no I/O and the send flow in ``_client`` drives it for Session and AsyncSession alike.
"""

from __future__ import annotations

import http.cookiejar
from collections.abc import Iterable, Mapping

from yardcam.requests._urls import URL
from yardcam.requests.exceptions import CookieConflictError

__all__ = ["RequestsCookieJar", "cookiejar_from_dict"]


def _policy() -> http.cookiejar.DefaultCookiePolicy:
    return http.cookiejar.DefaultCookiePolicy(
        strict_ns_domain=http.cookiejar.DefaultCookiePolicy.DomainStrictNonDomain
    )


class RequestsCookieJar(http.cookiejar.CookieJar):
    """Cookies kept by a session, thread-safe; dict-like by cookie name (see the module doc).

    >>> jar = RequestsCookieJar()
    >>> jar["theme"] = "dark"
    >>> jar.set("sid", "1", domain="cam.lan", path="/api")
    >>> sorted(jar.items()), jar.get("nope", "none")
    ([('sid', '1'), ('theme', 'dark')], 'none')
    """

    def __init__(self, policy: http.cookiejar.CookiePolicy | None = None) -> None:
        super().__init__(policy or _policy())

    # -- the dict-like face (requests' RequestsCookieJar) -----------------------------------
    def set(
        self,
        name: str,
        value: str | None,
        *,
        domain: str | None = None,
        path: str | None = None,
        secure: bool = False,
        expires: float | None = None,
    ) -> None:
        """Set a cookie by hand: without ``domain`` it goes to every host, ``domain="cam.lan"``
        to that host and its subdomains; ``path`` defaults to ``/``; ``expires`` is a
        ``time.time()``. ``value=None`` removes the cookies of that name (in that domain/path,
        when given), as in requests."""
        if value is None:
            self._remove(name, domain, path)
            return
        domain = domain or ""
        self.set_cookie(
            http.cookiejar.Cookie(
                version=0,
                name=name,
                value=value,
                port=None,
                port_specified=False,
                domain=domain,
                # Set by hand means scoped on purpose: "" is "every host", not "the host that set
                # it" (which the strict policy would apply to a cookie without a domain).
                domain_specified=True,
                domain_initial_dot=domain.startswith("."),
                path=path or "/",
                path_specified=True,
                secure=secure,
                expires=None if expires is None else int(expires),
                discard=expires is None,
                comment=None,
                comment_url=None,
                rest={},
            )
        )

    def get(
        self,
        name: str,
        default: str | None = None,
        domain: str | None = None,
        path: str | None = None,
    ) -> str | None:
        """The value of cookie ``name`` (narrowed by ``domain``/``path``), or ``default``."""
        try:
            return self._find(name, domain, path)
        except KeyError:
            return default

    def __getitem__(self, name: str) -> str:
        return self._find(name, None, None)

    def __setitem__(self, name: str, value: str | None) -> None:
        self.set(name, value)

    def __delitem__(self, name: str) -> None:
        if not self._matching(name, None, None):
            raise KeyError(name)
        self._remove(name, None, None)

    def __contains__(self, name: object) -> bool:
        return bool(self._matching(name, None, None))

    def keys(self) -> list[str]:
        return [cookie.name for cookie in self._all()]

    def values(self) -> list[str | None]:
        return [cookie.value for cookie in self._all()]

    def items(self) -> list[tuple[str, str | None]]:
        return [(cookie.name, cookie.value) for cookie in self._all()]

    def update(self, other: Mapping[str, str] | http.cookiejar.CookieJar) -> None:
        """Add every cookie of ``other``: a jar (each cookie kept with its domain and path) or a
        name -> value mapping (each sent to every host, as ``jar[name] = value``)."""
        if isinstance(other, http.cookiejar.CookieJar):
            for cookie in list(other):
                self.set_cookie(cookie)
        else:
            for name, value in other.items():
                self.set(name, value)

    def get_dict(self, domain: str | None = None, path: str | None = None) -> dict[str, str | None]:
        """name -> value, optionally only the cookies of one domain and/or path."""
        return {c.name: c.value for c in self._all() if _scoped(c, domain, path)}

    # -- what the send flow uses (no I/O) ----------------------------------------------------
    def header_for(self, url: URL) -> str | None:
        """The ``Cookie`` header value for a request to ``url``, or None when none applies."""
        view = _RequestView(url)
        self.add_cookie_header(view)  # type: ignore[arg-type]
        return view.cookie

    def extract(self, url: URL, set_cookie_values: Iterable[str]) -> None:
        """Store what the ``Set-Cookie`` headers of a response from ``url`` ask for, as far as
        the policy allows."""
        headers = _SetCookieHeaders(list(set_cookie_values))
        self.extract_cookies(headers, _RequestView(url))  # type: ignore[arg-type]

    # -- helpers ----------------------------------------------------------------------------
    def _all(self) -> list[http.cookiejar.Cookie]:
        # The stdlib jar's own lock (untyped): extract() may run in another thread meanwhile.
        with self._cookies_lock:  # type: ignore[attr-defined]
            return list(iter(self))

    def _matching(
        self, name: object, domain: str | None, path: str | None
    ) -> list[http.cookiejar.Cookie]:
        return [c for c in self._all() if c.name == name and _scoped(c, domain, path)]

    def _find(self, name: str, domain: str | None, path: str | None) -> str:
        found = self._matching(name, domain, path)
        if not found:
            raise KeyError(name)
        if len({(c.domain, c.path) for c in found}) > 1:
            where = ", ".join(f"{c.domain or '*'}{c.path}" for c in found)
            raise CookieConflictError(
                f"several cookies named {name!r} ({where}): "
                f"pick one with cookies.get({name!r}, domain=..., path=...)"
            )
        return found[0].value or ""

    def _remove(self, name: str, domain: str | None, path: str | None) -> None:
        for cookie in self._matching(name, domain, path):
            self.clear(cookie.domain, cookie.path, cookie.name)


def _scoped(cookie: http.cookiejar.Cookie, domain: str | None, path: str | None) -> bool:
    return (domain is None or cookie.domain == domain) and (path is None or cookie.path == path)


class _RequestView:
    """What ``http.cookiejar`` reads of a ``urllib.request.Request``, made from a URL."""

    unverifiable = False  # the user asked for this URL: not a third-party request

    def __init__(self, url: URL) -> None:
        # absolute_target, not url.url: the userinfo of a URL has nothing to do with cookies.
        self._full_url = url.absolute_target
        self.host = url.host_header
        self.origin_req_host = url.host
        self.type = url.scheme
        self.cookie: str | None = None

    def get_full_url(self) -> str:
        return self._full_url

    def has_header(self, name: str) -> bool:
        return name.lower() == "host"

    def get_header(self, name: str, default: str | None = None) -> str | None:
        return self.host if name.lower() == "host" else default

    def header_items(self) -> list[tuple[str, str]]:
        return [("Host", self.host)]

    def add_unredirected_header(self, name: str, value: str) -> None:
        if name.lower() == "cookie":
            self.cookie = value


class _SetCookieHeaders:
    """What ``http.cookiejar`` reads of a response: its ``Set-Cookie`` header values."""

    def __init__(self, values: list[str]) -> None:
        self._values = values

    def info(self) -> _SetCookieHeaders:
        return self

    def get_all(self, name: str, default: list[str]) -> list[str]:
        return list(self._values) if name.lower() == "set-cookie" else default


def cookiejar_from_dict(
    cookie_dict: Mapping[str, str] | None,
    cookiejar: RequestsCookieJar | None = None,
    overwrite: bool = True,
) -> RequestsCookieJar:
    """A jar holding ``cookie_dict``'s cookies (added to ``cookiejar`` when given; with
    ``overwrite=False`` a name the jar already holds keeps its value), as in requests."""
    jar = RequestsCookieJar() if cookiejar is None else cookiejar
    for name, value in (cookie_dict or {}).items():
        if overwrite or name not in jar:
            jar.set(name, value)
    return jar
