"""``create_app(settings)``: the archive node as one Starlette app (API + gallery + purge job).

The gallery's middleware (sessions, CSRF, security headers) wraps the API too; requests with
``Authorization: Bearer`` are exempt from CSRF, so cams and scripts are unaffected.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from ._api import ArchiveApi
from ._archive import Archive
from ._errors import ApiError, api_error_response
from ._metrics import Metrics
from ._orphans import sweep_orphans_forever
from ._retention import purge_forever
from ._settings import ArchiveSettings
from .gallery import build_gallery
from .storage import StorageError


async def _storage_unavailable(request: Request, exc: Exception) -> Response:
    error = f"storage unavailable: {exc}"
    if _disk_full(exc):
        # With the default retention (keep everything) this is where every archive ends: say
        # what the operator can do; the cam's outbox keeps the frames meanwhile.
        error += (
            "; the archive's disk is full: free space there, or keep less with retention "
            "(max_age_days or max_bytes under [retention] in its configuration)"
        )
    return JSONResponse({"error": error}, status_code=503, headers={"Retry-After": "5"})


def _disk_full(exc: BaseException | None) -> bool:
    """Whether a storage failure comes from a full disk or quota (the errno along its causes)."""
    while exc is not None:
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        exc = exc.__cause__
    return False


def create_app(settings: ArchiveSettings, *, archive: Archive | None = None) -> Starlette:
    """The archive node; storage opens in the lifespan (so run it with lifespan enabled).

    Pass ``archive`` to share an already-made :class:`Archive` (tests, ``yardcam run``).
    """
    archive = archive or Archive(settings)
    api = ArchiveApi(archive, Metrics())
    gallery = build_gallery(settings, archive)
    routes: list[BaseRoute] = [*api.routes(), *gallery.routes]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await archive.open()
        jobs = []
        if settings.purge_interval > 0:
            jobs.append(asyncio.create_task(purge_forever(archive, settings.purge_interval)))
        if settings.orphan_sweep_interval > 0:
            sweeper = sweep_orphans_forever(archive, settings.orphan_sweep_interval)
            jobs.append(asyncio.create_task(sweeper))
        try:
            yield
        finally:
            for job in jobs:
                job.cancel()
            await asyncio.gather(*jobs, return_exceptions=True)
            await archive.close()

    app = Starlette(
        routes=routes,
        middleware=gallery.middleware,
        lifespan=lifespan,
        exception_handlers={ApiError: api_error_response, StorageError: _storage_unavailable},
    )
    app.state.archive = archive
    app.state.api = api
    return app
