"""A participant's install: the wheel, with only the core dependencies, in a fresh virtual
environment (no editable install, no system site-packages). It lists the built-in challenges,
prepares a tiny challenge, builds a baseline and scores it; the extras' modules are absent, and
the commands that need one stop with exit status 1 naming the extra to install.

The wheel's dependencies come from a local wheel cache (``$DATAPERF_WHEEL_CACHE``, else
``.cache/wheels``, the one ``docker/build.sh`` fills) and the package index as configured on
this machine, pinned by ``constraints.txt``.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("pyproject.toml", "setup.py", "README.md", "LICENSE", "dataperf", "baselines", "leaderboard", "challenges")
"""What a wheel is built from (copied out, so the build leaves nothing in the checkout)."""
EXTRA_MODULES = ("fastapi", "uvicorn", "sqlalchemy", "alembic", "psycopg", "dask", "distributed", "docker", "numba")
"""Modules only the extras install."""
TINY = "tiny-install"
TINY_SPEC = f"""\
id: {TINY}
version: 1
kind: training-set
title: "Tiny install check: pick Fashion-MNIST training rows"
description: A small training-set challenge for the install test.
licence: MIT
data:
  source: fashion-mnist
  embedding: {{method: pca, dim: 8, fit_rows: 400, seed: 0}}
  splits:
    pool: {{source_split: train, size: 400}}
    test: {{source_split: test, size: 200}}
    test-hidden: {{source_split: test, size: 200}}
  seed: 3
classes: [t-shirt, trouser, pullover, dress, coat, sandal, shirt, sneaker, bag, ankle-boot]
tasks:
  - {{name: shirt, positive: 6, examples: 2}}
model:
  name: logreg
  params: {{C: 1.0, max_iter: 100, subsample: 0.9}}
metric: {{name: f1, direction: max}}
seeds: [0, 1]
budget: 60
resources: {{cpus: 1, memory: 2g, timeout: 120, pids: 256, gpu: false}}
"""


def _clean_env(**extra: str) -> dict[str, str]:
    """Return this process's environment without anything that would put the source tree or
    another environment on the path, or point dataperf at another home or spec folder."""
    drop = (
        "PYTHONPATH",
        "PYTHONHOME",
        "VIRTUAL_ENV",
        "DATAPERF_HOME",
        "DATAPERF_CHALLENGES",
        "DATAPERF_BUILTIN_CHALLENGES",
    )
    return {k: v for k, v in os.environ.items() if k not in drop} | extra


def _run(cmd: list[str | Path], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run ``cmd`` in ``cwd`` with exactly ``env``; return the finished process."""
    timeout = 600
    return subprocess.run(
        [str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def _ok(done: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert done.returncode == 0, f"{' '.join(done.args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done


@dataclass(frozen=True)
class Install:
    """A fresh virtual environment holding the dataperf wheel and its core dependencies."""

    venv: Path
    work: Path

    def dataperf(self, *args: str | Path, **env: str) -> subprocess.CompletedProcess[str]:
        """Run the installed ``dataperf`` from a folder outside the checkout."""
        return _run([self.venv / "bin" / "dataperf", *args], self.work, _clean_env(**env))


@pytest.fixture(scope="module")
def install(tmp_path_factory: pytest.TempPathFactory) -> Install:
    """Build the wheel from a copy of the sources and install it, core dependencies only."""
    root = tmp_path_factory.mktemp("install")
    src = root / "src"
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            src.mkdir(exist_ok=True)
            shutil.copy2(path, src / name)
    env = _clean_env()
    _ok(_run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", root / "dist", src], root, env))
    (wheel,) = (root / "dist").glob("dataperf-*.whl")
    venv = root / "venv"
    _ok(_run([sys.executable, "-m", "venv", venv], root, env))
    cache = Path(os.environ.get("DATAPERF_WHEEL_CACHE") or ROOT / ".cache" / "wheels")
    cache.mkdir(parents=True, exist_ok=True)
    pip = [venv / "bin" / "python", "-m", "pip", "install", "-q", "--find-links", cache]
    _ok(_run([*pip, "-c", ROOT / "constraints.txt", wheel], root, env))
    work = root / "work"
    work.mkdir()
    return Install(venv, work)


@pytest.fixture(scope="module")
def tiny(install: Install) -> dict[str, str]:
    """Write the tiny spec, prepare it with the installed package, and return the environment
    that points ``dataperf`` at it."""
    specs = install.work / "specs"
    specs.mkdir()
    (specs / f"{TINY}.yaml").write_text(TINY_SPEC)
    env = {"DATAPERF_CHALLENGES": str(specs), "DATAPERF_HOME": str(install.work / "home")}
    _ok(install.dataperf("prepare", TINY, **env))
    return env


def test_wheel_ships_the_builtin_challenges(install: Install) -> None:
    shipped = sorted(p.stem for p in (ROOT / "challenges").glob("*.yaml"))
    assert shipped
    listed = _ok(install.dataperf("challenges", DATAPERF_HOME=str(install.work / "home"))).stdout
    for name in shipped:
        assert name in listed
    assert "does not exist" not in listed


def test_core_install_prepares_builds_and_scores(install: Install, tiny: dict[str, str]) -> None:
    sub = install.work / "random.csv"
    _ok(install.dataperf("baseline", TINY, "random", "-o", sub, **tiny))
    result = json.loads(_ok(install.dataperf("evaluate", TINY, sub, "--json", **tiny)).stdout)
    assert result["challenge"] == TINY
    assert result["provenance"]["runner"] == "local"
    assert math.isfinite(result["mean"]) and 0.0 <= result["mean"] <= 1.0
    assert set(result["scores"]) == {"shirt"}


def test_extras_modules_are_absent(install: Install) -> None:
    code = (
        "import importlib.util, json, sys; "
        "print(json.dumps([m for m in sys.argv[1:] if importlib.util.find_spec(m) is not None]))"
    )
    done = _ok(_run([install.venv / "bin" / "python", "-c", code, *EXTRA_MODULES], install.work, _clean_env()))
    assert json.loads(done.stdout) == []


@pytest.mark.parametrize(
    "args,extra",
    [
        (["serve", "--port", "0"], "server"),
        (["evaluate", TINY, "SUB", "--hidden", "--runner", "docker"], "docker"),
        (["evaluate", TINY, "SUB", "--hidden", "--runner", "dask"], "dask"),
    ],
    ids=["serve", "docker-runner", "dask-runner"],
)
def test_commands_of_a_missing_extra_name_it(
    install: Install, tiny: dict[str, str], args: list[str], extra: str
) -> None:
    sub = install.work / "for-runners.csv"
    if not sub.exists():
        _ok(install.dataperf("baseline", TINY, "random", "-o", sub, **tiny))
    done = install.dataperf(*[str(sub) if a == "SUB" else a for a in args], **tiny)
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"needs the {extra} extra: pip install 'dataperf[{extra}]'" in done.stderr
    assert "Traceback" not in done.stderr
