"""Read prepared data, verifying every file's sha256 against its Croissant record first.

Selected rows are read from ``<split>.f32`` through a memory map advised for random access
(``MADV_RANDOM``: no read-around), so a million-row pool costs its id column plus the pages of
the selected rows, with one gather instead of a read per run of rows. Whole splits are
memory-mapped.
"""

from __future__ import annotations

import json
import mmap
from functools import cached_property
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from dataperf.contract import DEV_SPLIT_NAME, SCORING_SPLIT_NAME, ChallengeSpec
from dataperf.data.verify import verified_hashes
from dataperf.errors import DataError
from dataperf.hashing import sha256_bytes

BUNDLE_FILE = "bundle.json"
"""The public bundle's manifest: which bundle it is, and what it holds of each split."""


class Split:
    """One prepared split: sorted ids, ground-truth and public labels, embeddings (memmap).

    In the public bundle a split's ground truth is readable only where it is public (a dev
    split); anywhere else reading :attr:`labels` raises DataError, so no kind can score with a
    private column in participant mode.
    """

    def __init__(
        self,
        name: str,
        ids: np.ndarray,
        truth: np.ndarray | None,
        public_labels: np.ndarray,
        x: np.ndarray,
        raw: Path,
        bundle: str = "private",
    ) -> None:
        """Hold split ``name``: its ids (sorted), ground truth (None where this bundle does not
        hold it), public labels, embeddings ``x`` (memory-mapped) and the ``.f32`` file ``raw``."""
        self.name = name
        self.ids = ids
        """The split's ids, sorted."""
        self.truth = truth
        """The ground truth, or None where this bundle does not hold it."""
        self.public_labels = public_labels
        """The labels participants see."""
        self.x = x
        """All embeddings, memory-mapped (for whole-split use)."""
        self.raw = raw
        """The ``.f32`` file behind ``x``."""
        self.bundle = bundle
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
        if len(pos) == 0:
            return np.empty((0, dim), dtype=np.float32)
        with open(self.raw, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as view:
            if hasattr(view, "madvise"):
                view.madvise(mmap.MADV_RANDOM)
            whole = np.frombuffer(view, dtype="<f4").reshape(-1, dim)
            out = np.ascontiguousarray(whole[pos], dtype=np.float32)  # a copy: the map can close
            del whole
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
            truth = self._truth_column(name)
            cols = pq.read_table(path, columns=list(dict.fromkeys(["id", truth or "id", "public_label"])))
            ids = cols.column("id").to_numpy()
            raw = self.folder / f"{name}.f32"
            x = np.memmap(raw, dtype="<f4", mode="r", shape=(len(ids), self.dim))
            self._splits[name] = Split(
                name,
                ids,
                None if truth is None else np.asarray(cols.column(truth).to_numpy().astype(np.int64)),
                np.asarray(cols.column("public_label").to_numpy().astype(np.int64)),
                x,
                raw,
                self.bundle,
            )
        return self._splits[name]

    def scoring_split(self, name: str = SCORING_SPLIT_NAME) -> Split:
        """Return the split a score is computed on: split ``name`` in the private bundle (the
        server's score); in the public bundle, ``name`` where its labels are public, else the
        labelled dev split standing in for it (a participant's local score). Raise DataError
        when the public bundle has neither."""
        if self.shares is None or self.shares.get(name) == "labelled":
            return self.split(name)
        if self.shares.get(DEV_SPLIT_NAME) == "labelled":
            return self.split(DEV_SPLIT_NAME)
        raise DataError(
            f"split '{name}': its ground truth is not in the public bundle and the bundle has no labelled "
            f"'{DEV_SPLIT_NAME}' split to score on (this score is computed on the server)"
        )

    def _truth_column(self, name: str) -> str | None:
        """Return the column holding split ``name``'s ground truth in this bundle (None: not held)."""
        if self.shares is None:
            return "label"
        if self.shares.get(name) == "labelled":  # a dev split: its public labels are the truth
            return "public_label"
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
