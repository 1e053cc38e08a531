"""Alembic environment: migrates the database whose URL the caller passes in
``config.attributes["url"]`` (see :func:`leaderboard.storage.db.upgrade`), else ``$DATAPERF_DB``."""

from __future__ import annotations

import importlib

from alembic import context

from leaderboard.storage import tables  # noqa: F401 - registers the ratchet tables on Base.metadata
from leaderboard.storage.base import Base, default_url, make_engine

try:  # the server's tables, when that module exists
    importlib.import_module("leaderboard.storage.server_tables")
except ModuleNotFoundError as e:
    if e.name != "leaderboard.storage.server_tables":
        raise

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    return str(config.attributes.get("url") or default_url())


def run_offline() -> None:
    """Emit SQL for the URL's dialect without connecting."""
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    """Connect and migrate (SQLite gets batch mode for ALTERs)."""
    engine = make_engine(_url())
    try:
        with engine.connect() as conn:
            sqlite = conn.dialect.name == "sqlite"
            if sqlite:  # batch mode recreates tables that others reference: check keys after, not during
                conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
                conn.commit()
            context.configure(
                connection=conn,
                target_metadata=target_metadata,
                render_as_batch=sqlite,
                compare_type=True,
            )
            with context.begin_transaction():
                context.run_migrations()
            if sqlite:
                broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                conn.exec_driver_sql("PRAGMA foreign_keys=ON")
                if broken:
                    raise RuntimeError(f"the migration left rows whose foreign keys point nowhere: {broken[:5]}")
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
