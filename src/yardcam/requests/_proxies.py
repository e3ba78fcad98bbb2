"""Which proxy a request goes through, and how its connection gets there; no I/O.

Where the settings come from, key by key, the later winning: the ``HTTP_PROXY``,
``HTTPS_PROXY``, ``ALL_PROXY`` and ``NO_PROXY`` environment variables (read per request, only
with ``trust_env``, the default; lower case wins over upper case, as in urllib), then
``Session.proxies``, then the request's ``proxies=`` (where a None value removes a session
entry). Unlike requests, where the environment overrides ``Session.proxies`` (psf/requests#2018),
what the code says wins over the environment. The keys, most specific first: ``"https://host"``,
``"https"``, ``"all://host"``, ``"all"``; and ``"no_proxy"``: hosts reached directly whichever
source the proxy came from, a comma list of host names, domain suffixes (``example.com`` covers
``cam.example.com``), ``host:port`` for one port only (IPv6 hosts in brackets), or ``*`` for all.
It is matched by urllib's ``proxy_bypass_environment``: 127.0.0.1 and localhost go through the
proxy unless listed.

Only ``http://`` proxies are supported (squid, corporate proxies). A plain-http request is sent to
the proxy in absolute-form with ``Proxy-Authorization`` from the proxy URL's userinfo; an https one
goes through a CONNECT tunnel (``_tunnel``), so TLS still runs end to end with the origin and is
verified exactly as without a proxy, and the proxy credentials never enter the tunnel.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import unquote, urlsplit

# Undocumented but long-standing (urllib's own NO_PROXY matcher); typeshed leaves it out.
from urllib.request import proxy_bypass_environment  # type: ignore[attr-defined]

from yardcam.requests._errors import Phase
from yardcam.requests._urls import URL, authority
from yardcam.requests.auth import basic_credentials
from yardcam.requests.exceptions import InvalidProxyURL, InvalidRequest

__all__ = ["Proxy", "Route", "environment_proxies", "merge_proxies", "parse_proxy", "select_proxy"]

#: The settings read from the environment, as ``proxies`` keys.
_ENVIRONMENT: Final = (("http", "http"), ("https", "https"), ("all", "all"), ("no", "no_proxy"))


@dataclass(frozen=True, slots=True)
class Proxy:
    """An ``http://`` proxy. Equal proxies share pooled connections; the credentials are part
    of the identity, so a connection opened with one user's credentials serves no other."""

    host: str
    port: int
    #: ``Basic ...`` from the URL's userinfo; kept out of repr and error messages.
    authorization: str | None = field(default=None, repr=False)

    @property
    def where(self) -> str:
        return authority(self.host, self.port)

    @property
    def headers(self) -> list[tuple[bytes, bytes]]:
        """What every request to the proxy itself carries (not those inside a tunnel)."""
        if self.authorization is None:
            return []
        return [(b"Proxy-Authorization", self.authorization.encode("ascii"))]


def merge_proxies(session: object, request: object) -> dict[str, str]:
    """``Session.proxies`` overlaid with a request's ``proxies=`` (None or absent: unchanged)."""
    # A copy without Nones: the session's dict may change while the request runs.
    merged = {k: v for k, v in _mapping(session, "Session.proxies").items() if v is not None}
    if request is not None:
        for key, value in _mapping(request, "proxies").items():
            if value is None:
                merged.pop(key, None)  # as in requests: None removes the session's entry
            else:
                merged[key] = value
    return merged


def _mapping(value: object, name: str) -> Mapping[str, str | None]:
    if not isinstance(value, Mapping):
        raise InvalidRequest(f"{name} must be a mapping like {{'https': 'http://proxy:3128'}}")
    return value


def environment_proxies() -> dict[str, str]:
    """The proxy settings in the environment, as ``proxies`` keys (``no_proxy`` for NO_PROXY).

    The rules of ``urllib.request.getproxies_environment``, for the names that matter here: a
    lower-case variable wins over the upper-case one, even empty (it then unsets it), and
    ``HTTP_PROXY`` is ignored under CGI, where a client's ``Proxy:`` header sets it (httpoxy).
    Not that function itself: it scans the whole environment twice, ~50 us, every request.
    """
    environ = os.environ
    found: dict[str, str] = {}
    for name, key in _ENVIRONMENT:
        value = environ.get(f"{name}_proxy")
        if value is None and not (name == "http" and "REQUEST_METHOD" in environ):
            value = environ.get(f"{name.upper()}_PROXY")
        if value:
            found[key] = value
    return found


