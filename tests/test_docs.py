"""The docs run: every shell block marked ``<!-- runnable -->`` in the README and docs/ runs, in
order, as one script in a fresh data home, and must exit 0.

A reader copies these blocks as they are, so they run as they are: from a folder holding the
project's ``.venv``, with the built-in challenges. The one change is the server's port (8000 in
the text, a free one here). Background commands (``serve ... &``, ``worker ... &``) are stopped
when the script ends.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MARK = "<!-- runnable -->"

pytestmark = [pytest.mark.slow, pytest.mark.docker]


def runnable_blocks(path: Path) -> list[str]:
    """Return the shell blocks of ``path`` marked runnable, in order."""
    found = re.findall(re.escape(MARK) + r"\s*\n```(?:sh|bash)\n(.*?)\n```", path.read_text(), flags=re.S)
    return [str(b) for b in found]


def _sources() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_marked_blocks_are_found() -> None:
    blocks = runnable_blocks(ROOT / "README.md")
    assert len(blocks) >= 3
    assert any("dataperf evaluate" in b for b in blocks) and any("dataperf serve" in b for b in blocks)
    assert runnable_blocks(Path(__file__)) == []  # this file's own mentions are not blocks


def test_runnable_docs_run(tmp_path: Path) -> None:
    venv = Path(sys.executable).parent.parent
    (tmp_path / ".venv").symlink_to(venv)
    port = str(_free_port())
    script = ["set -euo pipefail", "trap 'kill $(jobs -p) 2>/dev/null || true' EXIT"]
    for src in _sources():
        for block in runnable_blocks(src):
            script += [f"echo '>>> {src.name}'", block.replace("127.0.0.1:8000", f"127.0.0.1:{port}")]
    text = "\n".join(script).replace("--port 8000", f"--port {port}")
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATAPERF_DB", "DATAPERF_SERVER", "DATAPERF_CHALLENGES", "DATAPERF_BUILTIN_CHALLENGES")
    }
    env |= {"DATAPERF_HOME": str(tmp_path / "home"), "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        ["bash", "-c", text], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=2400, check=False
    )
    assert proc.returncode == 0, (
        f"exit {proc.returncode}\n--- stdout\n{proc.stdout[-6000:]}\n--- stderr\n{proc.stderr[-6000:]}"
    )
    assert "rank" in proc.stdout and "done" in proc.stdout
