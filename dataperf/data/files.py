"""Read an organizer's own tables (``data.source: files``) and check them, every violation at once.

Each split of ``data.files`` is one table, named relative to the spec file:

- a Parquet (``.parquet``) or CSV (``.csv``) file with an integer ``id`` (unique across every
  split), an integer ``label`` (the ground truth, a class index), an optional integer
  ``public_label`` (what participants see; without it they see no label, stored as -1), and the
  features: one ``embedding`` column of equal-length number lists, else every other numeric
  column, in file order;
- or a Croissant JSON-LD file (``.json``/``.jsonld``) describing such a table: its RecordSet
  named like the split (or its only one) maps each field (``id``, ``label``, ``public_label``,
  ``embedding`` or feature fields, in order) to a column of one file object, whose sha256 is
  checked against the record before the table is read.

Problems are :class:`~dataperf.errors.Violation` s naming the file, the 1-based data row and the
column; :func:`load_tables` raises them all at once as a :class:`~dataperf.errors.SpecError`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dataperf.contract import DEV_SPLIT_NAME, ChallengeSpec
from dataperf.errors import SpecError, Violation
from dataperf.hashing import sha256_file

KEYS = ("id", "label", "public_label")
"""The columns that are not features."""
MAX_SHOWN = 20
"""Most violations of one sort listed per file and column (the rest are counted)."""


@dataclass(frozen=True)
class Table:
    """One split's table, read and typed: rows sorted by id."""

    split: str
    file: str
    """The file the rows were read from (for messages)."""
    ids: np.ndarray
    x: np.ndarray
    """Features, float32, one row per id."""
    labels: np.ndarray
    """Ground truth (int64)."""
    public: np.ndarray
    """What participants see (int64; -1: no label)."""
    rows: np.ndarray
    """Each row's 1-based data row in the file."""


class _Sink:
    """Collects violations, at most :data:`MAX_SHOWN` per (file, column, sort)."""

    def __init__(self) -> None:
        self.items: list[Violation] = []
        self._counts: dict[tuple[str, str | None, str], int] = {}

    def add(self, file: str, row: int | None, column: str | None, message: str, sort: str = "") -> None:
        key = (file, column, sort or message)
        n = self._counts.get(key, 0) + 1
        self._counts[key] = n
        if n <= MAX_SHOWN:
            self.items.append(Violation(file, row, column, message))
        elif n == MAX_SHOWN + 1:
            self.items.append(Violation(file, None, column, f"more rows like the above ({sort or message})"))


def _read_arrow(path: Path, sink: _Sink) -> Any:
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    try:
        if path.suffix.lower() == ".csv":
            return pacsv.read_csv(path)
        return pq.read_table(path)
    except FileNotFoundError:
        sink.add(str(path), None, None, "file not found")
    except (OSError, pa.ArrowException) as e:
        sink.add(str(path), None, None, f"cannot read the table ({e})")
    return None


def _croissant_table(path: Path, split: str, sink: _Sink) -> tuple[Any, str, dict[str, str]] | None:
    """Return (table, its file, {field name: column}) described by a Croissant file."""
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        sink.add(str(path), None, None, "file not found")
        return None
    except (OSError, ValueError) as e:
        sink.add(str(path), None, None, f"not a readable Croissant JSON-LD file ({e})")
        return None
    sets = doc.get("recordSet") if isinstance(doc, dict) else None
    if not isinstance(sets, list) or not sets:
        sink.add(str(path), None, "recordSet", "a Croissant file needs at least one RecordSet")
        return None
    named = [r for r in sets if isinstance(r, dict) and split in (r.get("name"), r.get("@id"))]
    if not named and len(sets) > 1:
        sink.add(str(path), None, "recordSet", f"no RecordSet named '{split}' (and more than one to choose from)")
        return None
    record = named[0] if named else sets[0]
    mapping: dict[str, str] = {}
    objects = set()
    for f in record.get("field", []) if isinstance(record, dict) else []:
        src = f.get("source", {}) if isinstance(f, dict) else {}
        obj = (src.get("fileObject") or {}).get("@id")
        column = (src.get("extract") or {}).get("column")
        if not isinstance(f.get("name"), str) or not obj or not isinstance(column, str):
            sink.add(str(path), None, f"field {f.get('@id', '?')}", "a field needs a name, a fileObject and a column")
            continue
        objects.add(obj)
        mapping[f["name"]] = column
    if len(objects) != 1:
        sink.add(str(path), None, "recordSet", f"the fields must come from one file object, got {sorted(objects)}")
        return None
    obj = objects.pop()
    entry = next(
        (d for d in doc.get("distribution", []) if isinstance(d, dict) and obj in (d.get("@id"), d.get("name"))),
        None,
    )
    if entry is None or not isinstance(entry.get("contentUrl"), str):
        sink.add(str(path), None, "distribution", f"no file object '{obj}' with a contentUrl")
        return None
    target = (path.parent / entry["contentUrl"]).resolve()
    if not target.is_file():
        sink.add(str(path), None, "distribution", f"file object '{obj}': {target} not found")
        return None
    got = sha256_file(target)
    if got != entry.get("sha256"):
        sink.add(str(target), None, None, f"sha256 is {got}, its Croissant record ({path}) says {entry.get('sha256')}")
        return None
    table = _read_arrow(target, sink)
    return None if table is None else (table, str(target), mapping)


