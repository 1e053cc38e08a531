"""The external services some tests need: which fixtures need each one (a test that uses such a
fixture gets the service's marker), how to tell whether it is there, and what a missing one
does to a test that needs it: a skip that says so, or a failure naming it when ``$CI`` or
``$DATAPERF_REQUIRE_SERVICES=1`` is set (CI must never pass by skipping them).
"""

from __future__ import annotations

import functools
import importlib.util
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

REQUIRE_ENV = "DATAPERF_REQUIRE_SERVICES"
PG_ENV = "DATAPERF_TEST_PG_URL"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@dataclass(frozen=True)
class Service:
    """One external service: its marker, its name in messages, the fixtures that need it, how
    to start or install it, and a probe that returns why it is missing (None: it is there)."""

    marker: str
    name: str
    fixtures: tuple[str, ...]
    hint: str
    probe: Callable[[], str | None]


def _docker() -> str | None:
    from dataperf.errors import DataPerfError
    from dataperf.runners.docker import client

    try:
        client().close()
    except DataPerfError as e:
        return str(e)
    return None


def _postgres() -> str | None:
    url = os.environ.get(PG_ENV, "")
    if not url:
        return f"${PG_ENV} is not set"
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    engine = create_engine(url, connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as e:  # any failure to connect is the answer, reported in words
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        return f"cannot connect to {make_url(url).render_as_string(hide_password=True)}: {first}"
    finally:
        engine.dispose()
    return None


def _browser() -> str | None:
    missing = []
    if importlib.util.find_spec("playwright") is None:
        missing.append("the Python package playwright is not installed")
    if not Path(CHROMIUM).exists():
        missing.append(f"chromium not found at {CHROMIUM}")
    return "; ".join(missing) or None


def _dask() -> str | None:
    if importlib.util.find_spec("distributed") is None:
        return "the Python package distributed is not installed"
    return None


SERVICES: dict[str, Service] = {
    s.marker: s
    for s in (
        Service("docker", "the Docker engine", ("docker_client",), "start it with scripts/start-dockerd", _docker),
        Service(
            "postgres",
            "PostgreSQL",
            (),  # the PostgreSQL variant of a database fixture carries the marker (tests/databases.py)
            "start it with scripts/start-postgres and set $DATAPERF_TEST_PG_URL to the URL it prints",
            _postgres,
        ),
        Service(
            "browser",
            "Playwright and Chromium",
            ("browser",),
            "pip install playwright; apt-get install chromium",
            _browser,
        ),
        Service("dask", "a Dask cluster", ("cluster",), "pip install 'dataperf[dask]'", _dask),
    )
}
"""Every external service, by marker."""


def required() -> bool:
    """Return True when a missing service must fail the tests that need it (``$CI`` set and not
    false, or ``$DATAPERF_REQUIRE_SERVICES=1``)."""
    ci = os.environ.get("CI", "").strip().lower()
    return os.environ.get(REQUIRE_ENV, "").strip() == "1" or ci not in ("", "0", "false", "no")


@functools.cache
def missing(marker: str) -> str | None:
    """Return why the service of ``marker`` is missing (None: it is there); probed once."""
    return SERVICES[marker].probe()


def need(marker: str) -> None:
    """Return when the service is there; else skip the test saying why, or fail it naming the
    service when services are required."""
    why = missing(marker)
    if why is None:
        return
    s = SERVICES[marker]
    if required():
        pytest.fail(
            f"{s.name} is required but missing: {why} ({s.hint}); tests marked '{marker}' fail instead of "
            f"skipping because $CI or ${REQUIRE_ENV}=1 is set",
            pytrace=False,
        )
    pytest.skip(f"{s.name} is missing: {why} ({s.hint})")


def mark_by_fixtures(item: pytest.Item) -> None:
    """Add to ``item`` the marker of every service one of its fixtures needs."""
    used = set(getattr(item, "fixturenames", ()))
    for s in SERVICES.values():
        if used.intersection(s.fixtures):
            item.add_marker(getattr(pytest.mark, s.marker))


def check(item: pytest.Item) -> None:
    """Before ``item`` runs: make sure every service it is marked for is there (see :func:`need`)."""
    for marker in SERVICES:
        if item.get_closest_marker(marker) is not None:
            need(marker)
