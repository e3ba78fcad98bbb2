"""The one place where socket, ssl, asyncio and h11 errors become yardcam.requests errors.

Both transports wrap every I/O step in :func:`translate_errors` with the phase it belongs to: the
phase decides between e.g. ConnectTimeout and ReadTimeout, or ConnectionError and
ChunkedEncodingError. Handlers run most specific first; the original is chained with ``from``.
"""

from __future__ import annotations

import enum
import socket
import ssl

import h11

from yardcam.requests.exceptions import (
    ChunkedEncodingError,
    ConnectionError,
    ConnectTimeout,
    InvalidRequest,
    ProxyConnectTimeout,
    ProxyError,
    ReadTimeout,
    RequestException,
    SSLError,
)

__all__ = ["Phase", "translate_errors"]


class Phase(enum.Enum):
    PROXY = "connecting to proxy"  # TCP connect to a proxy + its CONNECT answer
    CONNECT = "connecting to"  # TCP connect + TLS handshake
    SEND = "sending the request to"
    HEAD = "waiting for the response from"
    BODY = "reading the response body from"


def translate_errors(phase: Phase, where: str) -> _Translator:
    """``with translate_errors(phase, where):`` re-raises low-level errors of ``phase`` as the
    matching RequestException subclass, chained with ``from``."""
    return _Translator(phase, where)


class _Translator:
    # A plain class, not @contextmanager: it wraps every read and write of every request.
    __slots__ = ("_phase", "_where")

    def __init__(self, phase: Phase, where: str) -> None:
        self._phase = phase
        self._where = where

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        if exc is None or isinstance(exc, RequestException):
            return  # nothing happened, or already ours (a body that cannot be read...)
        if isinstance(exc, OSError | h11.ProtocolError):
            raise _translate(exc, self._phase, self._where) from exc


def _translate(exc: OSError | h11.ProtocolError, phase: Phase, where: str) -> RequestException:
    """The RequestException for ``exc``; most specific cases first."""
    if phase is Phase.PROXY:
        return _proxy_failed(exc, where)
    if isinstance(exc, h11.ProtocolError):  # not OSErrors: the peer (or we) broke HTTP/1.1
        if isinstance(exc, h11.LocalProtocolError):
            return InvalidRequest(f"cannot send this request to {where}: {exc}")
        if phase is Phase.BODY:
            return ChunkedEncodingError(f"broken response body from {where}: {exc}")
        return ConnectionError(f"bad or missing response {phase.value} {where}: {exc}")
    if isinstance(exc, ssl.SSLCertVerificationError):
        return SSLError(f"certificate verification failed {phase.value} {where}: {exc}")
    if isinstance(exc, ssl.SSLError):
        if phase is Phase.CONNECT:
            return _connect_failed(SSLError(f"TLS handshake failed with {where}: {exc}"))
        return ConnectionError(f"TLS error {phase.value} {where}: {exc}")
    if isinstance(exc, TimeoutError):  # socket.timeout and asyncio timeouts alike
        if phase is Phase.CONNECT:
            return ConnectTimeout(f"timed out {phase.value} {where}")
        return ReadTimeout(f"timed out {phase.value} {where}")
    if isinstance(exc, socket.gaierror):
        return _connect_failed(
            ConnectionError(exc.errno, f"cannot resolve {where}: {exc.strerror}")
        )
    message = f"{exc.strerror or exc} ({phase.value} {where})"
    error = ConnectionError(exc.errno, message) if exc.errno else ConnectionError(message)
    return _connect_failed(error) if phase is Phase.CONNECT else error


def _proxy_failed(exc: OSError | h11.ProtocolError, where: str) -> ConnectionError:
    """Any failure to reach a proxy is a ProxyError; a timeout is also a ConnectTimeout."""
    if isinstance(exc, TimeoutError):
        return ProxyConnectTimeout(f"timed out {Phase.PROXY.value} {where}")
    if isinstance(exc, h11.ProtocolError):
        return _connect_failed(ProxyError(f"bad answer from proxy {where}: {exc}"))
    message = f"cannot reach proxy {where}: {exc.strerror or exc}"
    return _connect_failed(ProxyError(exc.errno, message) if exc.errno else ProxyError(message))


def _connect_failed(error: ConnectionError) -> ConnectionError:
    error.connect_failed = True
    return error
