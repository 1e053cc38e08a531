"""Shared fixtures: a private data home, and tiny variants of every registered challenge; and the
hooks that mark each test by the external services its fixtures need and check, before it runs,
that they are there (:mod:`tests.services`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dataperf.challenges import challenges
from dataperf.contract import ChallengeSpec
from dataperf.data.prepare import prepare
from dataperf.data.prepared import PreparedData
from tests import services

TINY_ROWS = 240
TINY_BUDGET = 40


def tiny(spec: ChallengeSpec) -> ChallengeSpec:
    """Return ``spec`` shrunk for fast tests: small splits, budgets and seed lists.

    Works for any registered challenge: nothing here is written per challenge.
    """
    data = spec.data.model_copy(
        update={
            "splits": {n: s.model_copy(update={"size": min(s.size, TINY_ROWS)}) for n, s in spec.data.splits.items()},
            "embedding": spec.data.embedding.model_copy(update={"fit_rows": min(spec.data.embedding.fit_rows, 2000)}),
        }
    )
    tasks = [
        t.model_copy(
            update={
                "budget": None if t.budget is None else min(t.budget, TINY_BUDGET),
                "examples": min(t.examples, 2),
            }
        )
        for t in spec.tasks
    ]
    # A rule sized for the full splits is scaled with them (the only such option today).
    options = {k: max(1, v // 4) if k == "min_per_class" and isinstance(v, int) else v for k, v in spec.options.items()}
    return spec.model_copy(
        update={
            "options": options,
            "data": data,
            "tasks": tasks,
            "seeds": spec.seeds[:2],
            "budget": min(spec.budget, TINY_BUDGET if spec.kind != "cleaning" else TINY_ROWS),
        }
    )


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
