"""API refusals: raised anywhere in a request, rendered once as JSON ``{"error": reason}``."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.requests import Request
from starlette.responses import JSONResponse, Response


class ApiError(Exception):
    """A refusal with a status code and a human-readable reason (never a 500)."""

    def __init__(self, status: int, reason: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.headers = dict(headers or {})


async def api_error_response(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    headers = dict(exc.headers)
    if exc.status == 401:
        headers.setdefault("WWW-Authenticate", 'Bearer realm="yardcam"')
    return JSONResponse({"error": exc.reason}, status_code=exc.status, headers=headers)
