"""A ratchet problem: a training-set challenge, its test-set dual, their data and fixed model.

The problem is named after its training-set challenge. Training sets are (task, id, label) rows
of that challenge's pool; test sets are (task, id) rows of its evaluation pool (the ``test``
split) labelled by the ground truth; the organizer's hidden test set S0 is every row of the
``test-hidden`` split for every task. The dual names its pair in ``pair`` and takes the data
recipe, tasks and model from it, so ids and embeddings are the same in both challenges' prepared data; the ratchet reads
rows from the training-set challenge's prepared data only.

A cell ``A[t, s]`` is the metric per task and seed of the fixed model trained on t's rows of a
task and scored on s's rows of the same task; its value is the mean over tasks of the mean over
seeds (:func:`dataperf.evaluator.summarize`, the evaluator's own rule), so the cell of a
training set against the whole ``test`` split equals ``dataperf evaluate``'s mean. Beside it, a
cell holds the same models' *hardness* on s: the test-set challenge's own metric (its
``metric``, e.g. ``balanced-error``), from the same predictions, mean over tasks and seeds the
same way; a test set's difficulty is the mean hardness over the top-k training sets.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from dataperf.challenges import challenges, get_challenge, spec_sha256
from dataperf.contract import ChallengeSpec, Role
from dataperf.data.prepared import PreparedData
from dataperf.errors import EvaluationError, SpecError
from dataperf.evaluator import load_data, overall_mean, package_versions, task_means
from dataperf.hits import pack_hits
from dataperf.kinds import kind_of
from dataperf.kinds.test_set import EVAL_SPLIT, HIDDEN_SPLIT, options_of, task_truth
from dataperf.metrics import METRICS
from dataperf.models import Fitted, build_model
from dataperf.version import EVALUATOR_VERSION
from leaderboard.arithmetic.blas import single_threaded_blas
from leaderboard.arithmetic.types import CellValue, Hits, RatchetCounters, Rows, Scores


def problem_id_for(spec: ChallengeSpec) -> str | None:
    """Return the ratchet problem ``spec`` belongs to (the id of the challenge whose kind
    trains), or None when the challenge is not part of a ratchet (no challenge tests it)."""
    role = kind_of(spec).role
    if role is Role.TESTS:
        return spec.pair
    if role is Role.TRAINS and any(challenges().get(n).pair == spec.id for n in challenges()):
        return spec.id
    return None


def problem_key(challenge: str, version: int) -> str:
    """Return the storage key of the ratchet problem of training-set challenge ``challenge`` at
    ``version``: sets, cells, fitted models, the suite and the history of one version are kept
    under it, apart from every other version's (a version bump starts a ratchet of its own)."""
    return f"{challenge}@v{version}"


def version_in_key(key: str) -> int | None:
    """Return the training-set challenge version a :func:`problem_key` names (None if none)."""
    _, _, number = key.rpartition("@v")
    return int(number) if number.isdigit() else None


def key_for(spec: ChallengeSpec) -> str | None:
    """Return the storage key of the ratchet problem ``spec`` belongs to now (its training-set
    challenge at that challenge's current version), or None outside a ratchet."""
    pid = problem_id_for(spec)
    return None if pid is None else problem_key(pid, get_challenge(pid).version)


def dual_of(problem: str) -> ChallengeSpec:
    """Return the challenge that tests the training sets of ``problem`` (names it as ``pair``)."""
    for name in challenges():
        spec = challenges().get(name)
        if spec.pair == problem and kind_of(spec).role is Role.TESTS:
            return spec
    raise SpecError(f"no challenge names '{problem}' as its pair")


