"""TLS client contexts built from ``verify=`` and ``cert=``, cached because building one is slow.

Loading the system trust store costs milliseconds; a camera uploading several frames a second must
not pay that per request, so each distinct (verify, cert) pair gets one context per session.
"""

from __future__ import annotations

import os
import ssl
import threading

from yardcam.requests._exceptions import InvalidRequest, SSLError

__all__ = ["TLSContexts", "build_context"]

CertArg = str | os.PathLike[str] | tuple[str | os.PathLike[str], str | os.PathLike[str]] | None


def build_context(verify: object = True, cert: CertArg = None) -> ssl.SSLContext:
    """A client context: system trust store, hostname check, TLS >= 1.2 unless told otherwise."""
    if isinstance(verify, ssl.SSLContext):
        ctx = verify
        if cert is not None:
            raise InvalidRequest("pass cert= only with verify=True/False/path, not an SSLContext")
        return ctx
    if verify is True:
        ctx = ssl.create_default_context()
    elif verify is False:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    elif isinstance(verify, str | os.PathLike):
        path = os.fspath(verify)
        try:
            if os.path.isdir(path):
                ctx = ssl.create_default_context(capath=path)
            else:
                ctx = ssl.create_default_context(cafile=path)
        except (OSError, ssl.SSLError) as exc:
            raise InvalidRequest(f"cannot load CA bundle {path!r}: {exc}") from exc
    else:
        raise InvalidRequest(
            f"verify must be True, False, a CA bundle path or an SSLContext: {verify!r}"
        )
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_alpn_protocols(["http/1.1"])
    if cert is not None:
        certfile, keyfile = cert if isinstance(cert, tuple) else (cert, None)
        try:
            ctx.load_cert_chain(os.fspath(certfile), os.fspath(keyfile) if keyfile else None)
        except ssl.SSLError as exc:
            raise SSLError(f"cannot load client certificate {certfile!r}: {exc}") from exc
        except OSError as exc:
            raise InvalidRequest(f"cannot read client certificate {certfile!r}: {exc}") from exc
    return ctx


class TLSContexts:
    """One context per distinct (verify, cert) setting; thread-safe."""

    def __init__(self) -> None:
        self._cache: dict[tuple[object, object], ssl.SSLContext] = {}
        self._lock = threading.Lock()

    def get(self, verify: object, cert: CertArg) -> ssl.SSLContext:
        if isinstance(verify, ssl.SSLContext):
            return build_context(verify, cert)
        key = (os.fspath(verify) if isinstance(verify, os.PathLike) else verify, _cert_key(cert))
        with self._lock:
            ctx = self._cache.get(key)
            if ctx is None:
                ctx = self._cache[key] = build_context(verify, cert)
            return ctx


def _cert_key(cert: CertArg) -> object:
    if isinstance(cert, tuple):
        return tuple(os.fspath(c) for c in cert)
    return os.fspath(cert) if cert is not None else None
