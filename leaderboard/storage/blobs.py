"""Content-addressed storage: submission files on disk, ratchet sets and fitted models as bytes.

Submission files are kept once per sha256 under ``<data home>/submissions/<aa>/<sha256><ext>``.
Ratchet sets are identified by the digest of their canonical rows, so the same rows in
Parquet, CSV or JSON, in any order, are one set. Arrays become ``.npz`` bytes written and read
with ``allow_pickle=False``: nothing here ever unpickles.
"""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from dataperf.hashing import sha256_bytes, sha256_file
from dataperf.models import Constant, Fitted, Linear
from dataperf.paths import home


def submissions_dir() -> Path:
    """Return the folder of stored submission files."""
    return home() / "submissions"


def store_file(path: Path, root: Path | None = None) -> tuple[str, Path]:
    """Copy ``path`` into the content-addressed store (once per content); return (sha256, stored path)."""
    sha = sha256_file(path)
    dest = (root or submissions_dir()) / sha[:2] / f"{sha}{path.suffix.lower()}"
    if not dest.exists():
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.tmp{os.getpid()}-{os.urandom(4).hex()}")
        try:
            shutil.copyfile(path, tmp)
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, dest)
        except BaseException:
            tmp.unlink(missing_ok=True)  # a full disk leaves no partial copy behind
            raise
    return sha, dest


def canonical_digest(problem: str, role: str, table: pd.DataFrame) -> str:
    """Return the digest of a ratchet set: sha256 over the problem, the role and the rows
    sorted by (task, id); a training set's rows carry their label, a test set's do not (its
    labels are the ground truth)."""
    cols = ["task", "id", "label"] if role == "train" else ["task", "id"]
    rows = table[cols].sort_values(["task", "id"], kind="stable")
    body = rows.to_csv(index=False, header=False, lineterminator="\n")
    return sha256_bytes(f"dataperf-set v1 {problem} {role}\n{body}".encode())


def _npz(**arrays: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)  # type: ignore[arg-type]
    return buf.getvalue()


def _load_npz(blob: bytes) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(blob), allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def encode_rows(table: pd.DataFrame, tasks: list[str]) -> bytes:
    """Return a set's canonical rows (task, id[, label]) as ``.npz`` bytes, tasks by index."""
    rows = table.sort_values(["task", "id"], kind="stable")
    task_idx = pd.Categorical(rows["task"], categories=tasks).codes.astype(np.int16)
    arrays = {"tasks": np.asarray(tasks, dtype=str), "task": task_idx, "id": rows["id"].to_numpy(np.int64)}
    if "label" in rows.columns:
        arrays["label"] = rows["label"].to_numpy(np.int64)
    return _npz(**arrays)


def decode_rows(blob: bytes) -> pd.DataFrame:
    """Return the table stored by :func:`encode_rows`."""
    z = _load_npz(blob)
    out = pd.DataFrame({"task": z["tasks"][z["task"]].astype(object), "id": z["id"]})
    if "label" in z:
        out["label"] = z["label"]
    return out


def encode_fitted(model: Fitted) -> tuple[str, bytes]:
    """Return (form, bytes) for a fitted model: ``linear`` (w, b, classes) or ``constant``.

    Raises TypeError for any other fitted model: only weights can be cached without pickle.
    """
    if isinstance(model, Linear):
        w = np.ascontiguousarray(model.w, dtype=np.float64)
        return "linear", _npz(w=w, b=np.asarray(model.b, dtype=np.float64), classes=np.asarray(model.classes, np.int64))
    if isinstance(model, Constant):
        return "constant", _npz(label=np.asarray([model.label], dtype=np.int64))
    raise TypeError(f"only linear and constant models can be cached, got {type(model).__name__}")


def decode_fitted(form: str, blob: bytes) -> Fitted:
    """Return the fitted model stored by :func:`encode_fitted` (bit-identical weights)."""
    z = _load_npz(blob)
    if form == "linear":
        return Linear(w=z["w"], b=z["b"], classes=z["classes"])
    if form == "constant":
        return Constant(int(z["label"][0]))
    raise ValueError(f"unknown fitted-model form '{form}' (expected linear or constant)")
