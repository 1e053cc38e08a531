"""Sentence embeddings of texts, with a content-addressed cache under the data home.

The cache maps sha256(text) (in hex) to the finished (rounded, float32) vector, in a folder named by
the model's identity (package, version, sha256 of its weights and vocabulary) and the
rounding, so a changed model or rounding never reads old vectors. Each call that computes
new vectors adds one chunk file (a structured ``.npy`` of keys and vectors, written to a
temporary name and renamed into place). The cache is an optimisation only: since every
vector depends on its text alone (see :mod:`dataperf.data.minilm`), the bytes returned are
the same with or without it. A chunk that cannot be read is removed and its texts embedded
again.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from dataperf.data import minilm
from dataperf.paths import home

Finish = Callable[[np.ndarray], np.ndarray]


def cache_dir(decimals: int) -> Path:
    """Return the cache folder of the MiniLM model's vectors rounded to ``decimals``."""
    return home() / "cache" / "embeddings" / f"minilm-{minilm.model_identity()[:24]}-r{decimals}"


def _dtype() -> np.dtype:
    # keys as hex: a fixed-width bytes field would drop a digest's trailing zero bytes
    return np.dtype([("key", "S64"), ("vec", "<f4", (minilm.DIM,))])


def _read(folder: Path) -> dict[bytes, np.ndarray]:
    found: dict[bytes, np.ndarray] = {}
    if not folder.is_dir():
        return found
    for path in sorted(folder.glob("*.npy")):
        try:
            chunk = np.load(path, allow_pickle=False)
            if chunk.dtype != _dtype() or chunk.ndim != 1:
                raise ValueError(f"unexpected layout {chunk.dtype}")
        except (OSError, ValueError, EOFError):
            path.unlink(missing_ok=True)
            continue
        found.update(zip(chunk["key"].tolist(), chunk["vec"], strict=True))
    return found


def _write(folder: Path, keys: list[bytes], vecs: np.ndarray) -> None:
    chunk = np.empty(len(keys), dtype=_dtype())
    chunk["key"] = keys
    chunk["vec"] = vecs
    folder.mkdir(parents=True, exist_ok=True)
    name = hashlib.sha256(b"".join(keys)).hexdigest()
    tmp = folder / f".{name}.tmp{os.getpid()}"
    with open(tmp, "wb") as fh:
        np.save(fh, chunk, allow_pickle=False)
    os.replace(tmp, folder / f"{name}.npy")


def embed_texts(texts: Sequence[str], *, decimals: int, finish: Finish) -> np.ndarray:
    """Return the finished MiniLM vectors of ``texts`` (an ``(n, 384)`` float32 array).

    ``finish`` rounds float64 vectors to ``decimals`` and casts them to float32. Vectors found
    in the cache are reused; the model is loaded only when some text is not cached.
    """
    keys = [hashlib.sha256(t.encode("utf-8")).hexdigest().encode("ascii") for t in texts]
    folder = cache_dir(decimals)
    cached = _read(folder)
    todo = list(dict.fromkeys(k for k in keys if k not in cached))
    if todo:
        first = {k: i for i, k in reversed(list(enumerate(keys)))}
        fresh = finish(minilm.MiniLM().encode([texts[first[k]] for k in todo]))
        _write(folder, todo, fresh)
        cached.update(zip(todo, fresh, strict=True))
    out = np.empty((len(texts), minilm.DIM), dtype=np.float32)
    for i, k in enumerate(keys):
        out[i] = cached[k]
    return out
