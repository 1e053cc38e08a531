"""Read prepared data, verifying every file's sha256 against its Croissant record first.

Selected rows are read from ``<split>.f32`` with positioned reads (one per run of adjacent
rows), so a million-row pool costs its id column plus the selected rows; a memory map would
let kernel read-around map most of the file into the process. Whole splits are memory-mapped.
"""

from __future__ import annotations

import itertools
import json
import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq

from dataperf.contract import ChallengeSpec
from dataperf.data.verify import verified_hashes
from dataperf.errors import DataError
from dataperf.hashing import sha256_bytes

BUNDLE_FILE = "bundle.json"
"""The public bundle's manifest: which bundle it is, and what it holds of each split."""


@dataclass(frozen=True)
class Split:
    """One prepared split: sorted ids, ground-truth and public labels, embeddings (memmap).

    In the public bundle a split's ground truth is readable only where it is public (a dev
    split); anywhere else reading :attr:`labels` raises DataError, so no kind can score with a
    private column in participant mode.
    """

    name: str
    ids: np.ndarray
    truth: np.ndarray | None
    """The ground truth, or None where this bundle does not hold it."""
    public_labels: np.ndarray
    x: np.ndarray
    """All embeddings, memory-mapped (for whole-split use)."""
    raw: Path
    """The ``.f32`` file behind ``x``."""

    bundle: str = "private"
    """Which bundle the split was read from (``private``: the server's, ``public``: participants')."""

    @property
    def labels(self) -> np.ndarray:
        """Return the ground truth; raise DataError where this bundle does not hold it."""
        if self.truth is None:
            raise DataError(
                f"split '{self.name}': its ground truth is not in the {self.bundle} bundle "
                "(only the server holds it; this score is computed on the server)"
            )
        return self.truth

    def positions(self, ids: np.ndarray) -> np.ndarray:
        """Return row positions of ``ids`` (which must all be in the split)."""
        return np.searchsorted(self.ids, ids)

    def contains(self, ids: np.ndarray) -> np.ndarray:
        """Return a boolean mask: which of ``ids`` are in the split."""
        pos = np.clip(np.searchsorted(self.ids, ids), 0, max(len(self.ids) - 1, 0))
        return (self.ids[pos] == ids) if len(self.ids) else np.zeros(len(ids), dtype=bool)

    def rows(self, ids: np.ndarray) -> np.ndarray:
        """Return the embeddings of ``ids`` as a float32 array, reading only those rows."""
        pos = self.positions(np.asarray(ids, dtype=np.int64))
        dim = self.x.shape[1]
        out = np.empty((len(pos), dim), dtype=np.float32)
        if len(pos) == 0:
            return out
        order = np.argsort(pos, kind="stable")
        sp = pos[order]
        breaks = np.flatnonzero(np.diff(sp) != 1) + 1
        bounds = np.concatenate([[0], breaks, [len(sp)]])
        row_bytes = dim * 4
        fd = os.open(self.raw, os.O_RDONLY)
        try:
            for i, j in itertools.pairwise(bounds):
                buf = os.pread(fd, int(j - i) * row_bytes, int(sp[i]) * row_bytes)
                out[order[i:j]] = np.frombuffer(buf, dtype="<f4").reshape(-1, dim)
        finally:
            os.close(fd)
        return out


class PreparedData:
    """A challenge version's verified prepared files: the private bundle (everything, as the
    server holds it) or the public one (what participants download; see
    :mod:`dataperf.data.bundles`), told apart by the public bundle's ``bundle.json``."""

    def __init__(self, spec: ChallengeSpec, folder: Path, *, verify: bool = True) -> None:
        self.spec = spec
        self.folder = folder
        self.file_hashes = verified_hashes(spec.id, spec.version, folder, check=verify)
        self._splits: dict[str, Split] = {}
        self.shares: dict[str, str] | None = None
        """Per split, what the public bundle holds (None: this is the private bundle)."""
        manifest = folder / BUNDLE_FILE
        if manifest.exists():
            self.shares = dict(json.loads(manifest.read_text())["splits"])

    @property
    def bundle(self) -> str:
        """Return ``public`` (participants' bundle) or ``private`` (the server's)."""
        return "private" if self.shares is None else "public"

    def verify(self) -> None:
        """Check every file against its recorded sha256; raise DataError on any mismatch."""
        verified_hashes(self.spec.id, self.spec.version, self.folder)

    @cached_property
    def sha256(self) -> str:
        """Return one digest over every prepared file's sha256 (the data's identity)."""
        lines = "".join(f"{n} {h}\n" for n, h in sorted(self.file_hashes.items()))
        return sha256_bytes(lines.encode())

    def split(self, name: str) -> Split:
        """Return the split called ``name``; raise DataError if it was not prepared."""
        if name not in self._splits:
            path = self.folder / f"{name}.parquet"
            if f"{name}.parquet" not in self.file_hashes:
                raise DataError(f"{self.folder}: no split '{name}' (has {self.split_names()})")
            public = self.shares is not None
            cols = pq.read_table(path, columns=["id", "public_label"] if public else ["id", "label", "public_label"])
            ids = cols.column("id").to_numpy()
            dim = self.dim
            raw = self.folder / f"{name}.f32"
            x = np.memmap(raw, dtype="<f4", mode="r", shape=(len(ids), dim))
            self._splits[name] = Split(
                name=name,
                ids=ids,
                truth=self._truth(name, cols),
                public_labels=cols.column("public_label").to_numpy().astype(np.int64),
                x=x,
                raw=raw,
                bundle=self.bundle,
            )
        return self._splits[name]

    def _truth(self, name: str, cols: Any) -> np.ndarray | None:
        if self.shares is None:
            return np.asarray(cols.column("label").to_numpy().astype(np.int64))
        if self.shares.get(name) == "labelled":  # a dev split: its public labels are the truth
            return np.asarray(cols.column("public_label").to_numpy().astype(np.int64))
        return None

    @cached_property
    def dim(self) -> int:
        """Return the length of every embedding vector (read from the prepared files' schema)."""
        names = self.split_names()
        if not names:
            raise DataError(f"{self.folder}: no prepared split")
        kind = pq.read_schema(self.folder / f"{names[0]}.parquet").field("embedding").type
        return int(kind.list_size)

    def split_names(self) -> list[str]:
        """Return the names of the prepared splits."""
        return sorted(
            n[: -len(".parquet")] for n in self.file_hashes if n.endswith(".parquet") and n != "examples.parquet"
        )

    def examples(self) -> dict[str, np.ndarray]:
        """Return the published positive example ids per task."""
        t = pq.read_table(self.folder / "examples.parquet")
        tasks = np.asarray(t.column("task").to_pylist(), dtype=object)
        ids = t.column("id").to_numpy()
        return {str(name): ids[tasks == name] for name in dict.fromkeys(tasks.tolist())}
