"""SQL shared by the SQLite and PostgreSQL indexes: one set of queries (schema: ``_migrations``).

The two backends differ only in placeholder style and a few expressions, captured by
:class:`Dialect`; the queries are written once with ``{p}`` for the placeholder.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ...web import LiveSession
from ._cursor import decode_cursor, encode_cursor
from ._types import CamSummary, EventPage, EventSummary, FramePage, FrameRecord, TokenRecord

MAX_LIMIT = 1000

FRAME_COLUMNS = "id, cam, ts, seq, change, size, sha256, blob_key, received, idempotency_key, event"
TOKEN_COLUMNS = "id, token_hash, cam, scope, created, revoked, expires"
SESSION_COLUMNS = "username, remember, created, authenticated, expires"


@dataclass(frozen=True, slots=True)
class Dialect:
    name: str  # "sqlite" or "postgresql"
    placeholder: str  # "?" or "%s"
    hours_since: str  # the whole hours from ``{p}`` to ``ts`` (never negative here)


SQLITE = Dialect("sqlite", "?", "CAST((ts - {p}) / 3600 AS INTEGER)")
POSTGRES = Dialect("postgresql", "%s", "CAST(FLOOR((ts - {p}) / 3600) AS BIGINT)")

Query = tuple[str, tuple[Any, ...]]


def _q(dialect: Dialect, sql: str, *params: Any) -> Query:
    return sql.format(p=dialect.placeholder), params


def frame_from_row(row: Sequence[Any]) -> FrameRecord:
    fid, cam, ts, seq, change, size, sha, key, received, idem, event = row
    return FrameRecord(
        id=fid,
        cam=cam,
        ts=float(ts),
        seq=seq,
        change=change,
        size=int(size),
        sha256=sha,
        blob_key=key,
        received=float(received),
        idempotency_key=idem,
        event=event,
    )


def token_from_row(row: Sequence[Any]) -> TokenRecord:
    tid, token_hash, cam, scope, created, revoked, expires = row
    expiry = None if expires is None else float(expires)
    return TokenRecord(tid, token_hash, cam, scope, float(created), bool(revoked), expiry)


def cam_from_row(row: Sequence[Any]) -> CamSummary:
    cam, count, size, first, last = row
    return CamSummary(cam, int(count), int(size or 0), float(first), float(last))


def insert_frame(d: Dialect, r: FrameRecord) -> Query:
    return _q(
        d,
        f"INSERT INTO frames ({FRAME_COLUMNS}) VALUES ({{p}}, {{p}}, {{p}}, {{p}}, {{p}}, {{p}},"
        " {p}, {p}, {p}, {p}, {p}) ON CONFLICT (cam, idempotency_key) DO NOTHING",
        r.id,
        r.cam,
        r.ts,
        r.seq,
        r.change,
        r.size,
        r.sha256,
        r.blob_key,
        r.received,
        r.idempotency_key,
        r.event,
    )


def frame_by_idempotency(d: Dialect, cam: str, key: str) -> Query:
    return _q(
        d,
        f"SELECT {FRAME_COLUMNS} FROM frames WHERE cam = {{p}} AND idempotency_key = {{p}}",
        cam,
        key,
    )


def frame_by_id(d: Dialect, frame_id: str) -> Query:
    return _q(d, f"SELECT {FRAME_COLUMNS} FROM frames WHERE id = {{p}}", frame_id)


def existing_frame_ids(d: Dialect, frame_ids: Sequence[str]) -> Query:
    marks = ", ".join(["{p}"] * len(frame_ids))
    return _q(d, f"SELECT id FROM frames WHERE id IN ({marks})", *frame_ids)


def delete_frame(d: Dialect, frame_id: str) -> Query:
    return _q(d, "DELETE FROM frames WHERE id = {p}", frame_id)


def list_frames(
    d: Dialect,
    *,
    cam: str | None,
    since: float | None,
    until: float | None,
    limit: int,
    cursor: str | None,
    newest_first: bool,
) -> Query:
    """Keyset pagination on (ts, id): stable under concurrent inserts, O(limit) per page.

    Fetches ``limit + 1`` rows so :func:`page_from_rows` knows whether another page exists.
    """
    where: list[str] = []
    params: list[Any] = []
    if cam is not None:
        where.append("cam = {p}")
        params.append(cam)
    if since is not None:
        where.append("ts >= {p}")
        params.append(since)
    if until is not None:
        where.append("ts < {p}")
        params.append(until)
    if cursor is not None:
        ts, fid = decode_cursor(cursor)
        op = "<" if newest_first else ">"
        where.append(f"(ts {op} {{p}} OR (ts = {{p}} AND id {op} {{p}}))")
        params.extend((ts, ts, fid))
    order = "DESC" if newest_first else "ASC"
    sql = f"SELECT {FRAME_COLUMNS} FROM frames"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += f" ORDER BY ts {order}, id {order} LIMIT {{p}}"
    params.append(clamp_limit(limit) + 1)
    return _q(d, sql, *params)


def clamp_limit(limit: int) -> int:
    return max(1, min(int(limit), MAX_LIMIT))


def page_from_rows(rows: Sequence[Sequence[Any]], limit: int) -> FramePage:
    limit = clamp_limit(limit)
    frames = [frame_from_row(r) for r in rows[:limit]]
    more = len(rows) > limit
    last = frames[-1] if frames else None
    return FramePage(frames, encode_cursor(last.ts, last.id) if more and last else None)


# Events are GROUP BYs over frames (no table of their own to keep in step with ingest, retention
# and deletes). A page is two queries: :func:`event_page_keys` picks the page's events from the
# ``frames_cam_event`` index alone (covering: cam, event, ts), then :func:`event_summaries` reads
# only their frames, each row the event's best frame (highest change, then earliest) with the
# event's aggregates beside it, by window functions. The same text in both engines.
_EVENT_ROWS = f"""SELECT {FRAME_COLUMNS}, ev_start, ev_end, ev_frames, ev_peak FROM (
    SELECT {FRAME_COLUMNS},
        MIN(ts) OVER (PARTITION BY event) AS ev_start,
        MAX(ts) OVER (PARTITION BY event) AS ev_end,
        COUNT(*) OVER (PARTITION BY event) AS ev_frames,
        MAX(change) OVER (PARTITION BY event) AS ev_peak,
        ROW_NUMBER() OVER (
            PARTITION BY event ORDER BY COALESCE(change, -1) DESC, ts ASC, id ASC
        ) AS ev_rank
    FROM frames WHERE cam = {{p}} AND event IN ({{events}})
) AS ranked WHERE ev_rank = 1"""


def event_page_keys(
    d: Dialect,
    cam: str,
    *,
    since: float | None,
    until: float | None,
    limit: int,
    cursor: str | None,
) -> Query:
    """The ids of a page of the cam's events: keyset pagination on (start, event id), newest
    first, as :func:`list_frames` does on (ts, id), with the same cursors. Fetches ``limit + 1``
    so :func:`event_page` knows whether another page exists."""
    having: list[str] = []
    params: list[Any] = [cam]
    if since is not None:
        having.append("MIN(ts) >= {p}")
        params.append(since)
    if until is not None:
        having.append("MIN(ts) < {p}")
        params.append(until)
    if cursor is not None:
        start, event = decode_cursor(cursor)
        having.append("(MIN(ts) < {p} OR (MIN(ts) = {p} AND event < {p}))")
        params.extend((start, start, event))
    sql = "SELECT event FROM frames WHERE cam = {p} AND event IS NOT NULL GROUP BY event"
    if having:
        sql += " HAVING " + " AND ".join(having)
    sql += " ORDER BY MIN(ts) DESC, event DESC LIMIT {p}"
    params.append(clamp_limit(limit) + 1)
    return _q(d, sql, *params)


def event_summaries(d: Dialect, cam: str, events: Sequence[str]) -> Query:
    """One row per event of ``events`` (that the cam has), for :func:`event_from_row`."""
    sql = _EVENT_ROWS.replace("{events}", ", ".join(["{p}"] * len(events)))
    return _q(d, sql, cam, *events)


def event_frames(d: Dialect, cam: str, event: str, limit: int) -> Query:
    return _q(
        d,
        f"SELECT {FRAME_COLUMNS} FROM frames WHERE cam = {{p}} AND event = {{p}}"
        " ORDER BY ts ASC, id ASC LIMIT {p}",
        cam,
        event,
        max(1, int(limit)),
    )


def event_from_row(row: Sequence[Any]) -> EventSummary:
    best = frame_from_row(row[:-4])
    start, end, count, peak = row[-4:]
    assert best.event is not None  # the query selects frames with an event only
    peak_change = None if peak is None else float(peak)
    return EventSummary(
        best.cam, best.event, float(start), float(end), int(count), peak_change, best
    )


def event_page(keys: Sequence[str], rows: Sequence[Sequence[Any]], limit: int) -> EventPage:
    """The page's summaries in the order of ``keys`` (:func:`event_page_keys`); an event whose
    frames were all deleted between the two queries is left out."""
    limit = clamp_limit(limit)
    found = {event.event: event for event in map(event_from_row, rows)}
    events = [found[key] for key in keys[:limit] if key in found]
    last = events[-1] if len(keys) > limit and events else None
    return EventPage(events, None if last is None else encode_cursor(last.start, last.event))


def list_cams(d: Dialect) -> Query:
    return _q(
        d,
        "SELECT cam, COUNT(*), SUM(size), MIN(ts), MAX(ts) FROM frames GROUP BY cam ORDER BY cam",
    )


def counts_per_hour(d: Dialect, cam: str, since: float, until: float) -> Query:
    """Rows of (hours after ``since``, count): hours counted from ``since``, not from the UTC
    epoch, so that from a local midnight they are that zone's hours whatever its offset
    (+05:30, +05:45 too)."""
    return _q(
        d,
        f"SELECT {d.hours_since} AS hour, COUNT(*) FROM frames"
        " WHERE cam = {p} AND ts >= {p} AND ts < {p} GROUP BY hour ORDER BY hour",
        since,
        cam,
        since,
        until,
    )


def oldest_frames(d: Dialect, cam: str, before: float | None, limit: int) -> Query:
    if before is None:
        sql = f"SELECT {FRAME_COLUMNS} FROM frames WHERE cam = {{p}}"
        params: tuple[Any, ...] = (cam,)
    else:
        sql = f"SELECT {FRAME_COLUMNS} FROM frames WHERE cam = {{p}} AND ts < {{p}}"
        params = (cam, before)
    return _q(d, sql + " ORDER BY ts ASC, id ASC LIMIT {p}", *params, clamp_limit(limit))


def add_token(d: Dialect, t: TokenRecord) -> Query:
    return _q(
        d,
        f"INSERT INTO tokens ({TOKEN_COLUMNS}) VALUES ({', '.join(['{p}'] * 7)})",
        t.id,
        t.token_hash,
        t.cam,
        t.scope,
        t.created,
        t.revoked,
        t.expires,
    )


def token_by_hash(d: Dialect, token_hash: str) -> Query:
    return _q(d, f"SELECT {TOKEN_COLUMNS} FROM tokens WHERE token_hash = {{p}}", token_hash)


def list_tokens(d: Dialect) -> Query:
    return _q(d, f"SELECT {TOKEN_COLUMNS} FROM tokens ORDER BY created, id")


def revoke_token(d: Dialect, token_id: str) -> Query:
    return _q(d, "UPDATE tokens SET revoked = TRUE WHERE id = {p}", token_id)


def add_session(d: Dialect, key: str, s: LiveSession) -> Query:
    return _q(
        d,
        f"INSERT INTO sessions (id, {SESSION_COLUMNS}) VALUES ({', '.join(['{p}'] * 6)})",
        key,
        s.user,
        s.remember,
        s.created,
        s.authenticated,
        s.expires,
    )


def session_by_key(d: Dialect, key: str) -> Query:
    return _q(d, f"SELECT {SESSION_COLUMNS} FROM sessions WHERE id = {{p}}", key)


def session_from_row(row: Sequence[Any]) -> LiveSession:
    user, remember, created, authenticated, expires = row
    return LiveSession(user, bool(remember), float(created), float(authenticated), float(expires))


def delete_session(d: Dialect, key: str) -> Query:
    return _q(d, "DELETE FROM sessions WHERE id = {p}", key)


def delete_user_sessions(d: Dialect, user: str) -> Query:
    return _q(d, "DELETE FROM sessions WHERE username = {p}", user)


def delete_expired_sessions(d: Dialect, now: float) -> Query:
    return _q(d, "DELETE FROM sessions WHERE expires <= {p}", now)


def trim_user_sessions(d: Dialect, user: str, keep: int) -> Query:
    """Delete all but the ``keep`` newest sessions of ``user``."""
    return _q(
        d,
        "DELETE FROM sessions WHERE username = {p} AND id NOT IN (SELECT id FROM sessions"
        " WHERE username = {p} ORDER BY created DESC, id DESC LIMIT {p})",
        user,
        user,
        keep,
    )
