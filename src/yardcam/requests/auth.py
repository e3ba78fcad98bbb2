"""``requests.auth``: ``auth=(user, pw)`` for Basic, :class:`HTTPBasicAuth`, :class:`BearerAuth`,
or any callable.

An auth object is a callable that edits a :class:`PreparedRequest` in place (or returns a new one),
as in CPython requests: subclass :class:`AuthBase` (or pass any function) to sign requests.
Not here: requests' ``HTTPDigestAuth`` and ``HTTPProxyAuth`` (proxy credentials go in the proxy
URL: ``http://user:pw@proxy:3128``).
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import TYPE_CHECKING

from yardcam.requests.exceptions import InvalidRequest

if TYPE_CHECKING:
    from yardcam.requests.models import PreparedRequest

__all__ = ["AuthBase", "BearerAuth", "HTTPBasicAuth"]

AuthCallable = Callable[["PreparedRequest"], "PreparedRequest | None"]


class AuthBase:
    """Base of auth objects: a subclass implements ``__call__(request) -> request``."""

    __slots__ = ()

    def __call__(self, request: PreparedRequest) -> PreparedRequest:
        raise NotImplementedError("auth objects must implement __call__")


class HTTPBasicAuth(AuthBase):
    """HTTP Basic (RFC 7617): ``Authorization: Basic base64(user:password)``, UTF-8 encoded."""

    __slots__ = ("_value", "password", "username")

    def __init__(self, username: str | bytes, password: str | bytes) -> None:
        self.username, self.password = username, password
        self._value = basic_credentials(username, password)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, HTTPBasicAuth):
            return NotImplemented
        return (self.username, self.password) == (other.username, other.password)

    def __hash__(self) -> int:
        return hash((self.username, self.password))

    def __repr__(self) -> str:
        return f"HTTPBasicAuth({self.username!r}, <password hidden>)"

    def __call__(self, request: PreparedRequest) -> PreparedRequest:
        request.headers["Authorization"] = self._value
        return request


def basic_credentials(username: str | bytes, password: str | bytes) -> str:
    """``Basic base64(user:password)``, for Authorization and Proxy-Authorization alike."""
    user = username.encode() if isinstance(username, str) else username
    pw = password.encode() if isinstance(password, str) else password
    return "Basic " + base64.b64encode(user + b":" + pw).decode("ascii")


class BearerAuth(AuthBase):
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
    """``auth=`` as a callable: a (user, password) pair becomes :class:`HTTPBasicAuth`."""
    if auth is None:
        return None
    if isinstance(auth, tuple) and len(auth) == 2:
        return HTTPBasicAuth(*auth)
    if callable(auth):
        return auth
    raise InvalidRequest(f"auth must be a (user, password) pair or a callable, got {auth!r}")
