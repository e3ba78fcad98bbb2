"""The sans-I/O HTTP/1.1 core, driven in memory: no sockets at all."""

from __future__ import annotations

import h11
import pytest

from yardcam.requests._body import encode_body
from yardcam.requests._headers import Headers
from yardcam.requests._protocol import END, HTTP11, NEED_DATA, ResponseHead
from yardcam.requests._urls import parse_url
from yardcam.requests.models import PreparedRequest


def prepared(method: str, body: bytes | None, chunked: bool = False) -> PreparedRequest:
    url = parse_url("http://cam.local/frames?x=1")
    headers = Headers({"Host": url.host_header})
    encoded = encode_body(data=iter([body]) if chunked else body) if body is not None else None
    if encoded is not None:
        if chunked:
            headers["Transfer-Encoding"] = "chunked"
        else:
            headers["Content-Length"] = str(len(body or b""))
    return PreparedRequest(method, url, headers, encoded)


def serialize(proto: HTTP11, request: PreparedRequest) -> list[bytes]:
    out = proto.start_request(request)
    for block in request.body or ():
        out += proto.send_body(block)
    return out + proto.end_request()


def test_small_pieces_are_coalesced_and_big_blocks_pass_through_uncopied() -> None:
    big = b"J" * 200_000
    request = prepared("POST", big)
    writes = serialize(HTTP11(), request)
    assert len(writes) == 2
    assert writes[0].startswith(b"POST /frames?x=1 HTTP/1.1\r\n") and writes[0].endswith(
        b"\r\n\r\n"
    )
    assert writes[1] is big  # the very same object: no copy of the body


def test_chunked_framing() -> None:
    writes = serialize(HTTP11(), prepared("POST", b"hello", chunked=True))
    assert b"".join(writes).endswith(b"\r\n\r\n5\r\nhello\r\n0\r\n\r\n")


def test_response_events_and_reuse() -> None:
    proto = HTTP11()
    serialize(proto, prepared("GET", None))
    assert proto.next_event() is NEED_DATA
    proto.receive(
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 4\r\nX-A: 1\r\n\r\nab"
    )
    head = proto.next_event()
    assert isinstance(head, ResponseHead)
    assert (head.status_code, head.reason, head.http_version) == (200, "OK", "1.1")
    assert (b"X-A", b"1") in head.raw_headers  # the server's spelling is kept
    assert proto.next_event() == b"ab"
    assert proto.next_event() is NEED_DATA
    proto.receive(b"cd")
    assert proto.next_event() == b"cd"
    assert proto.next_event() is END
    assert proto.received_any
    assert proto.finish()  # both sides DONE: ready for the next request
    assert not proto.received_any
    serialize(proto, prepared("GET", None))


def test_bytes_received_early_are_parsed_in_the_next_cycle() -> None:
    proto = HTTP11()
    serialize(proto, prepared("GET", None))
    proto.receive(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nabHTTP/1.1 204 No Content\r\n\r\n")
    assert isinstance(proto.next_event(), ResponseHead)
    assert proto.next_event() == b"ab" and proto.next_event() is END
    assert proto.finish()
    serialize(proto, prepared("GET", None))
    # The second answer is already in h11's buffer: it must come out without another read.
    head = proto.next_event()
    assert isinstance(head, ResponseHead) and head.status_code == 204
    assert proto.next_event() is END


def test_connection_close_is_not_reusable() -> None:
    proto = HTTP11()
    serialize(proto, prepared("GET", None))
    proto.receive(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
    assert isinstance(proto.next_event(), ResponseHead)
    assert proto.next_event() is END
    assert not proto.finish()


def test_eof_before_a_response_is_a_protocol_error() -> None:
    proto = HTTP11()
    serialize(proto, prepared("GET", None))
    with pytest.raises(h11.RemoteProtocolError, match="without a response"):
        proto.receive(b"")


def test_eof_mid_body_is_a_protocol_error() -> None:
    proto = HTTP11()
    serialize(proto, prepared("GET", None))
    proto.receive(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
    proto.next_event()
    assert proto.next_event() == b"abc"
    proto.receive(b"")
    with pytest.raises(h11.RemoteProtocolError):
        proto.next_event()
