"""``training-set``: select rows from a candidate pool, label them, and train the fixed model.

Submission: one row per (task, id, label). Score: the fixed model trained on a task's rows,
with the submitted labels, scored by the metric on the test split, per seed.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from dataperf import checks
from dataperf.contract import (
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
    local_split_rule,
)
from dataperf.data.prepared import PreparedData
from dataperf.errors import Violation
from dataperf.hits import pack_hits
from dataperf.kinds import KINDS
from dataperf.metrics import METRICS
from dataperf.models import build_model


class TrainingSetSpec(ChallengeSpec):
    """A ``training-set`` challenge (no options)."""

    kind: Literal["training-set"]
    options: KindOptions = KindOptions()


class TrainingSet(ChallengeKind):
    """Participants submit labelled training rows chosen from the pool."""

    name = "training-set"
    spec_model = TrainingSetSpec
    role = Role.TRAINS
    baseline_order = 0
    columns = (
        Column("task", "str", "task name"),
        Column("id", "int", "pool row id"),
        Column("label", "int", "label given to the row for this task"),
    )
    splits = ("pool", "test")

    def check_spec(self, spec: ChallengeSpec) -> list[str]:
        """Return spec problems: also an unknown metric."""
        problems = super().check_spec(spec)
        if spec.metric.name not in METRICS:
            problems.append(METRICS.miss_message(spec.metric.name))
        return problems

    def board(self, spec: ChallengeSpec, ratchet: bool) -> BoardLayout:
        """Return the board layout: in a ratchet also the worst public cell and the top-k star."""
        plain = super().board(spec, ratchet)
        if not ratchet:
            return plain
        extra = (
            BoardColumn(
                "worst", "Worst public cell", "num", "the lowest cell of this training set on a public test set"
            ),
            BoardColumn("top_k", "Top-k", "star", "one of the top training sets that test sets are scored against"),
        )
        return BoardLayout(
            "Training-set leaderboard",
            plain.columns + extra,
            f"{spec.metric.name} of the fixed model trained on the set, mean over the suite's test sets",
        )

    def outcome(self, step: dict[str, Any]) -> str:
        """Return the rank and score a new training set reached."""
        return f"rank {step['rank']}, score {step['score']}"

    def check(self, spec: ChallengeSpec, data: PreparedData, sub: ParsedSubmission) -> list[Violation]:
        """Return violations: unknown tasks, ids outside the pool, duplicates, labels, budgets."""
        return (
            checks.unknown_tasks(spec, sub)
            + checks.ids_in_split(sub, data.split("pool"), "candidate pool")
            + checks.duplicates(sub, ["task", "id"])
            + checks.label_domain(spec, sub)
            + checks.task_budgets(spec, sub)
            + checks.two_classes(spec, sub)
        )

    def rules(self, spec: ChallengeSpec) -> list[Section]:
        """Return the submission, what is refused, and the scoring of one training set."""
        budgets = ", ".join(f"{t.name}: {spec.task_budget(t)}" for t in spec.tasks)
        return [
            Section.of(
                "Submission",
                "One row per (task, id, label): task (str) is a task name, id (int) a row id of the 'pool' "
                "split, label (int) the label given to that row for that task.",
                "Labels: a one-vs-rest task (one with a positive class) takes 0 or 1, 1 meaning the positive "
                "class; any other task takes a class index 0..classes-1.",
            ),
            Section.of(
                "Refused submissions (every violation is reported at once, nothing is scored)",
                "A task that is not a task of the challenge; an id that is not in the pool; the same (task, id) "
                "twice (a duplicate). The same id may appear in several tasks, with any label in each.",
                "A label outside the task's labels; a task with no rows; a task with more rows than its "
                f"budget. A task's own budget overrides the challenge's budget: {budgets}.",
                "A task whose rows all carry the same label (one class): the model cannot learn from it.",
            ),
            Section.of(
                "Scoring",
                "For each task and each seed s of seeds: the task's rows, sorted by id (the file's row order "
                "does not matter), are the training set: the pool rows' embeddings with the submitted labels. "
                "The fixed model is fitted on them with seed s and predicts every row of the scoring split.",
                "Truth of a one-vs-rest task with positive class c: 1 where the row's ground-truth class is c, "
                "else 0; of any other task: the ground-truth class.",
                "The score of (task, s) is the metric of the predictions against that truth, on the 'test' "
                "split; in a ratchet, the leaderboard scores on the organizer's hidden split 'test-hidden' and on "
                "every test set of the suite instead. " + local_split_rule(spec),
            ),
        ]

    def score(
        self, spec: ChallengeSpec, data: PreparedData, sub: ParsedSubmission, counters: Counters
    ) -> dict[str, dict[int, float]]:
        """Return the metric per task and seed on the test split."""
        return self.score_in_full(spec, data, sub, counters)[0]

    def score_in_full(
        self, spec: ChallengeSpec, data: PreparedData, sub: ParsedSubmission, counters: Counters
    ) -> tuple[dict[str, dict[int, float]], dict[str, Any]]:
        """Return the metric per task and seed on the test split, and in the extras ``hits``:
        per task, which test rows each seed's model got right (:func:`dataperf.hits.pack_hits`;
        what the board's significance tiers are computed from)."""
        model = build_model(spec.model.name, dict(spec.model.params))
        metric = METRICS.get(spec.metric.name)
        pool, test = data.split("pool"), data.scoring_split()
        x_test = np.asarray(test.x)
        counters.rows_read += len(x_test)
        out: dict[str, dict[int, float]] = {}
        hits: dict[str, str] = {}
        for task in spec.tasks:
            # rows in id order: a training set's score depends on its rows, not the file's order
            rows = sub.table[sub.table["task"] == task.name].sort_values("id", kind="stable")
            x = pool.rows(rows["id"].to_numpy(dtype=np.int64))
            counters.rows_read += len(x)
            y = rows["label"].to_numpy(dtype=np.int64)
            truth = test.labels if task.positive is None else (test.labels == task.positive).astype(np.int64)
            n_classes = len(spec.task_labels(task))
            out[task.name] = {}
            right = np.zeros((len(spec.seeds), len(truth)), dtype=bool)
            for j, seed in enumerate(spec.seeds):
                fitted = model.fit(x, y, seed)
                counters.fits += 1
                pred = fitted.predict(x_test)
                counters.predictions += 1
                out[task.name][seed] = metric(truth, pred, n_classes)
                right[j] = pred == truth
            hits[task.name] = pack_hits(right)
        return out, {"hits": hits}


KINDS.add(TrainingSet.name, TrainingSet())
