"""Fixtures of the Dask tests: the ratchet tests' tiny challenges, databases and clusters.

The tiny challenges come from :mod:`tests.tiny_ratchet` and the databases from
:mod:`tests.databases` (one definition each); the data is prepared once per session. Clusters
are LocalClusters of two single-threaded worker processes (``processes=True``), their HTTP
server on any free port.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.databases import migrated
from tests.tiny_ratchet import write_tiny


@pytest.fixture(scope="session")
def tiny_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Write the tiny specs and prepare their data once; return the folder holding both."""
    return write_tiny(tmp_path_factory.mktemp("dask-tiny"))


@pytest.fixture
def tiny_env(tiny_root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point DATAPERF_CHALLENGES and DATAPERF_HOME at the tiny challenges for one test."""
    from leaderboard import cells

    monkeypatch.setenv("DATAPERF_CHALLENGES", str(tiny_root / "challenges"))
    monkeypatch.setenv("DATAPERF_HOME", str(tiny_root / "home"))
    cells.forget_banks()
    return tiny_root


def make_db(kind: str, folder: Path, name: str) -> Any:
    """Return a session factory over an empty, migrated database (``sqlite`` or ``postgresql``)."""
    from leaderboard.db import session_factory

    return session_factory(migrated(kind, folder / name, pg_suffix="_dask"))


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
