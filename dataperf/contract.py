"""The dataperf contract: what a challenge, a submission, a result and a runner are.

A challenge spec (``challenges/<id>.yaml``) loads into :class:`ChallengeSpec`, a tree of
frozen models that reject unknown keys and wrong types when built, never at scoring time.
A challenge *kind* (:class:`ChallengeKind`) says what a submission of that kind looks like,
which invariants it must meet and how it is scored. A :class:`Result` is what every
evaluation returns, wherever it ran; a :class:`Runner` is where it runs.
"""

from __future__ import annotations

import json
import math
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from dataperf.data.prepared import PreparedData
    from dataperf.errors import Violation


class _Strict(BaseModel):
    """Base of every spec model: frozen, unknown keys are errors, no silent coercion."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class EmbeddingSpec(_Strict):
    """The fixed, seeded recipe that turns raw inputs into embedding vectors."""

    method: Literal["pca", "random-projection", "mfcc-stats", "identity", "minilm"]
    """How embeddings are computed from the raw source (``minilm``: the all-MiniLM-L6-v2
    sentence vectors of a text source, dim 384)."""
    dim: int = Field(gt=0, le=4096)
    """Length of every embedding vector (float32)."""
    fit_rows: int = Field(default=10000, gt=0)
    """How many rows of the source's first split the projection is fitted on."""
    seed: int = 0
    """Seed of the projection (random directions, randomized SVD)."""


class SplitSpec(_Strict):
    """One named split of the prepared data, drawn from one split of the source."""

    source_split: Literal["train", "test", "all"]
    """The split of the raw source the rows are drawn from."""
    size: int = Field(gt=0)
    """Number of rows drawn (without replacement, disjoint from every other split)."""


class NoiseSpec(_Strict):
    """Label noise applied to the public labels of one split (the ground truth is kept)."""

    split: str
    """Which split's public labels are noisy."""
    method: Literal["machine", "flip"]
    """``machine``: labels sampled from a weak seeded classifier; ``flip``: random and
    confusable flips."""
    rate: float = Field(ge=0.0, le=1.0)
    """For ``flip``: fraction of rows whose label is wrong. For ``machine``: fraction of the
    split the weak classifier is trained on."""
    temperature: float = Field(default=1.0, gt=0.0)
    """For ``machine``: softmax temperature over the weak classifier's negative squared
    centroid distances; each public label is drawn from that distribution (higher: noisier)."""
    confusable: float = Field(default=0.0, ge=0.0, le=1.0)
    """For ``flip``: share of the flips that go to a confusable class instead of a random one."""


class DataRecipe(_Strict):
    """How the challenge's prepared files are built from real, offline data."""

    source: str
    """A registered data source (``dataperf sources`` lists them)."""
    embedding: EmbeddingSpec
    splits: dict[str, SplitSpec]
    """Named splits; every kind states which names it needs."""
    noise: NoiseSpec | None = None
    targets: list[int] | None = None
    """If set, source classes outside this list collapse into one extra 'other' class."""
    seed: int = 0
    """Seed of the row draws and of the noise."""


class TaskSpec(_Strict):
    """One task of a challenge; each task is scored separately and the scores are averaged."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    budget: int | None = Field(default=None, gt=0)
    """Most rows a submission may hold for this task (None: the challenge budget)."""
    positive: int | None = None
    """For one-vs-rest tasks, the class that is positive; None means all classes."""
    examples: int = Field(default=0, ge=0)
    """How many known positive pool rows are published for this task."""


class ModelSpec(_Strict):
    """The fixed model every submission is scored with."""

    name: str
    params: dict[str, int | float | str | bool] = Field(default_factory=dict)


class MetricSpec(_Strict):
    """The metric and whether higher or lower is better."""

    name: str
    direction: Literal["max", "min"]


class ResourceSpec(_Strict):
    """Limits for one evaluation, enforced by sandboxed runners."""

    cpus: float = Field(default=1.0, gt=0)
    memory: str = Field(default="2g", pattern=r"^[0-9]+[kmg]$")
    timeout: int = Field(default=600, gt=0)
    """Wall-time limit in seconds."""
    pids: int = Field(default=256, gt=0)
    gpu: bool = False


class ChallengeSpec(_Strict):
    """A whole challenge: data, tasks, fixed model, metric, seeds, budget, limits."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    version: int = Field(gt=0)
    """Bumped whenever anything that can change a score changes."""
    kind: str
    title: str
    description: str
    licence: str
    data: DataRecipe
    classes: list[str] = Field(min_length=2)
    """Class names, indexed by label."""
    tasks: list[TaskSpec] = Field(min_length=1)
    model: ModelSpec
    metric: MetricSpec
    seeds: list[int] = Field(min_length=1)
    budget: int = Field(gt=0)
    resources: ResourceSpec = Field(default_factory=ResourceSpec)
    options: dict[str, int | float | str | bool] = Field(default_factory=dict)
    """Kind-specific knobs (the cleaning retrain stride, the test-set balance rule, ...);
    each kind validates its own."""

    @model_validator(mode="after")
    def _check(self) -> ChallengeSpec:
        names = [t.name for t in self.tasks]
        if len(set(names)) != len(names):
            raise ValueError(f"task names must be unique, got {names}")
        if len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"seeds must be unique, got {self.seeds}")
        for t in self.tasks:
            if t.positive is not None and not 0 <= t.positive < len(self.classes):
                raise ValueError(f"task '{t.name}': positive class {t.positive} is not a class index")
        return self

    def task(self, name: str) -> TaskSpec:
        """Return the task called ``name``; raise KeyError if there is none."""
        for t in self.tasks:
            if t.name == name:
                return t
        raise KeyError(name)

    def task_budget(self, task: TaskSpec) -> int:
        """Return the row budget of ``task`` (its own, else the challenge's)."""
        return task.budget if task.budget is not None else self.budget

    def task_labels(self, task: TaskSpec) -> list[int]:
        """Return the label domain of ``task``: {0, 1} one-vs-rest, else every class index."""
        return [0, 1] if task.positive is not None else list(range(len(self.classes)))


