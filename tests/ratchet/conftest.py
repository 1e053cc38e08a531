"""Fixtures of the ratchet tests: the tiny challenges (:mod:`tests.tiny_ratchet`), prepared once
per session, and a migrated database on SQLite and on PostgreSQL (:mod:`tests.databases`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import tiny_ratchet
from tests.databases import BACKENDS, migrated

tiny_root = tiny_ratchet.tiny_root  # the folder's fixtures
tiny_env = tiny_ratchet.tiny_env


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Return the URL of an empty, migrated database (SQLite file, or a reset PostgreSQL)."""
    return migrated(request.param, tmp_path / "dataperf.db")


@pytest.fixture
def sessions(db_url: str, tiny_env: Path):  # type: ignore[no-untyped-def]
    """Return a session factory over the migrated test database (tiny challenges active)."""
    from leaderboard.storage.db import session_factory

    return session_factory(db_url)
