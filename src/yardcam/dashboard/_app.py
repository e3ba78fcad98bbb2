"""``create_app``: the cam's web app: the tutorial's API, the dashboard, ways in for scripts.

Routes (every camera also under ``/cameras/NAME/...``; the plain ones serve the first camera):

====================  ========  ===================================================
``/status``           read      frames, triggers, threshold, source, archive, all cameras
``/snapshot.jpg``     read      the newest frame (503 ``no frame yet`` before the first)
``/stream.jpg``       read      MJPEG, ``boundary=frame``; ``?fps=`` for fewer (alias .mjpg)
``/motion.jpg``       read      the frame of the latest trigger
``/config``           read      GET threshold, zones, cooldown, counters
``/config``           control   POST ``{"threshold": N}`` (kept in ``DATA/state.json``)
``/events``           read      SSE: motion, state, source, archive; ids, Last-Event-ID replay
``/control``          control   WebSocket: snapshot_now, reset, set_threshold
``/metrics``          read      Prometheus text
``/healthz``          none      liveness (no secrets in it)
``/api/login``        none      ``{user, pass}`` -> a one-hour JWT
``/api/tokens``       session   POST ``{name, scope}`` -> an API token (fresh login needed)
``/account/tokens``   session   the API tokens page: list, create (fresh login), revoke
====================  ========  ===================================================

See :mod:`yardcam.dashboard._access` for the credentials; sessions, CSRF and CORS come from
:mod:`yardcam.web`.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket

from ..web import Auth, JwtSigner, SessionRegistry, make_templates, same_origin, web_middleware
from ._access import Access, Principal, Refusal
from ._config import ConfigError, parse_threshold, shown_threshold
from ._events import Broadcaster, event_stream, last_event_id
from ._metrics import CONTENT_TYPE, cam_registry, render
from ._monitor import FeedWatch, watch
from ._preview import MEDIA_TYPE, Viewers, mjpeg_stream, viewer_fps
from ._settings import CameraFeed, DashboardSettings
from ._state import load_camera_state, save_camera_state
from ._token_page import PATH as TOKENS_PAGE
from ._token_page import TokenPage
from ._tokens import ApiTokens, create_api_token

log = logging.getLogger(__name__)

_HERE = Path(__file__).parent
_NO_STORE = {"cache-control": "no-store"}
Task = Callable[[], Coroutine[Any, Any, None]]


def create_app(
    cameras: Sequence[CameraFeed],
    settings: DashboardSettings,
    *,
    tasks: Sequence[Task] = (),
    clock: Callable[[], float] = time.time,
) -> Starlette:
    """The cam's web app for ``cameras`` (at least one; names unique).

    A threshold saved in ``DATA/state.json`` (changed in the app before a restart) is applied
    to each camera's detector here. ``tasks`` are coroutine functions started with the app and
    cancelled at shutdown, e.g. ``lambda: hub.run(source)``, ``lambda: detector.run(hub)``,
    ``uploader.run``: one uvicorn then runs the whole cam on one loop. Serve it over https
    (``ensure_self_signed_cert``), and give uvicorn a ``timeout_graceful_shutdown`` (a few
    seconds): open dashboards hold their SSE and MJPEG streams until the server gives up.
    ``clock`` is the time logins are judged by (a test moves it to age a session).
    """
    if not cameras:
        raise ValueError("create_app needs at least one camera")
    names = [feed.name for feed in cameras]
    if len(set(names)) != len(names):
        raise ValueError(f"camera names must be unique: {names}")
    cam = _Cam(list(cameras), settings, clock)
    routes: list[BaseRoute] = [
        *cam.auth.routes(),
        *cam.token_page.routes(),
        Route("/", cam.access.page(cam.dashboard)),
        Route("/healthz", cam.healthz),
        Route("/metrics", cam.read(cam.metrics)),
        Route("/api/login", cam.api_login, methods=["POST"]),
        Route("/api/tokens", cam.api_create_token, methods=["POST"]),
        Route("/api/state", cam.read(cam.status)),  # the old name of /status
        Route("/cameras/{camera}", cam.access.page(cam.dashboard)),
        Mount("/static", StaticFiles(directory=_HERE / "static"), name="cam-static"),
    ]
    for prefix in ("", "/cameras/{camera}"):
        routes += [
            Route(f"{prefix}/status", cam.read(cam.status)),
            Route(f"{prefix}/snapshot.jpg", cam.read(cam.snapshot)),
            Route(f"{prefix}/stream.jpg", cam.read(cam.stream)),
            Route(f"{prefix}/stream.mjpg", cam.read(cam.stream)),
            Route(f"{prefix}/motion.jpg", cam.read(cam.last_motion_frame)),
            Route(f"{prefix}/motion/{{event_id}}.jpg", cam.read(cam.event_frame)),
            Route(f"{prefix}/events", cam.read(cam.events)),
            Route(f"{prefix}/config", cam.read(cam.get_config), methods=["GET"]),
            Route(f"{prefix}/config", cam.control(cam.set_config), methods=["POST"]),
            WebSocketRoute(f"{prefix}/control", cam.control_socket),
        ]
    return Starlette(
        routes=routes,
        middleware=web_middleware(settings.web),
        lifespan=cam.lifespan(tasks),
        exception_handlers={HTTPException: cam.http_error},
    )


class _Cam:
    def __init__(
        self, feeds: list[CameraFeed], settings: DashboardSettings, clock: Callable[[], float]
    ) -> None:
        self.feeds = {feed.name: feed for feed in feeds}
        self.first = feeds[0]
        self.settings = settings
        self.templates = make_templates(_HERE / "templates", title=settings.name)
        registry = SessionRegistry(
            settings.cam_dir / "sessions.json", max_age=settings.web.session_max_age, clock=clock
        )
        self.auth = Auth(settings.accounts, templates=self.templates, registry=registry)
        self.jwt = JwtSigner(settings.cam_dir / "jwt-secret")
        self.access = Access(self.auth, self.jwt, ApiTokens(settings.data_dir))
        self.token_page = TokenPage(
            self.access,
            self.templates,
            data_dir=settings.data_dir,
            ca_file=settings.ca_file,
        )
        self.read = self.access.require("read")
        self.control = self.access.require("control")
        self.broadcaster = Broadcaster()
        self.viewers = Viewers()
        self.watches = {feed.name: FeedWatch(feed) for feed in feeds}
        self.metrics_registry = cam_registry(self.watches.values())
        for feed in feeds:
            saved = load_camera_state(settings.data_dir, feed.name).get("threshold")
            if isinstance(saved, int | float) and 0 <= saved <= 100:
                feed.detector.threshold = saved
            feed.detector.subscribe(self.broadcaster.motion_callback(feed.name))
            feed.detector.subscribe_events(self.broadcaster.event_callback(feed.name))

    # -- plumbing ---------------------------------------------------------------------------

    def lifespan(self, tasks: Sequence[Task]) -> Callable[[Starlette], Any]:
        @contextlib.asynccontextmanager
        async def run(app: Starlette) -> AsyncIterator[None]:
            everything = [*tasks, lambda: watch(list(self.watches.values()), self.broadcaster)]
            running = [asyncio.create_task(task()) for task in everything]
            for task in running:
                task.add_done_callback(_report_crash)
            try:
                yield
            finally:
                for task in running:
                    task.cancel()
                await asyncio.gather(*running, return_exceptions=True)

        return run

    def feed(self, connection: HTTPConnection) -> CameraFeed:
        name = connection.path_params.get("camera")
        if name is None:
            return self.first
        feed = self.feeds.get(name)
        if feed is None:
            raise HTTPException(404)
        return feed

    async def http_error(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 404:
            if "text/html" in request.headers.get("accept", ""):
                page = self.templates.TemplateResponse(
                    request, "not_found.html", {"path": request.url.path}, status_code=404
                )
                return page
            body = {"error": "not found", "path": request.url.path}
            return JSONResponse(body, status_code=404)
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code, headers=exc.headers)

    def _still_allowed(self, request: Request) -> Callable[[], Awaitable[bool]]:
        """For long streams: is this caller still let in (logout, password, revoked token)?
        Bearer/Basic callers are checked again without argon2 work: JWT and token only.
        (Async: a session is looked up in its store, a database on the archive's twin.)
        """
        principal: Principal = request.state.principal
        header = request.headers.get("authorization", "")
        token = header.partition(" ")[2].strip()
        tag = self.auth.accounts.session_tag(principal.name)  # Basic: until the password changes

        async def allowed() -> bool:
            if principal.via == "session":
                return await self.auth.user(request) is not None
            if principal.via == "token":
                return self.access.tokens.check(token) is not None
            if principal.via == "jwt":
                return self.access.jwt_principal(token) == principal
            return tag is not None and self.auth.accounts.session_tag(principal.name) == tag

        return allowed

    # -- what each camera shows ---------------------------------------------------------------

    def camera_status(self, feed: CameraFeed) -> dict[str, Any]:
        d, w = feed.detector, self.watches[feed.name]
        return {
            "camera": feed.name,
            "frames": d.frame_count,
            "triggers": d.trigger_count,
            "threshold": shown_threshold(d.threshold),
            "change": round(d.last_change, 2),
            "fps": w.fps,
            "skipped": d.skipped,
            "last_motion": d.last_motion,
            "source": w.source(),
            "archive": feed.archive_stats() if feed.archive_stats else None,
            # the names /api/state used before /status:
            "frame_count": d.frame_count,
            "trigger_count": d.trigger_count,
            "last_change": round(d.last_change, 2),
        }

    def status_of(
        self, feed: CameraFeed, *, events: bool = False, request: Request | None = None
    ) -> dict[str, Any]:
        """``events``: with the recent motion events (first load, ``/status``), not in the
        state ticks, which only need the counters. ``request``: whose host the gallery link
        names (see :meth:`gallery_url`)."""
        extra = {"events": self.broadcaster.recent_events(feed.name)} if events else {}
        return {
            **extra,
            "name": self.settings.name,
            **self.camera_status(feed),
            "history": list(self.watches[feed.name].changes)[-8:],
            "viewers": {"preview": self.viewers.count, "events": len(self.broadcaster)},
            "cameras": [self.camera_status(f) for f in self.feeds.values()],
            "gallery": self.gallery_url(request),
            "now": time.time(),
        }

    def gallery_url(self, request: Request | None) -> str | None:
        """The gallery's address as the asking browser can reach it: ``{host}`` in the setting
        (the embedded archive, on this very box) becomes the host name the request came to, so
        a phone on the LAN is not sent to its own ``localhost``."""
        url = self.settings.gallery_url
        if url is None or "{host}" not in url:
            return url
        host = (request.url.hostname if request is not None else None) or "localhost"
        return url.replace("{host}", f"[{host}]" if ":" in host else host)

    # -- endpoints --------------------------------------------------------------------------

    async def dashboard(self, request: Request) -> Response:
        feed = self.feed(request)
        context = {
            "camera": feed.name,
            "cameras": list(self.feeds),
            "prefix": "" if feed is self.first else f"/cameras/{quote(feed.name)}",
            "initial": json.dumps(
                {
                    **self.status_of(feed, events=True, request=request),
                    "history": list(self.watches[feed.name].changes),
                    "prefix": "" if feed is self.first else f"/cameras/{quote(feed.name)}",
                },
                default=str,
            ),
        }
        return self.templates.TemplateResponse(request, "dashboard.html", context)

    async def healthz(self, request: Request) -> Response:
        """Liveness for a supervisor: the app answers and every source sends frames."""
        online = {name: w.online for name, w in self.watches.items()}
        body = {"ok": True, "cameras_online": online}
        return JSONResponse(body, headers=_NO_STORE)

    async def metrics(self, request: Request) -> Response:
        return Response(render(self.metrics_registry), media_type=CONTENT_TYPE)

    async def status(self, request: Request) -> Response:
        return JSONResponse(self.status_of(self.feed(request), events=True, request=request))

    async def snapshot(self, request: Request) -> Response:
        feed = self.feed(request)
        frame = feed.hub.latest
        if frame is None:
            body = {"error": "no frame yet", "source": feed.hub.state}
            return JSONResponse(body, status_code=503, headers={"retry-after": "1"})
        return Response(frame.jpeg, media_type="image/jpeg", headers=_NO_STORE)

    async def stream(self, request: Request) -> Response:
        feed = self.feed(request)
        try:
            fps = viewer_fps(request.query_params.get("fps"), self.settings.preview_fps)
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        allowed = self._still_allowed(request)
        body = mjpeg_stream(feed.hub, self.viewers, allowed, fps)
        return StreamingResponse(body, media_type=MEDIA_TYPE, headers=_NO_STORE)

    async def last_motion_frame(self, request: Request) -> Response:
        """The full frame of the latest trigger: what set the detector off."""
        event = self.broadcaster.last_motion.get(self.feed(request).name)
        if event is None:
            return JSONResponse({"error": "no motion since the cam started"}, status_code=404)
        return Response(event.frame.jpeg, media_type="image/jpeg", headers=_NO_STORE)

    async def event_frame(self, request: Request) -> Response:
        """The best frame of a recent motion event (the dashboard's thumbnails)."""
        feed = self.feed(request)
        recent = self.broadcaster.recent.get(feed.name)
        event = recent.get(request.path_params["event_id"]) if recent else None
        if event is None:
            return JSONResponse({"error": "not a recent event; see the archive"}, 404)
        headers = {"cache-control": "private, max-age=3600"}
        return Response(event.best.jpeg, media_type="image/jpeg", headers=headers)

    async def events(self, request: Request) -> Response:
        feed = self.feed(request)
        per_camera = "camera" in request.path_params
        stream = event_stream(
            self.broadcaster,
            lambda: self.status_of(feed),
            camera=feed.name if per_camera else None,
            interval=self.settings.state_interval,
            keepalive=self.settings.keepalive,
            allowed=self._still_allowed(request),
            resume_after=last_event_id(request.headers.get("last-event-id")),
        )
        headers = {**_NO_STORE, "x-accel-buffering": "no"}
        return StreamingResponse(stream, media_type="text/event-stream", headers=headers)

    async def get_config(self, request: Request) -> Response:
        feed = self.feed(request)
        d = feed.detector
        return JSONResponse(
            {
                "camera": feed.name,
                "threshold": shown_threshold(d.threshold),
                "zones": [str(z) for z in d.meter.zones],
                "masks": [str(m) for m in d.meter.masks],
                "cooldown": d.grouper.cooldown,
                "gap": d.grouper.gap,
                "min_frames": d.min_frames,
                "counters": {
                    "frames": d.frame_count,
                    "triggers": d.trigger_count,
                    "skipped": d.skipped,
                },
            }
        )

    async def set_config(self, request: Request) -> Response:
        """JSON ``{"threshold": N}``, or the dashboard's plain form (works without JS)."""
        feed = self.feed(request)
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        form = media_type == "application/x-www-form-urlencoded"
        try:
            if form:
                async with request.form(max_files=0, max_fields=4) as fields:
                    body: Any = dict(fields)
            else:
                try:
                    body = await request.json()
                except ValueError:
                    raise ConfigError("bad json") from None
            threshold = parse_threshold(body)
        except ConfigError as exc:
            return JSONResponse({"ok": False, "error": str(exc)}, status_code=400)
        await self.apply_threshold(feed, threshold)
        if form:
            return RedirectResponse(request.url.path.removesuffix("/config") or "/", 303)
        return JSONResponse({"ok": True, "threshold": threshold})

    async def apply_threshold(self, feed: CameraFeed, threshold: int) -> None:
        feed.detector.threshold = threshold
        await run_in_threadpool(
            save_camera_state, self.settings.data_dir, feed.name, threshold=threshold
        )
        self.broadcaster.publish("state", self.status_of(feed), feed.name)

    async def api_login(self, request: Request) -> Response:
        """``{"user": ..., "pass": ...}`` -> ``{"token": JWT, "expires_in": 3600}``."""
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not (
            isinstance(body, dict)
            and isinstance(body.get("user"), str)
            and isinstance(body.get("pass"), str)
        ):
            return JSONResponse({"error": 'send JSON {"user": ..., "pass": ...}'}, 400)
        address = request.client.host if request.client else "unknown"
        user = body["user"]
        verdict = await run_in_threadpool(self.auth.verify_throttled, user, body["pass"], address)
        if verdict is False:
            return Refusal(401, "wrong username or password").response()
        if verdict is not True:
            wait = int(verdict)
            return Refusal(429, f"too many failed attempts; try again in {wait} s", wait).response()
        token = self.jwt.issue(user, self.auth.accounts.session_tag(user))
        return JSONResponse(
            {"token": token, "token_type": "Bearer", "expires_in": self.jwt.lifetime},
            headers=_NO_STORE,
        )

    async def api_create_token(self, request: Request) -> Response:
        """An API token from the browser: a session with a fresh login (10 min) only."""
        if await self.auth.user(request) is None:
            return Refusal(401, "log in first").response()
        if not await self.auth.is_fresh(request):
            url = self.auth.fresh_login_url(TOKENS_PAGE)
            return JSONResponse({"error": "log in again first", "login": url}, status_code=403)
        try:
            body = await request.json()
            token = await run_in_threadpool(
                create_api_token, self.settings.data_dir, body["name"], body["scope"]
            )
        except (ValueError, KeyError, TypeError) as exc:
            reason = str(exc) if isinstance(exc, ValueError) else 'send {"name", "scope"}'
            return JSONResponse({"error": reason}, status_code=400)
        return JSONResponse({"token": token}, status_code=201, headers=_NO_STORE)

    # -- the /control WebSocket ---------------------------------------------------------------

    async def control_socket(self, websocket: WebSocket) -> None:
        """Commands as JSON text frames, one reply each; a bad command never closes the socket.

        The handshake is refused (403) from a foreign ``Origin`` (cross-site WebSocket
        hijacking: a browser sends our cookie with any page's WebSocket) and without
        control credentials.
        """
        try:
            feed = self.feed(websocket)
        except HTTPException:
            await _deny(websocket, Refusal(404, "not found"))
            return
        if not same_origin(websocket, frozenset(self.settings.web.cors_origins)):
            await _deny(websocket, Refusal(403, "cross-site WebSocket refused"))
            return
        who = await self.access.allowed(websocket, "control")
        if isinstance(who, Refusal):
            await _deny(websocket, who)
            return
        await websocket.accept()
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            if who.via == "session" and await self.auth.user(websocket) is None:
                await websocket.close(code=1008, reason="logged out")
                return
            reply = await self.command(feed, message.get("text"))
            await websocket.send_text(json.dumps(reply))

    async def command(self, feed: CameraFeed, text: str | None) -> dict[str, Any]:
        try:
            request = json.loads(text) if text is not None else None
        except ValueError:
            request = None
        if not isinstance(request, dict):
            return {"ok": False, "error": "bad json"}
        cmd = request.get("cmd")
        if cmd == "snapshot_now":
            frame = feed.hub.latest
            if frame is None:
                return {"ok": False, "cmd": cmd, "reason": "no frame yet"}
            path = await run_in_threadpool(self._save_snapshot, feed.name, frame.jpeg, frame.seq)
            return {"ok": True, "cmd": cmd, "path": str(path), "seq": frame.seq}
        if cmd == "reset":
            feed.detector.trigger_count = 0
            self.broadcaster.publish("state", self.status_of(feed), feed.name)
            return {"ok": True, "cmd": cmd, "triggers": 0}
        if cmd == "set_threshold":
            try:
                threshold = parse_threshold(request)
            except ConfigError as exc:
                return {"ok": False, "cmd": cmd, "error": str(exc)}
            await self.apply_threshold(feed, threshold)
            return {"ok": True, "cmd": cmd, "threshold": threshold}
        return {"ok": False, "error": "unknown command"}

    def _save_snapshot(self, camera: str, jpeg: bytes, seq: int) -> Path:
        folder = self.settings.cam_dir / "snapshots"
        folder.mkdir(parents=True, exist_ok=True)
        stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
        path = folder / f"{camera}-{stamp}-{seq}.jpg"
        path.write_bytes(jpeg)
        return path


async def _deny(websocket: WebSocket, refusal: Refusal) -> None:
    """Refuse a handshake with the HTTP status a client can act on (401, 403...); servers
    without the denial-response extension can only answer 403.
    """
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        await websocket.send_denial_response(refusal.response())
    else:
        await websocket.close(code=1008)


def _report_crash(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("cam task %r stopped", task, exc_info=task.exception())
