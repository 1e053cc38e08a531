"""``cleaning``: rank noisy training rows in the order they should be inspected and fixed.

Inspecting a row replaces its public (possibly wrong) label by the ground truth. After every
``stride`` inspections the fixed model is retrained from scratch and its accuracy on the test
split measured. The score is the fraction of rows inspected before accuracy first reaches
``target`` times the accuracy reached with every row fixed (lower is better). With stride 1
this is DataPerf's debugging procedure.

The evaluation is exact but does less work than that procedure: a checkpoint whose labels
equal the previous one's (only already-correct rows were inspected) reuses that accuracy
instead of retraining on the same data, so a ranking costs at most one fit per wrong label
(plus the all-fixed fit and the first checkpoint). The score is read at the first checkpoint
that reaches the bar; the checkpoints after it are evaluated too, for the bootstrap interval
(a resample's bar and accuracies differ, so its first reaching checkpoint can lie later).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import Field

from dataperf import checks
from dataperf.contract import (
    BoardLayout,
    ChallengeKind,
    ChallengeSpec,
    Column,
    Counters,
    KindOptions,
    ParsedSubmission,
    Section,
    dev_split_of,
    local_split_rule,
)
from dataperf.data.prepared import PreparedData
from dataperf.errors import Violation
from dataperf.kinds import KINDS
from dataperf.metrics import METRICS
from dataperf.models import FixedModel, build_model

if TYPE_CHECKING:
    import pandas as pd


def checkpoints(n: int, stride: int) -> list[int]:
    """Return the numbers of inspected rows after which the model is retrained: 0, s, 2s, ..., n."""
    pts = list(range(0, n, stride))
    return pts + [n]


def fraction_inspected(
    model: FixedModel,
    x: np.ndarray,
    noisy: np.ndarray,
    truth: np.ndarray,
    order: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    *,
    seed: int,
    stride: int,
    target: float,
    counters: Counters,
    curve: list[tuple[float, float]] | None = None,
    hits: list[np.ndarray] | None = None,
) -> float:
    """Return the fraction of rows inspected (in ``order``) before accuracy reaches the bar.

    ``curve`` (if given) receives ``(fraction inspected, accuracy)`` at every checkpoint
    evaluated, and last ``(nan, bar)``. ``hits`` (if given) receives the packed per-test-row
    correctness (``numpy.packbits``) of the all-fixed fit first, then of every checkpoint the
    curve holds (a reused checkpoint repeats its fit's bits). Without ``hits`` the evaluation
    stops at the first checkpoint that reaches the bar; with it every checkpoint is evaluated
    (what the bootstrap interval reads), the score being the same."""
    n_classes = int(max(truth.max(), y_test.max())) + 1
    accuracy = METRICS.get("accuracy")
    packed = np.empty(0, dtype=np.uint8)

    def acc(labels: np.ndarray) -> float:
        nonlocal packed
        counters.fits += 1
        counters.predictions += 1
        predicted = model.fit(x, labels, seed).predict(x_test)
        if hits is not None:
            packed = np.packbits(np.asarray(predicted) == y_test)
        return accuracy(y_test, predicted, n_classes)

    bar = target * acc(truth)
    if hits is not None:
        hits.append(packed)
    labels = noisy.copy()
    last_k, last_acc = -1, 0.0
    wrong = noisy != truth
    reached_at: int | None = None
    for k in checkpoints(len(order), stride):
        if last_k >= 0 and not wrong[order[last_k:k]].any():
            current = last_acc  # the same training labels as the last checkpoint
        else:
            labels[order[:k]] = truth[order[:k]]
            current = acc(labels)
        if curve is not None:
            curve.append((k / len(order), current))
        if hits is not None:
            hits.append(packed)
        if current >= bar and reached_at is None:
            reached_at = k
            if hits is None:
                break
        last_k, last_acc = k, current
    if curve is not None:
        curve.append((float("nan"), bar))
    return 1.0 if reached_at is None else reached_at / len(order)


BOOTSTRAP_DRAWS = 1000
"""Resamples of the test rows behind a cleaning result's 95% interval."""
BOOTSTRAP_SEED = 0
"""Seed of those resamples (fixed: the same submission always gets the same interval)."""


def bootstrap_interval(
    hits: dict[int, list[np.ndarray]],
    fractions: dict[int, list[float]],
    rows: int,
    target: float,
    *,
    draws: int = BOOTSTRAP_DRAWS,
    seed: int = BOOTSTRAP_SEED,
) -> tuple[float, float]:
    """Return the 2.5 and 97.5 percentiles of the score over bootstrap resamples of the test rows.

    ``hits[s]`` holds seed s's packed correctness on the ``rows`` test rows: the all-fixed fit,
    then each evaluated checkpoint, whose fraction inspected is ``fractions[s]``. Each draw
    resamples the test rows (with replacement, the same rows for every seed), recomputes every
    accuracy and the bar from the bits and reads the score as the scoring does; a draw in which
    no evaluated checkpoint reaches the bar counts as 1.0. The draw's score is the mean over seeds.
    """
    rng = np.random.default_rng(seed)
    weights = rng.multinomial(rows, np.full(rows, 1.0 / rows), size=draws).astype(np.float64)
    total = np.zeros(draws)
    for s, packed in hits.items():
        distinct, which = np.unique(np.stack(packed), axis=0, return_inverse=True)
        correct = np.unpackbits(distinct, axis=1, count=rows).astype(np.float64)
        acc = (weights @ correct.T / rows)[:, np.asarray(which).ravel()]
        reached = acc[:, 1:] >= target * acc[:, :1]
        frac = np.asarray(fractions[s], dtype=np.float64)
        total += np.where(reached.any(axis=1), frac[reached.argmax(axis=1)], 1.0)
    per_draw = total / len(hits)
    lo, hi = np.percentile(per_draw, [2.5, 97.5])
    return float(lo), float(hi)


class CleaningOptions(KindOptions):
    """The rules of a cleaning challenge."""

    stride: int = Field(default=1, ge=1)
    """The model is retrained after every ``stride`` inspected rows."""
    target: float = Field(default=0.95, gt=0.0, le=1.0)
    """The bar: this fraction of the accuracy reached with every label fixed."""


class CleaningSpec(ChallengeSpec):
    """A ``cleaning`` challenge."""

    kind: Literal["cleaning"]
    options: CleaningOptions = CleaningOptions()


def options_of(spec: ChallengeSpec) -> CleaningOptions:
    """Return the cleaning options of ``spec``."""
    return CleaningOptions.of(spec)


class Cleaning(ChallengeKind):
    """Participants submit a ranking of every training row (rank 1 is inspected first)."""

    name = "cleaning"
    spec_model = CleaningSpec
    columns = (
        Column("rank", "int", "inspection order, 1 = first"),
        Column("id", "int", "training row id"),
    )
    splits = ("train", "test")

    def check_spec(self, spec: ChallengeSpec) -> list[str]:
        """Return spec problems: the metric must be fraction-inspected, lower is better."""
        problems = super().check_spec(spec)
        if spec.metric.name != "fraction-inspected" or spec.metric.direction != "min":
            problems.append("metric must be {name: fraction-inspected, direction: min} for cleaning")
        if spec.data.noise is None or spec.data.noise.split != "train":
            problems.append("data.noise must make the 'train' split noisy")
        return problems

    def diff(self, spec: ChallengeSpec, frame_a: pd.DataFrame, frame_b: pd.DataFrame) -> dict[str, Any]:
        """Return how the inspection order changed: rows only one ranking holds, rows moved up or
        down, the rank correlation, the overlap of the first rows inspected, the largest moves."""
        from dataperf.diffing import rankings

        return rankings(frame_a, frame_b, rank="rank", key="id")

    def local_meaning(self, spec: ChallengeSpec) -> str:
        """Return what a cleaning score is, and on which split accuracy is measured."""
        return (
            "fraction of the training rows inspected before accuracy on the public "
            f"{dev_split_of(spec)!r} split reaches "
            f"{options_of(spec).target} of the all-fixed accuracy"
        )

    def rules(self, spec: ChallengeSpec) -> list[Section]:
        """Return the submission, what is refused and the scoring, checkpoint by checkpoint."""
        opts = options_of(spec)
        return [
            Section.of(
                "Submission",
                "One row per training row: rank (int, 1 = inspected first) and id (int, a row id of the "
                "'train' split, whose public labels are noisy).",
            ),
            Section.of(
                "Refused submissions (every violation is reported at once, nothing is scored)",
                "An id outside the 'train' split; an id or a rank twice; a rank outside 1..n (n = the training "
                "rows); a ranking that does not list every training row exactly once.",
            ),
            Section.of(
                "Scoring",
                "Per seed s: the training rows in rank order r_1, ..., r_n. Inspecting a row replaces its public "
                "label by its ground truth. acc(labels) is the accuracy on the 'test' split (the leaderboard's "
                "split) of the fixed model fitted with seed s on every training row with those labels. "
                + local_split_rule(spec),
                "= bar = target * acc(ground truth of every row),   target = " + repr(opts.target),
                f"Checkpoints: k = 0, stride, 2 stride, ... below n, then n (stride = {opts.stride}). At each "
                "checkpoint k (in increasing order) the rows r_1..r_k carry their ground truth and every other row "
                "its public label; the first checkpoint with acc >= bar (greater or equal) ends the count:",
                "= score(s) = k / n    (1.0 if no checkpoint reaches the bar)",
                "A checkpoint whose rows since the previous checkpoint were all correctly labelled already has "
                "the same training labels as that checkpoint and takes its accuracy (the same fit). Lower is "
                "better; the challenge has one task.",
            ),
            Section.of(
                "Interval (replaces the interval over seeds)",
                f"ci95 is a bootstrap over the 'test' rows: {BOOTSTRAP_DRAWS} resamples with replacement (fixed "
                f"seed {BOOTSTRAP_SEED}, the same rows for every seed). Each resample recomputes, from the per-row "
                "correctness of the fits the scoring made, the bar and the accuracy of every checkpoint (all of "
                "them are evaluated, also those after the score's: a resample's first checkpoint reaching its bar "
                "can lie later), and reads the score as above (mean over seeds; 1.0 for a seed whose resampled "
                "accuracy never reaches its resampled bar).",
                "= ci95 = [2.5th, 97.5th percentile of the resampled scores], widened to hold the score if needed",
                "It says how much the score moves with the test rows, for this ranking and these fits.",
            ),
        ]

    def board(self, spec: ChallengeSpec, ratchet: bool) -> BoardLayout:
        """Return the default board, its interval described as the test-row bootstrap it is."""
        layout = super().board(spec, ratchet)
        cols = tuple(
            replace(c, doc="95% bootstrap interval over the test rows (evaluated checkpoints)")
            if c.key == "ci95"
            else c
            for c in layout.columns
        )
        return replace(layout, columns=cols)

    def shrink(self, spec: ChallengeSpec, rows: int, budget: int) -> ChallengeSpec:
        """Return the tiny spec: a ranking lists every training row, so the budget is the rows."""
        return super().shrink(spec, rows, rows)

    def check(self, spec: ChallengeSpec, data: PreparedData, sub: ParsedSubmission) -> list[Violation]:
        """Return violations: ids outside the training split, repeats, bad or missing ranks."""
        train = data.split("train")
        out = checks.ids_in_split(sub, train, "training split") + checks.duplicates(sub, ["id"])
        ranks = sub.table["rank"].to_numpy(dtype=np.int64)
        n = len(train.ids)
        for i in np.flatnonzero((ranks < 1) | (ranks > n)):
            out.append(Violation(sub.path.name, int(sub.rows[i]), "rank", f"rank {int(ranks[i])} is outside 1..{n}"))
        out += checks.duplicates(sub, ["rank"])
        if len(sub.table) != n:
            out.append(
                Violation(
                    sub.path.name,
                    None,
                    "id",
                    f"the ranking must list every one of the {n} training rows once; it has {len(sub.table)} rows",
                )
            )
        return out

    def score(
        self, spec: ChallengeSpec, data: PreparedData, sub: ParsedSubmission, counters: Counters
    ) -> dict[str, dict[int, float]]:
        """Return the fraction inspected per seed (one task)."""
        return self.score_in_full(spec, data, sub, counters)[0]

    def score_in_full(
        self, spec: ChallengeSpec, data: PreparedData, sub: ParsedSubmission, counters: Counters
    ) -> tuple[dict[str, dict[int, float]], dict[str, Any]]:
        """Return the fraction inspected per seed and, as ``charts``, the accuracy curve of each
        seed against the fraction inspected with its bar, up to the checkpoint the score is read at
        (the later checkpoints feed the interval only)."""
        model = build_model(spec.model.name, dict(spec.model.params))
        train, test = data.split("train"), data.scoring_split()
        x, x_test = np.asarray(train.x), np.asarray(test.x)
        counters.rows_read += len(x) + len(x_test)
        ranked = sub.table.sort_values("rank", kind="stable")
        order = train.positions(ranked["id"].to_numpy(dtype=np.int64))
        stride, target = options_of(spec).stride, options_of(spec).target
        task = spec.tasks[0].name
        scores: dict[int, float] = {}
        curves: dict[int, list[tuple[float, float]]] = {}
        hits: dict[int, list[np.ndarray]] = {}
        for seed in spec.seeds:
            curves[seed], hits[seed] = [], []
            scores[seed] = fraction_inspected(
                model,
                x,
                train.public_labels,
                train.labels,
                order,
                x_test,
                test.labels,
                seed=seed,
                stride=stride,
                target=target,
                counters=counters,
                curve=curves[seed],
                hits=hits[seed],
            )
        fractions = {seed: [p[0] for p in curve[:-1]] for seed, curve in curves.items()}
        lo, hi = bootstrap_interval(hits, fractions, len(x_test), target)
        mean = float(np.mean([scores[seed] for seed in spec.seeds]))
        ci = [min(lo, mean), max(hi, mean)]
        return {task: scores}, {
            "charts": [_curve_chart({s: _to_score(c) for s, c in curves.items()}, target)],
            "ci95": ci,
        }


def _to_score(curve: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Return ``curve`` (every checkpoint, then ``(nan, bar)``) cut after the checkpoint the
    score is read at (the first that reaches the bar): what the chart shows."""
    points, last = curve[:-1], curve[-1]
    first = next((i for i, (_, acc) in enumerate(points) if acc >= last[1]), len(points) - 1)
    return [*points[: first + 1], last]


CURVE_POINTS = 200
"""Most points of a seed's curve kept in a result (evenly spaced, the first and last kept)."""


def _curve_chart(curves: dict[int, list[tuple[float, float]]], target: float) -> dict[str, Any]:
    """Return the chart of the accuracy curves: one series and one bar per seed."""
    series, bars = [], []
    for seed, points in curves.items():
        measured, bar = points[:-1], points[-1][1]
        if len(measured) > CURVE_POINTS:
            keep = np.unique(np.linspace(0, len(measured) - 1, CURVE_POINTS).round().astype(int))
            measured = [measured[i] for i in keep]
        series.append({"name": f"seed {seed}", "x": [p[0] for p in measured], "y": [p[1] for p in measured]})
        bars.append({"name": f"bar, seed {seed}: {target:g} × the all-fixed accuracy", "y": bar})
    return {
        "id": "accuracy-curve",
        "title": "Test accuracy against the fraction of training rows inspected",
        "x": "fraction inspected",
        "y": "accuracy",
        "series": series,
        "bars": bars,
        "compare": True,
    }


KINDS.add(Cleaning.name, Cleaning())
