"""``create_app``: the cam's dashboard, live preview, snapshot and control API, behind a login."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from ..camera import FrameHub
from ..motion import MotionDetector
from ..web import Auth, make_templates, web_middleware
from ._events import Broadcaster, event_stream
from ._preview import MEDIA_TYPE, Viewers, mjpeg_stream
from ._settings import DashboardSettings

log = logging.getLogger(__name__)

_HERE = Path(__file__).parent
_NO_STORE = {"cache-control": "no-store"}
StatsFn = Callable[[], dict[str, Any]]
Task = Callable[[], Coroutine[Any, Any, None]]


class _BadInput(ValueError):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


def create_app(
    hub: FrameHub,
    detector: MotionDetector,
    uploader_stats_fn: StatsFn | None,
    settings: DashboardSettings,
    *,
    tasks: Sequence[Task] = (),
) -> Starlette:
    """The cam's web app. ``uploader_stats_fn`` is ``Uploader.stats`` (None: no archive).

    ``tasks`` are coroutine functions started with the app and cancelled at shutdown, e.g.
    ``lambda: hub.run(source)``, ``lambda: detector.run(hub)``, ``uploader.run``: one uvicorn
    then runs the whole cam on one loop. Serve it over https (``ensure_self_signed_cert``),
    and give uvicorn a ``timeout_graceful_shutdown`` (a few seconds): open dashboards hold
    their SSE and MJPEG streams until the server gives up waiting for them.
    """
    templates = make_templates(_HERE / "templates", title=settings.name)
    auth = Auth(settings.accounts, templates=templates)
    cam = _Cam(hub, detector, uploader_stats_fn, settings, templates, auth)
    detector.subscribe(cam.broadcaster.on_motion)
    guard = auth.required
    routes = [
        *auth.routes(),
        Route("/", guard(cam.dashboard)),
        Route("/events", guard(cam.events)),
        Route("/stream.mjpg", guard(cam.preview)),
        Route("/snapshot.jpg", guard(cam.snapshot)),
        Route("/motion.jpg", guard(cam.last_motion_frame)),
        Route("/api/state", guard(cam.api_state)),
        Route("/api/threshold", guard(cam.set_threshold), methods=["POST"]),
        Mount("/static", StaticFiles(directory=_HERE / "static"), name="cam-static"),
    ]
    return Starlette(
        routes=routes, middleware=web_middleware(settings.web), lifespan=_run_tasks(tasks)
    )


def _run_tasks(tasks: Sequence[Task]) -> Callable[[Starlette], Any]:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        running = [asyncio.create_task(task()) for task in tasks]
        for task in running:
            task.add_done_callback(_report_crash)
        try:
            yield
        finally:
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)

    return lifespan


def _report_crash(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("cam task %r stopped", task, exc_info=task.exception())


class _Cam:
    def __init__(
        self,
        hub: FrameHub,
        detector: MotionDetector,
        stats_fn: StatsFn | None,
        settings: DashboardSettings,
        templates: Jinja2Templates,
        auth: Auth,
    ) -> None:
        self.hub = hub
        self.auth = auth
        self.detector = detector
        self.stats_fn = stats_fn
        self.settings = settings
        self.broadcaster = Broadcaster()
        self.viewers = Viewers()
        self.templates = templates

    def state(self) -> dict[str, Any]:
        """Everything the dashboard shows, as JSON-ready values."""
        d, latest = self.detector, self.hub.latest
        return {
            "name": self.settings.name,
            "threshold": d.threshold,
            "frame_count": d.frame_count,
            "trigger_count": d.trigger_count,
            "last_motion": d.last_motion,
            "last_change": round(d.last_change, 2),
            "skipped": d.skipped,
            "source": {
                "state": self.hub.state,
                "seq": latest.seq if latest else None,
                "ts": latest.ts if latest else None,
                "width": latest.width if latest else None,
                "height": latest.height if latest else None,
            },
            "archive": self.stats_fn() if self.stats_fn else None,
            "viewers": {"preview": self.viewers.count, "dashboards": len(self.broadcaster)},
            "now": time.time(),
        }

    def _still_allowed(self, request: Request) -> Callable[[], bool]:
        """For long streams: is this request's login still valid (password unchanged)?"""
        return lambda: self.auth.user(request) is not None

    async def dashboard(self, request: Request) -> Response:
        return self.templates.TemplateResponse(request, "dashboard.html", {})

    async def events(self, request: Request) -> Response:
        stream = event_stream(
            self.broadcaster, self.state, self.settings.state_interval, self._still_allowed(request)
        )
        headers = {**_NO_STORE, "x-accel-buffering": "no"}
        return StreamingResponse(stream, media_type="text/event-stream", headers=headers)

    async def preview(self, request: Request) -> Response:
        allowed = self._still_allowed(request)
        stream = mjpeg_stream(self.hub, self.viewers, allowed, self.settings.preview_fps)
        return StreamingResponse(stream, media_type=MEDIA_TYPE, headers=_NO_STORE)

    async def snapshot(self, request: Request) -> Response:
        frame = self.hub.latest
        if frame is None:
            body = {"error": f"no frame yet (source: {self.hub.state})"}
            return JSONResponse(body, status_code=503, headers={"retry-after": "1"})
        return Response(frame.jpeg, media_type="image/jpeg", headers=_NO_STORE)

    async def last_motion_frame(self, request: Request) -> Response:
        """The full frame of the latest trigger: what set the detector off."""
        event = self.broadcaster.last_event
        if event is None:
            return JSONResponse({"error": "no motion since the cam started"}, status_code=404)
        return Response(event.frame.jpeg, media_type="image/jpeg", headers=_NO_STORE)

    async def api_state(self, request: Request) -> Response:
        return JSONResponse(self.state())

    async def set_threshold(self, request: Request) -> Response:
        """``{"threshold": N}`` as JSON (the dashboard) or a plain form (works without JS)."""
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        try:
            if media_type == "application/json":
                value = _parse_threshold(await _json_field(request, "threshold"))
            elif media_type == "application/x-www-form-urlencoded":
                async with request.form(max_files=0, max_fields=4) as form:
                    value = _parse_threshold(form.get("threshold"))
            else:
                raise _BadInput(415, 'send JSON {"threshold": N} or a url-encoded form')
        except _BadInput as exc:
            return JSONResponse({"error": str(exc)}, status_code=exc.status)
        self.detector.threshold = value
        self.broadcaster.publish("state", self.state())  # every open dashboard shows it now
        if media_type != "application/json":
            return RedirectResponse("/", status_code=303)
        return JSONResponse({"threshold": self.detector.threshold})


async def _json_field(request: Request, name: str) -> object:
    try:
        body = await request.json()
    except ValueError as exc:
        raise _BadInput(400, "body is not valid JSON") from exc
    if not isinstance(body, dict) or name not in body:
        raise _BadInput(400, f'expected a JSON object with "{name}"')
    return body[name]


def _parse_threshold(raw: object) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise _BadInput(400, "threshold must be a number")
    try:
        value = float(raw)
    except ValueError as exc:
        raise _BadInput(400, "threshold must be a number") from exc
    if not math.isfinite(value) or not 0 <= value <= 100:
        raise _BadInput(422, "threshold must be between 0 and 100")
    return value
