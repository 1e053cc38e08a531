"""Test-set baselines: random rows, and rows that are hard for the participant's own model.

Both see only what participants see: the evaluation pool's embeddings and ids, and the pool's
public (noisy) labels. Neither sees a ground-truth label.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from baselines import register
from baselines._common import balanced_pick, task_labels
from dataperf.contract import ChallengeSpec
from dataperf.data.prepared import PreparedData
from dataperf.kinds.test_set import EVAL_SPLIT

KIND = ("test-set",)
TRAIN_ROWS = 4000
"""How many pool rows (balanced by public label) the hard selector trains its own model on."""


def _table(picks: dict[str, np.ndarray]) -> pd.DataFrame:
    return pd.concat([pd.DataFrame({"task": t, "id": ids}) for t, ids in picks.items()], ignore_index=True)


@register("random", KIND, "budget rows drawn uniformly from the evaluation pool")
def random_testset(spec: ChallengeSpec, data: PreparedData, seed: int) -> pd.DataFrame:
    """Return a uniformly random test set of each task's budget."""
    ids = data.split(EVAL_SPLIT).ids
    picks = {}
    for i, task in enumerate(spec.tasks):
        rng = np.random.default_rng([seed, i])
        picks[task.name] = np.sort(rng.choice(ids, size=min(spec.task_budget(task), len(ids)), replace=False))
    return _table(picks)


def own_scores(spec: ChallengeSpec, data: PreparedData, task_index: int, seed: int) -> np.ndarray:
    """Return the participant's own model's decision scores on the evaluation pool for a task
    (a logistic regression on balanced pool rows with their public labels)."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    task = spec.tasks[task_index]
    pool, evalpool = data.split("pool"), data.split(EVAL_SPLIT)
    rng = np.random.default_rng([seed, task_index, 1])
    labels = task_labels(task, pool.public_labels)
    pos = np.sort(balanced_pick(labels, rng.permutation(len(labels)), TRAIN_ROWS, rng))
    est = LogisticRegression(C=1.0, max_iter=300)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(np.asarray(pool.x[pos], dtype=np.float64), labels[pos])
    return np.asarray(est.decision_function(np.asarray(evalpool.x, dtype=np.float64)))


@register("balanced", KIND, "random rows, half among the participant's own predicted positives, half among negatives")
def balanced_testset(spec: ChallengeSpec, data: PreparedData, seed: int) -> pd.DataFrame:
    """Return, per task, random evaluation rows balanced by the participant's own model's guess
    (the only class information participants have for the evaluation pool)."""
    ids = data.split(EVAL_SPLIT).ids
    picks = {}
    for i, task in enumerate(spec.tasks):
        rng = np.random.default_rng([seed, i, 2])
        guess = own_guess(own_scores(spec, data, i, seed))
        budget = min(spec.task_budget(task), len(ids))
        picks[task.name] = np.sort(ids[balanced_pick(guess, rng.permutation(len(ids)), budget, rng)])
    return _table(picks)


def own_guess(scores: np.ndarray) -> np.ndarray:
    """Return the class the participant's own model guesses from :func:`own_scores`' output
    (one score per row: positive or not; a row of scores per class: the highest)."""
    return (scores > 0).astype(np.int64) if scores.ndim == 1 else scores.argmax(axis=1).astype(np.int64)


HARD_DOC = (
    "rows nearest the decision boundary of the participant's own model, half on each side "
    "(several classes: the smallest margin between the two top classes, balanced by guessed class)"
)


@register("hard", KIND, HARD_DOC)
def hard_testset(spec: ChallengeSpec, data: PreparedData, seed: int) -> pd.DataFrame:
    """Return, per task, the evaluation rows the participant's own model is least sure about:
    half of the budget among its predicted positives, half among its predicted negatives."""
    ids = data.split(EVAL_SPLIT).ids
    picks = {}
    for i, task in enumerate(spec.tasks):
        scores = own_scores(spec, data, i, seed)
        budget = min(spec.task_budget(task), len(ids))
        if scores.ndim == 2:  # several classes: the least sure rows, balanced by the guessed class
            top2 = np.sort(scores, axis=1)[:, -2:]
            order = np.argsort(top2[:, 1] - top2[:, 0], kind="stable")
            rng = np.random.default_rng([seed, i, 3])
            picks[task.name] = np.sort(ids[balanced_pick(own_guess(scores), order, budget, rng)])
            continue
        above = np.flatnonzero(scores > 0)
        below = np.flatnonzero(scores <= 0)
        above = above[np.argsort(scores[above], kind="stable")]
        below = below[np.argsort(-scores[below], kind="stable")]
        half = min(budget // 2, len(above))
        chosen = np.concatenate([above[:half], below[: budget - half]])
        picks[task.name] = np.sort(ids[chosen])
    return _table(picks)
