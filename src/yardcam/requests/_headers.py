"""Case-insensitive headers that validate names and values as they are set.

Validation happens on assignment so a header with CR/LF (header injection) or a non-str value fails
in the caller's line, before anything is sent.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, MutableMapping
from typing import overload

from yardcam.requests.exceptions import InvalidHeader

__all__ = ["Headers"]

# RFC 9110 section 5.6.2: a field name is a token.
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
# RFC 9110 section 5.5: no CR, LF or NUL in a value, no leading/trailing whitespace.
_BAD_VALUE = re.compile(r"[\r\n\x00]|^[ \t]|[ \t]$")


class Headers(MutableMapping[str, str]):
    """A dict of header name -> value whose lookups ignore case; keeps the caller's spelling."""

    __slots__ = ("_store",)

    def __init__(self, data: Mapping[str, str] | None = None, **kwargs: str) -> None:
        self._store: dict[str, tuple[str, str]] = {}
        if data:
            self.update(data)
        if kwargs:
            self.update(kwargs)

    def __setitem__(self, name: str, value: str) -> None:
        if not isinstance(name, str) or not _TOKEN.match(name):
            raise InvalidHeader(f"invalid header name {name!r}")
        if isinstance(value, bytes):
            try:
                value = value.decode("latin-1")
            except UnicodeDecodeError as exc:  # pragma: no cover - latin-1 decodes every byte
                raise InvalidHeader(f"invalid value for header {name!r}") from exc
        if not isinstance(value, str):
            raise InvalidHeader(
                f"header {name!r} must be a str or bytes, got {type(value).__name__}: {value!r}"
            )
        if _BAD_VALUE.search(value):
            raise InvalidHeader(f"invalid value for header {name!r}: {value!r} (CR/LF or padding)")
        self._store[name.lower()] = (name, value)

    def __getitem__(self, name: str) -> str:
        return self._store[name.lower()][1]

    @overload  # type: ignore[override]
    def get(self, name: str) -> str | None: ...
    @overload
    def get(self, name: str, default: str) -> str: ...
    @overload
    def get(self, name: str, default: str | None) -> str | None: ...

    def get(self, name: str, default: str | None = None) -> str | None:
        # Mapping.get goes through a raised KeyError for a missing name, the usual case for
        # the few headers looked up on every response (Retry-After, Content-Encoding).
        item = self._store.get(name.lower()) if isinstance(name, str) else None
        return default if item is None else item[1]

    def __delitem__(self, name: str) -> None:
        del self._store[name.lower()]

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._store.values())

    def __len__(self) -> int:
        return len(self._store)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._store

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            other = Headers(other)
        if not isinstance(other, Headers):
            return NotImplemented
        return {k: v for k, (_, v) in self._store.items()} == {
            k: v for k, (_, v) in other._store.items()
        }

    __hash__ = None  # type: ignore[assignment]

    def set_computed(self, name: str, value: str) -> None:
        """Set a header whose name and value this package built (Host, Content-Length...).

        They need no checking, and skipping it matters: it is most of the cost of preparing a
        small request's head, which h11 checks once more before writing it anyway.
        """
        self._store[name.lower()] = (name, value)

    def copy(self) -> Headers:
        new = Headers()
        new._store = self._store.copy()
        return new

    def encoded(self) -> list[tuple[bytes, bytes]]:
        """(name, value) pairs in the caller's spelling, as bytes for the wire."""
        return [(n.encode("latin-1"), v.encode("latin-1")) for n, v in self._store.values()]

    @classmethod
    def from_raw(cls, raw: list[tuple[bytes, bytes]]) -> Headers:
        """Headers received from a server: repeated names are joined with ", " (RFC 9110 5.3)."""
        new = cls()
        store = new._store
        for name_b, value_b in raw:
            name, value = name_b.decode("latin-1"), value_b.decode("latin-1")
            key = name.lower()
            if key in store:
                store[key] = (name, f"{store[key][1]}, {value}")
            else:
                store[key] = (name, value)
        return new

    def __repr__(self) -> str:
        return repr(dict(self.items()))
