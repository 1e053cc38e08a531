"""The declarative base every table derives from, and engines for SQLite or PostgreSQL.

SQLite (a file in the data home, WAL mode) is the embedded default; set ``DATAPERF_DB`` to a
SQLAlchemy URL (``postgresql+psycopg://user@127.0.0.1:5432/dataperf``) for PostgreSQL.
"""

from __future__ import annotations

import os

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


def make_engine(url: str | None = None) -> Engine:
    """Return an engine for ``url`` (default: :func:`default_url`); SQLite gets WAL mode,
    foreign keys and a busy timeout so several processes can share the file."""
    url = url or default_url()
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(conn, _record):  # type: ignore[no-untyped-def]
            cur = conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True)
