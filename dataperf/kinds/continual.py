"""``continual``: choose the data for each stage of a model updated domain after domain.

A challenge names its stages in order (``options.stages``); each stage ``s`` is a domain with
its own candidate pool (the prepared split ``pool-<s>``) and test split (``test-<s>``).

Submission: one row per (stage, id): the rows the model trains on at that stage, with the
pools' public labels (a submission names rows, never labels). Rules, every violation reported
at once: every stage is named in the order's list and has rows; a stage's rows come from its
own pool (at least ``options.min_new`` and at most the challenge's ``budget`` of them) or from
the pools of earlier stages (at most ``options.replay``: replay), never from a later stage's
pool; no (stage, id) twice. A stage must take ``min_new`` new rows, so a submission that only
replays old data is refused; one that takes few or poor new rows pays in ACC and shows it in
intransigence.

Scoring, per seed of ``seeds``: the fixed model (``torch-mlp``: its hidden units, epochs,
learning rate and batch size are the model's params) starts from its seeded initial weights
and is trained on stage 1's rows, then from those weights on stage 2's, and so on, each stage
with the same schedule (rows in id order, batch order seeded by ``[seed, 1, stage index]``).
After each stage ``i`` it is scored on every stage's test split: ``R[i, j]`` is the accuracy
on stage ``j``'s test split. The score is ACC = mean_j R[T, j] (higher is better), one task.

Beside it the result carries the full R matrix (mean over seeds and per seed) and, each with
its mean and 95% Student-t interval over seeds (:mod:`dataperf.forgetting`):

- BWT = mean_{j<T} (R[T, j] - R[j, j]) (negative: forgetting);
- FWT = mean_{j>=2} (R[j-1, j] - b[j]), with ``b[j]`` the accuracy on stage ``j`` of the
  untrained initial model of the same seed;
- forgetting = mean_{j<T} (max_{l<T} R[l, j] - R[T, j]);
- intransigence = mean_k (R*[k] - R[k, k]) over k = 1..T, with ``R*[k]`` the accuracy on
  stage ``k`` of the model trained from the same initial weights, with the same schedule
  (batch order ``[seed, 2, k]``), on the union over stages 1..k of ``budget`` rows of each
  stage's pool drawn at random (seeded by the data recipe's seed), with their public labels.
"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import Field, model_validator

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
    Section,
    Share,
)
from dataperf.data.prepared import PreparedData
from dataperf.errors import SpecError, Violation
from dataperf.forgetting import MEASURES, measures
from dataperf.kinds import KINDS
from dataperf.models import Network, TorchMLP, build_model

if TYPE_CHECKING:
    import pandas as pd

TINY_EPOCHS = 5
"""Most epochs a stage of a tiny spec (:meth:`Continual.shrink`) trains for."""
MEASURE_LABELS = {
    "acc": "ACC",
    "bwt": "BWT",
    "fwt": "FWT",
    "forgetting": "Forgetting",
    "intransigence": "Intransigence",
}


class ContinualOptions(KindOptions):
    """The rules of a continual challenge (the new-row budget per stage is the challenge's
    ``budget``; the optimisation schedule is the fixed model's params)."""

    stages: list[str] = Field(min_length=2)
    """The stage names, in training order; stage ``s`` reads splits ``pool-<s>`` and ``test-<s>``."""
    replay: int = Field(default=0, ge=0)
    """Most rows a stage may take from earlier stages' pools."""
    min_new: int = Field(default=1, ge=1)
    """Fewest rows a stage must take from its own pool."""

    @model_validator(mode="after")
    def _check(self) -> ContinualOptions:
        bad = [s for s in self.stages if not s or not all(c.isalnum() or c in "-_" for c in s)]
        if bad:
            raise ValueError(f"stage names must be letters, digits, '-' or '_', got {bad}")
        if len(set(self.stages)) != len(self.stages):
            raise ValueError(f"stage names must be unique, got {self.stages}")
        return self


class ContinualSpec(ChallengeSpec):
    """A ``continual`` challenge."""

    kind: Literal["continual"]
    options: ContinualOptions


def options_of(spec: ChallengeSpec) -> ContinualOptions:
    """Return the continual options of ``spec``."""
    return ContinualOptions.of(spec)


def pool_split(stage: str) -> str:
    """Return the name of ``stage``'s pool split."""
    return f"pool-{stage}"


def heldout_split(stage: str) -> str:
    """Return the name of ``stage``'s test split."""
    return f"test-{stage}"


def owners(spec: ChallengeSpec, data: PreparedData, ids: np.ndarray) -> np.ndarray:
    """Return, for each id, the index of the stage whose pool holds it (-1: none)."""
    out = np.full(len(ids), -1, dtype=np.int64)
    for k, stage in enumerate(options_of(spec).stages):
        out[(out < 0) & data.split(pool_split(stage)).contains(ids)] = k
    return out


def _model(spec: ChallengeSpec) -> TorchMLP:
    model = build_model(spec.model.name, dict(spec.model.params))
    if not isinstance(model, TorchMLP):
        raise SpecError(f"{spec.id}: model must be 'torch-mlp' (a model trained on from given weights)")
    return model


def _interval(values: list[float]) -> list[float] | None:
    from dataperf.evaluator import confidence_interval

    ci = confidence_interval(values)
    return None if ci is None else [ci[0], ci[1]]


class Continual(ChallengeKind):
    """Participants name, for every stage, the rows the model is updated on."""

    name = "continual"
    spec_model = ContinualSpec
    columns = (
        Column("stage", "str", "stage name"),
        Column("id", "int", "row id from this stage's pool or an earlier stage's pool (replay)"),
    )
    splits = ()

    def rules(self, spec: ChallengeSpec) -> list[Section]:
        """Return the submission, what is refused, and the scoring with every measure's formula."""
        doc = (__doc__ or "").split("\n\n")
        stages = options_of(spec).stages
        return [
            Section.from_doc("Stages", doc[1] + "\n\nThe stages, in training order: " + ", ".join(stages) + "."),
            Section.from_doc("Submission and refused submissions", doc[2]),
            Section.from_doc("Scoring", doc[3]),
            Section.from_doc("Measures reported beside the score", "\n\n".join(doc[4:])),
        ]

    def check_spec(self, spec: ChallengeSpec) -> list[str]:
        """Return spec problems: a pool and test split per stage, one task, accuracy to
        maximise, a torch-mlp model, budgets that fit."""
        opts = options_of(spec)
        problems = [
            f"data.splits lacks '{name}'"
            for s in opts.stages
            for name in (pool_split(s), heldout_split(s))
            if name not in spec.data.split_names()
        ]
        if len(spec.tasks) != 1:
            problems.append(f"a continual challenge has one task (its score is ACC), got {len(spec.tasks)}")
        if spec.metric.name != "accuracy" or spec.metric.direction != "max":
            problems.append("metric must be {name: accuracy, direction: max} for continual")
        try:
            _model(spec)
        except SpecError as e:
            problems.append(str(e))
        if opts.min_new > spec.budget:
            problems.append(f"options.min_new ({opts.min_new}) exceeds the budget ({spec.budget})")
        return problems

    def board(self, spec: ChallengeSpec, ratchet: bool) -> BoardLayout:
        """Return the board layout: ACC with its interval, then BWT, FWT, forgetting, intransigence."""
        cols = (
            BoardColumn("score", "ACC", "num", "mean accuracy over every stage's test split after the last stage"),
            BoardColumn("ci95", "95% CI", "ci", "95% Student-t interval of ACC over the fixed model's seeds"),
            BoardColumn("bwt", "BWT", "num", "backward transfer: mean change on earlier stages (negative: forgetting)"),
            BoardColumn("fwt", "FWT", "num", "forward transfer: accuracy on the next stage before training on it"),
            BoardColumn("forgetting", "Forgetting", "num", "mean drop from each earlier stage's best accuracy"),
            BoardColumn(
                "intransigence", "Intransigence", "num", "mean lag behind a model trained jointly up to each stage"
            ),
        )
        return BoardLayout("Continual leaderboard", cols, "ACC after the last stage, mean over seeds")

    def share(self, spec: ChallengeSpec) -> dict[str, Share]:
        """Return the public bundle's splits: every stage's pool with its public labels and its
        test split as a labelled dev split."""
        stages = options_of(spec).stages
        out = super().share(spec)
        out.update({heldout_split(s): Share.LABELLED for s in stages if heldout_split(s) in out})
        return out

    def diff(self, spec: ChallengeSpec, frame_a: pd.DataFrame, frame_b: pd.DataFrame) -> dict[str, Any]:
        """Return how the data of each stage changed: rows added and removed per stage (a row
        kept from an earlier stage's pool counts in the stage that replays it)."""
        from dataperf.diffing import rows_and_labels

        return rows_and_labels(frame_a, frame_b, group="stage", key="id", label=None, group_title="stage")

    def local_meaning(self, spec: ChallengeSpec) -> str:
        """Return what a continual score is: ACC over every stage's test split."""
        return (
            "ACC: mean over stages of the accuracy on each stage's 'test-<stage>' split of the model "
            "after it was trained on every stage in turn"
        )

    def shrink(self, spec: ChallengeSpec, rows: int, budget: int) -> ChallengeSpec:
        """Return the tiny spec; replay and the new-row minimum shrink with the budget, and the
        schedule to at most :data:`TINY_EPOCHS` epochs a stage."""
        small = super().shrink(spec, rows, budget)
        opts = options_of(spec)
        fit = opts.model_copy(
            update={"replay": min(opts.replay, small.budget), "min_new": min(opts.min_new, max(1, small.budget // 4))}
        )
        params = dict(spec.model.params)
        if isinstance(params.get("epochs"), int):
            params["epochs"] = min(int(params["epochs"]), TINY_EPOCHS)
        model = spec.model.model_copy(update={"params": params})
        return small.model_copy(update={"options": fit, "model": model})

    def check(self, spec: ChallengeSpec, data: PreparedData, sub: ParsedSubmission) -> list[Violation]:
        """Return violations: unknown stages, ids in no pool or in a later stage's pool,
        duplicates within a stage, stages without rows, new-row and replay budgets."""
        stages = options_of(spec).stages
        table = sub.table
        names = table["stage"].to_numpy(dtype=object)
        ids = table["id"].to_numpy(dtype=np.int64)
        index = {s: k for k, s in enumerate(stages)}
        stage_of = np.array([index.get(str(n), -1) for n in names], dtype=np.int64)
        owner = owners(spec, data, ids)
        out: list[Violation] = []
        for i in range(len(table)):
            row = int(sub.rows[i])
            if stage_of[i] < 0:
                close = difflib.get_close_matches(str(names[i]), stages, n=1)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                out.append(
                    Violation(
                        sub.path.name, row, "stage", f"unknown stage {names[i]!r} (stages: {', '.join(stages)}){hint}"
                    )
                )
            if owner[i] < 0:
                out.append(Violation(sub.path.name, row, "id", f"id {int(ids[i])} is in no stage's pool"))
            elif stage_of[i] >= 0 and owner[i] > stage_of[i]:
                out.append(
                    Violation(
                        sub.path.name,
                        row,
                        "id",
                        f"id {int(ids[i])} is from the pool of stage '{stages[owner[i]]}', which comes after "
                        f"stage '{stages[stage_of[i]]}'",
                    )
                )
        out += checks.duplicates(sub, ["stage", "id"])
        return out + self._budgets(spec, sub, stage_of, owner)

    def _budgets(
        self, spec: ChallengeSpec, sub: ParsedSubmission, stage_of: np.ndarray, owner: np.ndarray
    ) -> list[Violation]:
        opts = options_of(spec)
        out = []
        for k, stage in enumerate(opts.stages):
            mine = stage_of == k
            new = int((mine & (owner == k)).sum())
            old = int((mine & (owner >= 0) & (owner < k)).sum())
            where = (sub.path.name, None, "stage")
            if not mine.any():
                out.append(Violation(*where, f"stage '{stage}' has no rows (every stage needs its own pool's rows)"))
                continue
            if new > spec.budget:
                out.append(
                    Violation(*where, f"stage '{stage}' has {new} rows of its own pool; the budget is {spec.budget}")
                )
            if new < opts.min_new:
                out.append(
                    Violation(
                        *where, f"stage '{stage}' has {new} rows of its own pool; it needs at least {opts.min_new}"
                    )
                )
            if old > opts.replay:
                out.append(
                    Violation(
                        *where,
                        f"stage '{stage}' replays {old} rows of earlier stages' pools; "
                        f"at most {opts.replay} are allowed",
                    )
                )
        return out

    def score(
        self, spec: ChallengeSpec, data: PreparedData, sub: ParsedSubmission, counters: Counters
    ) -> dict[str, dict[int, float]]:
        """Return ACC per seed (one task)."""
        return self.score_in_full(spec, data, sub, counters)[0]

    def score_in_full(
        self, spec: ChallengeSpec, data: PreparedData, sub: ParsedSubmission, counters: Counters
    ) -> tuple[dict[str, dict[int, float]], dict[str, Any]]:
        """Return ACC per seed and the extras: the R matrix, BWT, FWT, forgetting and
        intransigence (mean, 95% interval and per seed), and the tables ``evaluate`` prints."""
        stages = options_of(spec).stages
        train = stage_rows(spec, data, sub.table)
        joint = reference_rows(spec, data)
        tests = [data.split(heldout_split(s)) for s in stages]
        x_tests = [np.asarray(t.x, dtype=np.float64) for t in tests]
        counters.rows_read += sum(len(x) for x, _ in train) + sum(len(x) for x in x_tests)
        run = StageRun(_model(spec), len(spec.classes), x_tests, [t.labels for t in tests], counters)
        per_seed = {seed: run.measure(train, joint, seed) for seed in spec.seeds}
        task = spec.tasks[0].name
        scores = {task: {seed: m["acc"] for seed, (m, _, _) in per_seed.items()}}
        return scores, _extras(stages, per_seed)


def stage_rows(spec: ChallengeSpec, data: PreparedData, table: Any) -> list[tuple[np.ndarray, np.ndarray]]:
    """Return each stage's training rows (x, public labels), in id order, from a valid table."""
    out = []
    for stage in options_of(spec).stages:
        ids = np.sort(table.loc[table["stage"] == stage, "id"].to_numpy(dtype=np.int64))
        out.append(_rows(spec, data, ids))
    return out


def _rows(spec: ChallengeSpec, data: PreparedData, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    owner = owners(spec, data, ids)
    x = np.empty((len(ids), data.dim), dtype=np.float64)
    y = np.empty(len(ids), dtype=np.int64)
    for k, stage in enumerate(options_of(spec).stages):
        mask = owner == k
        if mask.any():
            pool = data.split(pool_split(stage))
            x[mask] = pool.rows(ids[mask])
            y[mask] = pool.public_labels[pool.positions(ids[mask])]
    return x, y


def reference_rows(spec: ChallengeSpec, data: PreparedData) -> list[tuple[np.ndarray, np.ndarray]]:
    """Return, per stage k, the joint reference's training rows: the union over stages 1..k
    of ``budget`` random rows of each stage's pool (seeded by the recipe), in id order."""
    drawn: list[np.ndarray] = []
    out = []
    for k, stage in enumerate(options_of(spec).stages):
        pool = data.split(pool_split(stage))
        rng = np.random.default_rng([spec.data.seed, 4, k])
        drawn.append(pool.ids[rng.choice(len(pool.ids), size=min(spec.budget, len(pool.ids)), replace=False)])
        out.append(_rows(spec, data, np.sort(np.concatenate(drawn))))
    return out


class StageRun:
    """Trains the fixed model stage by stage and measures it, for one challenge's test splits."""

    def __init__(
        self, model: TorchMLP, n_classes: int, x_tests: list[np.ndarray], y_tests: list[np.ndarray], counters: Counters
    ) -> None:
        self.model, self.classes = model, np.arange(n_classes)
        self.x_tests, self.y_tests, self.counters = x_tests, y_tests, counters

    def accuracy(self, net: Network, j: int) -> float:
        """Return ``net``'s accuracy on stage ``j``'s test split."""
        self.counters.predictions += 1
        return float((net.predict(self.x_tests[j]) == self.y_tests[j]).mean())

    def matrix(self, start: Network, train: list[tuple[np.ndarray, np.ndarray]], seed: int) -> np.ndarray:
        """Return R: row i holds the accuracies on every test split after training stage i."""
        t = len(self.x_tests)
        r = np.empty((t, t))
        net = start
        for i, (x, y) in enumerate(train):
            net = self.model.train(net, x, y, [seed, 1, i])
            self.counters.fits += 1
            r[i] = [self.accuracy(net, j) for j in range(t)]
        return r

    def measure(
        self, train: list[tuple[np.ndarray, np.ndarray]], joint: list[tuple[np.ndarray, np.ndarray]], seed: int
    ) -> tuple[dict[str, float], np.ndarray, dict[str, np.ndarray]]:
        """Return (measures, R, references) for one seed."""
        t = len(self.x_tests)
        start = self.model.init(self.x_tests[0].shape[1], self.classes, seed)
        r = self.matrix(start, train, seed)
        initial = np.array([self.accuracy(start, j) for j in range(t)])
        best = []
        for k, (x, y) in enumerate(joint):
            net = self.model.train(start, x, y, [seed, 2, k])
            self.counters.fits += 1
            best.append(self.accuracy(net, k))
        refs = {"initial": initial, "joint": np.array(best)}
        return measures(r, initial, refs["joint"]), r, refs


def _extras(
    stages: list[str], per_seed: dict[int, tuple[dict[str, float], np.ndarray, dict[str, np.ndarray]]]
) -> dict[str, Any]:
    seeds = list(per_seed)
    r_mean = np.mean([per_seed[s][1] for s in seeds], axis=0)
    extra: dict[str, Any] = {"stages": list(stages)}
    summary = []
    for name in MEASURES:
        values = [per_seed[s][0][name] for s in seeds]
        mean, ci = float(np.mean(values)), _interval(values)
        if name != "acc":  # ACC is the score: the result's mean and ci95
            extra[name], extra[f"{name}_ci95"] = mean, ci
        summary.append([MEASURE_LABELS[name], mean, "" if ci is None else f"[{ci[0]:.4f}, {ci[1]:.4f}]"])
    extra["per_seed"] = {
        str(s): {name: per_seed[s][0][name] for name in MEASURES}
        | {"R": per_seed[s][1].tolist()}
        | {ref: v.tolist() for ref, v in per_seed[s][2].items()}
        for s in seeds
    }
    extra["R"] = r_mean.tolist()
    extra["references"] = {
        "initial": "FWT's b[j]: the untrained initial model of the same seed",
        "joint": "intransigence's R*[k]: trained from the same start on budget random rows of each stage 1..k",
    }
    extra["tables"] = [
        {
            "title": "R[i, j]: accuracy on stage j's test split after training stage i (mean over seeds)",
            "chart": "matrix",
            "columns": ["after stage", *stages],
            "rows": [[stage, *row] for stage, row in zip(stages, r_mean.tolist(), strict=True)],
        },
        {"title": "measures over seeds", "columns": ["measure", "mean", "95% CI"], "rows": summary},
    ]
    return extra


KINDS.add(Continual.name, Continual())
