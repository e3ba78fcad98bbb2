"""Idle keep-alive connections, per origin, bounded; safe across threads and asyncio tasks.

Only idle connections live here: a connection is taken out for one request/response cycle and
given back only if that cycle ended cleanly (h11 says both sides are DONE). A connection that saw
an error is closed instead, so it can never be reused by mistake. The pool never awaits while
holding its lock, which makes the same class safe for asyncio tasks.
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Hashable
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar

if TYPE_CHECKING:
    from yardcam.requests._proxies import Proxy
    from yardcam.requests._urls import URL

__all__ = ["DEFAULT_POOL_SIZE", "Pool", "Poolable", "pool_key"]

DEFAULT_POOL_SIZE = 10


def pool_key(url: URL, ssl_context: ssl.SSLContext | None, proxy: Proxy | None) -> Hashable:
    """Connections are interchangeable only for the same origin, the same TLS settings and
    the same proxy (credentials included)."""
    # Contexts are cached per session, and a pooled TLS socket keeps its context alive, so the
    # id cannot be recycled while a connection is keyed by it.
    return (url.scheme, url.host, url.port, id(ssl_context) if ssl_context else None, proxy)


class Poolable(Protocol):
    def close(self) -> None: ...
    def is_dropped(self) -> bool: ...


C = TypeVar("C", bound=Poolable)


class Pool(Generic[C]):
    """At most ``maxsize`` idle connections per key (scheme, host, port, TLS settings, proxy).

    More connections than that may be open at once (one per concurrent request); the surplus is
    closed when given back rather than kept.
    """

    def __init__(self, maxsize: int = DEFAULT_POOL_SIZE) -> None:
        if maxsize < 0:
            raise ValueError("pool maxsize must be >= 0")
        self._maxsize = maxsize
        self._idle: dict[Hashable, list[C]] = {}
        self._lock = threading.Lock()
        self._closed = False

    def take(self, key: Hashable) -> C | None:
        """The most recently used live idle connection for ``key``, or None."""
        while True:
            with self._lock:
                idle = self._idle.get(key)
                if not idle:
                    return None
                conn = idle.pop()
            if not conn.is_dropped():
                return conn
            conn.close()  # the server closed it while it sat idle

    def give(self, key: Hashable, conn: C) -> None:
        """Keep ``conn`` for reuse, or close it if the pool is full or closed."""
        with self._lock:
            if not self._closed:
                idle = self._idle.setdefault(key, [])
                if len(idle) < self._maxsize:
                    idle.append(conn)
                    return
        conn.close()

    def idle_count(self, key: Hashable | None = None) -> int:
        with self._lock:
            if key is not None:
                return len(self._idle.get(key, ()))
            return sum(len(idle) for idle in self._idle.values())

    def close(self) -> list[C]:
        """Close every idle connection (returned, to await their end in asyncio).

        Connections given back later are closed too.
        """
        with self._lock:
            self._closed = True
            conns = [conn for idle in self._idle.values() for conn in idle]
            self._idle.clear()
        for conn in conns:
            conn.close()
        return conns
