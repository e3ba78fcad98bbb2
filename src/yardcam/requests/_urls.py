"""URL parsing and validation: everything about "where does this request go" before any I/O.

Only absolute http/https URLs are accepted; anything else fails here with a clear error, before a
socket is opened.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import SplitResult, quote, urlencode, urljoin, urlsplit, urlunsplit

from yardcam.requests.exceptions import InvalidSchema, InvalidURL, MissingSchema

__all__ = ["URL", "authority", "encode_params", "join_url", "parse_url"]

DEFAULT_PORTS = {"http": 80, "https": 443}
_SAFE = "/%:@!$&'()*+,;=-._~"
_QUERY_SAFE = _SAFE + "?"
_BAD_HOST = re.compile(r"[\x00-\x20\x7f]")


@dataclass(frozen=True, slots=True)
class URL:
    """A validated absolute URL, split into what the connection and the request line need."""

    url: str  # the full URL, without the fragment
    scheme: str  # "http" or "https"
    host: str  # hostname without brackets, lower case
    port: int
    target: str  # path + query, what goes on the request line

    @property
    def host_header(self) -> str:
        if DEFAULT_PORTS[self.scheme] == self.port:
            return _bracketed(self.host)
        return self.authority

    @property
    def authority(self) -> str:
        """``host:port``, port always given: what a proxy is asked to CONNECT to."""
        return authority(self.host, self.port)

    @property
    def absolute_target(self) -> str:
        """The request target a forward proxy needs (absolute-form, RFC 9112 3.2.2).

        Built from the parts rather than ``url``, whose userinfo must never reach a proxy.
        """
        return f"{self.scheme}://{self.host_header}{self.target}"


def _bracketed(host: str) -> str:
    """An IPv6 address in brackets, as it must appear beside a port or in a URL."""
    return f"[{host}]" if ":" in host else host


def authority(host: str, port: int) -> str:
    return f"{_bracketed(host)}:{port}"


def parse_url(url: object, params: object = None) -> URL:
    """Validate ``url`` and append ``params`` to its query string."""
    if not isinstance(url, str):
        raise InvalidURL(f"URL must be a str, got {type(url).__name__}")
    parsed = _parse_cached(url)
    extra = encode_params(params)
    if not extra:
        return parsed
    # Quoting works character by character, so the cached parts need not be quoted again.
    extra = quote(extra, safe=_QUERY_SAFE)
    joiner = "&" if "?" in parsed.target else "?"  # the path's own "?" is quoted
    return replace(parsed, url=parsed.url + joiner + extra, target=parsed.target + joiner + extra)


# A camera posts to the same few URLs for its whole life, and parsing one costs about as much
# as h11 framing the request; URL objects are immutable, so they can be shared. Errors are not
# cached: a bad URL is checked (and raises) every time.
@functools.lru_cache(maxsize=64)
def _parse_cached(url: str) -> URL:
    url = url.strip()
    if any(c in url for c in "\r\n\t\x00"):
        raise InvalidURL(f"URL contains control characters: {url!r}")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidURL(f"invalid URL {url!r}: {exc}") from exc
    scheme = parts.scheme.lower()
    if not scheme or (not parts.netloc and "://" not in url):
        raise MissingSchema(f"invalid URL {url!r}: no scheme supplied; perhaps https://{url}?")
    if scheme not in DEFAULT_PORTS:
        raise InvalidSchema(f"no connection adapter for {url!r}: only http and https are supported")
    host = parts.hostname
    if not host:
        raise InvalidURL(f"invalid URL {url!r}: no host supplied")
    if _BAD_HOST.search(host):  # it goes into the Host header unchecked
        raise InvalidURL(f"invalid host in URL {url!r}: spaces or control characters")
    if port is None:
        port = DEFAULT_PORTS[scheme]
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError as exc:
            raise InvalidURL(f"invalid host in URL {url!r}: {exc}") from exc
    # The request line must be ASCII: percent-encode what the caller left raw, keep what is encoded.
    path = quote(parts.path, safe=_SAFE) or "/"
    query = quote(parts.query, safe=_QUERY_SAFE)
    target = f"{path}?{query}" if query else path
    full = urlunsplit(SplitResult(scheme, parts.netloc, path, query, ""))
    return URL(url=full, scheme=scheme, host=host, port=port, target=target)


def encode_params(params: object) -> str:
    """``params=`` as a query string: a mapping or pairs; a list value repeats the key.

    None values are skipped, as in CPython requests.
    """
    if params is None:
        return ""
    if isinstance(params, str | bytes):
        return params.decode("ascii") if isinstance(params, bytes) else params
    if isinstance(params, Mapping):
        items: Iterable[tuple[object, object]] = params.items()
    elif isinstance(params, Iterable):
        items = params
    else:
        raise InvalidURL(f"params must be a mapping, pairs or a str, got {type(params).__name__}")
    pairs: list[tuple[Any, Any]] = []
    for key, value in items:
        values = value if isinstance(value, list | tuple) else [value]
        pairs.extend((key, v) for v in values if v is not None)
    return urlencode(pairs)


def join_url(base: str, location: str) -> str:
    """Resolve a redirect ``Location`` against the URL that answered with it."""
    return urljoin(base, location)
