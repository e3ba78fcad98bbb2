"""``requests.sessions``: the blocking :class:`Session` (the shared flow, run with sockets)."""

from __future__ import annotations

import time
from typing import Any

from yardcam.requests._client import (
    BaseSession,
    Discard,
    Flow,
    LoadTLS,
    Send,
    Settings,
    Sleep,
    Verbs,
)
from yardcam.requests._pool import Pool
from yardcam.requests._sync_transport import SocketConnection, SyncTransport
from yardcam.requests.exceptions import RequestException
from yardcam.requests.models import PreparedRequest, Response

__all__ = ["Session", "session"]


class Session(BaseSession, Verbs[Response]):
    """Keeps settings, cookies and keep-alive connections across requests; thread-safe.

    >>> with Session(timeout=(5, 30)) as s:  # doctest: +SKIP
    ...     r = s.post(url, files={"image": ("frame.jpg", jpeg_bytes)})
    """

    def __init__(self, **settings: Any) -> None:
        super().__init__(**settings)
        self._pool: Pool[SocketConnection] = Pool(self.pool_maxsize)
        self._transport = SyncTransport(self._pool)

    def request(self, method: str, url: str, **kwargs: Any) -> Response:
        """Send a request and return the :class:`Response`; keywords as in CPython requests:

        ``params`` (query: mapping or pairs), ``data`` (form mapping, bytes/str, binary file,
        iterable of bytes), ``json``, ``files`` (multipart, streamed), ``headers`` (None removes
        a session header), ``cookies``, ``auth`` ((user, pw), :class:`BearerAuth`, a callable),
        ``timeout`` (seconds, (connect, read) or None), ``allow_redirects``, ``stream`` (leave
        the body unread), ``verify`` (bool, CA bundle path, SSLContext), ``cert`` (client
        certificate file, or (cert, key)), ``proxies`` (overlaid on ``Session.proxies``),
        ``retries`` (a :class:`Retry`, an int, or None).
        Anything else is refused with :class:`InvalidRequest` before any I/O.
        """
        return self._deliver(*self._split_kwargs(method, url, kwargs))

    def send(self, request: PreparedRequest, **kwargs: Any) -> Response:
        """Send a :class:`PreparedRequest` (from :meth:`prepare_request` or :meth:`prepare`) with
        the given settings."""
        return self._deliver(request, self._settings(**kwargs))

    def _deliver(self, request: PreparedRequest, settings: Settings) -> Response:
        response = self._run(self._flow(request, settings))
        if not settings.stream:
            try:
                response.content  # noqa: B018 - reads the body and frees the connection
            except BaseException:
                response.close()
                raise
        return response

    def _run(self, flow: Flow) -> Response:
        """Perform the flow's actions with blocking I/O until it returns the final response."""
        result: Any = None
        error: RequestException | None = None
        while True:
            try:
                action = flow.throw(error) if error is not None else flow.send(result)
            except StopIteration as stop:
                return stop.value
            result = error = None
            try:
                if type(action) is Send:
                    result = self._transport.send(
                        action.request, action.timeout, action.ssl_context, action.proxy
                    )
                elif type(action) is LoadTLS:
                    result = self._tls.get(action.verify, action.cert)
                elif type(action) is Sleep:
                    time.sleep(action.seconds)
                else:
                    assert type(action) is Discard
                    action.response._discard()
            except RequestException as exc:
                error = exc

    def close(self) -> None:
        """Close idle connections; responses still streaming close theirs when done."""
        self._closed = True
        self._pool.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def session() -> Session:
    """A new :class:`Session`, as requests' ``requests.session()``."""
    return Session()
