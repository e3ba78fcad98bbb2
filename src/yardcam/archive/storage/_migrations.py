"""The index schema's versions: one ordered list of migrations, run at start by both backends.

The rules a reader must trust:

- The ``schema_version`` table holds one row: the number of the last migration applied. An
  index made before versioning existed has no such table and counts as version 0.
- At start each backend opens one transaction, takes a lock that serialises every node and
  process opening the same index (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: a transaction-scoped
  advisory lock), reads the version, applies every newer migration in order and writes the new
  version, then commits. So a migration runs exactly once, even when several nodes start at
  once, and a failed migration leaves the index at its old version (both engines roll DDL back).
- An index whose version is newer than :data:`MIGRATIONS` knows is refused
  (:class:`SchemaTooNew`): an older yardcam must not write to a schema it cannot read.

Adding a migration (e.g. new columns on ``frames``):

1. Append a ``Migration(version=<last + 1>, name="what it does", sql=(...))`` to
   :data:`MIGRATIONS`. Never edit or reorder a migration that has shipped: archives out there
   have already run it. Statements are plain DDL/DML; no ``IF NOT EXISTS`` needed, since a
   migration runs once, under the lock.
2. Write the SQL once for both engines when it allows (``ALTER TABLE frames ADD COLUMN x TEXT``
   and ``CREATE INDEX`` read the same in both). When it does not, give ``sqlite=`` and/or
   ``postgres=`` statements; they replace ``sql`` for that engine.
3. Update the queries in ``_sql`` (columns, ``frame_from_row``) to use the new schema.
4. Extend the upgrade test in ``tests/archive/test_archive_schema.py``: it builds an archive
   with the version-0 DDL, upgrades it on both stacks and checks its frames are intact.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ._sql import Dialect, Query
from ._types import StorageError


@dataclass(frozen=True, slots=True)
class Migration:
    """One small named step from schema ``version - 1`` to ``version``."""

    version: int
    name: str
    sql: tuple[str, ...] = ()
    sqlite: tuple[str, ...] | None = None  # replaces ``sql`` on SQLite
    postgres: tuple[str, ...] | None = None  # replaces ``sql`` on PostgreSQL

    def statements(self, dialect: Dialect) -> tuple[str, ...]:
        own = self.sqlite if dialect.name == "sqlite" else self.postgres
        return self.sql if own is None else own


MIGRATIONS: tuple[Migration, ...] = (
    # The schema as it was before versioning. ``IF NOT EXISTS`` (only here) makes it a no-op on
    # such an index, which then simply gets its version row.
    Migration(
        1,
        "frames and tokens",
        (
            """CREATE TABLE IF NOT EXISTS frames (
                id TEXT PRIMARY KEY,
                cam TEXT NOT NULL,
                ts DOUBLE PRECISION NOT NULL,
                seq BIGINT,
                change DOUBLE PRECISION,
                size BIGINT NOT NULL,
                sha256 TEXT NOT NULL,
                blob_key TEXT NOT NULL,
                received DOUBLE PRECISION NOT NULL,
                idempotency_key TEXT,
                UNIQUE (cam, idempotency_key)
            )""",
            "CREATE INDEX IF NOT EXISTS frames_cam_ts ON frames (cam, ts, id)",
            "CREATE INDEX IF NOT EXISTS frames_ts ON frames (ts, id)",
            """CREATE TABLE IF NOT EXISTS tokens (
                id TEXT PRIMARY KEY,
                token_hash TEXT NOT NULL UNIQUE,
                cam TEXT,
                scope TEXT NOT NULL,
                created DOUBLE PRECISION NOT NULL,
                revoked BOOLEAN NOT NULL DEFAULT FALSE
            )""",
        ),
    ),
    Migration(2, "token expiry", ("ALTER TABLE tokens ADD COLUMN expires DOUBLE PRECISION",)),
    # The cam's motion event (yardcam.motion.Event.id) of each frame; NULL for frames archived
    # before events existed, or sent without one.
    Migration(
        3,
        "frames' motion event",
        (
            "ALTER TABLE frames ADD COLUMN event TEXT",
            "CREATE INDEX frames_cam_event ON frames (cam, event, ts)",
        ),
    ),
    # The gallery's logged-in sessions (``yardcam.web.LiveSession``), shared by every node so a
    # logout on one ends the session on all. ``id`` is the SHA-256 of the cookie's session id.
    Migration(
        4,
        "gallery sessions",
        (
            """CREATE TABLE sessions (
                id TEXT PRIMARY KEY,
                username TEXT NOT NULL,
                remember BOOLEAN NOT NULL,
                created DOUBLE PRECISION NOT NULL,
                authenticated DOUBLE PRECISION NOT NULL,
                expires DOUBLE PRECISION NOT NULL
            )""",
            "CREATE INDEX sessions_user ON sessions (username, created)",
            "CREATE INDEX sessions_expires ON sessions (expires)",
        ),
    ),
)

CREATE_VERSION_TABLE = "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"
READ_VERSION = "SELECT version FROM schema_version"


class SchemaTooNew(StorageError):
    """The index was migrated by a newer yardcam than this one."""

    def __init__(self, found: int, known: int) -> None:
        super().__init__(
            f"the index has schema version {found}, but this yardcam only knows up to"
            f" version {known}: a newer yardcam has upgraded it. Upgrade yardcam on this node"
            " (to the version the other nodes run) and start it again; an index is never"
            " downgraded."
        )


def upgrade(
    dialect: Dialect,
    version_rows: Sequence[Sequence[Any]],
    migrations: Sequence[Migration] = MIGRATIONS,
) -> list[Query]:
    """The statements that bring an index from the version in ``version_rows`` (the result of
    :data:`READ_VERSION`) to the newest of ``migrations``, version row included.

    Empty when the index is up to date; raises :class:`SchemaTooNew` when it is newer. The
    backend runs them in the transaction in which it read the version, under its lock.
    """
    known = migrations[-1].version if migrations else 0
    current = max((int(row[0]) for row in version_rows), default=0)
    if current > known:
        raise SchemaTooNew(current, known)
    steps: list[Query] = [
        (sql, ()) for m in migrations if m.version > current for sql in m.statements(dialect)
    ]
    p = dialect.placeholder
    if not version_rows:
        steps.append((f"INSERT INTO schema_version (version) VALUES ({p})", (known,)))
    elif current != known:
        steps.append((f"UPDATE schema_version SET version = {p}", (known,)))
    return steps
