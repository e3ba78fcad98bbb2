"""The asyncio :class:`AsyncSession`: the shared flow, run with asyncio streams."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from yardcam.requests._async_transport import AsyncTransport, StreamConnection
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
from yardcam.requests.exceptions import RequestException
from yardcam.requests.models import PreparedRequest, Response

__all__ = ["AsyncSession"]


class AsyncSession(BaseSession, Verbs[Coroutine[Any, Any, Response]]):
    """The asyncio flavour of :class:`Session`: ``r = await s.post(...)``; safe across tasks.

    Without ``stream=True`` the body is read before the call returns; with it, use
    ``await r.aread()``, ``async for chunk in r.aiter_content()`` and ``await r.aclose()``.
    """

    def __init__(self, **settings: Any) -> None:
        super().__init__(**settings)
        self._pool: Pool[StreamConnection] = Pool(self.pool_maxsize)
        self._transport = AsyncTransport(self._pool)

    async def request(self, method: str, url: str, **kwargs: Any) -> Response:
        """Send a request; keywords as in CPython ``requests.request`` plus ``retries=``."""
        return await self._deliver(*self._split_kwargs(method, url, kwargs))

    async def send(self, request: PreparedRequest, **kwargs: Any) -> Response:
        """Send a :class:`PreparedRequest` (from :meth:`prepare_request` or :meth:`prepare`) with
        the given settings."""
        return await self._deliver(request, self._settings(**kwargs))

    async def _deliver(self, request: PreparedRequest, settings: Settings) -> Response:
        response = await self._run(self._flow(request, settings))
        if not settings.stream:
            try:
                await response.aread()
            except BaseException:
                await response.aclose()
                raise
        return response

    async def _run(self, flow: Flow) -> Response:
        """Perform the flow's actions with asyncio I/O until it returns the final response."""
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
                    result = await self._transport.send(
                        action.request, action.timeout, action.ssl_context, action.proxy
                    )
                elif type(action) is LoadTLS:
                    result = await self._tls.aget(action.verify, action.cert)
                elif type(action) is Sleep:
                    await asyncio.sleep(action.seconds)
                else:
                    assert type(action) is Discard
                    await action.response._adiscard()
            except RequestException as exc:
                error = exc

    async def close(self) -> None:
        """Close idle connections; responses still streaming close theirs when done."""
        self._closed = True
        conns = self._pool.close()
        try:
            for conn in conns:
                await conn.wait_closed()
        except BaseException:  # cancelled: the rest are dropped rather than left half closed
            for conn in conns:
                conn.abort()
            raise

    async def __aenter__(self) -> AsyncSession:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()
