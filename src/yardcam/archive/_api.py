"""The archive's HTTP API for machines: ingest, listing, frames, thumbnails, admin delete, probes.

Every refusal is an :class:`ApiError` rendered as ``{"error": reason}``; storage outages become
503 with ``Retry-After`` (the cam's uploader retries), never a 500.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from ..names import event_key, is_event_id, is_valid_cam, split_event_key
from ._archive import Archive, ThumbnailError
from ._errors import ApiError
from ._etag import etag_matches
from ._ingest import Upload, parse_float, parse_int, receive_upload
from ._metrics import Metrics
from ._openapi import openapi_document
from ._ratelimit import RateLimiter
from ._timestamps import parse_timestamp
from ._tokens import TokenVerifier, check_cam_access
from .storage import (
    BlobNotFound,
    BlobWriter,
    EventSummary,
    FrameRecord,
    StorageError,
    TokenRecord,
    blob_key,
    is_frame_id,
    new_frame_id,
)

_IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,128}")
_MAX_TS = 2.0**33  # year 2242: a bound, so a bogus ts cannot overflow date arithmetic
_IMMUTABLE = "private, max-age=31536000, immutable"


_BASE_URLS: dict[tuple[object, ...], str] = {}
_BASE_URLS_MAX = 64  # the Host header is the client's: the cache must stay bounded


def _base_url(request: Request) -> str:
    """``request.base_url`` without the trailing slash, remembered per host: building it
    costs ~20 us, a tenth of an upload's own loop time on the ingest path."""
    scope = request.scope
    key = (
        scope["scheme"],
        scope.get("server"),
        scope.get("root_path"),
        request.headers.get("host"),
    )
    base = _BASE_URLS.get(key)
    if base is None:
        if len(_BASE_URLS) >= _BASE_URLS_MAX:
            _BASE_URLS.clear()
        base = _BASE_URLS[key] = str(request.base_url).rstrip("/")
    return base


def frame_json(record: FrameRecord, request: Request) -> dict[str, Any]:
    base = _base_url(request)
    return {
        "id": record.id,
        "url": f"{base}/frames/{record.id}",
        "thumb_url": f"{base}/frames/{record.id}/thumb",
        "cam": record.cam,
        "ts": record.ts,
        "seq": record.seq,
        "change": record.change,
        "event": record.event,
        "size": record.size,
        "sha256": record.sha256,
        "received": record.received,
    }


def event_json(event: EventSummary, request: Request) -> dict[str, Any]:
    """An event's summary; ``id`` (``<cam>-<event>``) names it in ``/events/{id}``, ``event`` is
    the cam's own id that its frames carry."""
    key = event_key(event.cam, event.event)
    return {
        "id": key,
        "url": f"{_base_url(request)}/events/{key}",
        "cam": event.cam,
        "event": event.event,
        "start": event.start,
        "end": event.end,
        "duration": event.end - event.start,
        "frames": event.frames,
        "peak_change": event.peak_change,
        "best": frame_json(event.best, request),
    }


async def _jpeg_response(
    request: Request, etag: str, load: Callable[[], Awaitable[bytes]]
) -> Response:
    """A frame's JPEG (or thumbnail) under ``etag``; a 304 without loading it when the client
    already holds it (frames never change under their id)."""
    headers = {"ETag": etag, "Cache-Control": _IMMUTABLE, "X-Content-Type-Options": "nosniff"}
    if etag_matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    try:
        body = await load()
    except BlobNotFound:
        raise ApiError(404, "frame data is gone (deleted concurrently)") from None
    return Response(body, media_type="image/jpeg", headers=headers)


def _parse_time(params: Mapping[str, str], name: str) -> float | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    try:
        return parse_timestamp(raw)
    except ValueError as exc:
        raise ApiError(400, f"{name}: {exc}") from None


