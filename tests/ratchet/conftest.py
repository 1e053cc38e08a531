"""Fixtures of the ratchet tests: the tiny challenges (:mod:`tests.tiny_ratchet`), prepared once
per session, and a migrated database on SQLite and on PostgreSQL (:mod:`tests.databases`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.databases import migrated
from tests.tiny_ratchet import write_tiny


@pytest.fixture(scope="session")
def tiny_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Write the tiny specs and prepare their data once; return the folder holding both."""
    return write_tiny(tmp_path_factory.mktemp("tiny"))


@pytest.fixture
def tiny_env(tiny_root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point DATAPERF_CHALLENGES and DATAPERF_HOME at the tiny challenges for one test."""
    monkeypatch.setenv("DATAPERF_CHALLENGES", str(tiny_root / "challenges"))
    monkeypatch.setenv("DATAPERF_HOME", str(tiny_root / "home"))
    return tiny_root


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Return the URL of an empty, migrated database (SQLite file, or a reset PostgreSQL)."""
    return migrated(request.param, tmp_path / "dataperf.db")


@pytest.fixture
def sessions(db_url: str, tiny_env: Path):  # type: ignore[no-untyped-def]
    """Return a session factory over the migrated test database (tiny challenges active)."""
    from leaderboard.db import session_factory

    return session_factory(db_url)
