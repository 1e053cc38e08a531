"""A validated submission's canonical table as one JSON document, and its strict reader.

A sandboxed runner reads a participant's file inside the sandbox and sends back only this
document (``dataperf validate --output``). The side that receives it treats it as untrusted
output: :func:`from_doc` accepts exactly the kind's columns in schema order, each value of its
column's type, within the submission size limits, for the challenge that was asked, and
refuses anything else with a ValueError that says what was wrong. Nothing is unpickled or
evaluated; NaN, infinities and repeated keys are refused while parsing.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

from dataperf.contract import CanonicalSubmission, ChallengeSpec, Column

FORMAT = "dataperf-canonical/1"
"""The value of the document's ``format`` key."""
MAX_DOC_BYTES = 256 * 1024 * 1024
"""Largest document read back (the size limit of a submission file itself)."""
_KEYS = ("format", "challenge", "version", "kind", "sha256", "rows", "columns")
_SHA = re.compile(r"^[0-9a-f]{64}$")
_INT_LIMIT = 2**63


def columns_of(spec: ChallengeSpec) -> tuple[Column, ...]:
    """Return the canonical schema of ``spec``'s kind."""
    from dataperf.kinds import KINDS

    return KINDS.get(spec.kind).columns


def to_doc(spec: ChallengeSpec, table: Any, sha256: str) -> dict[str, Any]:
    """Return the JSON-ready document of ``table`` (the kind's canonical columns) for ``spec``."""
    cols = columns_of(spec)
    return {
        "format": FORMAT,
        "challenge": spec.id,
        "version": spec.version,
        "kind": spec.kind,
        "sha256": sha256,
        "rows": len(table),
        "columns": {c.name: table[c.name].tolist() for c in cols},
    }


def write_doc(path: Path, spec: ChallengeSpec, table: Any, sha256: str) -> None:
    """Write :func:`to_doc` of ``table`` to ``path`` as compact JSON."""
    path.write_text(json.dumps(to_doc(spec, table, sha256), separators=(",", ":"), allow_nan=False))


def _no_constant(name: str) -> Any:
    raise ValueError(f"holds {name}, which is not a JSON number")


def _no_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise ValueError(f"repeats the key {k!r}")
        out[k] = v
    return out


def read_doc(path: Path) -> Any:
    """Return the JSON value in ``path``, refusing a file over :data:`MAX_DOC_BYTES`, NaN,
    infinities and repeated keys (ValueError or OSError)."""
    size = path.stat().st_size
    if size > MAX_DOC_BYTES:
        raise ValueError(f"is {size} bytes; at most {MAX_DOC_BYTES} are accepted")
    return json.loads(path.read_bytes(), parse_constant=_no_constant, object_pairs_hook=_no_repeats)


def _bad_value(col: Column, v: Any) -> bool:
    if col.dtype == "str":
        return type(v) is not str or v == ""
    if col.dtype == "int":
        return type(v) is not int or not -_INT_LIMIT <= v < _INT_LIMIT
    return type(v) not in (int, float) or not math.isfinite(v)


def from_doc(spec: ChallengeSpec, doc: Any, *, runner: str, image_digest: str | None = None) -> CanonicalSubmission:
    """Return the canonical submission ``doc`` holds for ``spec``; ValueError naming the first
    thing that is not exactly what :func:`to_doc` writes for this challenge."""
    import numpy as np
    import pandas as pd

    from dataperf.submission import MAX_ROWS

    if type(doc) is not dict:
        raise ValueError(f"is a JSON {type(doc).__name__}, not an object")
    if tuple(sorted(doc)) != tuple(sorted(_KEYS)):
        raise ValueError(f"has keys {sorted(doc)}, expected {sorted(_KEYS)}")
    if doc["format"] != FORMAT:
        raise ValueError(f"has format {doc['format']!r}, expected {FORMAT!r}")
    want = {"challenge": spec.id, "version": spec.version, "kind": spec.kind}
    for key, value in want.items():
        if doc[key] != value or type(doc[key]) is not type(value):
            raise ValueError(f"is for {key} {doc[key]!r}, expected {value!r}")
    if type(doc["sha256"]) is not str or not _SHA.match(doc["sha256"]):
        raise ValueError(f"has sha256 {str(doc['sha256'])[:80]!r}, expected 64 lowercase hex digits")
    n = doc["rows"]
    if type(n) is not int or not 1 <= n <= MAX_ROWS:
        raise ValueError(f"has rows {str(n)[:40]!r}, expected an integer from 1 to {MAX_ROWS}")
    cols = columns_of(spec)
    got = doc["columns"]
    if type(got) is not dict or list(got) != [c.name for c in cols]:
        names = list(got) if type(got) is dict else type(got).__name__
        raise ValueError(f"has columns {names}, expected {[c.name for c in cols]} in that order")
    data: dict[str, Any] = {}
    for col in cols:
        values = got[col.name]
        if type(values) is not list or len(values) != n:
            size = len(values) if type(values) is list else type(values).__name__
            raise ValueError(f"column '{col.name}' has {size} values, expected a list of {n}")
        bad = next((i for i, v in enumerate(values) if _bad_value(col, v)), None)
        if bad is not None:
            raise ValueError(
                f"column '{col.name}', row {bad + 1}: {str(values[bad])[:80]!r} is not a valid {col.dtype}"
            )
        if col.dtype == "str":
            data[col.name] = np.array(values, dtype=object)
        else:
            data[col.name] = np.array(values, dtype=np.int64 if col.dtype == "int" else np.float64)
    return CanonicalSubmission(
        challenge=spec.id,
        version=spec.version,
        kind=spec.kind,
        sha256=doc["sha256"],
        table=pd.DataFrame(data),
        runner=runner,
        image_digest=image_digest,
    )
