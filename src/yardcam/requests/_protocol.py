"""HTTP/1.1 for one connection, with no I/O: what to write, and what the bytes read mean.

A thin layer over h11 shared by the socket and asyncio transports. It adds three things the
transports would otherwise each do: request heads from a :class:`PreparedRequest`, coalescing of
small writes (the head and multipart part headers go out with one syscall while large body blocks
are passed through uncopied), and a compact event stream (head, data, end).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import h11

if TYPE_CHECKING:
    from yardcam.requests.models import PreparedRequest

__all__ = ["DRAIN_LIMIT", "END", "HTTP11", "NEED_DATA", "ResponseHead"]

#: Pieces smaller than this are gathered into one write; larger ones are written as they are.
_COALESCE_BELOW: Final = 16 * 1024
_FLUSH_AT: Final = 64 * 1024
#: A redirect or retried response's leftover body up to this size is read so the connection can be
#: reused; a larger one is cheaper to drop.
DRAIN_LIMIT: Final = 64 * 1024


@dataclass(frozen=True, slots=True)
class ResponseHead:
    status_code: int
    reason: str
    raw_headers: list[tuple[bytes, bytes]]
    http_version: str


class _Marker:
    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name


#: ``next_event()`` results besides a :class:`ResponseHead` or a bytes block.
NEED_DATA: Final = _Marker("NEED_DATA")
END: Final = _Marker("END")

Event = ResponseHead | bytes | _Marker


class HTTP11:
    """The protocol state of one client connection (one request/response cycle at a time)."""

    __slots__ = ("_forward", "_h11", "_pending", "_pending_size", "_starved", "received_any")

    def __init__(self, forward: list[tuple[bytes, bytes]] | None = None) -> None:
        """``forward``: this connection goes to a proxy that forwards plain-http requests;
        they are sent in absolute-form with these extra headers (Proxy-Authorization)."""
        self._h11 = h11.Connection(h11.CLIENT)
        self._forward = forward
        self._pending: list[bytes] = []
        self._pending_size = 0
        #: Did the server send anything in this cycle? If not, a failure on a reused connection
        #: means the server had closed it while idle, and the request can go on a fresh one.
        self.received_any = False
        #: h11 asked for more bytes and none came since. Asking it again would only say so
        #: again, after parsing its buffer once more: a whole next_event() per response.
        self._starved = True

    # -- sending ---------------------------------------------------------------------------
    def start_request(self, request: PreparedRequest) -> list[bytes]:
        """Buffers to write for the request line and headers (small: usually held back)."""
        if self._forward is None:
            target, headers = request.target, request.headers.encoded()
        else:
            target = request.parsed_url.absolute_target
            headers = request.headers.encoded() + self._forward
        event = h11.Request(method=request.method, target=target, headers=headers)
        return self._coalesce(self._h11.send_with_data_passthrough(event) or [])

    def send_body(self, block: bytes) -> list[bytes]:
        """Buffers to write for one body block, framed (chunked or not) by h11, never copied."""
        if not block:
            return []
        return self._coalesce(self._h11.send_with_data_passthrough(h11.Data(data=block)) or [])

    def end_request(self) -> list[bytes]:
        """The last buffers of the request (chunked trailer, held-back small pieces)."""
        pieces = self._h11.send_with_data_passthrough(h11.EndOfMessage()) or []
        out = self._coalesce(pieces)
        if self._pending:
            out.append(self._take_pending())
        return out

    def _coalesce(self, pieces: list[bytes]) -> list[bytes]:
        out: list[bytes] = []
        for piece in pieces:
            size = len(piece)
            if size < _COALESCE_BELOW:
                self._pending.append(piece)
                self._pending_size += size
                if self._pending_size >= _FLUSH_AT:
                    out.append(self._take_pending())
            else:
                if self._pending:
                    out.append(self._take_pending())
                out.append(piece)
        return out

    def _take_pending(self) -> bytes:
        data = b"".join(self._pending)
        self._pending.clear()
        self._pending_size = 0
        return data

    # -- receiving -------------------------------------------------------------------------
    def receive(self, data: bytes) -> None:
        """Feed bytes read from the socket; ``b""`` means the server closed its side."""
        if data:
            self.received_any = True
        elif not self.received_any and self._h11.their_state is h11.SEND_RESPONSE:
            raise h11.RemoteProtocolError("server closed the connection without a response")
        self._h11.receive_data(data)
        self._starved = False

    def next_event(self) -> Event:
        """The next :class:`ResponseHead`, body block, :data:`END`, or :data:`NEED_DATA`."""
        if self._starved:
            return NEED_DATA
        while True:
            event = self._h11.next_event()
            event_type = type(event)
            if event_type is h11.Data:
                return bytes(event.data)  # type: ignore[union-attr]
            if event is h11.NEED_DATA:
                self._starved = True
                return NEED_DATA
            if event_type is h11.Response:
                return ResponseHead(
                    status_code=event.status_code,  # type: ignore[union-attr]
                    reason=event.reason.decode("latin-1"),  # type: ignore[union-attr]
                    raw_headers=event.headers.raw_items(),  # type: ignore[union-attr]
                    http_version=event.http_version.decode("ascii"),  # type: ignore[union-attr]
                )
            if event_type is h11.EndOfMessage:
                return END
            if event_type is h11.InformationalResponse:
                continue  # 1xx (100 Continue, 103 Early Hints): the real answer follows
            # ConnectionClosed before the response ended, or PAUSED on an unexpected upgrade.
            raise h11.RemoteProtocolError(f"server closed the connection ({event!r})")

    # -- lifecycle -------------------------------------------------------------------------
    def finish(self) -> bool:
        """After a response ended: True if the connection can carry another request."""
        conn = self._h11
        if conn.our_state is h11.DONE and conn.their_state is h11.DONE:
            conn.start_next_cycle()
            self.received_any = False
            # Bytes after the response (or its end) belong to the next cycle: h11 must see them.
            unread, closed = conn.trailing_data
            self._starved = not unread and not closed
            return True
        return False
