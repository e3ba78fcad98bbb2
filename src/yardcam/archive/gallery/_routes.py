"""The gallery pages: cameras, a cam's motion events, one event as a flipbook, a day's timeline
with thumbnails and an hourly plot, one frame.

Everything sits behind the session login of :mod:`yardcam.web`, its sessions kept in the index
(``_sessions``); the images are served here too (not by the bearer-token API) because a
browser's ``<img>`` carries the cookie, not a token.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import jinja2
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from ...names import cam_of_frame_key, event_key, is_valid_cam, split_event_key
from ...web import Accounts, Auth, LoginThrottle, browser_zone, localtime, make_templates
from .._etag import etag_matches
from ..storage import (
    BlobNotFound,
    FrameIndex,
    FrameRecord,
    StorageError,
    is_frame_id,
)
from ._plot import hourly_plot
from ._sessions import IndexSessions

if TYPE_CHECKING:
    from .._archive import Archive

HOME = "/gallery"
_HERE = Path(__file__).parent
_IMAGE_CACHE = "private, max-age=604800, immutable"  # frames never change under their id


def gallery_auth(
    accounts: Accounts,
    archive: Archive,
    *,
    throttle: LoginThrottle | None = None,
    session_max_age: float = 12 * 3600,
) -> Auth:
    """The login for the gallery: its own page title, back to the gallery after login, and the
    sessions in ``archive``'s index (shared by every node; see ``_sessions``)."""
    sessions = IndexSessions(archive, max_age=session_max_age)
    return Auth(accounts, templates=_templates(), throttle=throttle, home=HOME, registry=sessions)


def gallery_routes(
    auth: Auth, archive: Archive, *, tz: tzinfo = UTC, page_size: int = 120
) -> list[BaseRoute]:
    """Routes to mount under ``/``: ``/gallery...``, the login routes, and ``/`` -> gallery.

    ``archive`` may still be closed: it is only used per request. Days and hours are the
    browser's (the zone ``/_web/time.js`` puts in the ``tz`` cookie), so a frame is listed
    under the day and hour its shown time says; ``tz`` is the zone without that cookie (no
    JavaScript, a first visit). ``page_size`` is thumbnails per page. The app must install
    :func:`yardcam.web.web_middleware` (sessions + CSRF).
    """
    views = _Views(archive, _templates(), tz, page_size)
    guard = auth.required
    return [
        *auth.routes(),
        Mount(
            HOME,
            routes=[
                Route("/", guard(views.cams), name="gallery"),
                Route("/cams/{cam}", guard(views.day), name="gallery-day"),
                Route("/cams/{cam}/events", guard(views.events), name="gallery-events"),
                Route("/events/{event_id}", guard(views.event), name="gallery-event"),
                Route("/frames/{frame_id}", guard(views.frame), name="gallery-frame"),
                Route("/frames/{frame_id}/image.jpg", guard(views.image)),
                Route("/frames/{frame_id}/thumb.jpg", guard(views.thumb)),
                Mount("/static", StaticFiles(directory=_HERE / "static"), name="gallery-static"),
            ],
        ),
        Route("/", _to_gallery),
    ]


def _templates() -> Jinja2Templates:
    """The gallery's pages; their time filters use the page's zone (``tz`` in the context)."""
    templates = make_templates(_HERE / "templates", title="yardcam archive", home=HOME)
    filters = templates.env.filters

    def moment(context: jinja2.runtime.Context, ts: float) -> datetime:
        return datetime.fromtimestamp(ts, context["tz"])

    filters["clock"] = jinja2.pass_context(lambda c, ts: f"{moment(c, ts):%H:%M:%S}")
    filters["when"] = jinja2.pass_context(lambda c, ts: f"{moment(c, ts):%Y-%m-%d %H:%M:%S %Z}")
    filters["day"] = jinja2.pass_context(lambda c, ts: moment(c, ts).date().isoformat())
    filters["localtime"] = jinja2.pass_context(
        lambda c, ts, part="datetime": localtime(ts, c["tz"], part)
    )
    filters["filesize"] = _filesize
    filters["duration"] = _duration
    filters["event_key"] = lambda frame: event_key(frame.cam, frame.event)
    return templates


async def _to_gallery(request: Request) -> Response:
    return RedirectResponse(HOME + "/", status_code=307)


@dataclass(frozen=True, slots=True)
class _Hour:
    hour: int
    frames: list[FrameRecord]


