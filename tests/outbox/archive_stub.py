"""A real archive stub (Starlette on uvicorn) that tests can switch between behaviours.

Behaviours, per request: ``accept`` (201, or 200 for a repeated Idempotency-Key), ``500``,
``429`` (with Retry-After), ``hang`` (stores the frame, then answers too late: the "response
lost" case that idempotency must absorb), ``400``/``413``/``415`` (with an ``{"error"}``
reason). A bearer token other than ``stub.token`` gets 401. "Refuse" is a port bound but not
listening (``serving.refusing_socket``): start the stub on that very socket later.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

_ERRORS = {"400": "bad form", "413": "frame too large", "415": "not a JPEG", "500": "boom"}


@dataclass(frozen=True)
class Received:
    key: str
    cam: str
    ts: str
    seq: str
    change: str
    event: str | None  # the motion event's id; absent for frames sent without one
    filename: str
    content_type: str
    sha256: str
    size: int
    authorization: str


@dataclass
class ArchiveStub:
    token: str = "good-token"
    mode: str = "accept"
    script: list[str] = field(default_factory=list)  # behaviours for the next requests, first first
    retry_after: str = "1"
    hang_seconds: float = 3.0
    requests: list[tuple[str, str]] = field(default_factory=list)  # (key, behaviour) per request
    posts: list[Received] = field(default_factory=list)  # every upload that got past the token
    stored: dict[str, Received] = field(default_factory=dict)  # what the archive keeps, by key
    lock: threading.Lock = field(default_factory=threading.Lock)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/frames", self._frames, methods=["POST"])])

    def behaviour(self) -> str:
        with self.lock:
            return self.script.pop(0) if self.script else self.mode

    def keys_requested(self, key: str) -> list[str]:
        return [b for k, b in self.requests if k == key]

    async def _frames(self, request: Request) -> JSONResponse:
        key = request.headers.get("idempotency-key", "")
        auth = request.headers.get("authorization", "")
        if auth != f"Bearer {self.token}":
            self.requests.append((key, "401"))
            return JSONResponse({"error": "invalid token"}, status_code=401)
        with self.lock:
            # Like the real archive, a key it already keeps is answered with the stored copy
            # before anything else can go wrong: a resend after a hang is never refused.
            already = bool(key) and key in self.stored
        behaviour = "accept" if already else self.behaviour()
        self.requests.append((key, behaviour))
        if behaviour == "429":
            return JSONResponse(
                {"error": "slow down"}, status_code=429, headers={"Retry-After": self.retry_after}
            )
        if behaviour in _ERRORS:
            return JSONResponse({"error": _ERRORS[behaviour]}, status_code=int(behaviour))
        async with request.form() as form:
            image = form.get("image")
            if not isinstance(image, UploadFile):
                return JSONResponse({"error": "image part required"}, 400)
            key = key or f"anonymous-{len(self.posts)}"  # the docs' example sends no key
            data = await image.read()
            got = Received(
                key=key,
                cam=str(form.get("cam")),
                ts=str(form.get("ts")),
                seq=str(form.get("seq")),
                change=str(form.get("change")),
                event=None if (event := form.get("event")) is None else str(event),
                filename=image.filename or "",
                content_type=image.content_type or "",
                sha256=hashlib.sha256(data).hexdigest(),
                size=len(data),
                authorization=auth,
            )
        with self.lock:
            self.posts.append(got)
            repeat = key in self.stored
            stored = self.stored.setdefault(key, got)
        if behaviour == "hang":
            await asyncio.sleep(self.hang_seconds)
        return JSONResponse(
            {"id": key, "sha256": stored.sha256, "size": stored.size},
            status_code=200 if repeat else 201,
        )
