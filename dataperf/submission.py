"""Read a submission file (Parquet, CSV or JSON) into the kind's canonical table.

Every problem found while reading is collected, with its row number (1-based, counting data
rows only) and column, and raised together as one SubmissionError. Files are read through the
one front door of :mod:`dataperf.readers`, which checks every size limit on what the parser
really produces. Nothing is unpickled or evaluated.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from dataperf.contract import Column, ParsedSubmission
from dataperf.errors import SubmissionError, Violation
from dataperf.hashing import sha256_file
from dataperf.readers import FORMATS, LIMITS, Limits, fail, read_frame

MAX_BYTES = LIMITS.max_bytes
"""Largest submission file accepted, and largest decoded Parquet payload."""
MAX_ROWS = LIMITS.max_rows
MAX_COLUMNS = LIMITS.max_columns
"""Most columns a submission file may have (every kind's schema has a handful)."""
MAX_HEADER = LIMITS.max_header
"""Bytes within which a CSV header row must end."""
_INT_RE = r"[+-]?[0-9]+"
_BAD_CELLS = 10000
"""Bad cells listed per column before the rest are only counted."""


def _show(value: object) -> str:
    """Return a cell value as the user wrote it (NumPy scalars as plain Python values)."""
    item = getattr(value, "item", None)
    return repr(item() if callable(item) else value)


def _convert(
    name: str, col: Column, values: pd.Series, path: Path, out: list[Violation], bad: np.ndarray
) -> np.ndarray:
    """Return the column converted to its dtype; append a violation for every bad cell (the
    first ``_BAD_CELLS`` of the column) and mark every row with a bad cell in ``bad``."""
    n = len(values)
    fname = path.name
    if col.dtype == "str":
        ok = values.map(lambda v: isinstance(v, str) and v != "").to_numpy(dtype=bool)
        bad |= ~ok
        for i in np.flatnonzero(~ok)[:_BAD_CELLS]:
            out.append(Violation(fname, int(i) + 1, name, f"must be a non-empty string, got {_show(values.iloc[i])}"))
        return values.astype(str).to_numpy(dtype=object)
    if pd.api.types.is_bool_dtype(values.dtype):
        out.append(
            Violation(fname, None, name, f"must hold {'integers' if col.dtype == 'int' else 'numbers'}, got booleans")
        )
        return np.zeros(n, dtype=np.int64 if col.dtype == "int" else np.float64)
    if pd.api.types.is_integer_dtype(values.dtype):
        arr = values.to_numpy()
        return arr.astype(np.int64) if col.dtype == "int" else arr.astype(np.float64)
    if pd.api.types.is_float_dtype(values.dtype):
        num = values.to_numpy(dtype=np.float64)
        text = None
    else:
        obj = values.to_numpy(dtype=object)
        is_bool = np.array([isinstance(v, bool) for v in obj], dtype=bool)
        text = np.array([v if isinstance(v, str) else "" for v in obj], dtype=object)
        is_num = np.array([isinstance(v, int | float) and not isinstance(v, bool) for v in obj], dtype=bool)
        num = pd.to_numeric(pd.Series(np.where(is_num, obj, text)), errors="coerce").to_numpy(
            dtype=np.float64, copy=True
        )
        num[is_bool] = np.nan
    finite = np.isfinite(num)
    if col.dtype == "int":
        good = (
            finite
            & (np.floor(np.where(finite, num, 0)) == np.where(finite, num, 0))
            & (np.abs(np.where(finite, num, 0)) < 2**53)
        )
        if text is not None:
            is_text = np.array([isinstance(v, str) for v in values.to_numpy(dtype=object)], dtype=bool)
            matches = np.array([bool(re.fullmatch(_INT_RE, t.strip())) for t in text], dtype=bool)
            good &= ~is_text | matches
        bad |= ~good
        for i in np.flatnonzero(~good)[:_BAD_CELLS]:
            out.append(Violation(fname, int(i) + 1, name, f"must be an integer, got {_show(values.iloc[i])}"))
        return np.where(good, num, 0).astype(np.int64)
    bad |= ~finite
    for i in np.flatnonzero(~finite)[:_BAD_CELLS]:
        out.append(Violation(fname, int(i) + 1, name, f"must be a finite number, got {_show(values.iloc[i])}"))
    return np.where(finite, num, 0.0)


def read_submission(
    path: Path, columns: tuple[Column, ...], challenge: str, limits: Limits = LIMITS
) -> ParsedSubmission:
    """Return the submission at ``path`` as the canonical table of ``columns``.

    Raises SubmissionError listing every problem: unknown format, unreadable or empty file,
    a file marked for another challenge, missing or unknown columns, bad values (wrong type,
    NaN, inf) with their row numbers.
    """
    sub, problems = read_leniently(path, columns, challenge, limits)
    if problems:
        raise SubmissionError(problems)
    return sub


def read_leniently(
    path: Path, columns: tuple[Column, ...], challenge: str, limits: Limits = LIMITS
) -> tuple[ParsedSubmission, list[Violation]]:
    """Return the submission at ``path`` and the problems that leave its other rows checkable.

    A file that cannot be read as a table of ``columns`` (unknown format, unreadable, empty,
    over the reading limits, no rows, missing or unknown columns) raises SubmissionError. A
    file marked for another challenge, and cells of the wrong type, NaN or inf, are returned as
    problems instead; the table then holds the rows whose every cell is good (``rows`` keeps
    their row numbers), so a kind can check those too and every violation is reported at once.
    """
    frame, marked = read_frame(path, limits)
    violations: list[Violation] = []
    if marked is not None and marked != challenge:
        violations.append(
            Violation(path.name, None, "challenge", f"this file is for challenge '{marked}', not '{challenge}'")
        )
    if len(frame) == 0:
        violations.append(Violation(path.name, None, None, "has no rows"))
    want = [c.name for c in columns]
    missing = [c for c in want if c not in frame.columns]
    extra = [str(c) for c in frame.columns if c not in want]
    for c in missing:
        violations.append(
            Violation(path.name, None, c, f"required column is missing (expected columns: {', '.join(want)})")
        )
    for c in extra:
        violations.append(Violation(path.name, None, c, f"unknown column (expected columns: {', '.join(want)})"))
    if len(frame) == 0 or missing or extra:
        raise SubmissionError(violations)
    cells: list[Violation] = []
    bad = np.zeros(len(frame), dtype=bool)  # rows with a bad cell, listed or past the listing cap
    data = {c.name: _convert(c.name, c, frame[c.name], path, cells, bad) for c in columns}
    del frame
    table = pd.DataFrame(data)
    rows = np.arange(1, len(table) + 1)
    if bad.any():
        table, rows = table[~bad].reset_index(drop=True), rows[~bad]
    sub = ParsedSubmission(path=path, sha256=sha256_file(path), table=table, rows=rows)
    return sub, violations + cells


def write_submission(table: pd.DataFrame, path: Path, challenge: str) -> Path:
    """Write ``table`` as a submission for ``challenge`` in the format named by ``path``'s suffix.

    The challenge id travels with the file (Parquet metadata, a CSV column, a JSON key) so
    that a file sent to the wrong challenge is recognised. Returns ``path``.
    """
    suffix = path.suffix.lower()
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".parquet":
        t = pa.Table.from_pandas(table, preserve_index=False)
        t = t.replace_schema_metadata({b"dataperf.challenge": challenge.encode()})
        pq.write_table(t, path)
    elif suffix == ".csv":
        table.assign(challenge=challenge).to_csv(path, index=False)
    elif suffix == ".json":
        rows = json.loads(table.to_json(orient="records"))
        path.write_text(json.dumps({"challenge": challenge, "rows": rows}) + "\n")
    else:
        raise fail(path, f"unknown format '{suffix or '(none)'}'; use one of {', '.join(FORMATS)}")
    return path
