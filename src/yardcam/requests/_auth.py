"""Authentication helpers: ``auth=(user, pw)`` for Basic, :class:`BearerAuth`, or any callable.

An auth object is a callable that edits a :class:`PreparedRequest` in place (or returns a new one),
exactly like CPython requests' ``AuthBase``.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import TYPE_CHECKING

from yardcam.requests.exceptions import InvalidRequest

if TYPE_CHECKING:
    from yardcam.requests._models import PreparedRequest

__all__ = ["AuthCallable", "BasicAuth", "BearerAuth", "basic_credentials", "resolve_auth"]

AuthCallable = Callable[["PreparedRequest"], "PreparedRequest | None"]


class BasicAuth:
    """HTTP Basic (RFC 7617): ``Authorization: Basic base64(user:password)``, UTF-8 encoded."""

    __slots__ = ("_value",)

    def __init__(self, username: str | bytes, password: str | bytes) -> None:
        self._value = basic_credentials(username, password)

    def __call__(self, request: PreparedRequest) -> PreparedRequest:
        request.headers["Authorization"] = self._value
        return request


def basic_credentials(username: str | bytes, password: str | bytes) -> str:
    """``Basic base64(user:password)``, for Authorization and Proxy-Authorization alike."""
    user = username.encode() if isinstance(username, str) else username
    pw = password.encode() if isinstance(password, str) else password
    return "Basic " + base64.b64encode(user + b":" + pw).decode("ascii")


class BearerAuth:
    """``Authorization: Bearer <token>`` (RFC 6750), the form archive services ask for."""

    __slots__ = ("_value",)

    def __init__(self, token: str) -> None:
        if not isinstance(token, str) or not token:
            raise InvalidRequest("BearerAuth needs a non-empty str token")
        self._value = "Bearer " + token

    def __call__(self, request: PreparedRequest) -> PreparedRequest:
        request.headers["Authorization"] = self._value
        return request

    def __repr__(self) -> str:
        return "BearerAuth(<token hidden>)"


def resolve_auth(auth: object) -> AuthCallable | None:
    """``auth=`` as a callable: a (user, password) pair becomes :class:`BasicAuth`."""
    if auth is None:
        return None
    if isinstance(auth, tuple) and len(auth) == 2:
        return BasicAuth(*auth)
    if callable(auth):
        return auth
    raise InvalidRequest(f"auth must be a (user, password) pair or a callable, got {auth!r}")
