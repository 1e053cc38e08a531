"""Importing dataperf does nothing observable: no output, no files, no data read."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from dataperf.contract import ChallengeSpec
from dataperf.data.prepared import PreparedData


def test_import_is_silent_and_writes_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    code = (
        "import dataperf, dataperf.contract, dataperf.evaluator, dataperf.cli, dataperf.kinds, "
        "dataperf.runners, dataperf.data.prepare, baselines, leaderboard.storage.base, "
        "leaderboard.arithmetic.bank, leaderboard.arithmetic.kernels"
    )
    env = {**os.environ, "DATAPERF_HOME": str(home), "HOME": str(tmp_path / "user")}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "" and proc.stderr == ""
    assert not home.exists() and not (tmp_path / "user").exists()


def _commands() -> list[tuple[str, object]]:
    """Return (path, click command) for every command, those of groups included."""
    import click

    from dataperf.cli import cli

    out: list[tuple[str, object]] = []
    ctx = click.Context(cli)
    for name in cli.list_commands(ctx):
        cmd = cli.get_command(ctx, name)
        out.append((name, cmd))
        if isinstance(cmd, click.Group):
            out += [(f"{name} {sub}", cmd.commands[sub]) for sub in sorted(cmd.commands)]
    return out


def test_cli_help_lists_every_registered_command() -> None:
    import importlib
    import re

    from click.testing import CliRunner

    from dataperf.cli import COMMAND_MODULES, cli

    names = sorted(m.replace("_", "-") for m in COMMAND_MODULES)
    for module in COMMAND_MODULES:  # each module exposes its command, named as the module
        assert importlib.import_module(f"dataperf.cli.commands.{module}").command.name == module.replace("_", "-")
    out = CliRunner().invoke(cli, ["--help"]).output
    listed = re.findall(r"^  ([a-z][a-z-]*)\s", out.split("Commands:")[1], flags=re.M)
    assert listed == names  # each command on a line of its own in the overview


def test_cli_help_has_one_style_and_states_the_exit_status() -> None:
    import re

    import click
    from click.testing import CliRunner

    from dataperf.cli import cli
    from dataperf.cli.base import EXIT_STATUS

    assert "Exit status:" in CliRunner().invoke(cli, ["--help"]).output
    texts: list[tuple[str, str]] = []
    for path, cmd in _commands():
        assert isinstance(cmd, click.Command)
        done = CliRunner().invoke(cli, [*path.split(), "--help"])
        assert done.exit_code == 0, path
        assert " ".join(EXIT_STATUS.replace("\b", "").split()) in " ".join(done.output.split()), path
        assert re.search(r"Examples:\n +dataperf ", done.output), path  # real examples in every command's help
        texts.append((path, cmd.short_help or ""))
        ctx = click.Context(cmd)
        for p in cmd.get_params(ctx):
            if isinstance(p, click.Option) and p.help and not p.hidden:
                texts.append((f"{path} {'/'.join(p.opts)}", p.help))
    bad = [(where, h) for where, h in texts if not h or not h[0].isupper() or h.endswith(".")]
    assert not bad, bad  # sentence case, no trailing period


SERVER_SIDE = ("leaderboard", "fastapi", "starlette", "uvicorn", "jinja2", "sqlalchemy", "alembic", "psycopg")
SERVER_SIDE += ("psycopg2", "dask", "distributed", "numba", "llvmlite", "docker")
"""Top-level packages an evaluation never needs: the server, databases, Dask, numba, docker."""


def test_the_evaluation_path_imports_no_server_database_dask_or_numba(
    tiny_data: dict[str, tuple[ChallengeSpec, PreparedData]], tmp_path: Path
) -> None:
    from baselines import get_baseline
    from dataperf.submission import write_submission
    from dataperf.testing import world_env

    spec, data = tiny_data["vision-selection"]
    env = world_env(spec, data.folder, tmp_path)
    sub = write_submission(get_baseline(spec.kind, "random").build(spec, data, 0), tmp_path / "s.parquet", spec.id)
    code = (
        "import sys\n"
        "from dataperf.runners.local import LocalRunner\n"
        "import dataperf.evaluator, dataperf.kinds, dataperf.readers, dataperf.models\n"
        f"result = LocalRunner().evaluate({spec.id!r}, {str(sub)!r})\n"
        "print(result.mean)\n"
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 0, proc.stderr
    mean, loaded = proc.stdout.splitlines()
    assert float(mean) >= 0.0
    assert "sklearn" in loaded.split()  # the evaluation really ran its fixed model
    assert sorted(set(loaded.split()) & set(SERVER_SIDE)) == []