@dataclass(frozen=True)
class Column:
    """One column of a submission schema."""

    name: str
    dtype: Literal["int", "str", "float"]
    doc: str


@dataclass(frozen=True)
class Submission:
    """A parsed submission: the canonical table plus where it came from."""

    path: Path
    sha256: str
    table: pd.DataFrame
    """Canonical columns of the kind's schema, one row per submitted row."""
    rows: np.ndarray
    """For each table row, its 1-based row number in the file (for error messages)."""


class ChallengeKind(ABC):
    """A sort of challenge: the submission schema, its invariants, and how it is scored."""

    name: str
    """Registered name, used as ``kind:`` in specs."""
    columns: tuple[Column, ...]
    """The canonical submission schema."""
    splits: tuple[str, ...]
    """The split names the data recipe must define."""
    options: dict[str, type] = {}
    """Allowed keys of ``ChallengeSpec.options`` and their types."""

    def check_spec(self, spec: ChallengeSpec) -> list[str]:
        """Return problems with ``spec`` that only this kind can see (empty if none)."""
        problems = [f"data.splits lacks '{s}'" for s in self.splits if s not in spec.data.splits]
        for key, value in spec.options.items():
            if key not in self.options:
                problems.append(f"options has unknown key '{key}' (known: {sorted(self.options)})")
            elif not isinstance(value, self.options[key]) or isinstance(value, bool) is not (self.options[key] is bool):
                problems.append(f"options.{key} must be {self.options[key].__name__}, got {value!r}")
        return problems

    @abstractmethod
    def check(self, spec: ChallengeSpec, data: PreparedData, sub: Submission) -> list[Violation]:
        """Return every violation of the kind's invariants beyond the schema (empty if valid)."""

    @abstractmethod
    def score(
        self, spec: ChallengeSpec, data: PreparedData, sub: Submission, counters: Counters
    ) -> dict[str, dict[int, float]]:
        """Return the metric per task and per seed for a valid submission."""


@dataclass
class Counters:
    """Work done by one evaluation, recorded in its result."""

    fits: int = 0
    predictions: int = 0
    cells: int = 0
    rows_read: int = 0

    def as_dict(self) -> dict[str, int]:
        """Return the counters as a plain dict."""
        return asdict(self)


@dataclass(frozen=True)
class Provenance:
    """Everything needed to say where a score came from and to reproduce it."""

    challenge: str
    challenge_version: int
    spec_sha256: str
    data_sha256: str
    submission_sha256: str
    evaluator_version: str
    packages: dict[str, str]
    seeds: list[int]
    runner: str
    wall_time_s: float
    image_digest: str | None = None


@dataclass(frozen=True)
class Result:
    """The outcome of one evaluation, identical wherever it ran."""

    challenge: str
    version: int
    kind: str
    metric: str
    direction: str
    scores: dict[str, dict[int, float]]
    """Per task, per seed."""
    task_means: dict[str, float]
    mean: float
    ci95: tuple[float, float] | None
    """95% t-interval of the mean over seeds (None with one seed)."""
    counters: dict[str, int]
    provenance: Provenance
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return the result as a JSON-ready dict (floats round-trip exactly)."""
        d = asdict(self)
        d["scores"] = {t: {str(s): v for s, v in per.items()} for t, per in self.scores.items()}
        d["ci95"] = list(self.ci95) if self.ci95 is not None else None
        return d

    def to_json(self) -> str:
        """Return the result as JSON text."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Result:
        """Build a result from :meth:`to_dict` output."""
        scores = {t: {int(s): float(v) for s, v in per.items()} for t, per in d["scores"].items()}
        ci = d.get("ci95")
        return cls(
            challenge=d["challenge"],
            version=int(d["version"]),
            kind=d["kind"],
            metric=d["metric"],
            direction=d["direction"],
            scores=scores,
            task_means={k: float(v) for k, v in d["task_means"].items()},
            mean=float(d["mean"]),
            ci95=(float(ci[0]), float(ci[1])) if ci is not None else None,
            counters=dict(d["counters"]),
            provenance=Provenance(**d["provenance"]),
            extra=dict(d.get("extra", {})),
        )

    def same_scores(self, other: Result) -> bool:
        """Return True when both results carry bit-identical scores."""
        return self.scores == other.scores and (
            self.mean == other.mean or (math.isnan(self.mean) and math.isnan(other.mean))
        )


class Runner(ABC):
    """Where an evaluation runs; every runner returns the same :class:`Result`."""

    name: str

    @abstractmethod
    def evaluate(self, challenge_id: str, submission: Path) -> Result:
        """Evaluate ``submission`` for ``challenge_id`` and return its result.

        Raises SubmissionError for an invalid submission and RunnerError when the
        evaluation could not finish (timeout, out of memory, crash).
        """
