"""Helpers shared by baselines: task labels from public labels, out-of-fold probabilities."""

from __future__ import annotations

import warnings

import numpy as np

from dataperf.contract import TaskSpec


def task_labels(task: TaskSpec, public: np.ndarray) -> np.ndarray:
    """Return the labels a participant would give for ``task`` from the public labels."""
    if task.positive is None:
        return public.astype(np.int64)
    return (public == task.positive).astype(np.int64)


def balanced_pick(labels: np.ndarray, candidates: np.ndarray, budget: int, rng: np.random.Generator) -> np.ndarray:
    """Return up to ``budget`` of ``candidates`` (positions), as equal per label as possible, in
    the order given within each label."""
    classes = np.unique(labels[candidates])
    groups = [candidates[labels[candidates] == c] for c in classes]
    rng.shuffle(groups)  # who gets the remainder rows is random
    picked: list[int] = []
    depth = 0
    while len(picked) < budget and any(depth < len(g) for g in groups):
        for g in groups:
            if depth < len(g) and len(picked) < budget:
                picked.append(int(g[depth]))
        depth += 1
    return np.asarray(picked, dtype=np.int64)


def oof_proba(x: np.ndarray, y: np.ndarray, seed: int, folds: int = 5, fast: bool = False) -> np.ndarray:
    """Return out-of-fold predicted probabilities (n, n_classes) of a logistic regression,
    or, with ``fast``, of linear discriminant analysis (closed form, for large samples)."""
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    n_classes = int(y.max()) + 1
    out = np.zeros((len(y), n_classes))
    fold = np.random.default_rng(seed).permutation(len(y)) % folds
    for f in range(folds):
        train, held = fold != f, fold == f
        est = LinearDiscriminantAnalysis() if fast else LogisticRegression(C=1.0, max_iter=300)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            est.fit(x[train], y[train])
        out[np.ix_(held, est.classes_)] = est.predict_proba(x[held])
    return out
