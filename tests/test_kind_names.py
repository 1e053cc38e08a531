"""Nothing outside a kind's own module compares kind names: the server, the CLI, quickstart and
the templates ask the kind (its role, board layout, outcome, options) instead."""

from __future__ import annotations

import re
from pathlib import Path

from dataperf.kinds import KINDS

ROOT = Path(__file__).resolve().parents[1]
SUFFIXES = {".py", ".html", ".js"}


def _files(folder: str) -> list[Path]:
    return [p for p in sorted((ROOT / folder).rglob("*")) if p.suffix in SUFFIXES and "__pycache__" not in p.parts]


def _quoted() -> re.Pattern[str]:
    """Return a pattern matching any registered kind name as a string literal."""
    return re.compile("|".join(rf"""["']{re.escape(n)}["']""" for n in KINDS.names()))


def test_no_kind_name_outside_the_kinds() -> None:
    names = KINDS.names()
    assert {"training-set", "test-set", "cleaning"} <= set(names)
    quoted = _quoted()
    compared = re.compile(
        "|".join(rf"""(==|!=)\s*["']{re.escape(n)}["']|["']{re.escape(n)}["']\s*(==|!=)""" for n in names)
    )
    found = []
    for path in _files("dataperf") + _files("leaderboard"):
        if path.parent == ROOT / "dataperf" / "kinds":
            continue  # a kind's own module
        for i, line in enumerate(path.read_text().splitlines(), 1):
            if quoted.search(line):
                found.append(f"{path.relative_to(ROOT)}:{i}: {line.strip()}")
    for path in _files("baselines"):  # baselines register for a kind by name; they never branch on one
        for i, line in enumerate(path.read_text().splitlines(), 1):
            if compared.search(line):
                found.append(f"{path.relative_to(ROOT)}:{i}: {line.strip()}")
    assert not found, "kind names outside the kinds:\n" + "\n".join(found)


def test_the_check_catches_a_comparison() -> None:
    assert _quoted().search('if spec.kind == "test-set":')
    assert _quoted().search("{% if board.kind == 'cleaning' %}")
    assert not _quoted().search("if kind_of(spec).role is Role.TESTS:")
