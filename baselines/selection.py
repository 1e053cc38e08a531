"""Training-set baselines: random, class-balanced random, k-center greedy, cross-validated."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from baselines import register
from baselines._common import balanced_pick, oof_proba, task_labels
from dataperf.contract import ChallengeSpec, TaskSpec
from dataperf.data.prepared import PreparedData

KIND = ("training-set",)
SUBSAMPLE = 20000
"""The k-center and cross-validated selectors look at a seeded subsample of the pool this big."""


def _table(spec: ChallengeSpec, picks: dict[str, tuple[np.ndarray, np.ndarray]]) -> pd.DataFrame:
    parts = [pd.DataFrame({"task": name, "id": ids, "label": labels}) for name, (ids, labels) in picks.items()]
    return pd.concat(parts, ignore_index=True)


Chooser = Callable[[TaskSpec, np.ndarray, np.random.Generator], np.ndarray]


def _each_task(spec: ChallengeSpec, data: PreparedData, seed: int, choose: Chooser) -> pd.DataFrame:
    """Return the submission made of ``choose(task, task_labels, rng)`` pool positions per task."""
    pool = data.split("pool")
    picks = {}
    for i, task in enumerate(spec.tasks):
        rng = np.random.default_rng([seed, i])
        labels = task_labels(task, pool.public_labels)
        pos = choose(task, labels, rng)
        picks[task.name] = (pool.ids[pos], labels[pos])
    return _table(spec, picks)


@register("random", KIND, "budget rows drawn uniformly from the pool, with their public labels")
def random_selection(spec: ChallengeSpec, data: PreparedData, seed: int) -> pd.DataFrame:
    """Return a uniformly random selection of each task's budget."""

    def choose(task: TaskSpec, labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return np.sort(rng.choice(len(labels), size=spec.task_budget(task), replace=False))

    return _each_task(spec, data, seed, choose)


@register("balanced", KIND, "budget rows drawn at random, equally many per public label")
def balanced_selection(spec: ChallengeSpec, data: PreparedData, seed: int) -> pd.DataFrame:
    """Return a random selection with equal counts per (public) label."""

    def choose(task: TaskSpec, labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return np.sort(balanced_pick(labels, rng.permutation(len(labels)), spec.task_budget(task), rng))

    return _each_task(spec, data, seed, choose)


def kcenter_order(x: np.ndarray, k: int, first: int) -> np.ndarray:
    """Return ``k`` row positions chosen by k-center greedy (farthest-first) from ``first``."""
    k = min(k, len(x))
    chosen = np.empty(k, dtype=np.int64)
    chosen[0] = first
    dist = ((x - x[first]) ** 2).sum(axis=1)
    for j in range(1, k):
        nxt = int(dist.argmax())
        chosen[j] = nxt
        dist = np.minimum(dist, ((x - x[nxt]) ** 2).sum(axis=1))
    return chosen


def _confirmed(data: PreparedData, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (sub, agree, confidence): a seeded pool subsample (positions), whether out-of-fold
    predictions of a linear model trained on the public labels agree with each of its
    rows' label, and the predicted probability of that label."""
    pool = data.split("pool")
    rng = np.random.default_rng([seed, 99])
    sub = np.sort(rng.choice(len(pool.ids), size=min(SUBSAMPLE, len(pool.ids)), replace=False))
    x = np.asarray(pool.x[sub], dtype=np.float64)
    proba = oof_proba(x, pool.public_labels[sub], seed, fast=True)
    conf = proba[np.arange(len(sub)), pool.public_labels[sub]]
    return sub, proba.argmax(axis=1) == pool.public_labels[sub], conf


@register("kcenter", KIND, "k-center greedy (farthest-first) per label, over rows a cross-validated model confirms")
def kcenter_selection(spec: ChallengeSpec, data: PreparedData, seed: int) -> pd.DataFrame:
    """Return a diverse selection: farthest-first traversal inside each label's confirmed rows
    (outliers and doubtful labels are left out first, since farthest-first seeks them out)."""
    pool = data.split("pool")
    sub, agree, conf = _confirmed(data, seed)
    x = np.asarray(pool.x[sub], dtype=np.float64)

    def choose(task: TaskSpec, labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        core = agree & (conf >= np.median(conf[agree])) if agree.any() else np.ones(len(sub), dtype=bool)
        budget = spec.task_budget(task)
        ordered = []
        for c in np.unique(labels[sub]):
            members = np.flatnonzero((labels[sub] == c) & core)
            if len(members) == 0:
                members = np.flatnonzero(labels[sub] == c)
            order = kcenter_order(x[members], budget, int(rng.integers(len(members))))
            ordered.append(sub[members[order]])
        # balanced_pick keeps the k-center order within each label
        return np.sort(balanced_pick(labels, np.concatenate(ordered), budget, rng))

    return _each_task(spec, data, seed, choose)


@register("crossval", KIND, "random rows, balanced per label, among those a cross-validated model confirms")
def crossval_selection(spec: ChallengeSpec, data: PreparedData, seed: int) -> pd.DataFrame:
    """Return rows whose public label out-of-fold predictions confirm, balanced per label,
    topped up with unconfirmed rows only if too few are confirmed."""
    sub, agree, _ = _confirmed(data, seed)

    def choose(task: TaskSpec, labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        shuffled = rng.permutation(len(sub))
        order = shuffled[np.argsort(~agree[shuffled], kind="stable")]
        return np.sort(balanced_pick(labels, sub[order], spec.task_budget(task), rng))

    return _each_task(spec, data, seed, choose)
