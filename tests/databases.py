"""Test databases, one definition for every test folder: a migrated SQLite file, or a
PostgreSQL database of the folder's own on the server that ``$DATAPERF_TEST_PG_URL`` names
(``scripts/start-postgres`` prints one). :data:`BACKENDS` parametrizes a fixture or test over
both; its PostgreSQL variant carries the ``postgres`` marker, so without the server it is
skipped, saying so, or fails when services are required (:mod:`tests.services`)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests import services

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
"""The database backends a test runs on (the values :func:`migrated` takes)."""


def postgres_url(suffix: str = "") -> str:
    """Return the URL of an emptied PostgreSQL database named the configured one's name plus
    ``suffix`` (created when missing), so folders that run at once never share one."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from leaderboard.storage.db import engine

    services.need("postgres")  # a caller that forgot the marker still skips or fails, naming it
    base = os.environ[services.PG_ENV]
    url = make_url(base)
    url = url.set(database=f"{url.database}{suffix}")
    if suffix:
        admin = create_engine(make_url(base).set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            if conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": url.database}).first() is None:
                conn.execute(text(f'CREATE DATABASE "{url.database}"'))
        admin.dispose()
    target = url.render_as_string(hide_password=False)
    with engine(target).begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    return target


def migrated(kind: str, sqlite_file: Path, pg_suffix: str = "") -> str:
    """Return the URL of an empty, migrated database (``sqlite`` at ``sqlite_file``, or
    ``postgresql``), with the process's cached banks and problems forgotten."""
    from leaderboard.jobs import service
    from leaderboard.ratchet import cells
    from leaderboard.storage.db import upgrade

    url = postgres_url(pg_suffix) if kind == "postgresql" else f"sqlite:///{sqlite_file}"
    cells.forget_banks()
    service._PROBLEMS.clear()
    return upgrade(url)
