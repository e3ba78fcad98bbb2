"""TLS client contexts built from ``verify=`` and ``cert=``, cached because building one is slow.

Loading the system trust store costs tens of milliseconds of CPU; a camera uploading several frames
a second must not pay that per request, so each distinct (verify, cert) pair gets one context per
session, and AsyncSession builds it off the event loop.
"""

from __future__ import annotations

import asyncio
import os
import ssl
import threading
from collections.abc import Callable, Hashable

from yardcam.requests.exceptions import InvalidRequest, SSLError

__all__ = ["TLSContexts", "create_ssl_context"]

CertArg = str | os.PathLike[str] | tuple[str | os.PathLike[str], str | os.PathLike[str]] | None


def create_ssl_context(verify: object = True, cert: CertArg = None) -> ssl.SSLContext:
    """A client context: system trust store, hostname check, TLS >= 1.2 unless told otherwise.

    ``verify``: True (system store), False, a CA bundle file or directory, or an SSLContext (used
    as is). Slow (tens of ms of CPU to load a store): sessions cache it per setting and
    AsyncSession builds it off the loop; a caller that wants a bad path to fail before its first
    request (the outbox uploader, at start) calls this itself. A CA bundle that cannot be read
    raises :class:`InvalidRequest`.
    """
    if isinstance(verify, ssl.SSLContext):
        ctx = verify
        if cert is not None:
            raise InvalidRequest("pass cert= only with verify=True/False/path, not an SSLContext")
        return ctx
    if verify is True:
        ctx = ssl.create_default_context()
    elif verify is False:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # no trust store to load: nothing to check
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
    """One context per distinct (verify, cert) setting, built once; thread- and task-safe.

    :class:`Session` builds a missing context inline (:meth:`get`); :class:`AsyncSession` awaits
    :meth:`aget`, which builds it in a worker thread: loading the system trust store takes tens
    of milliseconds of CPU that must not stall the event loop. ``build`` is the factory, kept
    replaceable so a test can see which thread a context was built in.
    """

    def __init__(
        self, build: Callable[[object, CertArg], ssl.SSLContext] = create_ssl_context
    ) -> None:
        self._build = build
        self._cache: dict[Hashable, ssl.SSLContext] = {}
        self._lock = threading.Lock()
        # AsyncSession only: the build each key is waiting for, shared by concurrent requests.
        self._building: dict[Hashable, asyncio.Future[ssl.SSLContext]] = {}

    def cached(self, verify: object, cert: CertArg) -> ssl.SSLContext | None:
        """The context if it needs no building (cached, or given as ``verify=``), else None."""
        if not isinstance(verify, bool | str | os.PathLike):
            return create_ssl_context(verify, cert)  # an SSLContext to use as is, or refused
        return self._cache.get(_key(verify, cert))

    def get(self, verify: object, cert: CertArg) -> ssl.SSLContext:
        """The context, built here (blocking) if it is not cached yet."""
        ctx = self.cached(verify, cert)
        if ctx is not None:
            return ctx
        key = _key(verify, cert)
        with self._lock:
            ctx = self._cache.get(key)
            if ctx is None:
                ctx = self._cache[key] = self._build(verify, cert)
            return ctx

    async def aget(self, verify: object, cert: CertArg) -> ssl.SSLContext:
        """The context, built in a worker thread if it is not cached yet; never blocks the loop.

        Requests that need the same missing context at once wait for one shared build. A
        cancelled waiter leaves the build running for the others (shield).
        """
        ctx = self.cached(verify, cert)
        if ctx is not None:
            return ctx
        key = _key(verify, cert)
        building = self._building.get(key)
        if building is None:
            building = asyncio.ensure_future(asyncio.to_thread(self.get, verify, cert))
            self._building[key] = building
            building.add_done_callback(lambda done: self._built(key, done))
        return await asyncio.shield(building)

    def _built(self, key: Hashable, done: asyncio.Future[ssl.SSLContext]) -> None:
        del self._building[key]  # a failed build is tried again by the next request
        if not done.cancelled():
            done.exception()  # seen, even if every waiter was cancelled: no "never retrieved"


def _key(verify: object, cert: CertArg) -> Hashable:
    return (os.fspath(verify) if isinstance(verify, os.PathLike) else verify, _cert_key(cert))


def _cert_key(cert: CertArg) -> Hashable:
    if isinstance(cert, tuple):
        return tuple(os.fspath(c) for c in cert)
    return os.fspath(cert) if cert is not None else None
