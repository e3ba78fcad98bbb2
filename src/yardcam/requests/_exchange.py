"""Decisions both transports make around one request/response exchange, kept in one place.

The socket and asyncio transports differ only in how they wait; when to replay a request on a
fresh connection, when a broken upload may still have an answer, what a finished exchange does
with its connection, and how a response is built are decided here.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Hashable
from typing import Protocol, TypeVar

from yardcam.requests._pool import Pool
from yardcam.requests._protocol import HTTP11, ResponseHead
from yardcam.requests.exceptions import ConnectionError, Timeout
from yardcam.requests.models import AsyncRawStream, PreparedRequest, RawStream, Response

__all__ = ["Connection", "answer_may_be_waiting", "release", "replay_on_fresh", "response_from"]


class Connection(Protocol):
    key: Hashable
    proto: HTTP11

    def close(self) -> None: ...
    def is_dropped(self) -> bool: ...


def replay_on_fresh(exc: ConnectionError, conn: Connection, request: PreparedRequest) -> bool:
    """Did a reused connection fail because the server had closed it while it sat idle?

    Then nothing was processed (not a byte came back), and the request can go once more on a
    fresh connection, if its body can be replayed. A timeout is not that: the server is slow.
    """
    if isinstance(exc, Timeout) or conn.proto.received_any:
        return False
    return request.body is None or request.body.rewindable


def answer_may_be_waiting(exc: ConnectionError) -> bool:
    """A server may answer early (413, 401) and close before reading the whole body: the
    upload then fails with a broken pipe, but the answer is what the caller needs."""
    return not isinstance(exc, Timeout)


C = TypeVar("C", bound=Connection)


def release(conn: C, pool: Pool[C]) -> None:
    """After a response ended: back to the pool if HTTP allows another request, else closed."""
    if conn.proto.finish():
        pool.give(conn.key, conn)
    else:
        conn.close()


def response_from(
    head: ResponseHead,
    request: PreparedRequest,
    started: float,
    stream: RawStream | AsyncRawStream,
) -> Response:
    return Response(
        status_code=head.status_code,
        reason=head.reason,
        raw_headers=head.raw_headers,
        request=request,
        elapsed=datetime.timedelta(seconds=time.perf_counter() - started),
        stream=stream,
    )
