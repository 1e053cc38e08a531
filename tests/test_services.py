"""Tests that need an external service cannot pass by skipping in CI: with
``$DATAPERF_REQUIRE_SERVICES=1`` a PostgreSQL test whose server cannot be reached fails and
names PostgreSQL; without it, the same test is skipped and the reason names PostgreSQL."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests import services

ROOT = Path(__file__).resolve().parents[1]
TARGET = "tests/ratchet/test_schema.py"
"""A test file whose database fixture has a PostgreSQL variant."""


def _closed_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pytest(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Run the PostgreSQL variants of TARGET in a fresh pytest with exactly these switches."""
    base = {k: v for k, v in os.environ.items() if k not in ("CI", services.REQUIRE_ENV, services.PG_ENV)}
    return subprocess.run(
        [sys.executable, "-m", "pytest", TARGET, "-m", "postgres", "-q", "-rfs", "-p", "no:cacheprovider"],
        cwd=ROOT,
        env=base | {"DATAPERF_HOME": str(tmp_path / "home")} | env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_required_postgres_on_a_closed_port_fails_naming_it(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://postgres@127.0.0.1:{_closed_port()}/dataperf_test"
    done = _pytest(tmp_path, **{services.REQUIRE_ENV: "1", services.PG_ENV: url})
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert "PostgreSQL is required but missing" in out
    assert " passed" not in out and " skipped" not in out


def test_unrequired_postgres_is_skipped_naming_it(tmp_path: Path) -> None:
    done = _pytest(tmp_path)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert "PostgreSQL is missing: $DATAPERF_TEST_PG_URL is not set" in out
    assert " failed" not in out and " passed" not in out


@pytest.mark.parametrize(
    "env,want",
    [({}, False), ({"CI": "true"}, True), ({"CI": "false"}, False), ({services.REQUIRE_ENV: "1"}, True)],
)
def test_required_reads_ci_and_the_switch(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], want: bool) -> None:
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv(services.REQUIRE_ENV, raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    assert services.required() is want
