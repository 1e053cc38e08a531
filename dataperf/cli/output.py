"""Plain-text tables and progress lines for the CLI."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Return ``rows`` as an aligned text table under ``headers``."""
    cells = [[str(h) for h in headers]] + [[_fmt(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def print_json(doc: object) -> None:
    """Print ``doc`` as every ``--json`` output is printed: indented by two spaces, one document."""
    print(json.dumps(doc, indent=2, default=str))


def print_board(board: dict[str, object], fmt: str, title: str) -> None:
    """Print a leaderboard (from the database or a server) as ``json``, ``csv`` or a ``table``
    under ``title``; its columns are its kind's layout."""
    import csv

    layout = board["layout"]
    cols = list(layout["table"]) if isinstance(layout, dict) else []
    rows = [[r.get(c) for c in cols] for r in board["rows"]]  # type: ignore[attr-defined]
    if fmt == "json":
        print_json(board)
    elif fmt == "csv":
        w = csv.writer(sys.stdout, lineterminator="\n")
        w.writerow(cols)
        w.writerows(rows)
    else:
        print(title)
        if board.get("note"):
            print(board["note"])
        print(table(cols, rows) if rows else "(no scored submissions)")


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return "" if value is None else str(value)


class Progress:
    """Prints timestamped progress lines to stderr (quiet when ``enabled`` is False)."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.start = time.perf_counter()

    def __call__(self, message: str) -> None:
        """Print ``message`` with the seconds elapsed since start."""
        if self.enabled:
            print(f"[{time.perf_counter() - self.start:7.1f}s] {message}", file=sys.stderr, flush=True)


def write_error(output: Path, error: Exception) -> None:
    """Write ``error`` as ``error.json`` beside ``output`` (what a sandboxed run hands back on
    a refusal): its words and type, every violation, or the two sha256 of a changed file."""
    from dataperf.errors import ChangedFileError, SubmissionError

    doc: dict[str, object] = {"error": str(error), "type": type(error).__name__}
    if isinstance(error, SubmissionError):
        doc["violations"] = [v.to_dict() for v in error.violations]
    if isinstance(error, ChangedFileError):
        doc["expected_sha256"], doc["actual_sha256"] = error.expected, error.actual
    (output.parent / "error.json").write_text(json.dumps(doc, indent=2))
