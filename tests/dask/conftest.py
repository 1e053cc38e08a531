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

from tests import tiny_ratchet
from tests.databases import migrated

tiny_root = tiny_ratchet.tiny_root  # the folder's fixtures
tiny_env = tiny_ratchet.tiny_env


def make_db(kind: str, folder: Path, name: str) -> Any:
    """Return a session factory over an empty, migrated database (``sqlite`` or ``postgresql``)."""
    from leaderboard.storage.db import session_factory

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
