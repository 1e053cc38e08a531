"""Shared fixtures: a private data home, and tiny variants of every registered challenge; and the
hooks that mark each test by the external services its fixtures need and check, before it runs,
that they are there (:mod:`tests.services`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dataperf import testing
from dataperf.challenges import challenges
from dataperf.contract import ChallengeSpec
from dataperf.data.prepare import prepare
from dataperf.data.prepared import PreparedData
from tests import services

TINY_ROWS = testing.TINY_ROWS
TINY_BUDGET = testing.TINY_BUDGET


def tiny(spec: ChallengeSpec) -> ChallengeSpec:
    """Return ``spec`` shrunk for fast tests by its kind (:func:`dataperf.testing.tiny_spec`)."""
    return testing.tiny_spec(spec)


@pytest.hookimpl(tryfirst=True)  # before ``-m`` selects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test by the services its fixtures need (``docker``, ``browser``, ``dask``; the
    PostgreSQL variant of a database fixture is marked ``postgres`` where it is defined)."""
    for item in items:
        services.mark_by_fixtures(item)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Before any fixture is built: skip a test whose service is missing, saying so, or fail it,
    naming the service, when ``$CI`` or ``$DATAPERF_REQUIRE_SERVICES=1`` is set."""
    services.check(item)


@pytest.fixture(autouse=True)
def _private_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test gets a data home of its own unless it asks for the shared one."""
    monkeypatch.setenv("DATAPERF_HOME", str(tmp_path_factory.mktemp("home")))


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[ChallengeSpec, PreparedData]]:
    """Tiny prepared data for every registered challenge, built once per session."""
    root = tmp_path_factory.mktemp("tiny")
    reg = challenges()
    out = {}
    for name in reg.names():
        spec = tiny(reg.get(name))
        folder = prepare(spec, root=root / name)
        out[name] = (spec, PreparedData(spec, folder))
    return out


@pytest.fixture(scope="session")
def real_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data home with the real prepared data of every challenge (built once per session)."""
    return tmp_path_factory.mktemp("real-home")
