"""Fixtures of the server tests: two tiny challenges (a ratchet pair) prepared once per session,
a fresh data home and database per test, teams with tokens, and ready submission files."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.databases import BACKENDS, migrated

HERE = Path(__file__).resolve().parent
CHALLENGES = HERE / "challenges"


@pytest.fixture(scope="session")
def server_data(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Prepare the tiny challenges once (or reuse ``$DATAPERF_TEST_DATA``); return the data folder."""
    cached = os.environ.get("DATAPERF_TEST_DATA")
    root = Path(cached) if cached else tmp_path_factory.mktemp("tinyhome")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DATAPERF_HOME", str(root))
        mp.setenv("DATAPERF_CHALLENGES", str(CHALLENGES))
        mp.setenv("DATAPERF_BUILTIN_CHALLENGES", "0")
        from dataperf.challenges import challenges
        from dataperf.data.prepare import prepare

        folder = prepare(challenges().get("tiny-selection"))
        dual = root / "data" / "tiny-testset" / "v1"  # the same data recipe: share the folder
        if not dual.exists():
            dual.parent.mkdir(parents=True, exist_ok=True)
            dual.symlink_to(folder)
    yield root / "data"


@pytest.fixture()
def home(server_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Return a fresh data home for one test (sharing the prepared data) with the tiny challenges."""
    h = tmp_path / "home"
    h.mkdir()
    (h / "data").symlink_to(server_data)
    monkeypatch.setenv("DATAPERF_HOME", str(h))
    monkeypatch.setenv("DATAPERF_CHALLENGES", str(CHALLENGES))
    monkeypatch.setenv("DATAPERF_BUILTIN_CHALLENGES", "0")
    monkeypatch.delenv("DATAPERF_DB", raising=False)
    monkeypatch.delenv("DATAPERF_SERVER", raising=False)
    monkeypatch.delenv("DATAPERF_TOKEN", raising=False)
    return h


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, home: Path) -> str:
    """Return the URL of a migrated database: a SQLite file in the test's home, or a
    PostgreSQL database of these tests' own (:mod:`tests.databases`)."""
    return migrated(request.param, home / "server.db", pg_suffix="_server")


@dataclass(frozen=True)
class Files:
    """Submission files for the tiny challenges."""

    train: list[Path]
    test_hard: Path
    test_random: Path
    invalid: Path


@pytest.fixture()
def files(home: Path) -> Files:
    """Write baseline submissions (and one invalid file) for the tiny challenges."""
    from baselines import for_kind
    from dataperf.challenges import get_challenge
    from dataperf.evaluator import load_data
    from dataperf.submission import write_submission

    out = home.parent / "files"
    spec = get_challenge("tiny-selection")
    data = load_data(spec)
    train = [
        write_submission(b.build(spec, data, 0), out / f"train-{b.name}.csv", spec.id) for b in for_kind(spec.kind)
    ]
    tspec = get_challenge("tiny-testset")
    tdata = load_data(tspec)
    tests = {
        b.name: write_submission(b.build(tspec, tdata, 0), out / f"test-{b.name}.csv", tspec.id)
        for b in for_kind(tspec.kind)
    }
    bad = out / "bad.csv"
    bad.write_text("task,id,label\nshirt,-5,7\nnope,1,1\n")
    return Files(train, tests["hard"], tests["random"], bad)
