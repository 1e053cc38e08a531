"""A live server: ``dataperf serve`` and ``dataperf worker`` as real subprocesses on loopback,
on a database filled with the tiny challenges' baselines; screenshots go to the artifacts folder
(``$DATAPERF_ARTIFACTS``, else ``tests/artifacts``)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHALLENGES = ROOT / "tests" / "server" / "challenges"


def free_port() -> int:
    """Return a free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Live:
    """A running server and worker, and how to call the CLI against them."""

    url: str
    db: str
    home: Path
    env: dict[str, str]
    logs: Path

    def cli(self, *args: str, check: bool = True, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        """Run ``dataperf ARGS`` with the live environment and return the finished process."""
        done = subprocess.run(
            [sys.executable, "-m", "dataperf.cli", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and done.returncode != 0:
            raise AssertionError(f"dataperf {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
        return done


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Return the folder screenshots are kept in."""
    path = Path(os.environ.get("DATAPERF_ARTIFACTS") or ROOT / "tests" / "artifacts")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _wait_http(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    import httpx

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"server did not answer {url} in {timeout} s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """Start a filled server and one worker; stop both afterwards."""
    yield from start_live(tmp_path_factory, [CHALLENGES])


def start_live(tmp_path_factory: pytest.TempPathFactory, folders: list[Path]) -> Iterator[Live]:
    """Start a server and one worker on the challenges in ``folders`` (filled with their
    baselines by fill.py), yield them, stop both afterwards."""
    root = tmp_path_factory.mktemp("live")
    cached = os.environ.get("DATAPERF_TEST_DATA")
    home = root / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("DATAPERF_DB", "DATAPERF_SERVER", "DATAPERF_TOKEN")}
    env |= {
        "DATAPERF_HOME": str(home),
        "DATAPERF_CHALLENGES": os.pathsep.join(str(f) for f in folders),
        "DATAPERF_BUILTIN_CHALLENGES": "0",
        "PYTHONPATH": os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
    }
    db = f"sqlite:///{home / 'server.db'}"
    if cached:
        (home / "data").symlink_to(Path(cached) / "data")
    subprocess.run(
        [sys.executable, str(Path(__file__).with_name("fill.py")), db, str(root / "hard.csv")],
        env=env,
        check=True,
        timeout=600,
    )
    logs = root / "logs"
    logs.mkdir()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    procs = []
    with (logs / "serve.log").open("wb") as slog, (logs / "worker.log").open("wb") as wlog:
        serve = subprocess.Popen(
            # rate limits x1000: the API fuzzer sends thousands of requests (and wrong tokens) from
            # one address; the limits themselves are tested in tests/server/test_hardening.py
            [sys.executable, "-m", "dataperf.cli", "serve", "--port", str(port), "--db", db, "--rate-scale", "1000"],
            env=env,
            stdout=slog,
            stderr=subprocess.STDOUT,
        )
        procs.append(serve)
        try:
            _wait_http(f"{url}/api/health", serve, logs / "serve.log")
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "dataperf.cli", "worker", "--db", db, "--poll", "0.2"],
                    env=env,
                    stdout=wlog,
                    stderr=subprocess.STDOUT,
                )
            )
            yield Live(url, db, home, env, logs)
        finally:
            for p in procs:
                p.terminate()
            for p in procs:
                try:
                    p.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    p.kill()