def select_proxy(url: URL, proxies: Mapping[str, str], trust_env: bool) -> Proxy | None:
    """The proxy for ``url`` (None: connect directly); ``proxies`` from :func:`merge_proxies`."""
    if trust_env:
        from_env = environment_proxies()
        if from_env:
            proxies = {**from_env, **proxies}
    if not proxies:
        return None
    no_proxy = proxies.get("no_proxy")
    if no_proxy and proxy_bypass_environment(url.authority, {"no": no_proxy}):
        return None
    for key in (f"{url.scheme}://{url.host}", url.scheme, f"all://{url.host}", "all"):
        value = proxies.get(key)
        if value:
            return parse_proxy(value)
    return None


def parse_proxy(url: object) -> Proxy:
    """Validate a proxy URL (``http://[user:password@]host[:port]``, scheme optional)."""
    if not isinstance(url, str):
        raise InvalidProxyURL(f"a proxy URL must be a str, got {type(url).__name__}")
    return _parse_cached(url)


# A camera sends every request through the same proxy; Proxy objects are immutable. Errors are
# not cached: a bad URL raises every time.
@functools.lru_cache(maxsize=16)
def _parse_cached(url: str) -> Proxy:
    text = url.strip()
    if "://" not in text:
        text = "http://" + text  # "proxy:3128", as requests and curl accept it
    try:
        parts = urlsplit(text)
        host, port = parts.hostname, parts.port  # .port checks the number: ValueError
    except ValueError as exc:
        raise InvalidProxyURL(f"invalid proxy URL {_redacted(text)!r}: {exc}") from exc
    if parts.scheme.lower() != "http":
        raise InvalidProxyURL(
            f"unsupported proxy URL {_redacted(text)!r}: only http:// proxies are supported,"
            f" not {parts.scheme}:// (https targets still get end-to-end TLS through them)"
        )
    if not host or not host.isascii() or any(c in host for c in " \t\r\n\x00/\\"):
        raise InvalidProxyURL(f"invalid proxy URL {_redacted(text)!r}: no usable host")
    authorization = None
    if parts.username is not None:
        authorization = basic_credentials(unquote(parts.username), unquote(parts.password or ""))
    return Proxy(host, port if port is not None else 80, authorization)


def _redacted(url: str) -> str:
    """The URL without its password, for error messages."""
    scheme, sep, rest = url.partition("://")
    _, at, hostpart = rest.rpartition("@")
    return f"{scheme}{sep}***@{hostpart}" if at else url


@dataclass(frozen=True, slots=True)
class Route:
    """How a new connection reaches the origin: directly, through a proxy that forwards plain
    http, or through a CONNECT tunnel for https. The transports follow it step by step."""

    host: str  # where the TCP connection goes
    port: int
    #: Names the connection in error messages: the origin, and the proxy if any.
    where: str
    #: Failures to reach a proxy (TCP connect, CONNECT) are ProxyErrors naming the proxy.
    first_phase: Phase
    first_where: str
    #: The proxy to CONNECT through before TLS with the origin, for an https request.
    tunnel_through: Proxy | None
    #: Forwarding proxy only: its headers for every request, sent in absolute-form.
    forward_headers: list[tuple[bytes, bytes]] | None

    @classmethod
    def to(cls, url: URL, proxy: Proxy | None, *, tls: bool) -> Route:
        origin = url.authority
        if proxy is None:
            return cls(url.host, url.port, origin, Phase.CONNECT, origin, None, None)
        where = f"{origin} via proxy {proxy.where}"
        if tls:
            return cls(proxy.host, proxy.port, where, Phase.PROXY, proxy.where, proxy, None)
        return cls(proxy.host, proxy.port, where, Phase.PROXY, proxy.where, None, proxy.headers)
