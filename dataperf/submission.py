"""Read a submission file (Parquet, CSV or JSON) into the kind's canonical table.

Every problem found while reading is collected, with its row number (1-based, counting data
rows only) and column, and raised together as one SubmissionError. Nothing is unpickled or
evaluated; sizes are checked before anything is read whole.
"""

from __future__ import annotations

import csv
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

MAX_BYTES = 256 * 1024 * 1024
"""Largest submission file accepted, and largest uncompressed Parquet payload."""
MAX_ROWS = 2_000_000
MAX_COLUMNS = 64
"""Most columns a submission file may have (every kind's schema has a handful)."""
FORMATS = (".parquet", ".csv", ".json")
_INT_RE = r"[+-]?[0-9]+"


def _fail(path: Path, message: str, field: str | None = None) -> SubmissionError:
    return SubmissionError([Violation(path.name, None, field, message)])


def _is_text(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_binary(t) or pa.types.is_large_binary(t)


def _decoded_bytes(table: pa.Table) -> int:
    """Return the bytes ``table``'s columns take once every dictionary-encoded column is expanded
    (computed from the dictionary's value lengths and the indices, expanding nothing)."""
    import pyarrow.compute as pc

    total = 0
    for column in table.columns:
        for chunk in column.chunks:
            if not isinstance(chunk, pa.DictionaryArray):
                total += chunk.nbytes
            elif _is_text(chunk.dictionary.type):
                lengths = pc.take(pc.binary_length(chunk.dictionary), chunk.indices)
                total += int(pc.sum(lengths).as_py() or 0) + 8 * len(chunk)
            else:
                try:
                    width = max(chunk.dictionary.type.bit_width // 8, 1)
                except ValueError:  # not fixed-width: bound it by the largest value
                    width = chunk.dictionary.nbytes
                total += width * len(chunk)
    return total


def _read_parquet(path: Path) -> tuple[pd.DataFrame, str | None]:
    # A few KB of Parquet can claim millions of rows, thousands of columns or a dictionary of one
    # long string repeated on every row (its metadata sizes count the encoded bytes, not the
    # expanded ones): every size is checked before anything is expanded.
    try:
        meta = pq.read_metadata(path)
        schema = meta.schema.to_arrow_schema()
    except (pa.ArrowException, OSError) as e:
        raise _fail(path, f"not a readable Parquet file ({e})") from None
    if meta.num_rows > MAX_ROWS:
        raise _fail(path, f"has {meta.num_rows} rows; at most {MAX_ROWS} are accepted")
    if meta.num_columns > MAX_COLUMNS:
        raise _fail(path, f"has {meta.num_columns} columns; at most {MAX_COLUMNS} are accepted")
    raw = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    if raw > MAX_BYTES:
        raise _fail(path, f"unpacks to {raw} bytes; at most {MAX_BYTES} are accepted")
    nested = [f for f in schema if pa.types.is_nested(f.type)]
    if nested:
        raise _fail(path, f"has a nested column ({nested[0].type}); only flat columns are accepted", nested[0].name)
    text = [f.name for f in schema if _is_text(f.type)]
    try:
        # Text columns are read as dictionaries: a dictionary-encoded column stays encoded.
        table = pq.read_table(path, read_dictionary=text)
        decoded = _decoded_bytes(table)
        if decoded > MAX_BYTES:
            raise _fail(path, f"unpacks to {decoded} bytes; at most {MAX_BYTES} are accepted")
        for i, field in enumerate(table.schema):
            if pa.types.is_dictionary(field.type):
                table = table.set_column(i, field.name, table.column(i).cast(field.type.value_type))
    except (pa.ArrowException, OSError) as e:
        raise _fail(path, f"not a readable Parquet file ({e})") from None
    kv = table.schema.metadata or {}
    challenge = kv.get(b"dataperf.challenge")
    return table.to_pandas(types_mapper=None), challenge.decode() if challenge else None


MAX_HEADER = 64 * 1024
"""Longest CSV header line accepted, in bytes."""


def _read_csv(path: Path) -> tuple[pd.DataFrame, str | None]:
    # The header is checked first: a few MB of commas would otherwise become millions of columns.
    with open(path, "rb") as fh:
        head = fh.readline(MAX_HEADER + 1)
    if len(head) > MAX_HEADER:
        raise _fail(path, f"has a header line longer than {MAX_HEADER} bytes")
    width = len(next(csv.reader([head.decode("utf-8", errors="replace")]), []))
    if width > MAX_COLUMNS:
        raise _fail(path, f"has {width} columns; at most {MAX_COLUMNS} are accepted")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, nrows=MAX_ROWS + 1)
    except pd.errors.EmptyDataError:
        raise _fail(path, "is empty (expected a header row and at least one data row)") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as e:
        raise _fail(path, f"is not valid CSV ({str(e).strip()})") from None
    if len(frame) > MAX_ROWS:
        raise _fail(path, f"has more than {MAX_ROWS} rows")
    challenge = None
    if "challenge" in frame.columns:
        values = frame.pop("challenge").unique().tolist()
        challenge = values[0] if len(values) == 1 else ",".join(sorted(values))
    return frame, challenge


def _read_json(path: Path) -> tuple[pd.DataFrame, str | None]:
    raw = path.read_bytes()
    # Every object costs far more in memory than its two bytes of text: bound the number of
    # objects, arrays and values before parsing (a row has at most MAX_COLUMNS values).
    if raw.count(b"{") + raw.count(b"[") > MAX_ROWS + 2:
        raise _fail(path, f"holds more than {MAX_ROWS} rows")
    if raw.count(b",") > MAX_ROWS * 8:
        raise _fail(path, f"holds more than {MAX_ROWS * 8} values")
    try:
        doc = json.loads(raw)
    except RecursionError:
        raise _fail(path, "is nested too deeply (a JSON submission is a list of flat row objects)") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise _fail(path, f"is not valid JSON ({e})") from None
    del raw
    challenge = None
    if isinstance(doc, dict):
        unknown = sorted(set(doc) - {"challenge", "rows"})
        if unknown or "rows" not in doc:
            raise _fail(
                path,
                f"a JSON submission is a list of rows or {{'challenge': ..., 'rows': [...]}}; got keys {sorted(doc)}",
            )
        challenge = doc.get("challenge")
        doc = doc["rows"]
    if not isinstance(doc, list):
        raise _fail(path, "a JSON submission must hold a list of row objects")
    bad = [i for i, r in enumerate(doc, 1) if not isinstance(r, dict)][:10000]
    if bad:
        raise SubmissionError([Violation(path.name, i, None, "each row must be a JSON object") for i in bad])
    keys = sorted({k for r in doc for k in r})
    if len(keys) > MAX_COLUMNS:
        raise _fail(path, f"has {len(keys)} distinct keys; at most {MAX_COLUMNS} are accepted")
    frame = pd.DataFrame({k: pd.Series([r.get(k, None) for r in doc], dtype=object) for k in keys})
    return frame, str(challenge) if challenge is not None else None


READERS = {".parquet": _read_parquet, ".csv": _read_csv, ".json": _read_json}


def _show(value: object) -> str:
    """Return a cell value as the user wrote it (NumPy scalars as plain Python values)."""
    item = getattr(value, "item", None)
    return repr(item() if callable(item) else value)


def _convert(name: str, col: Column, values: pd.Series, path: Path, out: list[Violation]) -> np.ndarray:
    """Return the column converted to its dtype; append a violation for every bad cell."""
    n = len(values)
    fname = path.name
    if col.dtype == "str":
        ok = values.map(lambda v: isinstance(v, str) and v != "").to_numpy(dtype=bool)
        for i in np.flatnonzero(~ok)[:10000]:
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
        for i in np.flatnonzero(~good)[:10000]:
            out.append(Violation(fname, int(i) + 1, name, f"must be an integer, got {_show(values.iloc[i])}"))
        return np.where(good, num, 0).astype(np.int64)
    for i in np.flatnonzero(~finite)[:10000]:
        out.append(Violation(fname, int(i) + 1, name, f"must be a finite number, got {_show(values.iloc[i])}"))
    return np.where(finite, num, 0.0)


def read_submission(path: Path, columns: tuple[Column, ...], challenge: str) -> ParsedSubmission:
    """Return the submission at ``path`` as the canonical table of ``columns``.

    Raises SubmissionError listing every problem: unknown format, unreadable or empty file,
    a file marked for another challenge, missing or unknown columns, bad values (wrong type,
    NaN, inf) with their row numbers.
    """
    sub, problems = read_leniently(path, columns, challenge)
    if problems:
        raise SubmissionError(problems)
    return sub


def read_leniently(path: Path, columns: tuple[Column, ...], challenge: str) -> tuple[ParsedSubmission, list[Violation]]:
    """Return the submission at ``path`` and the problems that leave its other rows checkable.

    A file that cannot be read as a table of ``columns`` (unknown format, unreadable, empty,
    no rows, missing or unknown columns) raises SubmissionError. A file marked for another
    challenge, and cells of the wrong type, NaN or inf, are returned as problems instead; the
    table then holds the rows whose every cell is good (``rows`` keeps their row numbers), so
    a kind can check those too and every violation is reported at once.
    """
    if not path.is_file():
        raise _fail(path, "does not exist or is not a file")
    suffix = path.suffix.lower()
    if suffix not in READERS:
        raise _fail(path, f"unknown format '{suffix or '(none)'}'; use one of {', '.join(FORMATS)}")
    size = path.stat().st_size
    if size == 0:
        raise _fail(path, "is empty")
    if size > MAX_BYTES:
        raise _fail(path, f"is {size} bytes; at most {MAX_BYTES} are accepted")
    frame, marked = READERS[suffix](path)
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
    data = {c.name: _convert(c.name, c, frame[c.name], path, cells) for c in columns}
    table = pd.DataFrame(data)
    rows = np.arange(1, len(table) + 1)
    if cells:
        keep = ~np.isin(rows, [v.row for v in cells if v.row is not None])
        table, rows = table[keep].reset_index(drop=True), rows[keep]
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
        raise _fail(path, f"unknown format '{suffix or '(none)'}'; use one of {', '.join(FORMATS)}")
    return path
