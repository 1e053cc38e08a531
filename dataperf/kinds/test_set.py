"""``test-set``: select hard, validly labelled rows from an evaluation pool (the ratchet's dual
of ``training-set``).

Submission: one row per (task, id); the rows' labels are the hidden ground truth, never the
submitter's. Rules: ids from the evaluation pool (the ``test`` split, whose embeddings are
public), at most the task budget of rows per task, and at least ``min_per_class`` rows of
every class of every task, counted with the ground truth.

The challenge names the training-set challenge it is the dual of in ``pair`` and takes its data
recipe, classes, tasks, fixed model and seeds from it (:mod:`dataperf.challenges`).
The challenge's ``metric`` is how hard a test set is for a model, and which way is harder
(``balanced-error``, ``direction: max``: one minus the mean per-class recall, so each class
weighs the same whatever the mix of rows chosen, and rows a model gets right never make a set
look harder). On the leaderboard a test set's difficulty is that measure for the models of the
dual's top-k training sets, averaged over them (turned so that higher is harder), and it joins
the suite when it beats the easiest member by ``margin`` (see :mod:`leaderboard.ratchet.steps`).
Scored alone (``dataperf evaluate``), there is no leaderboard, so it is scored against a
reference training set instead: ``ref_rows`` random pool rows per task with their ground-truth
labels (seeded by the recipe); the metric of that model on the submitted rows, per task and
seed.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import Field

from dataperf import checks
from dataperf.contract import (
    DEV_SPLIT_NAME,
    BoardColumn,
    BoardLayout,
    ChallengeKind,
    ChallengeSpec,
    Column,
    Counters,
    KindOptions,
    ParsedSubmission,
    Role,
    Section,
    Share,
    TaskSpec,
)
from dataperf.data.prepared import PreparedData
from dataperf.errors import Violation
from dataperf.kinds import KINDS
from dataperf.metrics import METRICS
from dataperf.models import build_model

EVAL_SPLIT = "test"
"""The evaluation pool test-set rows are chosen from."""
HIDDEN_SPLIT = "test-hidden"
"""The organizer's hidden test set: the suite's first member S0 (every row, every task)."""


class TestSetOptions(KindOptions):
    """The rules of a test-set challenge."""

    __test__ = False  # not a pytest test class
    margin: float = Field(default=0.02, ge=0.0, lt=1.0)
    """A test set joins the suite when its difficulty beats the easiest member's by this much."""
    top_k: int = Field(default=5, ge=1)
    """How many of the best training sets a test set's difficulty is measured against."""
    min_per_class: int = Field(default=10, ge=0)
    """Rows every class of every task needs at least (counted with the hidden ground truth)."""
    ref_rows: int = Field(default=1000, ge=1)
    """Pool rows of the reference training set used when a test set is scored alone."""


class TestSetSpec(ChallengeSpec):
    """A ``test-set`` challenge: the dual of the training-set challenge named in ``pair``."""

    __test__ = False  # not a pytest test class
    kind: Literal["test-set"]
    options: TestSetOptions = TestSetOptions()


def options_of(spec: ChallengeSpec) -> TestSetOptions:
    """Return the test-set options of ``spec``."""
    return TestSetOptions.of(spec)


def task_truth(task: TaskSpec, labels: np.ndarray) -> np.ndarray:
    """Return the ground-truth labels of ``task`` (one-vs-rest: 1 for the positive class)."""
    return labels.astype(np.int64) if task.positive is None else (labels == task.positive).astype(np.int64)


