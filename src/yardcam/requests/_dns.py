"""Name lookup for both transports, counted inside the connect timeout.

``getaddrinfo`` has no timeout of its own: with an unreachable nameserver it blocks for the
resolver's retries (5 s per try and server by default), so a cam on a broken network would wait
far longer than its connect timeout before even trying to connect. The sync transport therefore
runs the lookup in a daemon thread and stops waiting at the connect deadline; the async one awaits
it in the loop's executor under the same deadline as the connection. A lookup given up on keeps
its thread until the resolver itself gives up; an IP address needs no lookup and no thread.

The resolver is a parameter of each transport (default :func:`getaddrinfo`) only so a test can
make a lookup hang: a real hanging nameserver would have to be configured for the whole machine.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["AddrInfo", "Resolve", "getaddrinfo", "lookup_within"]

#: (family, type, proto, canonname, sockaddr), as ``socket.getaddrinfo`` returns them.
AddrInfo = tuple[socket.AddressFamily, socket.SocketKind, int, str, tuple[Any, ...]]
Resolve = Callable[[str, int], Sequence[AddrInfo]]


def getaddrinfo(host: str, port: int) -> Sequence[AddrInfo]:
    """The system resolver, TCP addresses only."""
    return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)


def is_ip_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def lookup_within(
    host: str, port: int, timeout: float | None, resolve: Resolve = getaddrinfo
) -> Sequence[AddrInfo]:
    """``resolve(host, port)``, or TimeoutError once ``timeout`` seconds have passed."""
    if timeout is None or is_ip_address(host):
        return resolve(host, port)
    outcome: list[Sequence[AddrInfo] | OSError | UnicodeError] = []
    done = threading.Event()

    def run() -> None:
        try:
            outcome.append(resolve(host, port))
        except (OSError, UnicodeError) as exc:  # gaierror; an IDNA name that cannot be encoded
            outcome.append(exc)
        finally:
            done.set()

    threading.Thread(target=run, name=f"yardcam-dns-{host}", daemon=True).start()
    if not done.wait(timeout):
        raise TimeoutError(f"no DNS answer for {host} within the connect timeout ({timeout:g} s)")
    if not outcome:  # the resolver raised something else: the thread reported it
        raise OSError(f"the DNS lookup of {host} failed")
    result = outcome[0]
    if isinstance(result, OSError | UnicodeError):
        raise result
    return result