class ArchiveApi:
    """Endpoints bound to one :class:`Archive`, with this node's rate limiter and metrics."""

    def __init__(self, archive: Archive, metrics: Metrics) -> None:
        self.archive = archive
        self.metrics = metrics
        settings = archive.settings
        self.limiter = RateLimiter(settings.rate_per_token, settings.rate_burst)
        self.tokens = TokenVerifier(settings.token_ttl)

    async def _authenticate(self, request: Request, need: str) -> TokenRecord:
        authorization = request.headers.get("authorization")
        return await self.tokens.authenticate(self.archive.index, authorization, need)

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/frames", self.post_frame, methods=["POST"]),
            Route("/frames", self.list_frames, methods=["GET"]),
            Route("/frames/{frame_id}", self.get_frame, methods=["GET"]),
            Route("/frames/{frame_id}", self.delete_frame, methods=["DELETE"]),
            Route("/frames/{frame_id}/thumb", self.get_thumb, methods=["GET"]),
            Route("/events", self.list_events, methods=["GET"]),
            Route("/events/{event_id}", self.get_event, methods=["GET"]),
            Route("/cams", self.list_cams, methods=["GET"]),
            Route("/healthz", self.healthz, methods=["GET"]),
            Route("/readyz", self.readyz, methods=["GET"]),
            Route("/metrics", self.metrics_text, methods=["GET"]),
            Route("/openapi.json", self.openapi, methods=["GET"]),
        ]

    # -- ingest ---------------------------------------------------------------------------

    async def post_frame(self, request: Request) -> Response:
        started = time.perf_counter()
        self.metrics.in_flight += 1
        try:
            response = await self._ingest(request)
        except ApiError as exc:
            self.metrics.rejections[str(exc.status)] += 1
            raise
        except ClientDisconnect:
            self.metrics.rejections["disconnect"] += 1
            return Response(status_code=400)  # nobody is listening; uvicorn drops it
        finally:
            self.metrics.in_flight -= 1
        self.metrics.observe_ingest(time.perf_counter() - started)
        return response

    async def _ingest(self, request: Request) -> Response:
        index = self.archive.index
        token = await self._authenticate(request, "upload")
        wait = self.limiter.acquire(token.id)
        if wait:
            retry = RateLimiter.retry_after(wait)
            raise ApiError(429, "too many uploads for this token", {"Retry-After": retry})
        idem = request.headers.get("idempotency-key")
        if idem is not None and not _IDEMPOTENCY_KEY.fullmatch(idem):
            raise ApiError(400, "Idempotency-Key must be 1-128 visible ASCII characters")
        # No "already stored?" lookup before reading: retries are rare, and the index insert
        # below settles every duplicate anyway (one round trip fewer per upload).
        frame_id, received = new_frame_id(), time.time()
        fields: dict[str, str] = {}
        opened: list[str] = []

        async def open_writer() -> BlobWriter:
            cam = token.cam or fields.get("cam", "")
            if fields.get("cam") and fields["cam"] != cam:
                raise ApiError(403, f"token is not valid for cam {fields['cam']!r}")
            if not is_valid_cam(cam):
                raise ApiError(400, "cam must be sent before the image (token is for all cams)")
            opened.append(cam)
            return await self.archive.blobs.open_writer(blob_key(cam, frame_id, received))

        upload = await self._receive(request, open_writer, fields)
        try:
            record = self._record(opened[0], upload, frame_id, received, idem)
            stored, created = await index.insert_frame(record)
        except (ApiError, StorageError):
            await self._discard(upload.blob.key)
            raise
        if not created:
            # Lost a race (another request or node stored this key first): keep the winner only.
            await self._discard(upload.blob.key)
            self.metrics.duplicates += 1
            return JSONResponse(frame_json(stored, request), status_code=200)
        self.metrics.ingested += 1
        self.metrics.bytes += stored.size
        body = frame_json(stored, request)
        return JSONResponse(body, status_code=201, headers={"Location": body["url"]})

    async def _receive(
        self,
        request: Request,
        open_writer: Callable[[], Awaitable[BlobWriter]],
        fields: dict[str, str],
    ) -> Upload:
        raw_length = request.headers.get("content-length")
        try:
            length = int(raw_length) if raw_length is not None else None
        except ValueError:
            raise ApiError(400, "invalid Content-Length") from None
        upload = await receive_upload(
            request.stream(),
            request.headers.get("content-type"),
            length,
            max_image=self.archive.settings.max_frame_bytes,
            open_writer=open_writer,
            fields=fields,
        )
        return upload

    @staticmethod
    def _record(
        cam: str,
        upload: Upload,
        frame_id: str,
        received: float,
        idem: str | None,
    ) -> FrameRecord:
        sent_cam = upload.fields.get("cam")
        if sent_cam and sent_cam != cam:  # a cam field sent after the image
            raise ApiError(403, f"token is not valid for cam {sent_cam!r}")
        ts = parse_float(upload.fields, "ts")
        if ts is not None and not 0 <= ts < _MAX_TS:
            raise ApiError(400, "field 'ts' out of range")
        return FrameRecord(
            id=frame_id,
            cam=cam,
            ts=received if ts is None else ts,
            seq=parse_int(upload.fields, "seq"),
            change=parse_float(upload.fields, "change"),
            size=upload.blob.size,
            sha256=upload.blob.sha256,
            blob_key=upload.blob.key,
            received=received,
            idempotency_key=idem,
            event=_event_id(upload.fields),
        )

    async def _discard(self, key: str) -> None:
        # Best effort: an unreferenced blob is garbage, never listed; losing it is harmless.
        with contextlib.suppress(StorageError):
            await self.archive.blobs.delete(key)

    # -- reading --------------------------------------------------------------------------

    async def _readable_frame(self, request: Request) -> FrameRecord:
        token = await self._authenticate(request, "read")
        record = await self.archive.index.get_frame(_frame_id(request))
        if record is None:
            raise ApiError(404, "no such frame")
        check_cam_access(token, record.cam)
        return record

    async def list_frames(self, request: Request) -> Response:
        token = await self._authenticate(request, "read")
        params = request.query_params
        cam = params.get("cam") or token.cam
        if cam is not None:
            if not is_valid_cam(cam):
                raise ApiError(400, "invalid cam name")
            check_cam_access(token, cam)
        limit = _parse_limit(params)
        order = params.get("order", "desc")
        if order not in {"asc", "desc"}:
            raise ApiError(400, "order must be 'asc' or 'desc'")
        try:
            page = await self.archive.index.list_frames(
                cam=cam,
                since=_parse_time(params, "since"),
                until=_parse_time(params, "until"),
                limit=limit,
                cursor=params.get("cursor") or None,
                newest_first=order == "desc",
            )
        except ValueError:
            raise ApiError(400, "invalid cursor") from None
        return JSONResponse(
            {
                "frames": [frame_json(f, request) for f in page.frames],
                "next_cursor": page.next_cursor,
                "next": _next_url(request, page.next_cursor),
            }
        )

    async def list_events(self, request: Request) -> Response:
        token = await self._authenticate(request, "read")
        params = request.query_params
        cam = params.get("cam") or token.cam
        if cam is None:
            raise ApiError(400, "cam is required: events are listed per cam (?cam=NAME)")
        if not is_valid_cam(cam):
            raise ApiError(400, "invalid cam name")
        check_cam_access(token, cam)
        limit = _parse_limit(params)
        try:
            page = await self.archive.index.list_events(
                cam,
                since=_parse_time(params, "since"),
                until=_parse_time(params, "until"),
                limit=limit,
                cursor=params.get("cursor") or None,
            )
        except ValueError:
            raise ApiError(400, "invalid cursor") from None
        return JSONResponse(
            {
                "events": [event_json(e, request) for e in page.events],
                "next_cursor": page.next_cursor,
                "next": _next_url(request, page.next_cursor),
            }
        )

    async def get_event(self, request: Request) -> Response:
        token = await self._authenticate(request, "read")
        key: str = request.path_params["event_id"]
        parts = split_event_key(key)
        if parts is None:
            raise ApiError(404, "no such event: an event id is <cam>-<start ms>-<first seq>")
        check_cam_access(token, parts[0])
        found = await self.archive.index.get_event(*parts)
        if found is None:
            raise ApiError(404, f"no such event: cam {parts[0]!r} has no frame in event {parts[1]}")
        summary, frames = found
        return JSONResponse(
            {
                "event": event_json(summary, request),
                "frames": [frame_json(f, request) for f in frames],
            }
        )

    async def get_frame(self, request: Request) -> Response:
        record = await self._readable_frame(request)
        return await _jpeg_response(
            request, f'"{record.sha256}"', lambda: self.archive.blobs.read(record.blob_key)
        )

    async def get_thumb(self, request: Request) -> Response:
        record = await self._readable_frame(request)

        async def thumbnail() -> bytes:
            try:
                return await self.archive.thumbnail(record)
            except ThumbnailError as exc:
                raise ApiError(422, f"cannot make a thumbnail: {exc}") from None

        etag = f'"{record.sha256}-t{self.archive.settings.thumb_size}"'
        return await _jpeg_response(request, etag, thumbnail)

    async def list_cams(self, request: Request) -> Response:
        token = await self._authenticate(request, "read")
        cams = [
            {
                "cam": c.cam,
                "count": c.count,
                "bytes": c.bytes,
                "first_ts": c.first_ts,
                "last_ts": c.last_ts,
            }
            for c in await self.archive.index.list_cams()
            if token.cam is None or c.cam == token.cam
        ]
        return JSONResponse({"cams": cams})

    async def delete_frame(self, request: Request) -> Response:
        await self._authenticate(request, "admin")
        # Row first: once it is gone the frame is never listed, then the blob can go.
        record = await self.archive.index.delete_frame(_frame_id(request))
        if record is None:
            raise ApiError(404, "no such frame")
        await self.archive.blobs.delete(record.blob_key)
        self.archive.forget(record.id)
        return Response(status_code=204)

    # -- probes ---------------------------------------------------------------------------

    async def healthz(self, request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(self, request: Request) -> Response:
        try:
            await self.archive.index.check()
            await self.archive.blobs.check()
        except (StorageError, RuntimeError) as exc:
            return JSONResponse({"error": f"not ready: {exc}"}, status_code=503)
        return JSONResponse({"status": "ready"})

    async def metrics_text(self, request: Request) -> Response:
        token = await self._authenticate(request, "read")
        if token.cam is not None:  # the counters are the whole node's, every cam's traffic
            raise ApiError(403, "metrics cover every cam: use a read token made without --cam")
        return PlainTextResponse(
            self.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8"
        )

    async def openapi(self, request: Request) -> Response:
        return JSONResponse(openapi_document())


def _parse_limit(params: Mapping[str, str]) -> int:
    try:
        limit = int(params.get("limit", "100"))
    except ValueError:
        raise ApiError(400, "limit must be an integer") from None
    if not 1 <= limit <= 1000:
        raise ApiError(400, "limit must be between 1 and 1000")
    return limit


def _next_url(request: Request, cursor: str | None) -> str | None:
    return None if cursor is None else str(request.url.include_query_params(cursor=cursor))


def _frame_id(request: Request) -> str:
    """The path's frame id, or 404 before it reaches the index: no frame has any other shape,
    and PostgreSQL refuses some text outright (a NUL byte), which would read as a 503."""
    frame_id: str = request.path_params["frame_id"]
    if not is_frame_id(frame_id):
        raise ApiError(404, "no such frame")
    return frame_id


def _event_id(fields: dict[str, str]) -> str | None:
    """The upload's ``event`` field: the id of the cam's motion event the frame belongs to."""
    event = fields.get("event")
    if event is None or event == "":
        return None
    if not is_event_id(event):
        raise ApiError(400, "field 'event' must be a motion event id: <start ms>-<first seq>")
    return event
