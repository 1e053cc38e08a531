"""Cleaning baselines: random, class-balanced random, confident learning (self-confidence)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from baselines import register
from baselines._common import balanced_pick, oof_proba
from dataperf.contract import ChallengeSpec
from dataperf.data.prepared import PreparedData

KIND = ("cleaning",)


def _ranking(ids: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"rank": np.arange(1, len(ids) + 1), "id": ids})


@register("random", KIND, "every training row in a uniformly random order")
def random_ranking(spec: ChallengeSpec, data: PreparedData, seed: int) -> pd.DataFrame:
    """Return a random permutation of the training rows."""
    train = data.split("train")
    return _ranking(train.ids[np.random.default_rng(seed).permutation(len(train.ids))])


@register("balanced", KIND, "random order that takes the public labels in turn")
def balanced_ranking(spec: ChallengeSpec, data: PreparedData, seed: int) -> pd.DataFrame:
    """Return a random order interleaving the public labels round-robin."""
    train = data.split("train")
    rng = np.random.default_rng(seed)
    order = balanced_pick(train.public_labels, rng.permutation(len(train.ids)), len(train.ids), rng)
    return _ranking(train.ids[order])


@register("confident-learning", KIND, "lowest out-of-fold self-confidence in the given label first")
def confident_learning(spec: ChallengeSpec, data: PreparedData, seed: int) -> pd.DataFrame:
    """Return rows ordered by the out-of-fold probability of their public label, lowest first."""
    train = data.split("train")
    x = np.asarray(train.x, dtype=np.float64)
    proba = oof_proba(x, train.public_labels, seed)
    self_conf = proba[np.arange(len(x)), train.public_labels]
    return _ranking(train.ids[np.argsort(self_conf, kind="stable")])
