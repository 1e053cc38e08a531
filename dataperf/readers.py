"""The one front door for reading a submission file (Parquet, CSV or JSON) into a raw frame.

Every limit is checked on what the parser really produces, not on what the file claims:

- CSV: the header is the first non-blank record (the same record the parser uses), its width
  is capped before the rows are read; rows are read in a stream and counted; a row of another
  width, a byte that is not UTF-8, or a compressed or binary file is refused by name.
- JSON: the document is parsed as a stream; rows are counted, their keys capped and their
  values stored column by column as they arrive (memory follows the values kept).
- Parquet: the footer's declared sizes are checked first, then every column chunk is decoded
  one at a time and its real size added up, so a footer that lies cannot make the reader
  allocate more than the limit.

Nothing is unpickled or evaluated. Every refusal is a :class:`SubmissionError` naming the file
(and the row and field where there is one).
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from itertools import repeat
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from dataperf.errors import SubmissionError, Violation


@dataclass(frozen=True)
class Limits:
    """How much a submission file may hold (the defaults are the server's)."""

    max_bytes: int = 256 * 1024 * 1024
    """Largest file, and largest decoded Parquet payload, in bytes."""
    max_rows: int = 2_000_000
    max_columns: int = 64
    """Most columns a file may have (every kind's schema has a handful)."""
    max_header: int = 64 * 1024
    """Bytes within which a CSV's header row (after any blank lines) must end."""
    max_row_bytes: int = 1024 * 1024
    """Longest CSV row, in bytes."""
    max_bad_rows: int = 100
    """Malformed CSV rows or JSON rows listed before the reader stops looking."""


LIMITS = Limits()
_MAGIC = {
    b"\x1f\x8b": "gzip-compressed",
    b"PK\x03\x04": "a ZIP archive",
    b"PAR1": "a Parquet file",
    b"BZh": "bzip2-compressed",
    b"\xfd7zXZ": "xz-compressed",
    b"\x28\xb5\x2f\xfd": "zstd-compressed",
}


def fail(path: Path, message: str, field: str | None = None, row: int | None = None) -> SubmissionError:
    """Return the refusal of ``path`` for one problem."""
    return SubmissionError([Violation(path.name, row, field, message)])


def _is_text(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_binary(t) or pa.types.is_large_binary(t)


# --------------------------------------------------------------------------------------- CSV


def _binary_kind(head: bytes) -> str | None:
    for magic, what in _MAGIC.items():
        if head.startswith(magic):
            return what
    if b"\x00" in head:
        return "binary (it holds NUL bytes)"
    return None


def _csv_header(path: Path, limits: Limits) -> tuple[list[str], int]:
    """Return the header record of the CSV at ``path`` and the byte offset where it ends."""
    with open(path, "rb") as fh:
        head = fh.read(limits.max_header + 1)
    what = _binary_kind(head[:4096])
    if what is not None:
        raise fail(path, f"is not a text CSV file: it is {what}; send the plain, uncompressed CSV")
    start = 3 if head.startswith(codecs.BOM_UTF8) else 0
    while start < len(head) and head[start] in b"\r\n":
        start += 1
    if start >= len(head):
        if len(head) > limits.max_header:
            raise fail(path, f"has no header row within its first {limits.max_header} bytes")
        raise fail(path, "is empty (expected a header row and at least one data row)")
    # Bytes that are not UTF-8 become surrogates here, so the header's own bytes can be judged
    # apart from the rows' (which the row parser judges, naming the column).
    text = head[start:].decode("utf-8", errors="surrogateescape")
    buf = io.StringIO(text, newline="")
    try:
        header = next(csv.reader(buf, strict=True))
    except csv.Error as e:
        raise fail(path, f"has a malformed header row ({e})") from None
    end = buf.tell()
    complete = end < len(text) or len(head) <= limits.max_header
    if not complete:
        raise fail(path, f"has a header row longer than {limits.max_header} bytes")
    if len(header) > limits.max_columns:
        raise fail(path, f"has {len(header)} columns; at most {limits.max_columns} are accepted")
    for i, name in enumerate(header, 1):
        try:
            name.encode("utf-8")
        except UnicodeEncodeError:
            raise fail(path, f"is not UTF-8 text (the header's column {i} cannot be decoded)") from None
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise fail(path, "the header names this column twice", field=name)
        seen.add(name)
    return header, start + len(text[:end].encode("utf-8", errors="surrogateescape"))


def read_csv(path: Path, limits: Limits = LIMITS) -> tuple[pd.DataFrame, str | None]:
    """Return the CSV at ``path`` as a frame of strings and its ``challenge`` column's value."""
    import pyarrow.csv as pcsv

    header, offset = _csv_header(path, limits)
    bad: list[str] = []
    skipped = 0

    def on_bad_row(row: Any) -> str:
        nonlocal skipped
        skipped += 1
        if skipped > limits.max_bad_rows:
            return "error"  # enough listed: stop reading (a file of bad rows costs no more than this)
        text = row.text if len(row.text) <= 60 else row.text[:60] + "..."
        fields, want = row.actual_columns, row.expected_columns
        bad.append(f"is not valid CSV: a row has {fields} fields, the header has {want}: {text!r}")
        return "skip"

    batches = []
    rows = 0
    with open(path, "rb") as fh:
        fh.seek(offset)
        try:
            reader = pcsv.open_csv(
                fh,
                read_options=pcsv.ReadOptions(column_names=header, block_size=limits.max_row_bytes, use_threads=False),
                parse_options=pcsv.ParseOptions(
                    newlines_in_values=True, ignore_empty_lines=True, invalid_row_handler=on_bad_row
                ),
                convert_options=pcsv.ConvertOptions(
                    column_types=dict.fromkeys(header, pa.string()),
                    strings_can_be_null=False,
                    quoted_strings_can_be_null=False,
                ),
            )
            for batch in reader:
                rows += batch.num_rows
                if rows > limits.max_rows:
                    raise fail(path, f"has more than {limits.max_rows} rows")
                batches.append(batch)
        except pa.ArrowInvalid as e:
            if skipped > limits.max_bad_rows:
                bad.append(f"is not valid CSV: more malformed rows follow (reading stopped after {len(bad)})")
            elif "Empty CSV file" not in str(e):  # nothing after the header: no rows
                raise _csv_refusal(path, header, e, limits) from None
        except pa.ArrowException as e:
            raise _csv_refusal(path, header, e, limits) from None
    if bad:
        raise SubmissionError([Violation(path.name, None, None, b) for b in bad])
    table = pa.Table.from_batches(batches, schema=pa.schema([(n, pa.string()) for n in header]))
    frame = table.to_pandas()
    challenge = None
    if "challenge" in frame.columns:
        values = frame.pop("challenge").unique().tolist()
        challenge = values[0] if len(values) == 1 else ",".join(sorted(values))
    return frame, challenge


def _csv_refusal(path: Path, header: list[str], e: Exception, limits: Limits) -> SubmissionError:
    found = re.search(r"column #(\d+)", str(e))
    field = header[int(found.group(1))] if found and int(found.group(1)) < len(header) else None
    return fail(path, f"is not valid CSV ({_arrow_reason(e, limits)})", field=field)


def _arrow_reason(e: Exception, limits: Limits) -> str:
    text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    if "straddling" in text or "block size" in text:
        return f"a row is longer than {limits.max_row_bytes} bytes"
    if "UTF8" in text or "UTF-8" in text:
        return "it is not UTF-8 text: " + text
    return text[:300]


# -------------------------------------------------------------------------------------- JSON


class _TooBig(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


_SCAN_BYTES = 1 << 20
"""Bytes read at a time by the cheap counting pass over a JSON file."""
_INTERNED = 100_000
"""Distinct short strings shared between rows (task names, labels): one object each."""
_TOP_KEYS = frozenset({"challenge", "rows"})
_BATCH_ROWS = 20_000
"""Rows parsed before they are checked and added to the columns together."""


def _json_counts(path: Path, limits: Limits) -> bytes:
    """Refuse a JSON file with more brackets or commas than its rows may have (a few bytes of
    text per object, far more in memory), or with brackets opened deeper than
    :data:`_MAX_DEPTH`, reading it a chunk at a time; return its first non-blank byte (after
    a UTF-8 byte-order mark)."""
    import numpy as np

    opened = commas = depth = deepest = 0
    first = b""
    with open(path, "rb") as fh:
        while chunk := fh.read(_SCAN_BYTES):
            if not first:
                first = chunk.removeprefix(codecs.BOM_UTF8).lstrip(b" \t\r\n")[:1]
            raw = np.frombuffer(chunk, dtype=np.uint8)
            step = np.isin(raw, _OPENING).astype(np.int64) - np.isin(raw, _CLOSING)
            if step.any():
                levels = np.cumsum(step) + depth
                deepest, depth = max(deepest, int(levels.max())), int(levels[-1])
            opened += int(np.count_nonzero(step > 0))
            commas += chunk.count(b",")
    if opened > limits.max_rows + 2:
        raise fail(path, f"holds more than {limits.max_rows} rows")
    if commas > limits.max_rows * 8:
        raise fail(path, f"holds more than {limits.max_rows * 8} values")
    if deepest > _MAX_DEPTH:
        raise fail(path, "is nested too deeply (a JSON submission is a list of flat row objects)")
    return first


_OPENING = (ord("["), ord("{"))
_CLOSING = (ord("]"), ord("}"))
_MAX_DEPTH = 1000
"""Deepest bracket nesting counted in a JSON file's bytes before it is parsed (brackets inside
strings count too: a bound, not a parse). The streaming parser's own bookkeeping grows with
the square of the depth, so a deeper file is refused before it reaches the parser."""


def _check_nested(value: Any, limits: Limits) -> None:
    """Raise _TooBig when ``value`` (a row, or an array or object inside one) holds an object
    with more than ``max_columns`` keys (its depth is bounded by :func:`_json_counts`); turn
    every Decimal inside it into a float, in place, as Python's json module reads numbers."""
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, dict):
            if len(v) > limits.max_columns:
                raise _TooBig(f"has an object with {len(v)} keys; at most {limits.max_columns} are accepted")
            pairs: Any = v.items()
        elif isinstance(v, list):
            pairs = enumerate(v)
        else:
            continue
        for k, x in list(pairs):
            if type(x) is Decimal:
                v[k] = float(x)
            elif isinstance(x, dict | list):
                stack.append(x)


class _Columns:
    """Rows gathered column by column as they stream in, a batch at a time: one list per key
    (``None`` where a row lacks it), short strings shared, non-object rows noted by number."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.columns: dict[str, list[Any]] = {}
        self.rows = 0
        self.bad: list[int] = []
        self._strings: dict[str, str] = {}
        self._batch: list[Any] = []

    def add(self, row: Any) -> None:
        """Take the next row; raise _TooBig past a limit."""
        self._batch.append(row)
        if len(self._batch) >= _BATCH_ROWS:
            self.flush()

    def flush(self) -> None:
        """Check the rows taken since the last flush and add them to the columns."""
        batch, self._batch = self._batch, []
        limits, start = self.limits, self.rows
        self.rows += len(batch)
        if self.rows > limits.max_rows:
            raise _TooBig(f"holds more than {limits.max_rows} rows")
        if set(map(type, batch)) - {dict}:
            for i, row in enumerate(batch, start + 1):
                if not isinstance(row, dict):
                    _check_nested(row, limits)
                    if len(self.bad) < limits.max_bad_rows:
                        self.bad.append(i)
            batch = [row for row in batch if isinstance(row, dict)]
        widest = max(map(len, batch), default=0)
        if widest > limits.max_columns:
            raise _TooBig(f"has an object with {widest} keys; at most {limits.max_columns} are accepted")
        if self.bad:
            return  # the file is refused for its non-object rows: keep counting, not storing
        for key in sorted(set().union(*batch) - self.columns.keys()):
            if len(self.columns) >= limits.max_columns:
                most = limits.max_columns
                raise _TooBig(f"has more than {most} distinct keys; at most {most} are accepted")
            self.columns[key] = [None] * start
        for key, column in self.columns.items():
            values = list(map(dict.get, batch, repeat(key)))
            kinds = set(map(type, values))
            if dict in kinds or list in kinds:
                for v in values:
                    if isinstance(v, dict | list):
                        _check_nested(v, limits)
            elif str in kinds:
                values = self._shared(values)
            if Decimal in kinds:  # as Python's json module reads a number with a point or exponent
                values = [float(v) if type(v) is Decimal else v for v in values]
            column.extend(values)

    def _shared(self, values: list[Any]) -> list[Any]:
        """Return ``values`` (all hashable) with each short string replaced by one shared copy."""
        strings = self._strings
        room = _INTERNED - len(strings)
        if room > 0:
            fresh = [v for v in set(values) - strings.keys() if type(v) is str and len(v) <= 64]
            strings.update((v, v) for v in fresh[:room])
        return list(map(strings.get, values, values))

    def frame(self) -> pd.DataFrame:
        """Return the rows as a frame of Python values, its columns in sorted order."""
        return pd.DataFrame({k: pd.Series(self.columns.pop(k), dtype=object) for k in sorted(self.columns)})


def _json_refusal(path: Path, e: Exception) -> SubmissionError:
    text = str(e.args[0] if e.args else e)
    if isinstance(e.args[0] if e.args else None, bytes):
        text = e.args[0].decode("utf-8", "replace")
    first = text.strip().splitlines()[0] if text.strip() else type(e).__name__
    return fail(path, f"is not valid JSON ({first[:300]})")


def _open_json(path: Path) -> Any:
    """Return ``path`` opened for reading, past a UTF-8 byte-order mark if it starts with one."""
    fh = open(path, "rb")  # the caller closes it
    if fh.read(3) != codecs.BOM_UTF8:
        fh.seek(0)
    return fh


def _top_level(path: Path, limits: Limits) -> tuple[list[str], Any, str]:
    """Return the keys of the JSON object at ``path`` (at most ``max_columns`` + 1), its
    ``challenge`` value and the parser event that opens its ``rows`` value (``start_array``
    for a list), reading it as a stream of parser events."""
    import ijson

    keys: list[str] = []
    challenge: Any = None
    rows = ""
    with _open_json(path) as fh:
        for prefix, event, value in ijson.parse(fh):
            if prefix == "":
                if event == "map_key" and len(keys) <= limits.max_columns:
                    keys.append(value)
            elif prefix == "challenge" and challenge is None:
                challenge = value if event not in _OPENS else f"(a JSON {_OPENS[event]})"
            elif prefix == "rows" and not rows:
                rows = event
    return keys, challenge, rows


_OPENS = {"start_map": "object", "start_array": "array"}


def read_json(path: Path, limits: Limits = LIMITS) -> tuple[pd.DataFrame, str | None]:
    """Return the JSON submission at ``path`` (a list of row objects, or ``{"challenge": ...,
    "rows": [...]}``) as a frame and its challenge mark.

    The document is parsed as a stream (strict JSON, RFC 8259: ``NaN`` and ``Infinity`` are not
    JSON): rows are counted, checked and stored column by column as they arrive, so memory
    grows with the values kept, never with a parse tree of the whole document.
    """
    import ijson

    first = _json_counts(path, limits)
    challenge: Any = None
    prefix, listed = "item", first == b"["
    try:
        if first == b"{":
            keys, challenge, opens = _top_level(path, limits)
            unknown = sorted(set(keys) - _TOP_KEYS)
            if unknown or "rows" not in keys:
                shown = sorted(keys)[: limits.max_columns]
                expected = "a JSON submission is a list of rows or {'challenge': ..., 'rows': [...]}"
                raise fail(path, f"{expected}; got keys {shown}")
            prefix, listed = "rows.item", opens == "start_array"
        columns = _Columns(limits)
        with _open_json(path) as fh:
            for row in ijson.items(fh, prefix):  # integers stay exact; the rest are Decimal
                columns.add(row)
        columns.flush()
    except _TooBig as e:
        raise fail(path, e.message) from None
    except (ijson.JSONError, UnicodeDecodeError) as e:
        raise _json_refusal(path, e) from None
    if not listed:
        raise fail(path, "a JSON submission must hold a list of row objects")
    if columns.bad:
        raise SubmissionError([Violation(path.name, i, None, "each row must be a JSON object") for i in columns.bad])
    return columns.frame(), str(challenge) if challenge is not None else None


# ----------------------------------------------------------------------------------- Parquet


def decoded_bytes(table: pa.Table) -> int:
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


def read_parquet(path: Path, limits: Limits = LIMITS) -> tuple[pd.DataFrame, str | None]:
    """Return the Parquet file at ``path`` as a frame and its ``dataperf.challenge`` mark.

    A few KB of Parquet can claim millions of rows, thousands of columns or a dictionary of one
    long string repeated on every row, and its footer may understate every size: the declared
    sizes are checked first, then each column chunk is decoded alone and its real size (with
    dictionaries counted expanded) added up, stopping at the limit.
    """
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
        meta = pf.metadata
        schema = pf.schema_arrow
    except (pa.ArrowException, OSError) as e:
        raise fail(path, f"not a readable Parquet file ({str(e)[:300]})") from None
    if meta.num_rows > limits.max_rows:
        raise fail(path, f"has {meta.num_rows} rows; at most {limits.max_rows} are accepted")
    if meta.num_columns > limits.max_columns or len(schema) > limits.max_columns:
        raise fail(path, f"has {max(meta.num_columns, len(schema))} columns; at most {limits.max_columns} are accepted")
    declared = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    if declared > limits.max_bytes:
        raise fail(path, f"unpacks to {declared} bytes; at most {limits.max_bytes} are accepted")
    nested = [f for f in schema if pa.types.is_nested(f.type)]
    if nested:
        raise fail(path, f"has a nested column ({nested[0].type}); only flat columns are accepted", nested[0].name)
    text = [f.name for f in schema if _is_text(f.type)]
    total = 0
    rows = 0
    groups = []
    try:
        pf = pq.ParquetFile(path, read_dictionary=text)
        for g in range(meta.num_row_groups):
            cols = []
            for name in schema.names:
                part = pf.read_row_group(g, columns=[name])
                total += decoded_bytes(part)
                if total > limits.max_bytes:
                    most = limits.max_bytes
                    raise fail(path, f"unpacks to more than {most} bytes; at most {most} are accepted")
                cols.append(part.column(0))
            n = len(cols[0]) if cols else 0
            rows += n
            if rows > limits.max_rows:
                raise fail(path, f"has more than {limits.max_rows} rows; at most {limits.max_rows} are accepted")
            groups.append(pa.table(cols, names=schema.names) if cols else None)
        parts = [t for t in groups if t is not None]
        table = pa.concat_tables(parts) if parts else schema.empty_table()
        for i, field in enumerate(table.schema):
            if pa.types.is_dictionary(field.type):
                table = table.set_column(i, field.name, table.column(i).cast(field.type.value_type))
    except (pa.ArrowException, OSError) as e:
        raise fail(path, f"not a readable Parquet file ({str(e)[:300]})") from None
    kv = schema.metadata or {}
    challenge = kv.get(b"dataperf.challenge")
    return table.to_pandas(types_mapper=None), challenge.decode("utf-8", "replace") if challenge else None


READERS: dict[str, Callable[[Path, Limits], tuple[pd.DataFrame, str | None]]] = {
    ".parquet": read_parquet,
    ".csv": read_csv,
    ".json": read_json,
}
FORMATS = tuple(READERS)


def read_frame(path: Path, limits: Limits = LIMITS) -> tuple[pd.DataFrame, str | None]:
    """Return the raw frame of the submission at ``path`` and its challenge mark (None when the
    file carries none), every limit of ``limits`` checked. Raises SubmissionError."""
    if not path.is_file():
        raise fail(path, "does not exist or is not a file")
    suffix = path.suffix.lower()
    if suffix not in READERS:
        raise fail(path, f"unknown format '{suffix or '(none)'}'; use one of {', '.join(FORMATS)}")
    size = path.stat().st_size
    if size == 0:
        raise fail(path, "is empty")
    if size > limits.max_bytes:
        raise fail(path, f"is {size} bytes; at most {limits.max_bytes} are accepted")
    return READERS[suffix](path, limits)
