"""Run blocking calls off the event loop, one loop<->thread hop per batch instead of per call.

Under load, the cost of a thread hop is not the call but the handoffs: waking a worker, the
GIL going back and forth, the self-pipe write that wakes the loop. With dozens of uploads in
flight, calls queued while a batch runs are sent together as the next batch, so the per-call
price falls as load rises. Each call still gets its own result or exception.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")
_Call = tuple[Callable[[], Any], "asyncio.Future[Any]"]


def _call(fn: Callable[[], Any]) -> tuple[bool, Any]:
    try:
        return True, fn()
    except Exception as exc:
        return False, exc


class BatchRunner:
    """``await runner.run(fn)``: ``fn()`` on a worker thread; ``workers`` calls run in parallel.

    ``start`` (optional) runs once before each batch, on the batch thread; if it raises, every
    call of the batch fails with its error and none runs. ``finish`` (optional) runs once after
    each batch, with the values the successful calls returned; if it raises, every call of the
    batch fails with its error. They are how a batch shares work: one transaction, or one
    filesystem sync, for many calls (group commit).
    """

    def __init__(
        self,
        name: str,
        workers: int = 1,
        *,
        start: Callable[[], None] | None = None,
        finish: Callable[[list[Any]], None] | None = None,
    ) -> None:
        self._start = start
        self._finish = finish
        # One thread takes each batch; with workers > 1 it fans the calls out to the others.
        self._batcher = ThreadPoolExecutor(1, thread_name_prefix=f"{name}-batch")
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix=name) if workers > 1 else None
        self._pending: list[_Call] = []
        self._draining: asyncio.Task[None] | None = None
        self._closed = False

    async def run(self, fn: Callable[[], T]) -> T:
        if self._closed:
            raise RuntimeError("batch runner is closed")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._pending.append((fn, future))
        if self._draining is None or self._draining.done():
            self._draining = loop.create_task(self._drain())
        return await future

    def _run_batch(self, batch: list[Callable[[], Any]]) -> list[tuple[bool, Any]]:
        if self._start is not None:
            ok, error = _call(self._start)
            if not ok:
                return [(False, error)] * len(batch)
        if self._pool is None or len(batch) == 1:
            results = [_call(fn) for fn in batch]
        else:
            results = list(self._pool.map(_call, batch))
        finish = self._finish
        if finish is not None:
            ok, error = _call(lambda: finish([v for good, v in results if good]))
            if not ok:
                return [(False, error) if good else (good, v) for good, v in results]
        return results

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                results = await loop.run_in_executor(
                    self._batcher, self._run_batch, [fn for fn, _ in batch]
                )
            except (RuntimeError, asyncio.CancelledError) as exc:
                # Shut down under us (store closed, loop ending): fail waiters, never strand them.
                for _, future in batch:
                    if not future.done():
                        future.set_exception(RuntimeError(f"storage worker unavailable: {exc!r}"))
                if isinstance(exc, asyncio.CancelledError):
                    raise
                continue
            for (_, future), (ok, value) in zip(batch, results, strict=True):
                if future.done():  # the caller was cancelled; nobody wants this result
                    continue
                if ok:
                    future.set_result(value)
                else:
                    future.set_exception(value)

    def close(self) -> None:
        self._closed = True
        self._batcher.shutdown(wait=False)
        if self._pool is not None:
            self._pool.shutdown(wait=False)
