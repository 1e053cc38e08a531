"""Database entry points: migrate, open sessions, write idempotently.

``upgrade(url)`` runs the Alembic migrations in ``leaderboard/storage/migrations`` (the embedded
SQLite default or PostgreSQL, same schema); ``session_factory(url)`` returns the sessions every
other module uses; ``insert_ignore`` is the one idempotent write (``ON CONFLICT DO NOTHING`` on
both dialects).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Table
from sqlalchemy.orm import Session, sessionmaker

from leaderboard.storage.base import default_url, make_engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str) -> Any:
    """Return an Alembic Config for ``url`` (no ini file needed)."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["url"] = url
    return cfg


def upgrade(url: str | None = None, revision: str = "heads") -> str:
    """Create or migrate the database at ``url`` (default: :func:`default_url`) to ``revision``;
    return the URL."""
    from alembic import command

    url = url or default_url()
    command.upgrade(alembic_config(url), revision)
    return url


def current_revisions(url: str | None = None) -> set[str]:
    """Return the Alembic revisions the database at ``url`` is at (empty if never migrated)."""
    from alembic.runtime.migration import MigrationContext

    with engine(url or default_url()).connect() as conn:
        return set(MigrationContext.configure(conn).get_current_heads())


@lru_cache(maxsize=16)
def engine(url: str) -> Engine:
    """Return the process-wide engine for ``url`` (one pool per URL)."""
    return make_engine(url)


def session_factory(url: str | None = None) -> sessionmaker[Session]:
    """Return a session factory bound to ``url`` (default: :func:`default_url`).

    The database must have been migrated (:func:`upgrade`); objects stay readable after commit.
    """
    return sessionmaker(bind=engine(url or default_url()), expire_on_commit=False)


def _insert(session: Session, table: Table) -> Any:
    """Return the session's dialect's INSERT of ``table`` (one with ON CONFLICT clauses)."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table)
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as lite_insert

        return lite_insert(table)
    raise NotImplementedError(f"database dialect '{dialect}' is not supported (use sqlite or postgresql)")


def _insert_ignore_stmt(session: Session, table: Table, keys: Sequence[str]) -> Any:
    return _insert(session, table).on_conflict_do_nothing(index_elements=list(keys))


def upsert_one(session: Session, table: Table, row: dict[str, Any], keys: Sequence[str]) -> None:
    """Insert one row, or where its unique ``keys`` exist set that row's other columns to ``row``'s."""
    changes = {k: v for k, v in row.items() if k not in keys}
    session.execute(
        _insert(session, table).values(**row).on_conflict_do_update(index_elements=list(keys), set_=changes)
    )


def insert_ignore(session: Session, table: Table, rows: Sequence[dict[str, Any]], keys: Sequence[str]) -> None:
    """Insert ``rows`` into ``table`` in one batch, skipping any whose unique ``keys`` exist.

    Never raises on a duplicate, so two writers racing on the same key both succeed and one
    row remains.
    """
    if rows:
        session.execute(_insert_ignore_stmt(session, table, keys), list(rows))


def insert_ignore_one(session: Session, table: Table, row: dict[str, Any], keys: Sequence[str]) -> bool:
    """Insert one row unless its unique ``keys`` exist; return True when it was inserted."""
    pk = next(iter(table.primary_key.columns))
    stmt = _insert_ignore_stmt(session, table, keys).returning(pk)
    return session.execute(stmt, row).first() is not None
