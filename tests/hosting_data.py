"""A challenge built from data dataperf does not ship: scikit-learn's bundled digits, written
as an organizer would (Parquet tables and a YAML beside them, in a folder of their own)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

SPEC = """\
id: digits-selection
version: 1
kind: training-set
title: Select a training set for handwritten digits
description: >
  8x8 handwritten digits (scikit-learn's bundled set) as 64 pixel features. Choose at most
  100 pool rows and label them; a logistic regression is trained on them and scored by macro
  F1 on a held-out split. The pool's public labels are 20% wrong; a labelled dev split is
  published to score on locally.
licence: BSD-3-Clause
data:
  source: files
  files: {pool: pool.parquet, dev: dev.csv, test: test.parquet, test-hidden: hidden.parquet}
classes: ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]
tasks:
  - {name: digits}
model:
  name: logreg
  params: {C: 1.0, max_iter: 200}
metric: {name: macro-f1, direction: max}
seeds: [0, 1]
budget: 100
"""


def write_digits_challenge(folder: Path) -> Path:
    """Write ``digits-selection.yaml`` and its three tables into ``folder``; return the YAML.

    The pool (1,000 rows) has noisy public labels, the dev split (``dev``, 400 rows) public
    labels equal to the truth; the scoring split (``test``, 200 rows: the server's score, and
    a dual's evaluation pool) and the hidden split (197 rows) have no public label at all.
    """
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(y))
    folder.mkdir(parents=True, exist_ok=True)
    features = [f"px{i}" for i in range(x.shape[1])]

    def frame(rows: np.ndarray) -> pd.DataFrame:
        df = pd.DataFrame(x[rows].astype(np.float64), columns=features)
        df.insert(0, "id", (rows + 1000).astype(np.int64))
        df.insert(1, "label", y[rows].astype(np.int64))
        return df

    pool = frame(order[:1000])
    noisy = pool["label"].to_numpy().copy()
    flip = rng.random(len(noisy)) < 0.2
    noisy[flip] = (noisy[flip] + rng.integers(1, 10, flip.sum())) % 10
    pool.insert(2, "public_label", noisy)
    pool.to_parquet(folder / "pool.parquet", index=False)
    dev = frame(order[1000:1400])
    dev.insert(2, "public_label", dev["label"])
    dev.to_csv(folder / "dev.csv", index=False)
    frame(order[1400:1600]).to_parquet(folder / "test.parquet", index=False)
    frame(order[1600:]).to_parquet(folder / "hidden.parquet", index=False)
    path = folder / "digits-selection.yaml"
    path.write_text(SPEC)
    return path


DUAL = """\
id: digits-testset
version: 1
kind: test-set
title: Find hard handwritten-digit test rows
description: >
  The dual of digits-selection: pick at most 100 rows of its evaluation pool (the 'test'
  split) with at least 2 rows of each digit; labels come from the ground truth.
licence: BSD-3-Clause
pair: digits-selection
metric: {name: macro-f1, direction: min}
budget: 100
options: {margin: 0.02, top_k: 2, min_per_class: 2, ref_rows: 200}
"""


def write_digits_dual(folder: Path) -> Path:
    """Write ``digits-testset.yaml`` (the test-set dual of digits-selection) into ``folder``."""
    path = folder / "digits-testset.yaml"
    path.write_text(DUAL)
    return path
