"""The extras: the table of their modules agrees with pyproject.toml, the core dependencies hold
none of them, and a command whose extra is missing names it and exits 1.

(The wheel installed with the core dependencies only is checked in ``test_install.py``.)
"""

from __future__ import annotations

import importlib.metadata as md
import os
import subprocess
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

from dataperf.errors import MissingExtraError
from dataperf.extras import MODULES, extra_for

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _name(dist: str) -> str:
    return dist.lower().replace("_", "-").replace(".", "-")


def _names(requirements: list[str]) -> set[str]:
    return {_name(Requirement(r).name) for r in requirements}


def _with_their_requirements(dists: set[str]) -> set[str]:
    """Return ``dists`` and what each of them requires directly (as installed here)."""
    out = set(dists)
    for dist in dists:
        for r in md.requires(dist) or []:
            req = Requirement(r)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                out.add(_name(req.name))
    return out


def test_table_names_exactly_the_extras_of_pyproject() -> None:
    extras = PROJECT["optional-dependencies"]
    assert set(MODULES) == set(extras) - {"all", "dev"}
    assert extras["all"] == [f"dataperf[{','.join(sorted(MODULES, key=list(extras).index))}]"]


def test_every_module_comes_from_its_extra_and_every_requirement_has_a_module() -> None:
    owners = md.packages_distributions()
    for extra, modules in MODULES.items():
        named = _names(PROJECT["optional-dependencies"][extra])
        allowed = _with_their_requirements(named)
        provided = set()
        for module in modules:
            dists = {_name(d) for d in owners.get(module, [])}
            assert dists, f"module {module} of the {extra} extra is not installed here"
            assert dists & allowed, f"module {module} comes from {dists}, not from the {extra} extra {sorted(named)}"
            provided |= dists
        assert named <= provided, f"the {extra} extra installs {sorted(named - provided)} with no module in the table"


def test_core_dependencies_hold_no_extra() -> None:
    core = _names(PROJECT["dependencies"])
    for extra in MODULES:
        assert not core & _names(PROJECT["optional-dependencies"][extra]), extra
    for module in ("numpy", "pandas", "sklearn", "httpx", "dataperf", "yaml"):
        assert extra_for(module) is None


def test_extra_for_reads_the_top_level_module() -> None:
    assert extra_for("sqlalchemy.dialects.postgresql") == "server"
    assert extra_for("numba") == "server"
    assert extra_for("distributed.client") == "dask"
    assert extra_for("docker.errors") == "docker"
    assert extra_for(None) is None
    err = MissingExtraError("dataperf serve", "server")
    assert str(err) == "dataperf serve needs the server extra: pip install 'dataperf[server]'"
    assert err.exit_code == 1


def _cli_without(module: str, *args: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run the CLI in a fresh interpreter in which ``module`` cannot be imported."""
    code = (
        "import sys; "
        f"sys.modules[{module!r}] = None; "  # `import module` now raises ModuleNotFoundError
        "from dataperf.cli import main; "
        "raise SystemExit(main(sys.argv[1:]))"
    )
    env = {**os.environ, "DATAPERF_HOME": str(tmp_path / "home")}
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, cwd=tmp_path, check=False
    )


def test_command_without_its_extra_names_it_and_exits_1(tmp_path: Path) -> None:
    for module, args, message in [
        ("fastapi", ["serve", "--port", "0"], "dataperf serve needs the server extra: pip install 'dataperf[server]'"),
        ("sqlalchemy", ["db", "upgrade"], "dataperf db needs the server extra: pip install 'dataperf[server]'"),
    ]:
        done = _cli_without(module, *args, tmp_path=tmp_path)
        assert done.returncode == 1, done.stdout + done.stderr
        assert message in done.stderr
        assert "Traceback" not in done.stderr