class Problem:
    """The specs, data and fixed model of one ratchet problem, for one evaluator version."""

    def __init__(
        self, train_spec: ChallengeSpec, test_spec: ChallengeSpec, data: PreparedData, evaluator_version: str
    ) -> None:
        self.challenge = train_spec.id
        """The training-set challenge's id (what set digests are computed with)."""
        self.id = problem_key(train_spec.id, train_spec.version)
        """The storage key: the training-set challenge and its version."""
        self.train_spec = train_spec
        self.test_spec = test_spec
        self.data = data
        self.evaluator_version = evaluator_version
        self.tasks = list(train_spec.tasks)
        self.seeds = list(train_spec.seeds)
        self.model = build_model(train_spec.model.name, dict(train_spec.model.params))
        self.metric_name = train_spec.metric.name
        self.metric = METRICS.get(self.metric_name)
        self.direction = train_spec.metric.direction
        self.measure = METRICS.get(test_spec.metric.name)
        """The test-set challenge's metric: a cell's hardness (how wrong the models are on s)."""
        self.measure_direction = test_spec.metric.direction
        """``max`` when a higher measure means a harder test set (an error), ``min`` otherwise."""
        self.margin = options_of(test_spec).margin
        self.top_k = options_of(test_spec).top_k

    @classmethod
    def load(cls, problem: str, evaluator_version: str | None = None) -> Problem:
        """Return problem ``problem`` with verified prepared data (DataError if not prepared)."""
        spec = get_challenge(problem)
        return cls(spec, dual_of(problem), load_data(spec), evaluator_version or EVALUATOR_VERSION)

    @property
    def task_names(self) -> list[str]:
        """Return the task names in spec order."""
        return [t.name for t in self.tasks]

    def n_classes(self, task_index: int) -> int:
        """Return the size of task ``task_index``'s label domain."""
        return len(self.train_spec.task_labels(self.tasks[task_index]))

    def train_rows(self, table: pd.DataFrame) -> Rows:
        """Return a training set's rows per task (x from the pool, the submitted labels)."""
        pool = self.data.split("pool")
        out: Rows = {}
        for task in self.tasks:
            rows = table[table["task"] == task.name]
            out[task.name] = (pool.rows(rows["id"].to_numpy(np.int64)), rows["label"].to_numpy(np.int64))
        return out

    def test_rows(self, table: pd.DataFrame) -> Rows:
        """Return a test set's rows per task: x and ground truth, from the evaluation pool or
        the hidden split (ids are unique across splits)."""
        splits = [self.data.split(EVAL_SPLIT), self.data.split(HIDDEN_SPLIT)]
        dim = self.data.dim
        out: Rows = {}
        for task in self.tasks:
            ids = table.loc[table["task"] == task.name, "id"].to_numpy(np.int64)
            x = np.empty((len(ids), dim), dtype=np.float32)
            labels = np.full(len(ids), -1, dtype=np.int64)
            for split in splits:
                mask = split.contains(ids)
                if mask.any():
                    x[mask] = split.rows(ids[mask])
                    labels[mask] = split.labels[split.positions(ids[mask])]
            if (labels < 0).any():
                raise EvaluationError(
                    f"{self.id}: test-set ids {ids[labels < 0][:5].tolist()} are in no evaluation split"
                )
            out[task.name] = (x, task_truth(task, labels))
        return out

    def hidden_table(self) -> pd.DataFrame:
        """Return S0, the organizer's hidden test set: every ``test-hidden`` row for every task."""
        ids = self.data.split(HIDDEN_SPLIT).ids
        return pd.DataFrame({"task": np.repeat(self.task_names, len(ids)), "id": np.tile(ids, len(self.tasks))})

    def fit(self, rows: Rows, counters: RatchetCounters) -> dict[tuple[str, int], Fitted]:
        """Return the fixed model fitted on each task's rows, for each seed."""
        out = {}
        with single_threaded_blas():
            for task in self.tasks:
                x, y = rows[task.name]
                for seed in self.seeds:
                    out[(task.name, seed)] = self.model.fit(x, y, seed)
                    counters.fits += 1
        return out

    def score_one(self, models: dict[tuple[str, int], Fitted], rows: Rows, counters: RatchetCounters) -> Scores:
        """Return the metric per task and seed of one training set's models on one test set."""
        return self.score_cell(models, rows, counters)[0]

    def score_cell(self, models: dict[tuple[str, int], Fitted], rows: Rows, counters: RatchetCounters) -> CellValue:
        """Return a cell: the metric and the hardness measure per task and seed of one training
        set's models on one test set (one prediction per task and seed serves both)."""
        out: Scores = {}
        hard: Scores = {}
        hits: Hits = {}
        with single_threaded_blas():
            for i, task in enumerate(self.tasks):
                x, truth = rows[task.name]
                x64 = x.astype(np.float64)
                out[task.name], hard[task.name] = {}, {}
                right = np.zeros((len(self.seeds), len(truth)), dtype=bool)
                for j, seed in enumerate(self.seeds):
                    predicted = models[(task.name, seed)].predict(x64)
                    out[task.name][seed] = self.metric(truth, predicted, self.n_classes(i))
                    hard[task.name][seed] = self.measure(truth, predicted, self.n_classes(i))
                    right[j] = predicted == truth
                    counters.predictions += 1
                hits[task.name] = pack_hits(right)
        return out, hard, hits

    def hardness(self, measure_mean: float) -> float:
        """Return how hard a cell's mean measure makes its test set (higher: harder)."""
        return measure_mean if self.measure_direction == "max" else 1.0 - measure_mean

    def cell_mean(self, scores: Scores) -> float:
        """Return a cell's value: the mean over tasks of the mean over seeds."""
        return overall_mean(task_means(scores, self.seeds))

    def provenance(self, path: str, wall_s: float) -> dict[str, Any]:
        """Return the provenance recorded with a cell computed by ``path`` (fit or batched)."""
        return {
            "challenge": self.challenge,
            "challenge_version": self.train_spec.version,
            "spec_sha256": spec_sha256(self.train_spec),
            "data_sha256": self.data.sha256,
            "evaluator_version": self.evaluator_version,
            "packages": _packages(),
            "seeds": self.seeds,
            "path": path,
            "wall_time_s": round(wall_s, 6),
        }


@lru_cache(maxsize=1)
def _packages() -> dict[str, str]:
    return package_versions()


def scores_to_json(scores: Scores) -> dict[str, dict[str, float]]:
    """Return scores with string seed keys (JSON objects)."""
    return {t: {str(s): v for s, v in per.items()} for t, per in scores.items()}
