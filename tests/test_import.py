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


def test_cli_help_lists_every_registered_command() -> None:
    import argparse
    import re

    from dataperf.cli import COMMANDS, build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert sorted(sub.choices) == COMMANDS.names()
    listed = re.findall(r"^    ([a-z][a-z-]*)\s", parser.format_help(), flags=re.M)
    assert listed == COMMANDS.names()  # each command on a line of its own in the overview


def test_cli_help_has_one_style_and_states_the_exit_status() -> None:
    import argparse

    from dataperf.cli import EXIT_STATUS, build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    texts = [(name, a.help) for name, a in ((c.dest, c) for c in sub._choices_actions)]
    for name, p in sub.choices.items():
        assert EXIT_STATUS in p.format_help(), name
        texts += [(f"{name} {'/'.join(a.option_strings) or a.dest}", a.help) for a in p._actions if a.help]
    bad = [(where, h) for where, h in texts if h and h != argparse.SUPPRESS and (h[0].isupper() or h.endswith("."))]
    assert not bad, bad


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
