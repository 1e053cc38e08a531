"""``test-set``: select hard, validly labelled rows from an evaluation pool (the ratchet's dual
of ``training-set``).

Submission: one row per (task, id); the rows' labels are the hidden ground truth, never the
submitter's. Rules: ids from the evaluation pool (the ``test`` split, whose embeddings are
public), at most the task budget of rows per task, and at least ``min_per_class`` rows of
every class of every task, counted with the ground truth.

The challenge names its training-set dual in ``options.pairs_with`` (same data recipe, same
tasks, same fixed model). On the leaderboard a test set's difficulty is ``1 - mean A[t, s]``
over the dual's top-k training sets and it joins the suite when it beats the easiest member by
``margin`` (see :mod:`leaderboard.ratchet.steps`). Scored alone (``dataperf evaluate``), there is no
leaderboard, so it is scored against a reference training set instead: ``ref_rows`` random
pool rows per task with their ground-truth labels (seeded by the recipe); the metric of that
model on the submitted rows, per task and seed, lower is harder.
"""

from __future__ import annotations

import numpy as np

from dataperf import checks
from dataperf.contract import ChallengeKind, ChallengeSpec, Column, Counters, ParsedSubmission, TaskSpec
from dataperf.data.prepared import PreparedData
from dataperf.errors import Violation
from dataperf.kinds import KINDS
from dataperf.metrics import METRICS
from dataperf.models import build_model

EVAL_SPLIT = "test"
"""The evaluation pool test-set rows are chosen from."""
HIDDEN_SPLIT = "test-hidden"
"""The organizer's hidden test set: the suite's first member S0 (every row, every task)."""
OPTIONS: dict[str, type] = {
    "pairs_with": str,
    "margin": float,
    "top_k": int,
    "min_per_class": int,
    "ref_rows": int,
}
"""The keys of ``options`` a test-set challenge may set, and their types."""
DEFAULTS: dict[str, int | float | str] = {"margin": 0.02, "top_k": 5, "min_per_class": 10, "ref_rows": 1000}


def option(spec: ChallengeSpec, name: str) -> int | float | str:
    """Return ``spec.options[name]``, else the kind's default."""
    return spec.options.get(name, DEFAULTS[name])


def task_truth(task: TaskSpec, labels: np.ndarray) -> np.ndarray:
    """Return the ground-truth labels of ``task`` (one-vs-rest: 1 for the positive class)."""
    return labels.astype(np.int64) if task.positive is None else (labels == task.positive).astype(np.int64)


class TestSet(ChallengeKind):
    """Participants submit (task, id) rows from the evaluation pool; labels are the ground truth."""

    __test__ = False  # not a pytest test class
    name = "test-set"
    columns = (
        Column("task", "str", "task name"),
        Column("id", "int", "evaluation-pool row id (from the 'test' split)"),
    )
    splits = ("pool", EVAL_SPLIT, HIDDEN_SPLIT)

    def __init__(self) -> None:
        self.options = dict(OPTIONS)

    def check_spec(self, spec: ChallengeSpec) -> list[str]:
        """Return spec problems: also an unknown metric, a missing dual, bad option values."""
        problems = super().check_spec(spec)
        if spec.metric.name not in METRICS:
            problems.append(METRICS.miss_message(spec.metric.name))
        if "pairs_with" not in spec.options:
            problems.append("options.pairs_with is required (the id of the dual training-set challenge)")
        for key in ("top_k", "min_per_class", "ref_rows"):
            value = spec.options.get(key, 1)
            if isinstance(value, int) and value < (0 if key == "min_per_class" else 1):
                problems.append(f"options.{key} must be positive, got {value}")
        margin = spec.options.get("margin", 0.0)
        if isinstance(margin, float) and not 0.0 <= margin < 1.0:
            problems.append(f"options.margin must be in [0, 1), got {margin}")
        return problems

    def check(self, spec: ChallengeSpec, data: PreparedData, sub: ParsedSubmission) -> list[Violation]:
        """Return violations: unknown tasks, ids outside the evaluation pool, duplicates,
        budgets, and tasks with too few rows of a class (by the ground truth)."""
        pool = data.split(EVAL_SPLIT)
        found = (
            checks.unknown_tasks(spec, sub)
            + checks.ids_in_split(sub, pool, "evaluation pool")
            + checks.duplicates(sub, ["task", "id"])
            + checks.task_budgets(spec, sub)
        )
        return found + self.balance(spec, data, sub)

    def balance(self, spec: ChallengeSpec, data: PreparedData, sub: ParsedSubmission) -> list[Violation]:
        """Return one violation per (task, class) with fewer than ``min_per_class`` rows."""
        need = int(option(spec, "min_per_class"))
        pool = data.split(EVAL_SPLIT)
        ids = sub.table["id"].to_numpy(dtype=np.int64)
        inside = pool.contains(ids)
        tasks = sub.table["task"].to_numpy(dtype=object)
        out = []
        for task in spec.tasks:
            mine = (tasks == task.name) & inside
            if not mine.any():
                continue  # task_budgets already reports a task with no rows
            truth = task_truth(task, pool.labels[pool.positions(ids[mine])])
            counts = np.bincount(truth, minlength=len(spec.task_labels(task)))
            for label, n in enumerate(counts):
                if n < need:
                    out.append(
                        Violation(
                            sub.path.name,
                            None,
                            "task",
                            f"task '{task.name}' has too few rows of class {label} by the hidden ground "
                            f"truth: every class needs at least {need} (counts are not disclosed)",
                        )
                    )
        return out

    def reference(
        self, spec: ChallengeSpec, data: PreparedData, task: TaskSpec, i: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return the reference training rows (x, ground-truth y) of ``task`` (the ``i``-th task)."""
        pool = data.split("pool")
        n = min(int(option(spec, "ref_rows")), len(pool.ids))
        rng = np.random.default_rng([spec.data.seed, 3, i])
        pos = np.sort(rng.choice(len(pool.ids), size=n, replace=False))
        return np.asarray(pool.x[pos]), task_truth(task, pool.labels[pos])

    def score(
        self, spec: ChallengeSpec, data: PreparedData, sub: ParsedSubmission, counters: Counters
    ) -> dict[str, dict[int, float]]:
        """Return the reference model's metric per task and seed on the submitted rows."""
        model = build_model(spec.model.name, dict(spec.model.params))
        metric = METRICS.get(spec.metric.name)
        pool = data.split(EVAL_SPLIT)
        out: dict[str, dict[int, float]] = {}
        for i, task in enumerate(spec.tasks):
            ids = sub.table.loc[sub.table["task"] == task.name, "id"].to_numpy(dtype=np.int64)
            pos = pool.positions(ids)
            x_test, truth = pool.rows(ids), task_truth(task, pool.labels[pos])
            x, y = self.reference(spec, data, task, i)
            counters.rows_read += len(x_test) + len(x)
            out[task.name] = {}
            for seed in spec.seeds:
                fitted = model.fit(x, y, seed)
                counters.fits += 1
                counters.predictions += 1
                out[task.name][seed] = metric(truth, fitted.predict(x_test), len(spec.task_labels(task)))
        return out


KINDS.add(TestSet.name, TestSet())
