"""The API tokens page: list, create and revoke the cam's tokens from the browser.

``/account/tokens`` shows every token (id, name, scope, created, last used; never the secret),
a form to make one and a revoke button per token. Opening the page and creating a token need a
fresh login (the password typed within 10 minutes, :meth:`yardcam.web.Auth.unless_fresh`, the
same step as the password page): a token outlives the session that made it, so a borrowed
browser must not be enough to mint one. Revoking needs only the session: taking access away is
never the dangerous direction. The forms carry the CSRF token and go through the CSRF
middleware (token and same-origin check) like every other form of the app.

The new token is shown once, in the reply to the form (never in a URL, a redirect or a log),
with a ``curl`` line that works as printed against this cam.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.templating import Jinja2Templates

from ..web import Auth
from ._access import Access
from ._tokens import SCOPES, create_api_token, revoke_api_token

PATH = "/account/tokens"


class TokenPage:
    def __init__(
        self,
        access: Access,
        templates: Jinja2Templates,
        *,
        data_dir: Path,
        ca_file: Path | None,
    ) -> None:
        self.auth: Auth = access.auth
        self.access = access
        self.tokens = access.tokens
        self.templates = templates
        self.data_dir = data_dir
        self.ca_file = ca_file

    def routes(self) -> list[BaseRoute]:
        return [
            Route(PATH, self.access.page(self.show), methods=["GET"]),
            Route(PATH, self.access.page(self.create), methods=["POST"]),
            Route(f"{PATH}/revoke", self.access.page(self.revoke), methods=["POST"]),
        ]

    async def show(self, request: Request) -> Response:
        if (first := await self.auth.unless_fresh(request, PATH)) is not None:
            return first
        return self._render(request)

    async def create(self, request: Request) -> Response:
        if (first := await self.auth.unless_fresh(request, PATH)) is not None:
            return first
        async with request.form(max_files=0, max_fields=4) as form:
            name = str(form.get("name", "")).strip()
            scope = str(form.get("scope", ""))
        try:
            token = await run_in_threadpool(create_api_token, self.data_dir, name, scope)
        except ValueError as exc:
            return self._render(request, error=f"{str(exc).capitalize()}.", name=name, status=400)
        return self._render(request, created={"name": name, "scope": scope, "token": token})

    async def revoke(self, request: Request) -> Response:
        async with request.form(max_files=0, max_fields=4) as form:
            name = str(form.get("name", ""))
        try:
            await run_in_threadpool(revoke_api_token, self.data_dir, name)
        except KeyError:
            error = f"There is no token named {name!r} (revoked already?)."
            return self._render(request, error=error, status=404)
        return self._render(request, revoked=name)

    def curl_line(self, request: Request, token: str) -> str:
        """A command that reads ``/status`` with ``token``, as this browser reached the cam."""
        url = str(request.base_url).rstrip("/") + "/status"
        ca = ["--cacert", str(self.ca_file)] if self.ca_file is not None else []
        return shlex.join(["curl", *ca, "-H", f"Authorization: Bearer {token}", url])

    def _render(
        self,
        request: Request,
        *,
        created: dict[str, str] | None = None,
        revoked: str = "",
        error: str = "",
        name: str = "",
        status: int = 200,
    ) -> Response:
        context: dict[str, Any] = {
            "tokens": self.tokens.listing(),
            "scopes": SCOPES,
            "created": created,
            "curl": self.curl_line(request, created["token"]) if created else "",
            "revoked": revoked,
            "error": error,
            "name": name,
        }
        response = self.templates.TemplateResponse(
            request, "tokens.html", context, status_code=status
        )
        response.headers["cache-control"] = "no-store"  # the page may hold a new token
        return response
