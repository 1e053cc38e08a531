"""Fixtures of the ratchet tests: tiny challenges on real Fashion-MNIST, and a migrated
database on SQLite and on PostgreSQL.

``tiny-selection`` / ``tiny-testset`` are vision-selection / vision-testset with small splits,
budgets and two seeds (the exact sizes do not matter to these tests); ``tiny-plain`` is a
training-set challenge with no dual (scored by the runner, not the ratchet). Their data is
prepared once per session; the three share one prepared folder (same recipe).

The ``db_url`` fixture runs each test on SQLite and on PostgreSQL from ``$DATAPERF_TEST_PG_URL``
(``scripts/start-postgres`` prints one); without it the PostgreSQL run is skipped, saying so.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

PG_ENV = "DATAPERF_TEST_PG_URL"
ROOT = Path(__file__).resolve().parents[2]


def tiny_specs() -> dict[str, dict]:
    """Return the tiny challenge specs, derived from the shipped vision ones."""
    sel = yaml.safe_load((ROOT / "challenges" / "vision-selection.yaml").read_text())
    tst = yaml.safe_load((ROOT / "challenges" / "vision-testset.yaml").read_text())
    splits = {
        "pool": {"source_split": "train", "size": 3000},
        "test": {"source_split": "test", "size": 600},
        "test-hidden": {"source_split": "test", "size": 600},
    }
    for spec in (sel, tst):
        spec["data"]["splits"] = splits
        spec["data"]["embedding"]["fit_rows"] = 3000
        spec["data"]["noise"]["rate"] = 0.02
        spec["seeds"] = [0, 1]
    sel |= {"id": "tiny-selection", "budget": 150}
    tst |= {"id": "tiny-testset", "budget": 60}
    tst["options"] = {
        "pairs_with": "tiny-selection",
        "margin": 0.02,
        "top_k": 2,
        "min_per_class": 3,
        "ref_rows": 200,
    }
    plain = dict(sel) | {"id": "tiny-plain"}
    return {"tiny-selection": sel, "tiny-testset": tst, "tiny-plain": plain}


@pytest.fixture(scope="session")
def tiny_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Write the tiny specs and prepare their data once; return the folder holding both."""
    from dataperf.contract import ChallengeSpec
    from dataperf.data.prepare import prepare

    root = tmp_path_factory.mktemp("tiny")
    specs, home = root / "challenges", root / "home"
    specs.mkdir()
    docs = tiny_specs()
    for name, doc in docs.items():
        (specs / f"{name}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    folder = prepare(ChallengeSpec.model_validate(docs["tiny-selection"]), root=home / "data" / "tiny-selection" / "v1")
    for other in ("tiny-testset", "tiny-plain"):
        (home / "data" / other).mkdir(parents=True)
        (home / "data" / other / "v1").symlink_to(folder)
    return root


@pytest.fixture
def tiny_env(tiny_root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point DATAPERF_CHALLENGES and DATAPERF_HOME at the tiny challenges for one test."""
    monkeypatch.setenv("DATAPERF_CHALLENGES", str(tiny_root / "challenges"))
    monkeypatch.setenv("DATAPERF_HOME", str(tiny_root / "home"))
    return tiny_root


def _reset_pg(url: str) -> None:
    from sqlalchemy import text

    from leaderboard.db import engine

    with engine(url).begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Return the URL of an empty, migrated database (SQLite file, or a reset PostgreSQL)."""
    from leaderboard import cells, service
    from leaderboard.db import upgrade

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'dataperf.db'}"
    else:
        url = os.environ.get(PG_ENV, "")
        if not url:
            pytest.skip(f"PostgreSQL not configured: set {PG_ENV} (scripts/start-postgres prints a URL)")
        _reset_pg(url)
    cells.forget_banks()
    service._PROBLEMS.clear()
    upgrade(url)
    return url


@pytest.fixture
def sessions(db_url: str, tiny_env: Path):  # type: ignore[no-untyped-def]
    """Return a session factory over the migrated test database (tiny challenges active)."""
    from leaderboard.db import session_factory

    return session_factory(db_url)
