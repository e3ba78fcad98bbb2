"""The one place where socket, ssl, asyncio and h11 errors become yardcam.requests errors.

Both transports wrap every I/O step in :func:`translate_errors` with the phase it belongs to: the
phase decides between e.g. ConnectTimeout and ReadTimeout, or ConnectionError and
ChunkedEncodingError. Handlers run most specific first; the original is chained with ``from``.
"""

from __future__ import annotations

import contextlib
import enum
import socket
import ssl
from collections.abc import Iterator

import h11

from yardcam.requests._exceptions import (
    ChunkedEncodingError,
    ConnectionError,
    ConnectTimeout,
    InvalidRequest,
    ReadTimeout,
    RequestException,
    SSLError,
)

__all__ = ["Phase", "translate_errors"]


class Phase(enum.Enum):
    CONNECT = "connecting to"  # TCP connect + TLS handshake
    SEND = "sending the request to"
    HEAD = "waiting for the response from"
    BODY = "reading the response body from"


@contextlib.contextmanager
def translate_errors(phase: Phase, where: str) -> Iterator[None]:
    """Re-raise low-level errors of ``phase`` as the matching RequestException subclass."""
    try:
        yield
    except RequestException:
        raise  # already ours (a body that cannot be read, a nested translation)
    except ssl.SSLCertVerificationError as exc:
        raise SSLError(f"certificate verification failed {phase.value} {where}: {exc}") from exc
    except ssl.SSLError as exc:
        if phase is Phase.CONNECT:
            raise _connect_failed(SSLError(f"TLS handshake failed with {where}: {exc}")) from exc
        raise ConnectionError(f"TLS error {phase.value} {where}: {exc}") from exc
    except TimeoutError as exc:  # socket.timeout and asyncio timeouts alike
        if phase is Phase.CONNECT:
            raise ConnectTimeout(f"timed out {phase.value} {where}") from exc
        raise ReadTimeout(f"timed out {phase.value} {where}") from exc
    except h11.RemoteProtocolError as exc:
        if phase is Phase.BODY:
            raise ChunkedEncodingError(f"broken response body from {where}: {exc}") from exc
        raise ConnectionError(f"bad or missing response {phase.value} {where}: {exc}") from exc
    except h11.LocalProtocolError as exc:
        raise InvalidRequest(f"cannot send this request to {where}: {exc}") from exc
    except socket.gaierror as exc:
        raise _connect_failed(
            ConnectionError(exc.errno, f"cannot resolve {where}: {exc.strerror}")
        ) from exc
    except OSError as exc:
        message = f"{exc.strerror or exc} ({phase.value} {where})"
        error = ConnectionError(exc.errno, message) if exc.errno else ConnectionError(message)
        if phase is Phase.CONNECT:
            _connect_failed(error)
        raise error from exc


def _connect_failed(error: ConnectionError) -> ConnectionError:
    error.connect_failed = True
    return error