class _Views:
    def __init__(
        self, archive: Archive, templates: Jinja2Templates, tz: tzinfo, page_size: int
    ) -> None:
        self.archive = archive
        self.page_size = page_size
        self.templates = templates
        self.tz = tz

    def _zone(self, request: Request) -> tzinfo:
        return browser_zone(request, self.tz)

    def _page(
        self, request: Request, name: str, context: dict[str, Any], status: int = 200
    ) -> Response:
        """Render ``name`` in the request's zone (``tz``: what its times and days are in)."""
        zone = self._zone(request)
        context = {**context, "tz": zone, "tz_name": str(zone)}
        return self.templates.TemplateResponse(request, name, context, status_code=status)

    def _error(self, request: Request, status: int, message: str) -> Response:
        return self._page(request, "gallery_error.html", {"message": message}, status)

    async def cams(self, request: Request) -> Response:
        index = self.archive.index
        try:
            cams = await index.list_cams()
            latest = [(await index.list_frames(cam=c.cam, limit=1)).frames for c in cams]
        except StorageError:
            return self._unavailable(request)
        rows = [
            (cam, frames[0] if frames else None) for cam, frames in zip(cams, latest, strict=True)
        ]
        return self._page(request, "gallery_cams.html", {"rows": rows})

    async def day(self, request: Request) -> Response:
        cam = request.path_params["cam"]
        if not is_valid_cam(cam):
            return self._error(request, 404, "No such camera.")
        index = self.archive.index
        params = request.query_params
        zone = self._zone(request)
        try:
            day = date.fromisoformat(params["day"]) if "day" in params else None
            hour = int(params.get("hour", "0"))
        except ValueError:
            return self._error(request, 400, "day must be YYYY-MM-DD and hour 0-23.")
        if not 0 <= hour <= 23:
            return self._error(request, 400, "day must be YYYY-MM-DD and hour 0-23.")
        try:
            if day is None:
                day = await self._last_active_day(index, cam, zone)
            start, end = _day_bounds(day, zone)
            since = max(start, _day_bounds(day, zone, hour)[0])
            counts = await index.counts_per_hour(cam, start, end)
            page = await index.list_frames(
                cam=cam,
                since=since,
                until=end,
                limit=self.page_size,
                cursor=params.get("cursor"),
                newest_first=False,
            )
        except ValueError:
            return self._error(request, 400, "That page link is broken; start from the day.")
        except StorageError:
            return self._unavailable(request)
        more = None
        if page.next_cursor:
            query = {"day": day.isoformat(), "hour": hour, "cursor": page.next_cursor}
            more = f"?{urlencode(query)}"
        today = datetime.now(zone).date()
        context = {
            "cam": cam,
            "day": day.isoformat(),
            "prev_day": (day - timedelta(days=1)).isoformat(),
            # No link into the future: nothing is there yet.
            "next_day": None if day >= today else (day + timedelta(days=1)).isoformat(),
            "plot": hourly_plot(counts, start, end, zone),
            "hours": _group_by_hour(page.frames, zone),
            "more": more,
        }
        return self._page(request, "gallery_day.html", context)

    async def events(self, request: Request) -> Response:
        """A cam's motion events, newest first: where a cam's gallery opens."""
        cam = request.path_params["cam"]
        if not is_valid_cam(cam):
            return self._error(request, 404, "No such camera.")
        cursor = request.query_params.get("cursor")
        try:
            page = await self.archive.index.list_events(cam, limit=self.page_size, cursor=cursor)
        except ValueError:
            return self._error(request, 400, "That page link is broken; start from the newest.")
        except StorageError:
            return self._unavailable(request)
        more = f"?{urlencode({'cursor': page.next_cursor})}" if page.next_cursor else None
        context = {"cam": cam, "events": page.events, "more": more, "paged": bool(cursor)}
        return self._page(request, "gallery_events.html", context)

    async def event(self, request: Request) -> Response:
        """One event: its frames as a flipbook (``static/flipbook.js``), oldest first."""
        parts = split_event_key(request.path_params["event_id"])
        try:
            found = None if parts is None else await self.archive.index.get_event(*parts)
        except StorageError:
            return self._unavailable(request)
        if found is None:
            return self._error(request, 404, "No such event.")
        summary, frames = found
        return self._page(request, "gallery_event.html", {"event": summary, "frames": frames})

    async def frame(self, request: Request) -> Response:
        try:
            record = await self._record(request)
            if record is None:
                return self._error(request, 404, "No such frame.")
            older, newer = await self._neighbours(record)
        except StorageError:
            return self._unavailable(request)
        context = {"frame": record, "older": older, "newer": newer}
        return self._page(request, "gallery_frame.html", context)

    async def image(self, request: Request) -> Response:
        try:
            record = await self._record(request)
            if record is None:
                return self._error(request, 404, "No such frame.")
            headers = _image_headers(record)
            if etag_matches(request.headers.get("if-none-match"), headers["etag"]):
                return Response(status_code=304, headers=headers)
            body = await self.archive.blobs.read(record.blob_key)
        except BlobNotFound:
            return self._error(request, 404, "This frame's image is gone (purged?).")
        except StorageError:
            return self._unavailable(request)
        return Response(body, media_type="image/jpeg", headers=_image_headers(record))

    async def thumb(self, request: Request) -> Response:
        try:
            record = await self._record(request)
            if record is None:
                return self._error(request, 404, "No such frame.")
            body = await self.archive.thumbnail(record)
        except BlobNotFound:
            return self._error(request, 404, "This frame's image is gone (purged?).")
        except StorageError:
            return self._unavailable(request)
        except ValueError:  # the archive's ThumbnailError: stored bytes no longer decode
            return self._error(request, 404, "This frame's image cannot be decoded.")
        return Response(body, media_type="image/jpeg", headers={"cache-control": _IMAGE_CACHE})

    async def _record(self, request: Request) -> FrameRecord | None:
        """The frame by the archive's id, or by the cam's key (``<cam>-<ms>-<seq>``, sent as its
        Idempotency-Key): the cam's dashboard links its motion events with the key it made."""
        frame_id = request.path_params["frame_id"]
        if is_frame_id(frame_id):
            return await self.archive.index.get_frame(frame_id)
        cam = cam_of_frame_key(frame_id)
        if cam is None:
            return None
        return await self.archive.index.get_by_idempotency_key(cam, frame_id)

    async def _neighbours(
        self, record: FrameRecord
    ) -> tuple[FrameRecord | None, FrameRecord | None]:
        """The same cam's previous and next frames in (ts, id) order, ties included."""
        me = (record.ts, record.id)
        before = await self.archive.index.list_frames(
            cam=record.cam, until=math.nextafter(record.ts, math.inf), limit=50
        )
        after = await self.archive.index.list_frames(
            cam=record.cam, since=record.ts, limit=50, newest_first=False
        )
        older = next((f for f in before.frames if (f.ts, f.id) < me), None)
        newer = next((f for f in after.frames if (f.ts, f.id) > me), None)
        return older, newer

    async def _last_active_day(self, index: FrameIndex, cam: str, zone: tzinfo) -> date:
        latest = (await index.list_frames(cam=cam, limit=1)).frames
        ts = latest[0].ts if latest else datetime.now(UTC).timestamp()
        return datetime.fromtimestamp(ts, zone).date()

    def _unavailable(self, request: Request) -> Response:
        response = self._error(request, 503, "The archive storage is unreachable; retry shortly.")
        response.headers["retry-after"] = "5"
        return response


