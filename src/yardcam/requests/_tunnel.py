"""Opening a CONNECT tunnel through an http proxy (RFC 9110 9.3.6), with no I/O.

A transport writes :meth:`Tunnel.request` to the proxy and feeds what comes back to
:meth:`Tunnel.receive` until it returns True; the socket then carries the TLS handshake with the
origin. h11 knows CONNECT: after a 2xx answer both sides switch protocol, and any byte the proxy
sent beyond its answer shows in ``trailing_data``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import h11

from yardcam.requests.exceptions import ProxyError

if TYPE_CHECKING:
    from yardcam.requests._proxies import Proxy
    from yardcam.requests._urls import URL

__all__ = ["READ_SIZE", "Tunnel"]

#: How much a transport reads at a time while waiting for the CONNECT answer: it is a few
#: hundred bytes, and nothing may follow it before TLS starts.
READ_SIZE = 16 * 1024


class Tunnel:
    """The CONNECT exchange for one connection to ``proxy``, towards ``url``'s origin."""

    __slots__ = ("_authority", "_h11", "_proxy")

    def __init__(self, proxy: Proxy, url: URL) -> None:
        self._proxy = proxy
        self._authority = url.authority
        self._h11 = h11.Connection(h11.CLIENT)

    def request(self) -> bytes:
        """The CONNECT request: ``Host`` is the origin, ``Proxy-Authorization`` the proxy's."""
        headers = [(b"Host", self._authority.encode("ascii")), *self._proxy.headers]
        event = h11.Request(method="CONNECT", target=self._authority, headers=headers)
        return (self._h11.send(event) or b"") + (self._h11.send(h11.EndOfMessage()) or b"")

    def receive(self, data: bytes) -> bool:
        """Feed bytes from the proxy (``b""`` when it closed): True once the tunnel is open.

        A refusal (non-2xx) raises :class:`ProxyError` with the proxy's status and reason;
        an answer h11 cannot parse raises ``h11.RemoteProtocolError``.
        """
        conn = self._h11
        conn.receive_data(data)
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                return False
            if isinstance(event, h11.Response):
                break
            if not isinstance(event, h11.InformationalResponse):
                raise h11.RemoteProtocolError(f"unexpected {type(event).__name__} from the proxy")
        if not 200 <= event.status_code < 300:
            reason = event.reason.decode("latin-1")
            error = ProxyError(
                f"proxy {self._proxy.where} refused CONNECT to {self._authority}:"
                f" {event.status_code} {reason}".rstrip()
            )
            error.connect_failed = True  # nothing reached the origin
            raise error
        if conn.trailing_data[0]:
            # The origin speaks only after our TLS ClientHello: these bytes are the proxy's.
            raise h11.RemoteProtocolError("data after the CONNECT answer, before TLS")
        return True