def _int_column(table: Any, name: str, file: str, sink: _Sink, *, required: bool) -> np.ndarray | None:
    """Return column ``name`` as int64 (nulls and non-integers reported, set to -1)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if name not in table.column_names:
        if required:
            sink.add(file, None, name, f"required column '{name}' is missing (columns: {table.column_names})")
        return None
    col = table.column(name)
    if not (pa.types.is_integer(col.type) or pa.types.is_floating(col.type) or pa.types.is_null(col.type)):
        sink.add(file, None, name, f"must hold integers, got {col.type}")
        return None
    values = pc.fill_null(col.cast(pa.float64()), np.nan).to_numpy(zero_copy_only=False)
    bad = ~np.isfinite(values) | (values != np.round(values))
    for i in np.flatnonzero(bad):
        what = "missing" if not np.isfinite(values[i]) else f"not an integer ({values[i]!r})"
        sink.add(file, int(i) + 1, name, f"{name} is {what}", sort=f"bad {name}")
    return np.where(bad, -1, values).astype(np.int64)


def _features(table: Any, file: str, sink: _Sink) -> np.ndarray | None:
    import pyarrow as pa
    import pyarrow.compute as pc

    if "embedding" in table.column_names:
        col = table.column("embedding").combine_chunks()
        if not (pa.types.is_list(col.type) or pa.types.is_fixed_size_list(col.type)):
            sink.add(file, None, "embedding", f"must be a list of numbers per row, got {col.type}")
            return None
        lengths = np.asarray(col.value_lengths().fill_null(-1).to_numpy(zero_copy_only=False))
        if len(lengths) and (lengths != lengths[0]).any():
            for i in np.flatnonzero(lengths != lengths[0]):
                sink.add(file, int(i) + 1, "embedding", f"has {lengths[i]} values, row 1 has {lengths[0]}", "ragged")
            return None
        dim = int(lengths[0]) if len(lengths) else 0
        flat = pc.fill_null(col.flatten().cast(pa.float64()), np.nan).to_numpy(zero_copy_only=False)
        return np.asarray(flat, dtype=np.float64).reshape(len(col), dim)
    names = [
        n
        for n, t in zip(table.column_names, table.schema.types, strict=True)
        if n not in KEYS and (pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_null(t))
    ]
    if not names:
        sink.add(file, None, None, "no features: give an 'embedding' list column or numeric feature columns")
        return None
    # an empty cell (a null) is a missing, hence non-finite, feature
    cols = [pc.fill_null(table.column(n).cast(pa.float64()), np.nan).to_numpy(zero_copy_only=False) for n in names]
    return np.stack([np.asarray(c, dtype=np.float64) for c in cols], axis=1)


def _one(spec: ChallengeSpec, split: str, path: Path, sink: _Sink) -> Table | None:
    if path.suffix.lower() in (".json", ".jsonld"):
        found = _croissant_table(path, split, sink)
        if found is None:
            return None
        raw, file, mapping = found
        missing = [c for c in mapping.values() if c not in raw.column_names]
        if missing:
            sink.add(file, None, ", ".join(missing), f"columns named by {path} are missing")
            return None
        table = raw.select(list(mapping.values())).rename_columns(list(mapping))
    else:
        table, file = _read_arrow(path, sink), str(path)
        if table is None:
            return None
    ids = _int_column(table, "id", file, sink, required=True)
    labels = _int_column(table, "label", file, sink, required=True)
    public = _int_column(table, "public_label", file, sink, required=False)
    x = _features(table, file, sink)
    if ids is None or labels is None or x is None:
        return None
    n_classes = len(spec.classes)
    for name, values in (("label", labels), ("public_label", public)):
        if values is None:
            continue
        for i in np.flatnonzero(((values < 0) | (values >= n_classes)) & (values != -1)):
            sink.add(file, int(i) + 1, name, f"{name} {values[i]} is not a class index 0..{n_classes - 1}", name)
    finite = np.isfinite(x).all(axis=1)
    for i in np.flatnonzero(~finite):
        sink.add(file, int(i) + 1, "embedding" if "embedding" in table.column_names else None, "non-finite feature")
    order = np.argsort(ids, kind="stable")
    return Table(
        split=split,
        file=file,
        ids=ids[order],
        x=x[order].astype(np.float32),
        labels=labels[order],
        public=(np.full(len(ids), -1, dtype=np.int64) if public is None else public)[order],
        rows=order + 1,
    )


def _cross_checks(spec: ChallengeSpec, tables: dict[str, Table], sink: _Sink) -> None:
    dims = {name: t.x.shape[1] for name, t in tables.items()}
    if len(set(dims.values())) > 1:
        sink.add("data.files", None, None, f"every split needs the same number of features, got {dims}")
    seen: dict[int, tuple[str, int]] = {}
    for t in tables.values():
        for i, row in zip(t.ids.tolist(), t.rows.tolist(), strict=True):
            if i == -1:  # a missing id, reported already
                continue
            if i in seen:
                other_file, other_row = seen[i]
                sink.add(t.file, row, "id", f"id {i} is repeated (first at {other_file} row {other_row})", "dup id")
            else:
                seen[i] = (t.file, row)
    if not tables:
        return
    first = next(iter(tables.values()))
    biggest = max(spec.task_budget(task) for task in spec.tasks)
    if len(first.ids) < biggest:
        sink.add(
            first.file, None, None, f"split '{first.split}' has {len(first.ids)} rows, fewer than the budget {biggest}"
        )
    if len(first.ids) < 2 * len(spec.seeds):
        sink.add(
            first.file,
            None,
            None,
            f"split '{first.split}' has {len(first.ids)} rows, too few for {len(spec.seeds)} seeds",
        )
    for name, t in tables.items():
        if "test" not in name and name != DEV_SPLIT_NAME:
            continue
        absent = sorted(set(range(len(spec.classes))) - set(t.labels.tolist()))
        if absent:
            names = ", ".join(f"{c} ({spec.classes[c]})" for c in absent)
            role = "dev" if name == DEV_SPLIT_NAME else "test"
            sink.add(t.file, None, "label", f"{role} split '{name}' has no row of class {names}")


def read_tables(spec: ChallengeSpec, base: Path) -> tuple[dict[str, Table], list[Violation]]:
    """Return every split's table of a ``source: files`` spec (paths relative to ``base``) and
    every violation found (empty when the tables are fit to prepare)."""
    if not spec.data.files:
        raise SpecError(f"{spec.id}: data.source is '{spec.data.source}', not files")
    sink = _Sink()
    tables: dict[str, Table] = {}
    for split, rel in spec.data.files.items():
        t = _one(spec, split, (base / rel).resolve(), sink)
        if t is not None:
            tables[split] = t
    if len(tables) == len(spec.data.files):
        _cross_checks(spec, tables, sink)
    return tables, sink.items


def load_tables(spec: ChallengeSpec, base: Path) -> dict[str, Table]:
    """Return every split's table; raise SpecError listing every violation (file, row, column)."""
    tables, problems = read_tables(spec, base)
    if problems:
        lines = "\n".join(f"  - {v}" for v in problems)
        raise SpecError(f"{spec.id}: the data files are refused ({len(problems)} problems):\n{lines}")
    return tables