def _day_bounds(day: date, zone: tzinfo, hour: int = 0) -> tuple[float, float]:
    """``[start, end)`` of a local day (23/25 h on DST days), or from ``hour`` to its end."""
    start = datetime(day.year, day.month, day.day, hour, tzinfo=zone)
    following = day + timedelta(days=1)
    end = datetime(following.year, following.month, following.day, tzinfo=zone)
    return start.timestamp(), end.timestamp()


def _group_by_hour(frames: list[FrameRecord], zone: tzinfo) -> list[_Hour]:
    groups: list[_Hour] = []
    for record in frames:
        hour = datetime.fromtimestamp(record.ts, zone).hour
        if not groups or groups[-1].hour != hour:
            groups.append(_Hour(hour, []))
        groups[-1].frames.append(record)
    return groups


def _image_headers(record: FrameRecord) -> dict[str, str]:
    return {"cache-control": _IMAGE_CACHE, "etag": f'"{record.sha256}"'}


def _duration(seconds: float) -> str:
    """``0.8 s``, ``12 s``, ``3 min 05 s``: an event's length at a glance."""
    if seconds < 10:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    return f"{whole // 60} min {whole % 60:02d} s"


def _filesize(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    scaled = size / 1024
    for unit in ("KB", "MB"):
        if scaled < 1024:
            return f"{scaled:.1f} {unit}"
        scaled /= 1024
    return f"{scaled:.1f} GB"
