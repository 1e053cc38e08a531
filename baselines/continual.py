"""Continual baselines: newest-only random, random replay, class-balanced replay, and replay
of the earlier rows nearest the decision boundary of the model the new stage would leave."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from baselines import register
from baselines._common import balanced_pick
from dataperf.contract import ChallengeSpec
from dataperf.data.prepared import PreparedData
from dataperf.kinds.continual import options_of, pool_split
from dataperf.models import Network, TorchMLP, build_model

KIND = ("continual",)

Pick = Callable[[int, np.ndarray, np.ndarray, np.random.Generator], np.ndarray]
"""``pick(stage, candidates, labels, rng)`` returns positions into ``candidates``."""


def _pools(spec: ChallengeSpec, data: PreparedData) -> list[tuple[np.ndarray, np.ndarray]]:
    """Return each stage's pool as (ids, public labels)."""
    out = []
    for stage in options_of(spec).stages:
        pool = data.split(pool_split(stage))
        out.append((pool.ids, pool.public_labels))
    return out


def _build(spec: ChallengeSpec, data: PreparedData, seed: int, new: Pick, old: Pick | None) -> pd.DataFrame:
    """Return the submission whose stage k holds ``new``'s picks from its pool and ``old``'s
    picks from the union of earlier pools (no replay when ``old`` is None)."""
    opts = options_of(spec)
    pools = _pools(spec, data)
    parts = []
    for k, stage in enumerate(opts.stages):
        rng = np.random.default_rng([seed, k])
        ids, labels = pools[k]
        chosen = [ids[new(k, ids, labels, rng)]]
        if old is not None and k > 0 and opts.replay > 0:
            old_ids = np.concatenate([p[0] for p in pools[:k]])
            old_labels = np.concatenate([p[1] for p in pools[:k]])
            chosen.append(old_ids[old(k, old_ids, old_labels, rng)])
        parts.append(pd.DataFrame({"stage": stage, "id": np.sort(np.concatenate(chosen))}))
    return pd.concat(parts, ignore_index=True)


def _random(count: int) -> Pick:
    def pick(k: int, ids: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return rng.choice(len(ids), size=min(count, len(ids)), replace=False)

    return pick


def _balanced(count: int) -> Pick:
    def pick(k: int, ids: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return balanced_pick(labels, rng.permutation(len(ids)), min(count, len(ids)), rng)

    return pick


@register("random", KIND, "newest only: budget random rows of each stage's own pool, no replay")
def newest_random(spec: ChallengeSpec, data: PreparedData, seed: int) -> pd.DataFrame:
    """Return budget random rows of each stage's pool and nothing else (shows forgetting)."""
    return _build(spec, data, seed, _random(spec.budget), None)


@register("replay", KIND, "budget random new rows plus the replay allowance drawn uniformly from earlier pools")
def random_replay(spec: ChallengeSpec, data: PreparedData, seed: int) -> pd.DataFrame:
    """Return random new rows and uniformly random replay rows."""
    return _build(spec, data, seed, _random(spec.budget), _random(options_of(spec).replay))


@register("balanced", KIND, "new rows and replay rows both drawn at random, equally many per public label")
def balanced_replay(spec: ChallengeSpec, data: PreparedData, seed: int) -> pd.DataFrame:
    """Return class-balanced new rows and class-balanced replay rows."""
    return _build(spec, data, seed, _balanced(spec.budget), _balanced(options_of(spec).replay))


@register(
    "boundary",
    KIND,
    "class-balanced new rows; replay the earlier rows nearest the decision boundary of the model "
    "after it would train on the new rows alone (simulated with the public fixed model)",
)
def boundary_replay(spec: ChallengeSpec, data: PreparedData, seed: int) -> pd.DataFrame:
    """Return class-balanced new rows and, per stage, the earlier pools' rows with the smallest
    margin (true-label score minus the best other score, in absolute value) under the model
    that the stage's new rows alone would leave, equally many per public label."""
    model = build_model(spec.model.name, dict(spec.model.params))
    if not isinstance(model, TorchMLP):
        raise TypeError(f"'{spec.id}': the boundary baseline simulates a torch-mlp model")
    opts = options_of(spec)
    splits = [data.split(pool_split(s)) for s in opts.stages]
    xs = [np.asarray(p.x, dtype=np.float64) for p in splits]
    state = {"net": model.init(xs[0].shape[1], np.arange(len(spec.classes)), seed)}
    new = _balanced(spec.budget)
    picked_new: dict[int, np.ndarray] = {}

    def new_rows(k: int, ids: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        pos = new(k, ids, labels, rng)
        picked_new[k] = pos
        if k == 0:  # no replay at the first stage: train on to the next one now
            state["net"] = model.train(state["net"], xs[0][pos], labels[pos], [seed, 1, 0])
        return pos

    def old_rows(k: int, ids: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        mine = picked_new[k]
        drifted = model.train(state["net"], xs[k][mine], splits[k].public_labels[mine], [seed, 1, k])
        x_old = np.concatenate(xs[:k])
        order = np.argsort(np.abs(_margin(drifted, x_old, labels)), kind="stable")
        pos = balanced_pick(labels, order, min(opts.replay, len(ids)), rng)
        x = np.concatenate([xs[k][mine], x_old[pos]])
        y = np.concatenate([splits[k].public_labels[mine], labels[pos]])
        state["net"] = model.train(state["net"], x, y, [seed, 1, k])
        return pos

    return _build(spec, data, seed, new_rows, old_rows)


def _margin(net: Network, x: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Return each row's score for its label minus its best other score under ``net``."""
    scores = net.logits(x)
    own = scores[np.arange(len(x)), np.searchsorted(net.classes, labels)]
    scores[np.arange(len(x)), np.searchsorted(net.classes, labels)] = -np.inf
    return own - scores.max(axis=1)
