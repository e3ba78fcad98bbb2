"""Module-level functions: ``requests.get(url)`` with no setup, as in CPython requests.

Each call uses a fresh :class:`Session` that is closed when the call returns (a ``stream=True``
response keeps its own connection until it is read or closed). Nothing is shared between calls,
so they are safe from any thread; use a :class:`Session` to reuse connections. Module functions
make no retries (pass ``retries=Retry(...)`` to ask) and use :data:`DEFAULT_TIMEOUT`.
"""

from __future__ import annotations

from typing import Any

from yardcam.requests._client import Verbs
from yardcam.requests.models import Response
from yardcam.requests.sessions import Session

__all__ = ["delete", "get", "head", "options", "patch", "post", "put", "request"]


class _OneShot(Verbs[Response]):
    def request(self, method: str, url: str, **kwargs: Any) -> Response:
        """Send one request on a fresh session; keywords as in ``Session.request``."""
        with Session() as session:
            return session.request(method, url, **kwargs)


_ONE_SHOT = _OneShot()
request = _ONE_SHOT.request
get = _ONE_SHOT.get
options = _ONE_SHOT.options
head = _ONE_SHOT.head
post = _ONE_SHOT.post
put = _ONE_SHOT.put
patch = _ONE_SHOT.patch
delete = _ONE_SHOT.delete