class TestSet(ChallengeKind):
    """Participants submit (task, id) rows from the evaluation pool; labels are the ground truth."""

    __test__ = False  # not a pytest test class
    name = "test-set"
    spec_model = TestSetSpec
    role = Role.TESTS
    baseline_order = 2
    columns = (
        Column("task", "str", "task name"),
        Column("id", "int", "evaluation-pool row id (from the 'test' split)"),
    )
    splits = ("pool", EVAL_SPLIT, HIDDEN_SPLIT)

    def check_spec(self, spec: ChallengeSpec) -> list[str]:
        """Return spec problems: also an unknown metric and a missing pair."""
        problems = super().check_spec(spec)
        if spec.metric.name not in METRICS:
            problems.append(METRICS.miss_message(spec.metric.name))
        if spec.pair is None:
            problems.append("pair is required (the id of the training-set challenge this one tests)")
        return problems

    def board(self, spec: ChallengeSpec, ratchet: bool) -> BoardLayout:
        """Return the board layout: difficulty and suite membership."""
        if not ratchet:
            return super().board(spec, ratchet)
        cols = (
            BoardColumn(
                "difficulty",
                "Difficulty",
                "num",
                f"{spec.metric.name} of the top training sets' models on the set (higher is harder)",
            ),
            BoardColumn("in_suite", "In suite", "yes", "accepted into the suite of test sets"),
        )
        return BoardLayout("Test-set leaderboard", cols, "difficulty over the top-k training sets")

    def check_pair(self, pair: ChallengeSpec) -> list[str]:
        """Return the problems of ``pair`` as this dual's pair: its recipe must have the
        evaluation pool, and the pair's public bundle must not publish the pool's labels (a
        labelled dev split of its own keeps them hidden)."""
        from dataperf.kinds import kind_of

        if EVAL_SPLIT not in pair.data.split_names():
            return [
                f"'{pair.id}' has no '{EVAL_SPLIT}' split (data.splits.{EVAL_SPLIT}): the evaluation pool "
                "test sets are chosen from"
            ]
        if kind_of(pair).share(pair).get(EVAL_SPLIT) is Share.LABELLED:
            return [
                f"'{pair.id}' publishes its '{EVAL_SPLIT}' split, this challenge's evaluation pool, with its labels "
                f"as its dev split: give '{pair.id}' a labelled dev split of its own (data.splits.{DEV_SPLIT_NAME}) "
                "so the evaluation pool's labels stay hidden"
            ]
        return []

    def share(self, spec: ChallengeSpec) -> dict[str, Share]:
        """Return the public bundle's splits: the evaluation pool without its labels."""
        return super().share(spec) | {EVAL_SPLIT: Share.FEATURES}

    def local_meaning(self, spec: ChallengeSpec) -> str:
        """Return what a test set's score alone is: a reference model's metric on its rows."""
        return (
            f"{spec.metric.name} on the submitted rows of the public evaluation pool ('{EVAL_SPLIT}' split) of a "
            f"reference model trained on {options_of(spec).ref_rows} clean pool rows "
            f"({'higher' if spec.metric.direction == 'max' else 'lower'} is harder)"
        )

    def rules(self, spec: ChallengeSpec) -> list[Section]:
        """Return the submission, what is refused, the ratchet's acceptance and the scoring alone."""
        opts = options_of(spec)
        pool = spec.data.splits.get("pool")
        ref = opts.ref_rows if pool is None else min(opts.ref_rows, pool.size)
        per_fit = build_model(spec.model.name, dict(spec.model.params)).rows_per_fit(ref)
        budgets = ", ".join(f"{t.name}: {spec.task_budget(t)}" for t in spec.tasks)
        return [
            Section.of(
                "Submission",
                f"One row per (task, id): task (str) is a task name, id (int) a row id of the evaluation pool "
                f"(the '{EVAL_SPLIT}' split, whose embeddings are public). The rows' labels are the hidden ground "
                "truth (for a one-vs-rest task: 1 for its positive class, else 0), never the submitter's.",
            ),
            Section.of(
                "Refused submissions (every violation is reported at once, nothing is scored)",
                "A task that is not a task of the challenge; an id outside the evaluation pool; the same "
                "(task, id) twice (the same id may appear in several tasks); a task with no rows or more rows "
                f"than its budget (a task's own budget overrides the challenge's: {budgets}); a task with fewer "
                f"than min_per_class = {opts.min_per_class} rows of any of its classes by the ground truth (the "
                "counts are not disclosed).",
            ),
            Section.of(
                "In the ratchet",
                f"A cell A[t, s] is the metric of the fixed model trained on training set t (of '{spec.pair}') "
                "and scored on test set s, averaged over the seeds. The difficulty of a test set s over the top "
                f"top_k = {opts.top_k} complete training sets (best score first, ties by arrival):",
                "= difficulty(s) = 1 - mean_{t in top-k} A[t, s]    (for a metric where lower is better: "
                "mean_{t in top-k} A[t, s])",
                "The bar is the difficulty of the easiest test set in the suite (the hidden split 'test-hidden' "
                f"is its first member). A test set joins the suite when difficulty >= bar + margin, margin = "
                f"{opts.margin}; members are never removed. A test set that joins is then scored against every "
                "training set.",
            ),
            Section.of(
                "Scored alone ('dataperf evaluate')",
                f"Task number i (from 0) has a reference training set: min(ref_rows = {opts.ref_rows}, pool "
                "rows) pool rows at the positions sorted(numpy.random.default_rng([data.seed, 3, i]).choice("
                "pool rows, size, replace=False)), with their ground-truth labels.",
                f"The fixed model is fitted on them once per seed, with its own rules: each fit uses {per_fit} of "
                f"the {ref} reference rows (see the model's section), and scored by the metric on the submitted "
                "rows with their ground truth. Lower is harder.",
            ),
        ]

    def outcome(self, step: dict[str, Any]) -> str:
        """Return whether the new test set joined the suite, and why."""
        return f"{'accepted into' if step['accepted'] else 'not accepted into'} the suite: {step['reason']}"

    def shrink(self, spec: ChallengeSpec, rows: int, budget: int) -> ChallengeSpec:
        """Return the tiny spec; the per-class minimum shrinks with the budget."""
        small = super().shrink(spec, rows, budget)
        opts = options_of(spec)
        fit = opts.model_copy(update={"min_per_class": min(opts.min_per_class, max(1, budget // 20))})
        return small.model_copy(update={"options": fit})

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
        need = options_of(spec).min_per_class
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
        n = min(options_of(spec).ref_rows, len(pool.ids))
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
