"""Helpers of the server benchmarks: a scratch data home with the tiny challenges, and
``dataperf serve`` / ``dataperf worker`` subprocesses on loopback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
TINY = REPO / "tests" / "server" / "challenges"


def free_port() -> int:
    """Return a free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def scratch_env(home: Path, data: Path | None = None) -> dict[str, str]:
    """Return the environment of the benchmark's processes (tiny challenges, scratch home);
    ``data`` is a prepared data folder to reuse (symlinked)."""
    home.mkdir(parents=True, exist_ok=True)
    if data is not None and not (home / "data").exists():
        (home / "data").symlink_to(data)
    env = {k: v for k, v in os.environ.items() if k not in ("DATAPERF_DB", "DATAPERF_SERVER", "DATAPERF_TOKEN")}
    return env | {
        "DATAPERF_HOME": str(home),
        "DATAPERF_CHALLENGES": str(TINY),
        "DATAPERF_BUILTIN_CHALLENGES": "0",
        "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p),
    }


def cli(env: dict[str, str], *args: str, log: Path | None = None) -> subprocess.Popen[bytes]:
    """Start ``dataperf ARGS`` in the background (output to ``log``)."""
    out = log.open("ab") if log else subprocess.DEVNULL
    return subprocess.Popen(
        [sys.executable, "-m", "dataperf.cli", *args], env=env, stdout=out, stderr=subprocess.STDOUT
    )


def start_server(env: dict[str, str], db: str, log: Path, *extra: str) -> tuple[subprocess.Popen[bytes], str]:
    """Start ``dataperf serve`` (with ``extra`` arguments) on a free port and wait until it
    answers; return (process, URL)."""
    port = free_port()
    proc = cli(env, "serve", "--port", str(port), "--db", db, *extra, log=log)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        if proc.poll() is not None:
            raise RuntimeError(f"server exited {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{url}/api/health", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError("server did not start in 60 s")


def stop(*procs: subprocess.Popen[bytes]) -> None:
    """Terminate processes (kill after 15 s)."""
    for p in procs:
        if p.poll() is None:
            p.terminate()
    for p in procs:
        try:
            p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            p.kill()


def percentile(values: list[float], q: float) -> float:
    """Return the ``q``-th percentile (0..100) of ``values`` (nearest rank)."""
    s = sorted(values)
    k = max(0, min(len(s) - 1, round(q / 100 * (len(s) - 1))))
    return s[k]
