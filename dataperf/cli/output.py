"""What the CLI prints: tables (rich), JSON documents, leaderboards and progress.

On a terminal, tables have a light frame and progress is a live bar on stderr; when stdout is
not a terminal (a pipe, a file, a test), tables are plain Markdown-style text without colour,
wide enough never to wrap, and progress is one timestamped line per step on stderr, so that
what a script reads is stable.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress as RichProgress
    from rich.progress import TaskID


def on_terminal() -> bool:
    """Return True when stdout is a terminal (live progress, framed tables)."""
    return sys.stdout.isatty()


def _console(stderr: bool = False) -> Console:
    from rich.console import Console

    if on_terminal():
        return Console(stderr=stderr, highlight=False)
    return Console(
        file=sys.stderr if stderr else sys.stdout,
        no_color=True,
        highlight=False,
        width=10_000,
        color_system=None,
        force_terminal=False,
        soft_wrap=False,
    )


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Return ``rows`` under ``headers`` as a table (framed on a terminal, plain otherwise);
    floats are shown with four decimals, None as an empty cell."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    t = Table(
        box=box.SIMPLE_HEAD if on_terminal() else box.MARKDOWN,
        show_edge=False,
        pad_edge=False,
        header_style="bold" if on_terminal() else "",
    )
    numeric = [
        bool(rows) and all(isinstance(r[i], int | float) or r[i] is None for r in rows) for i in range(len(headers))
    ]
    last = len(headers) - 1
    for i, (h, num) in enumerate(zip(headers, numeric, strict=True)):
        # on a narrow terminal the last column wraps; the others (ids, numbers) never do
        wraps = on_terminal() and i == last
        t.add_column(Text(str(h)), justify="right" if num else "left", no_wrap=not wraps)
    for r in rows:
        t.add_row(*[Text(_fmt(c)) for c in r])
    console = _console()
    with console.capture() as cap:
        console.print(t)
    return "\n".join(line.rstrip() for line in cap.get().rstrip("\n").splitlines())


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
    """Reports a command's progress: a live rich bar on a terminal, else timestamped lines on
    stderr; silent when ``enabled`` is False.

    Library code reports through a callback that takes one message (``progress=reporter``);
    the command that knows how many steps there are says so with :meth:`steps` and
    :meth:`advance`. Use it as a context manager so that the live bar is closed.
    """

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.start = time.perf_counter()
        self._bar: RichProgress | None = None
        self._task: TaskID | None = None

    def __enter__(self) -> Progress:
        if self.enabled and on_terminal() and sys.stderr.isatty():
            from rich.progress import BarColumn, MofNCompleteColumn, SpinnerColumn, TextColumn, TimeElapsedColumn
            from rich.progress import Progress as Bar

            self._bar = Bar(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=_console(stderr=True),
                transient=True,
            )
            self._bar.start()
            self._task = self._bar.add_task("starting", total=None)
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    def __call__(self, message: str) -> None:
        """Show ``message`` (the current step) with the seconds elapsed since start."""
        if not self.enabled:
            return
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, description=message)
            self._bar.console.print(f"[{time.perf_counter() - self.start:7.1f}s] {message}", markup=False)
        else:
            print(f"[{time.perf_counter() - self.start:7.1f}s] {message}", file=sys.stderr, flush=True)

    def steps(self, total: int) -> None:
        """Say that the work has ``total`` steps (the bar fills as :meth:`advance` is called)."""
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, total=total, completed=0)

    def advance(self) -> None:
        """Count one step as done."""
        if self._bar is not None and self._task is not None:
            self._bar.advance(self._task)


@contextmanager
def progress(enabled: bool = True) -> Iterator[Progress]:
    """Return a :class:`Progress` for the duration of a ``with`` block."""
    with Progress(enabled) as p:
        yield p


def write_error(output: Path, error: Exception) -> None:
    """Write ``error`` as ``error.json`` beside ``output`` (what a sandboxed run hands back on
    a refusal): its words and type, every violation, or the two sha256 of a changed file."""
    from dataperf.errors import ChangedFileError, SubmissionError

    doc: dict[str, Any] = {"error": str(error), "type": type(error).__name__}
    if isinstance(error, SubmissionError):
        doc["violations"] = [v.to_dict() for v in error.violations]
    if isinstance(error, ChangedFileError):
        doc["expected_sha256"], doc["actual_sha256"] = error.expected, error.actual
    (output.parent / "error.json").write_text(json.dumps(doc, indent=2))


def violation_table(error: Exception) -> str | None:
    """Return the violations of a refused submission as a table of where (file, row, field)
    and what (None for any other error), with a last line counting those not listed."""
    from dataperf.errors import SubmissionError

    if not isinstance(error, SubmissionError) or not error.violations:
        return None
    rows = []
    for v in error.violations:
        where = (
            v.file + ("" if v.row is None else f", row {v.row}") + ("" if v.field is None else f", field '{v.field}'")
        )
        rows.append([where, v.message])
    out = table(["where", "problem"], rows)
    if error.left_out:
        out += f"\n... and {error.left_out} more"
    return out
