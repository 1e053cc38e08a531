"""Fixtures of the Dask tests: the ratchet tests' tiny challenges, databases and clusters.

The tiny specs come from ``tests/ratchet/conftest.py`` (one definition); their data is
prepared once per session. Clusters are LocalClusters of two single-threaded worker
processes (``processes=True``), their HTTP server on any free port.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

PG_ENV = "DATAPERF_TEST_PG_URL"
RATCHET_CONFTEST = Path(__file__).resolve().parents[1] / "ratchet" / "conftest.py"


def tiny_specs() -> dict[str, dict]:
    """Return the ratchet tests' tiny challenge specs (tiny-selection, tiny-testset, tiny-plain)."""
    spec = importlib.util.spec_from_file_location("_ratchet_conftest", RATCHET_CONFTEST)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.tiny_specs()


@pytest.fixture(scope="session")
def tiny_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Write the tiny specs and prepare their data once; return the folder holding both."""
    from dataperf.contract import ChallengeSpec
    from dataperf.data.prepare import prepare

    root = tmp_path_factory.mktemp("dask-tiny")
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
    from leaderboard import cells

    monkeypatch.setenv("DATAPERF_CHALLENGES", str(tiny_root / "challenges"))
    monkeypatch.setenv("DATAPERF_HOME", str(tiny_root / "home"))
    cells.forget_banks()
    return tiny_root


def _pg_url() -> str:
    """Return the URL of an empty PostgreSQL database of these tests' own (created on the test
    server beside the shared one, so other test runs never write into it)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from leaderboard.db import engine

    base = os.environ.get(PG_ENV, "")
    if not base:
        pytest.skip(f"PostgreSQL not configured: set {PG_ENV} (scripts/start-postgres prints a URL)")
    url = make_url(base).set(database=f"{make_url(base).database}_dask")
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": url.database}).first() is None:
            conn.execute(text(f'CREATE DATABASE "{url.database}"'))
    admin.dispose()
    text_url = url.render_as_string(hide_password=False)
    with engine(text_url).begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    return text_url


def make_db(kind: str, folder: Path, name: str) -> Any:
    """Return a session factory over an empty, migrated database (``sqlite`` or ``postgresql``)."""
    from leaderboard import cells
    from leaderboard.db import session_factory, upgrade

    url = _pg_url() if kind == "postgresql" else f"sqlite:///{folder / name}"
    cells.forget_banks()
    upgrade(url)
    return session_factory(url)


def start_cluster(workers: int = 2) -> Any:
    """Return a started LocalCluster of ``workers`` single-threaded worker processes."""
    from dataperf.runners.dask import local_cluster

    return local_cluster(n_workers=workers, threads_per_worker=1, dashboard=":0")


@pytest.fixture(scope="session")
def cluster() -> Iterator[Any]:
    """A LocalCluster of 2 worker processes shared by the Dask tests (a test may kill one of
    its workers: the nanny starts a new one)."""
    c = start_cluster()
    yield c
    c.close()


@pytest.fixture
def client(cluster: Any) -> Iterator[Any]:
    """A client of the module's cluster, with both workers up."""
    from distributed import Client

    with Client(cluster) as c:
        c.wait_for_workers(2)
        yield c
