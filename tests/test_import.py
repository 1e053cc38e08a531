"""Importing dataperf does nothing observable: no output, no files, no data read."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


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
    from dataperf.cli import COMMANDS, build_parser

    text = build_parser().format_help()
    for name in COMMANDS.names():
        assert name in text
