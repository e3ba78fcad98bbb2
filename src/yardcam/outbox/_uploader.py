"""The background uploader: outbox entries -> the archive, without ever blocking detection.

Flow on one event loop::

    submit() --(in-memory handoff, bounded)--> store task --(thread: Outbox.put, fsync)--+
                                                                                       v
    retry heap (next attempt time) <--- defer --- workers (N, AsyncSession) <--- ready queue
          '------------- scheduler moves due entries ----------------------------------^

* ``submit`` only appends to a bounded in-memory queue: no disk, no network, no waiting. If
  the disk writer falls that far behind, the frame is counted in ``dropped`` (visible).
* Every disk operation runs on the uploader's own disk thread; the loop never holds the
  outbox lock, so an fsync can never stall detection.
* A stored frame goes straight to the ready queue (tried at once); failures are deferred with
  exponential backoff + jitter (``Retry-After`` honoured, and it holds every worker, since a
  rate limit applies to the whole cam) and come back through the scheduler's slower loop.
* 401/403 pauses every worker and raises the "token rejected" state; a guard task re-reads the
  :class:`TokenSource` every ``token_probe_interval`` seconds and probes with one real upload
  until the archive accepts it, then resumes everyone.
* Several cameras share one uploader (``submit(..., cam=NAME)``, a token per cam if the archive
  binds tokens to cams): the ready queue is served one camera at a time (``_fair``), so a burst
  on one camera never holds another's frames back.

Stopping (``close``, what SIGTERM does in ``yardcam run``): intake stops, every frame accepted
by ``submit`` is written to the outbox, uploads in flight get ``grace`` seconds to finish, and
whatever is still unsent stays pending on disk for the next start (resent with the same
``Idempotency-Key``, so the archive keeps it once).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import heapq
import io
import logging
import ssl
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from enum import StrEnum
from typing import Any, NamedTuple, Protocol, TypeVar

from yardcam.log_throttle import LogThrottle
from yardcam.names import check_cam_name
from yardcam.outbox._classify import Outcome, Verdict, classify_error, classify_response
from yardcam.outbox._entry import Entry
from yardcam.outbox._fair import FairQueue
from yardcam.outbox._outbox import CorruptEntry, Outbox, OutboxError
from yardcam.outbox._token import TokenSource, TokenUnavailable
from yardcam.requests import AsyncSession, Backoff, create_ssl_context

log = logging.getLogger("yardcam.outbox")
T = TypeVar("T")

_OUT_OF_FDS = frozenset({errno.EMFILE, errno.ENFILE})
#: How long a frame waits for file descriptors: 10 ms, doubled up to 0.5 s while they stay short.
_FD_WAIT = Backoff(base=0.01, cap=0.5)
_DROP_LOG_INTERVAL = 30.0  # seconds; every drop is still counted in stats()["dropped"]


class FrameLike(Protocol):
    """What the uploader needs of a ``yardcam.camera.Frame``."""

    @property
    def jpeg(self) -> bytes: ...
    @property
    def ts(self) -> float: ...
    @property
    def seq(self) -> int: ...


class MotionLike(Protocol):
    """What the uploader needs of a ``yardcam.motion.MotionEvent``."""

    @property
    def frame(self) -> FrameLike: ...
    @property
    def change(self) -> float: ...
    @property
    def event(self) -> str | None: ...


class UploadState(StrEnum):
    """How uploads stand with the archive: going through, failing to reach it, or paused on a
    rejected token."""

    OK = "ok"
    UNREACHABLE = "unreachable"
    TOKEN_REJECTED = "token rejected"


class Uploader:
    """Sends every outbox entry to ``url`` exactly once (see the module doc for the design).

    ``verify``: True (system trust store), False, a CA bundle file/directory path, or an
    ``ssl.SSLContext``; ``trust_env``: take proxies from HTTPS_PROXY/NO_PROXY (False for an
    archive on this very box, which no proxy can reach); ``session`` lets a caller share an
    existing ``AsyncSession`` (the uploader then does not close it, and ``verify`` and
    ``trust_env`` are the session's business).
    ``on_stored(entry)`` is called on the loop once a submitted frame is durable on disk.
    ``cam`` names submitted frames unless ``submit(..., cam=)`` says otherwise; ``tokens`` maps
    cam names to their own token (an archive token bound to one cam uploads only as that cam),
    ``token`` serves the others.
    """

    def __init__(
        self,
        outbox: Outbox,
        url: str,
        *,
        cam: str,
        token: TokenSource,
        tokens: Mapping[str, TokenSource] | None = None,
        verify: bool | str | ssl.SSLContext = True,
        trust_env: bool = True,
        concurrency: int = 4,
        timeout: float | tuple[float, float] = (5.0, 30.0),
        backoff: Backoff | None = None,
        retry_interval: float = 10.0,
        token_probe_interval: float = 30.0,
        max_submitted: int = 256,
        on_stored: Callable[[Entry], None] | None = None,
        session: AsyncSession | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if concurrency < 1:
            raise ValueError(f"concurrency must be >= 1: {concurrency}")
        self.outbox = outbox
        self.url = url
        self.cam = check_cam_name(cam)
        self.token = token
        self.tokens = dict(tokens or {})
        for name in self.tokens:
            check_cam_name(name)
        self.verify = verify
        self.trust_env = trust_env
        self.concurrency = concurrency
        self.timeout = timeout
        self.backoff = backoff or Backoff(base=2.0, cap=300.0)
        self.retry_interval = retry_interval
        self.token_probe_interval = token_probe_interval
        self._session = session
        self._on_stored = on_stored
        self._disk = ThreadPoolExecutor(max_workers=1, thread_name_prefix="yardcam-outbox")
        self._ran = False
        self._clock = clock
        self._submitted: asyncio.Queue[_Submitted] = asyncio.Queue(max_submitted)
        self._ready = FairQueue(key=_cam_of)
        self._retry_heap: list[tuple[float, str]] = []
        self._tracked: set[str] = set()  # ids in the heap, the ready queue or in flight
        self._wake = asyncio.Event()  # the scheduler: something was deferred
        self._progress = asyncio.Event()  # join(): something settled
        self._resumed = asyncio.Event()  # cleared while the archive rejects the token ...
        self._resumed.set()
        self._paused = asyncio.Event()  # ... and this one set, for the token guard
        self._hold_until = 0.0  # monotonic; a Retry-After holds every worker
        self._current_tokens: dict[str, str | None] = {}  # cam -> token; "" for ``token``
        self._closing = asyncio.Event()  # close(): intake stopped, workers take no new entry
        self._grace = 0.0  # close(): seconds uploads in flight may still take
        self._stopped = asyncio.Event()  # run() has returned
        self._storing = 0
        self._in_flight = 0
        self._sent = 0
        self._retried = 0
        self._dropped = 0
        self._drop_log = LogThrottle(log, _DROP_LOG_INTERVAL, level=logging.ERROR)
        self._fd_waits = 0
        self._fd_short = False
        self._backoff_resets = 0
        self._last_reset = float("-inf")  # monotonic
        self._state = UploadState.OK
        self._last_error: str | None = None
        self._error_kind: str | None = None  # "store" or "upload": what clears it
        self._last_success: float | None = None
        self._last_upload_seconds: float | None = None

    # -- the detector's side ---------------------------------------------------------------

    def submit(
        self,
        event_or_frame: MotionLike | FrameLike,
        change: float | None = None,
        *,
        cam: str | None = None,
    ) -> None:
        """Hand a triggered frame over for storing and upload; never blocks, never raises.

        Call it on the event loop (``MotionDetector.subscribe`` callbacks run there). Takes a
        MotionEvent (its ``event`` id is archived with the frame), or a Frame plus its ``change``;
        ``cam`` defaults to the uploader's.
        """
        submitted = _unpack(event_or_frame, change, cam or self.cam)
        if self._closing.is_set():
            self._drop(submitted, "the uploader is stopping")
            return
        try:
            self._submitted.put_nowait(submitted)
        except asyncio.QueueFull:
            self._drop(submitted, "the disk writer is behind")

    def _drop(self, submitted: _Submitted, why: str) -> None:
        self._dropped += 1
        self._set_error("store", f"{submitted.cam} frame {submitted.frame.seq} dropped: {why}")
        self._drop_log("uploader: %s", self._last_error)  # a full disk drops every frame

    async def enqueue(
        self,
        event_or_frame: MotionLike | FrameLike,
        change: float | None = None,
        *,
        cam: str | None = None,
    ) -> Entry:
        """Store a frame durably (in a thread), schedule it, and return its entry.

        For callers that must know the frame is on disk; raises ``OutboxFull``/``DiskFull``.
        """
        return await self._store(_unpack(event_or_frame, change, cam or self.cam))

    async def _store(self, submitted: _Submitted) -> Entry:
        frame, change, event, cam = submitted
        self._storing += 1
        try:
            entry = await self._on_disk(
                self.outbox.put,
                cam=check_cam_name(cam),
                jpeg=frame.jpeg,
                ts=frame.ts,
                seq=frame.seq,
                change=change,
                event=event,
            )
        finally:
            self._storing -= 1
        if entry.id not in self._tracked:
            self._tracked.add(entry.id)
            self._ready.put_nowait(entry.id)
        return entry

    # -- running ---------------------------------------------------------------------------

    async def run(self) -> None:
        """Store submitted frames and upload the outbox until cancelled (once per Uploader)."""
        if self._ran:
            raise RuntimeError("an Uploader runs once; make a new one to run again")
        self._ran = True
        session = self._session
        if session is None:
            # Built here, on the disk thread: slow, and a bad CA path must fail at start.
            verify = await self._on_disk(create_ssl_context, self.verify)
            session = AsyncSession(verify=verify, trust_env=self.trust_env)
        try:
            await self._load_outbox()
            async with asyncio.TaskGroup() as tasks:
                running = [
                    tasks.create_task(self._store_submitted()),
                    tasks.create_task(self._schedule_retries()),
                    tasks.create_task(self._guard_token(session)),
                    *(
                        tasks.create_task(self._upload_ready(session))
                        for _ in range(self.concurrency)
                    ),
                ]
                await self._closing.wait()
                await self._stop(running)
        finally:
            try:
                # Cancelled without close() (or forced): still keep what submit() accepted.
                await self._store_leftovers()
                self._disk.shutdown(wait=False)  # a put in progress still completes
                if self._session is None:
                    await session.close()
            finally:
                self._stopped.set()

    async def close(self, grace: float = 5.0) -> None:
        """Stop cleanly: no more intake, every accepted frame on disk, uploads in flight given
        ``grace`` seconds, the rest left pending for the next start; ``run()`` then returns.

        Returns once ``run()`` has returned; if it never ran, at once (and a later run() stops
        as soon as it has loaded the outbox).
        """
        self._grace = grace
        self._closing.set()
        self._progress.set()
        if self._ran:
            await self._stopped.wait()

    async def _stop(self, running: list[asyncio.Task[None]]) -> None:
        """close()'s work, inside run(): flush, wait for in-flight uploads, cancel the rest."""
        deadline = time.monotonic() + self._grace
        while self._submitted.qsize() or self._storing:  # the store task drains it
            self._progress.clear()
            await self._progress.wait()
        while self._in_flight and (left := deadline - time.monotonic()) > 0:
            self._progress.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(left):
                    await self._progress.wait()
        if self._in_flight:
            log.warning(
                "uploader: uploads cut at stop: %d; they stay pending and go out on the next start",
                self._in_flight,
            )
        for task in running:
            task.cancel()

    async def _store_leftovers(self) -> None:
        """Write frames still in the in-memory handoff to the outbox (run() cancelled early)."""
        while not self._submitted.empty():
            submitted = self._submitted.get_nowait()
            frame, change, event, cam = submitted
            try:
                await self._on_disk(
                    self.outbox.put,
                    cam=cam,
                    jpeg=frame.jpeg,
                    ts=frame.ts,
                    seq=frame.seq,
                    change=change,
                    event=event,
                )
            except (OutboxError, OSError, ValueError) as exc:
                self._drop(submitted, f"not stored at stop: {exc}")

    async def join(self) -> None:
        """Wait until every submitted frame is stored and the outbox is empty (sent or dead)."""
        while self._submitted.qsize() or self._storing or self._in_flight or len(self.outbox):
            self._progress.clear()
            await self._progress.wait()

    def stats(self) -> dict[str, object]:
        """Counters and states for the dashboard and metrics (cheap: no I/O)."""
        return {
            "pending": len(self.outbox),
            "in_flight": self._in_flight,
            "sent": self._sent,
            "retried": self._retried,
            "dead_lettered": self.outbox.dead_count,
            "evicted": self.outbox.evicted,
            "dropped": self._dropped,
            "fd_waits": self._fd_waits,
            "backoff_resets": self._backoff_resets,
            "pending_bytes": self.outbox.total_bytes,
            "max_bytes": self.outbox.max_bytes,
            "last_error": self._last_error,
            "last_success": self._last_success,
            "last_upload_seconds": self._last_upload_seconds,
            "state": self._state.value,
            "outbox_state": self.outbox.state.value,
        }

    # -- tasks -----------------------------------------------------------------------------

    async def _load_outbox(self) -> None:
        await self._read_tokens()
        for entry in await self._on_disk(self.outbox.pending):
            if entry.id not in self._tracked:
                self._tracked.add(entry.id)
                heapq.heappush(self._retry_heap, (entry.next_attempt, entry.id))

    async def _store_submitted(self) -> None:
        while True:
            submitted = await self._submitted.get()
            try:
                entry = await self._store_waiting_for_fds(submitted)
            except (OutboxError, OSError, ValueError) as exc:
                # The frame cannot be kept (full, disk error, a nonsense ts or seq): count it
                # and keep the writer going for the next one.
                self._drop(submitted, f"not stored: {exc}")
            else:
                self._clear_error("store")
                self._notify_stored(entry)
            self._progress.set()

    async def _store_waiting_for_fds(self, submitted: _Submitted) -> Entry:
        """``_store``, waiting out a full descriptor table (EMFILE/ENFILE) instead of dropping
        the frame: web clients or a burst of uploads hold descriptors for moments, and frames
        arriving meanwhile wait in the bounded submit queue (counted in ``fd_waits``)."""
        shortages = 0
        while True:
            try:
                entry = await self._store(submitted)
            except OSError as exc:
                if exc.errno not in _OUT_OF_FDS:
                    raise
                if not self._fd_short:  # one line per shortage, not one per attempt
                    log.warning("uploader: out of file descriptors (%s); frames wait", exc)
                self._fd_short = True
                self._fd_waits += 1
            else:
                self._fd_short = False
                return entry
            shortages += 1
            await asyncio.sleep(_FD_WAIT.delay(shortages))

    def _notify_stored(self, entry: Entry) -> None:
        if self._on_stored is None:
            return
        try:
            self._on_stored(entry)
        except Exception:  # a boundary: the caller's hook must not stop the writer
            log.exception("uploader: on_stored hook failed for %s", entry.id)

    async def _schedule_retries(self) -> None:
        """The slower loop: move entries whose next attempt is due into the ready queue."""
        while True:
            now = self._clock()
            while self._retry_heap and self._retry_heap[0][0] <= now:
                self._ready.put_nowait(heapq.heappop(self._retry_heap)[1])
            wait = self.retry_interval
            if self._retry_heap:
                wait = min(wait, self._retry_heap[0][0] - now)
            self._wake.clear()
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation that
            # races its timeout, and this loop would then never stop (seen: a hung shutdown).
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(wait, 0.0)):
                    await self._wake.wait()

    async def _upload_ready(self, session: AsyncSession) -> None:
        while True:
            await self._resumed.wait()
            entry_id = await self._ready.get()
            if self._closing.is_set():  # stopping: it stays pending for the next start
                self._ready.put_nowait(entry_id)
                return
            if not self._resumed.is_set():  # paused while this worker waited: the guard probes
                self._ready.put_nowait(entry_id)
                continue
            hold = self._hold_until - time.monotonic()
            if hold > 0:
                await asyncio.sleep(hold)
            await self._attempt(session, entry_id)

    async def _guard_token(self, session: AsyncSession) -> None:
        """While the token is rejected: re-read it and probe with one real upload, then resume."""
        while True:
            await self._paused.wait()
            await asyncio.sleep(self.token_probe_interval)
            await self._read_tokens()
            try:
                async with asyncio.timeout(self.token_probe_interval):  # see _schedule_retries
                    entry_id = await self._ready.get()
            except TimeoutError:
                if not len(self.outbox):  # nothing to probe with: let the next frame find out
                    self._resume()
                continue
            if self._closing.is_set():
                self._ready.put_nowait(entry_id)
                return
            outcome = await self._attempt(session, entry_id)
            if outcome is not Outcome.TOKEN_REJECTED:
                self._resume()
            if outcome is Outcome.RETRY:  # the token is fine, the archive is not
                self._state = UploadState.UNREACHABLE

    # -- one attempt -----------------------------------------------------------------------

    async def _attempt(self, session: AsyncSession, entry_id: str) -> Outcome | None:
        """Send one entry and act on the verdict; None if the entry vanished (evicted)."""
        entry = self.outbox.get(entry_id)
        if entry is None:
            self._tracked.discard(entry_id)
            return None
        self._in_flight += 1
        try:
            try:
                jpeg = await self._on_disk(self.outbox.read_jpeg, entry)
            except CorruptEntry as exc:
                verdict = Verdict(Outcome.DEAD_LETTER, str(exc))
            else:
                if jpeg is None:
                    self._tracked.discard(entry_id)
                    return None
                verdict = await self._post(session, entry, jpeg)
            await self._settle(entry, verdict)
            return verdict.outcome
        except OSError as exc:
            # The disk failed under the outbox (EIO, ENOSPC while dead-lettering...): keep the
            # entry tracked and try it again later rather than let one bad write stop uploads.
            self._set_error("upload", f"{entry_id}: outbox disk error: {exc}")
            log.error("uploader: %s", self._last_error)
            self._schedule(entry_id, self._clock() + self.backoff.delay(entry.attempts + 1))
            return Outcome.RETRY
        finally:
            self._in_flight -= 1
            self._progress.set()

    async def _post(self, session: AsyncSession, entry: Entry, jpeg: bytes) -> Verdict:
        token = self._current_tokens.get(entry.cam, self._current_tokens.get(""))
        if token is None:
            return Verdict(Outcome.TOKEN_REJECTED, self._last_error or "no upload token")
        ts = f"{entry.ts:.3f}"
        started = time.perf_counter()
        try:
            response = await session.post(
                self.url,
                files={"image": (f"frame-{ts}.jpg", io.BytesIO(jpeg), "image/jpeg")},
                data={
                    "cam": entry.cam,
                    "ts": ts,
                    "seq": str(entry.seq),
                    "change": f"{entry.change:g}",
                    **({} if entry.event is None else {"event": entry.event}),
                },
                headers={"Authorization": f"Bearer {token}", "Idempotency-Key": entry.id},
                timeout=self.timeout,
            )
        except OSError as exc:  # every yardcam.requests failure is an OSError
            return classify_error(exc)
        self._last_upload_seconds = time.perf_counter() - started  # the cam's /metrics
        return classify_response(
            response.status_code, response.reason, response.headers, response.content
        )

    async def _settle(self, entry: Entry, verdict: Verdict) -> None:
        now = self._clock()
        match verdict.outcome:
            case Outcome.SENT:
                await self._on_disk(self.outbox.remove, entry.id)
                self._tracked.discard(entry.id)
                self._sent += 1
                self._last_success = now
                if self._state is UploadState.UNREACHABLE:
                    self._retry_waiting_now(now)
                self._state = UploadState.OK
                self._clear_error("upload")
                return
            case Outcome.DEAD_LETTER:
                await self._on_disk(self.outbox.dead_letter, entry.id, verdict.reason)
                self._tracked.discard(entry.id)
                log.warning("uploader: %s dead-lettered: %s", entry.id, verdict.reason)
                return
            case Outcome.TOKEN_REJECTED:
                self._pause()
                next_attempt = now  # retried as soon as a probe succeeds
            case Outcome.RETRY:
                self._retried += 1
                if self._state is not UploadState.TOKEN_REJECTED:
                    self._state = UploadState.UNREACHABLE
                if verdict.retry_after:
                    self._hold_until = max(self._hold_until, time.monotonic() + verdict.retry_after)
                delay = self.backoff.delay(entry.attempts + 1, retry_after=verdict.retry_after)
                next_attempt = now + delay
        self._set_error("upload", f"{entry.id}: {verdict.reason}")
        await self._on_disk(
            self.outbox.defer, entry.id, next_attempt=next_attempt, error=verdict.reason
        )
        self._schedule(entry.id, next_attempt)

    def _retry_waiting_now(self, now: float) -> None:
        """The archive answers again: every waiting frame is due now, so the backlog drains at
        link speed, not at each frame's own backoff (up to ``backoff.cap``) after an outage.

        At most once per ``retry_interval``: a frame the archive keeps failing on its own
        (a 500 for that frame only) must not be retried after every other frame's success.
        """
        moment = time.monotonic()
        if moment - self._last_reset < self.retry_interval:
            return
        self._last_reset = moment
        if any(when > now for when, _ in self._retry_heap):
            self._retry_heap = [(min(when, now), entry_id) for when, entry_id in self._retry_heap]
            heapq.heapify(self._retry_heap)
            self._backoff_resets += 1
            self._wake.set()

    def _set_error(self, kind: str, text: str) -> None:
        self._last_error, self._error_kind = text, kind

    def _clear_error(self, kind: str) -> None:
        """A store or an upload went through: an error of that kind is no longer current."""
        if self._error_kind == kind:
            self._last_error = self._error_kind = None

    def _schedule(self, entry_id: str, when: float) -> None:
        heapq.heappush(self._retry_heap, (when, entry_id))
        self._wake.set()

    async def _on_disk(self, func: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run blocking outbox/token I/O on the disk thread, never on the loop.

        One thread, not the default pool: disk work is serialised by the outbox lock anyway,
        and fewer runnable threads leave the loop thread more of the CPU and the GIL.
        """
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._disk, functools.partial(func, *args, **kwargs))

    # -- the token -------------------------------------------------------------------------

    async def _read_tokens(self) -> None:
        for cam, source in {"": self.token, **self.tokens}.items():
            try:
                self._current_tokens[cam] = await self._on_disk(source.read)
            except TokenUnavailable as exc:
                self._current_tokens[cam] = None
                self._set_error("upload", str(exc))
                # Not the archive's doing: it was never asked. Say what to fix, here.
                self._pause(f"{exc}; it is read again without a restart")

    def _pause(self, why: str = "the archive rejected the token") -> None:
        if self._resumed.is_set():
            log.error("uploader: %s; uploads paused", why)
        self._state = UploadState.TOKEN_REJECTED
        self._resumed.clear()
        self._paused.set()

    def _resume(self) -> None:
        if self._state is UploadState.TOKEN_REJECTED:
            self._state = UploadState.OK
        self._paused.clear()
        self._resumed.set()
        log.info("uploader: token accepted again; uploads resumed")


class _Submitted(NamedTuple):
    """A frame handed over, waiting for the disk writer."""

    frame: FrameLike
    change: float
    event: str | None
    cam: str


def _unpack(event_or_frame: MotionLike | FrameLike, change: float | None, cam: str) -> _Submitted:
    if hasattr(event_or_frame, "frame"):
        motion: MotionLike = event_or_frame  # type: ignore[assignment]
        change = motion.change if change is None else change
        return _Submitted(motion.frame, change, motion.event, cam)
    if change is None:
        raise TypeError("submit(frame, change): change is required with a bare Frame")
    return _Submitted(event_or_frame, change, None, cam)  # type: ignore[arg-type]


def _cam_of(entry_id: str) -> str:
    """The cam part of a frame id (``<cam>-<capture ms>-<seq>``, see ``frame_id``)."""
    return entry_id.rsplit("-", 2)[0]
