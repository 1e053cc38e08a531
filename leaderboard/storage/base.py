"""The declarative base every table derives from, and engines for SQLite or PostgreSQL.

SQLite (a file in the data home, WAL mode) is the embedded default; set ``DATAPERF_DB`` to a
SQLAlchemy URL (``postgresql+psycopg://user@127.0.0.1:5432/dataperf``) for PostgreSQL.
"""

from __future__ import annotations

import os
import time
from typing import Any

from sqlalchemy import Engine, MetaData, create_engine, event
from sqlalchemy.orm import DeclarativeBase

from dataperf.paths import home

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base class of every dataperf table."""

    metadata = MetaData(naming_convention=NAMING)


def default_url() -> str:
    """Return ``$DATAPERF_DB``, else a SQLite file in the data home."""
    return os.environ.get("DATAPERF_DB") or f"sqlite:///{home() / 'dataperf.db'}"


BUSY_TIMEOUT_S = 30.0
"""How long a SQLite statement waits for another connection's write lock before it fails with
"database is locked" (the server answers that 503, :mod:`leaderboard.http.app`)."""
OPTIMIZE_EVERY = 60.0
"""Seconds after which a pooled SQLite connection runs ``PRAGMA optimize`` again when checked out."""


def make_engine(url: str | None = None) -> Engine:
    """Return an engine for ``url`` (default: :func:`default_url`); SQLite gets WAL mode,
    foreign keys and a busy timeout so several processes can share the file, and keeps its query
    planner's statistics current (``PRAGMA optimize`` on connect, and every
    :data:`OPTIMIZE_EVERY` seconds a pooled connection is used)."""
    url = url or default_url()
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_S})

        event.listen(engine, "connect", _sqlite_connected)
        event.listen(engine, "checkout", _sqlite_checked_out)
        return engine
    return create_engine(url, pool_pre_ping=True)


def _sqlite_connected(conn: Any, record: Any) -> None:
    """Set a new SQLite connection up: WAL, foreign keys, a busy timeout, and the query planner's
    statistics. Without statistics SQLite can pick the wrong one of the cells' two indexes and
    scan 2,000,000 cells for one training set's ~200. ``ANALYZE`` reads every row (about 0.5 s at
    2,000,000 cells): a sample would see the first test set's cells only and take the test-set
    index for unselective. It runs only where an index has no statistics yet."""
    cur = conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
    cur.execute("PRAGMA optimize=0x10002")  # SQLite 3.46+: every table that needs it
    # Older SQLite's optimize looks only at tables this connection used: the cells get theirs
    # here whenever one of their indexes has none (never analyzed, or an index added since).
    indexes = {r[0] for r in cur.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'cells'")}
    if indexes and cur.execute("SELECT 1 FROM cells LIMIT 1").fetchone() is not None:
        known: set[str] = set()
        if cur.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").fetchone() is not None:
            known = {r[0] for r in cur.execute("SELECT idx FROM sqlite_stat1 WHERE tbl = 'cells'")}
        if indexes - known:
            cur.execute("ANALYZE cells")
    cur.close()
    record.info["optimized_at"] = time.monotonic()


def _sqlite_checked_out(conn: Any, record: Any, _proxy: Any) -> None:
    """Refresh the statistics of the tables a pooled connection used (``PRAGMA optimize``: those
    that grew since) once every :data:`OPTIMIZE_EVERY` seconds."""
    if time.monotonic() - record.info.get("optimized_at", 0.0) > OPTIMIZE_EVERY:
        cur = conn.cursor()
        cur.execute("PRAGMA optimize")
        cur.close()
        record.info["optimized_at"] = time.monotonic()
