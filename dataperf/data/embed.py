"""Seeded embedding recipes: raw inputs in, fixed-size float32 vectors out.

Outputs are rounded to 4 decimals before they are stored, so that last-bit differences
between BLAS builds do not change the bytes of the prepared files.
"""

from __future__ import annotations

import numpy as np

from dataperf.contract import EmbeddingSpec
from dataperf.data.sources import Raw
from dataperf.errors import SpecError

DECIMALS = 4


def _frame_stats(raw: Raw) -> np.ndarray:
    """Return per-example mean, std, min and max of each MFCC coefficient over its frames."""
    assert raw.lengths is not None
    starts = np.concatenate([[0], np.cumsum(raw.lengths)[:-1]])
    x64 = raw.x.astype(np.float64)
    feats = []
    for reducer in (np.add, np.minimum, np.maximum):
        feats.append(reducer.reduceat(x64, starts, axis=0))
    n = raw.lengths[:, None].astype(np.float64)
    mean = feats[0] / n
    sq = np.add.reduceat(x64 * x64, starts, axis=0) / n
    std = np.sqrt(np.maximum(sq - mean * mean, 0.0))
    return np.hstack([mean, std, feats[1], feats[2]])


def embed(spec: EmbeddingSpec, fit_on: Raw, splits: dict[str, Raw]) -> dict[str, np.ndarray]:
    """Return float32 embeddings for every raw split, fitted on ``fit_on``'s first rows.

    Raises SpecError when the recipe does not fit the source (e.g. a wrong ``dim``).
    """
    texts = [raw.text for raw in splits.values() if raw.text is not None]
    if spec.method == "minilm" or texts:
        return _sentences(spec, splits)
    if spec.method == "mfcc-stats":
        out = {}
        for name, raw in splits.items():
            if raw.lengths is None:
                raise SpecError("embedding method 'mfcc-stats' needs a sequence source")
            feats = _frame_stats(raw)
            if feats.shape[1] != spec.dim:
                raise SpecError(f"embedding.dim must be {feats.shape[1]} for mfcc-stats, got {spec.dim}")
            out[name] = feats
        # Standardize with statistics of the fit rows so every feature has a like scale.
        ref = _frame_stats(fit_on)[: spec.fit_rows]
        mu, sd = ref.mean(axis=0), ref.std(axis=0) + 1e-9
        return {k: _finish((v - mu) / sd) for k, v in out.items()}
    if any(raw.lengths is not None for raw in splits.values()):
        raise SpecError(f"embedding method '{spec.method}' needs a fixed-size source")
    d_in = fit_on.x.shape[1]
    if spec.method == "identity":
        if spec.dim != d_in:
            raise SpecError(f"embedding.dim must be {d_in} for identity, got {spec.dim}")
        return {k: _finish(v.x) for k, v in splits.items()}
    if spec.dim > d_in:
        raise SpecError(f"embedding.dim must be at most {d_in}, got {spec.dim}")
    fit = fit_on.x[: spec.fit_rows].astype(np.float64)
    mean = fit.mean(axis=0)
    if spec.method == "random-projection":
        rng = np.random.default_rng(spec.seed)
        proj = rng.standard_normal((d_in, spec.dim)) / np.sqrt(spec.dim)
    else:  # pca: exact SVD of the centred fit rows, signs fixed for reproducibility
        _, _, vt = np.linalg.svd(fit - mean, full_matrices=False)
        comps = vt[: spec.dim]
        signs = np.sign(comps[np.arange(spec.dim), np.abs(comps).argmax(axis=1)])
        proj = (comps * signs[:, None]).T
    return {k: _finish((v.x.astype(np.float64) - mean) @ proj) for k, v in splits.items()}


def _sentences(spec: EmbeddingSpec, splits: dict[str, Raw]) -> dict[str, np.ndarray]:
    """Return the MiniLM sentence vectors of every split of a text source."""
    from dataperf.data import minilm, text_embed  # torch loads only if a text is not cached

    if spec.method != "minilm":
        raise SpecError(f"embedding method '{spec.method}' needs a numeric source; text sources use 'minilm'")
    if spec.dim != minilm.DIM:
        raise SpecError(f"embedding.dim must be {minilm.DIM} for minilm, got {spec.dim}")
    if any(raw.text is None for raw in splits.values()):
        raise SpecError("embedding method 'minilm' needs a text source")
    names = list(splits)
    texts = [t for n in names for t in splits[n].text or ()]
    vecs = text_embed.embed_texts(texts, decimals=DECIMALS, finish=_finish)
    bounds = np.cumsum([0] + [len(splits[n]) for n in names])
    return {n: vecs[bounds[i] : bounds[i + 1]] for i, n in enumerate(names)}


def _finish(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.round(x, DECIMALS).astype(np.float32))
