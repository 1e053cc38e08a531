"""The dataperf contract: what a challenge, a submission, a result and a runner are.

A challenge spec (``challenges/<id>.yaml``) loads into :class:`ChallengeSpec`, a tree of
frozen models that reject unknown keys and wrong types when built, never at scoring time.
A challenge *kind* (:class:`ChallengeKind`) says what a submission of that kind looks like,
which invariants it must meet and how it is scored. A :class:`Result` is what every
evaluation returns, wherever it ran; a :class:`Runner` is where it runs, and where a
submission file is read: its :meth:`Runner.parse` returns a :class:`CanonicalSubmission`.
"""

from __future__ import annotations

import json
import math
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer, model_validator

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from dataperf.data.prepared import PreparedData
    from dataperf.errors import Violation


class _Strict(BaseModel):
    """Base of every spec model: frozen, unknown keys are errors, no silent coercion."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, use_attribute_docstrings=True)


class _Additive(_Strict):
    """A spec model with optional fields added after specs were published: an unset one
    (``None``) is left out of every dump, so the dumps (the spec's hash, the recipe recorded
    in Croissant metadata) of specs that do not use it stay as they were."""

    ADDED: ClassVar[tuple[str, ...]] = ()
    """The fields left out of dumps while unset (``None``, or an empty mapping)."""

    @model_serializer(mode="wrap")
    def _drop_unset_added(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        out: dict[str, Any] = handler(self)
        for name in self.ADDED:
            value = getattr(self, name)
            if value is None or (isinstance(value, dict) and not value):
                out.pop(name, None)
        return out


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


class SplitSpec(_Additive):
    """One named split of the prepared data, drawn from one split of the source."""

    ADDED: ClassVar[tuple[str, ...]] = ("domain", "mix", "flip")
    source_split: Literal["train", "test", "all"]
    """The split of the raw source the rows are drawn from."""
    size: int = Field(gt=0)
    """Number of rows drawn (without replacement, disjoint from every other split)."""
    domain: int | None = Field(default=None, ge=0)
    """If set, rows are drawn only from this domain of the source split (``data.domains``
    says how rows are grouped into domains)."""
    mix: list[float] | None = None
    """If set, the split's class mix: one non-negative weight per class of the source (in the
    source's class order). ``size`` is shared out in proportion (largest remainders, ties to
    the lower class) and each class's rows are the first of that class in the draw order."""
    flip: float | None = Field(default=None, ge=0.0, le=1.0)
    """If set, this share of the split's public labels is wrong: each chosen row's label goes
    to the source's confusable partner of its class (a random other class when it has none).
    Rows are chosen with the generator seeded by ``[data.seed, 3, position of the split]``."""

    @model_validator(mode="after")
    def _check_mix(self) -> SplitSpec:
        if self.mix is not None and (any(not w >= 0 for w in self.mix) or not sum(self.mix) > 0):
            raise ValueError(f"mix must hold non-negative weights with a positive sum, got {self.mix}")
        return self


class DomainSpec(_Strict):
    """How the rows of a source split are grouped into domains that splits can draw from.

    ``style-clusters``: every row's embedding is standardised within its ground-truth class
    (the class's mean subtracted, each feature divided by the class's standard deviation),
    which leaves how a row was made (who spoke it, with which microphone) rather than what
    it shows; Ward agglomerative clustering of those vectors gives ``count`` groups,
    numbered 0, 1, ... in the order of their first row in the source. Deterministic: no
    random choice is involved.
    """

    method: Literal["style-clusters"]
    """How rows are grouped (see the class documentation)."""
    count: int = Field(ge=2, le=64)
    """How many domains."""
    max_rows: int = Field(default=20000, gt=0)
    """Largest source split that may be grouped (clustering costs memory quadratic in rows)."""


class NoiseSpec(_Additive):
    """Label noise applied to the public labels of one split (the ground truth is kept).

    ``machine``: a weak labeller (nearest class centroids) is fitted on a seeded share of the
    split (``fit_share``); every public label is drawn from a softmax over the row's negative
    squared distances to the centroids divided by ``temperature``. How many labels end up wrong
    is not set directly: it follows from the labeller (the Croissant file of the server's
    private bundle records the measured share). ``flip``: exactly ``round(flip_share * rows)`` rows, chosen at
    random, get a wrong label.
    """

    ADDED: ClassVar[tuple[str, ...]] = ("fit_share", "flip_share")
    split: str
    """Which split's public labels are noisy."""
    method: Literal["machine", "flip"]
    """``machine``: labels drawn from a weak seeded labeller; ``flip``: random and confusable flips."""
    fit_share: float | None = Field(default=None, ge=0.0, le=1.0)
    """For ``machine`` (and only it): share of the split the weak labeller's class centroids
    are computed from: ``max(5 * classes, round(fit_share * rows))`` rows (at most every row),
    drawn without replacement. It is not a share of wrong labels: a small one makes a weaker
    labeller and more wrong labels. (Spec files written before it was named say ``rate``.)"""
    flip_share: float | None = Field(default=None, ge=0.0, le=1.0)
    """For ``flip`` (and only it): share of the split's rows whose public label is wrong
    (``round(flip_share * rows)`` rows, drawn without replacement). (Spec files written before
    it was named say ``rate``.)"""
    temperature: float = Field(default=1.0, gt=0.0)
    """For ``machine``: softmax temperature over the weak classifier's negative squared
    centroid distances; each public label is drawn from that distribution (higher: noisier)."""
    confusable: float = Field(default=0.0, ge=0.0, le=1.0)
    """For ``flip``: share of the flips that go to a confusable class instead of a random one
    (a flipped row whose class has no confusable partner goes to a random other class)."""

    @model_validator(mode="after")
    def _check_share(self) -> NoiseSpec:
        want, other = ("fit_share", "flip_share") if self.method == "machine" else ("flip_share", "fit_share")
        if getattr(self, want) is None:
            raise ValueError(f"method {self.method} needs {want}")
        if getattr(self, other) is not None:
            raise ValueError(f"{other} does not apply to method {self.method} (it takes {want})")
        return self

    @property
    def share(self) -> float:
        """Return the method's share: ``fit_share`` for ``machine``, ``flip_share`` for ``flip``."""
        value = self.fit_share if self.method == "machine" else self.flip_share
        assert value is not None  # the validator requires it
        return value


FILES_SOURCE = "files"
"""The ``data.source`` of a challenge whose data are the organizer's own tables (``data.files``)."""


class DataRecipe(_Additive):
    """How the challenge's prepared files are built from real, offline data.

    Either from a registered source (``source`` names it; ``splits`` draws rows from its
    splits and ``embedding`` turns them into vectors), or from the organizer's own tables
    (``source: files``; ``files`` names one table per split, relative to the spec file, and
    ``embedding`` is optional: without it the features are used as they are). See
    :mod:`dataperf.data.files` for the table layout.
    """

    ADDED: ClassVar[tuple[str, ...]] = ("domains", "embedding", "splits", "files")
    source: str
    """A registered data source (``fashion-mnist``, ``fsdd``, ...; a package may add one through the
    ``dataperf.sources`` entry point group), or ``files``."""
    embedding: EmbeddingSpec | None = None
    """Required for a registered source; optional with ``files``."""
    splits: dict[str, SplitSpec] = Field(default_factory=dict)
    """Named splits drawn from a registered source; every kind states which names it needs."""
    noise: NoiseSpec | None = None
    """If set, label noise applied to one split's public labels (the ground truth is kept)."""
    targets: list[int] | None = None
    """If set, source classes outside this list collapse into one extra 'other' class."""
    seed: int = 0
    """Seed of the row draws and of the noise."""
    domains: DomainSpec | None = None
    """If set, rows are grouped into domains and a split may draw from one (``domain``)."""
    files: dict[str, str] | None = None
    """With ``source: files``: per split name, a Parquet or CSV table, or a Croissant JSON-LD
    file describing one (paths relative to the spec file)."""

    @property
    def from_files(self) -> bool:
        """Return whether the data are the organizer's own tables (``source: files``)."""
        return self.source == FILES_SOURCE

    def split_names(self) -> list[str]:
        """Return the names of the prepared splits, in the recipe's order."""
        return list(self.files or {}) if self.from_files else list(self.splits)

    @model_validator(mode="after")
    def _check_domains(self) -> DataRecipe:
        if self.from_files:
            if not self.files:
                raise ValueError("source: files needs data.files (one table per split)")
            unused = [k for k in ("splits", "domains", "targets") if getattr(self, k)]
            if unused:
                raise ValueError(f"data.{', data.'.join(unused)} cannot be used with source: files")
            for name, path in self.files.items():
                if not path.lower().endswith((".parquet", ".csv", ".json", ".jsonld")):
                    raise ValueError(
                        f"data.files.{name} must be a .parquet, .csv or Croissant .json file, got {path!r}"
                    )
            return self
        if self.files is not None:
            raise ValueError(f"data.files needs source: files (got source: {self.source})")
        if self.embedding is None:
            raise ValueError(f"data.embedding is required for source '{self.source}'")
        if not self.splits:
            raise ValueError(f"data.splits is required for source '{self.source}'")
        for name, sp in self.splits.items():
            if sp.domain is None:
                continue
            if self.domains is None:
                raise ValueError(f"splits.{name}.domain needs data.domains (how rows are grouped into domains)")
            if sp.domain >= self.domains.count:
                raise ValueError(
                    f"splits.{name}.domain must be below data.domains.count ({self.domains.count}), got {sp.domain}"
                )
        return self


class TaskSpec(_Strict):
    """One task of a challenge; each task is scored separately and the scores are averaged."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    """The task's name, as submissions write it."""
    budget: int | None = Field(default=None, gt=0)
    """Most rows a submission may hold for this task; when set it overrides the challenge's
    ``budget`` for this task (None: the challenge's budget)."""
    positive: int | None = None
    """For one-vs-rest tasks, the class that is positive; None means all classes."""
    examples: int = Field(default=0, ge=0)
    """How many known positive pool rows are published for this task."""


class ModelSpec(_Strict):
    """The fixed model every submission is scored with."""

    name: str
    """A registered fixed model (its procedure and every parameter are stated on the rules page)."""
    params: dict[str, int | float | str | bool] = Field(default_factory=dict)
    """The model's parameters; one left out takes the model's default."""


class MetricSpec(_Strict):
    """The metric and whether higher or lower is better."""

    name: str
    """The metric of one fit on one test set (a registered metric, or the kind's own)."""
    direction: Literal["max", "min"]
    """``max``: higher is better; ``min``: lower is better."""


class ResourceSpec(_Strict):
    """Limits for one evaluation, enforced by sandboxed runners."""

    cpus: float = Field(default=1.0, gt=0)
    """CPUs a sandboxed evaluation may use (scores do not depend on it: fits run on one thread)."""
    memory: str = Field(default="2g", pattern=r"^[0-9]+[kmg]$")
    """Memory limit of a sandboxed evaluation (a number with k, m or g)."""
    timeout: int = Field(default=600, gt=0)
    """Wall-time limit in seconds."""
    pids: int = Field(default=256, gt=0)
    """Most processes a sandboxed evaluation may start."""
    gpu: bool = False
    """Whether the evaluation asks for a GPU (used when present)."""


class KindOptions(_Strict):
    """Base of every kind's typed ``options`` (a kind with no options uses it as it is)."""

    @classmethod
    def of(cls, spec: ChallengeSpec) -> Self:
        """Return ``spec``'s options, which must be this kind's; TypeError otherwise."""
        if not isinstance(spec.options, cls):
            raise TypeError(f"challenge '{spec.id}' has no {cls.__name__} (its kind is '{spec.kind}')")
        return spec.options


class ChallengeSpec(_Additive):
    """A whole challenge: data, tasks, fixed model, metric, seeds, budget, limits.

    Every kind subclasses it with ``kind`` fixed to its name and ``options`` typed by its own
    options model (:attr:`ChallengeKind.spec_model`); a spec file loads into the subclass its
    ``kind`` names (a union discriminated on ``kind``), so a wrong option is a load error.
    """

    ADDED: ClassVar[tuple[str, ...]] = ("published",)
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    """The challenge's id (its spec file is ``<id>.yaml``)."""
    version: int = Field(gt=0)
    """Bumped whenever anything that can change a score changes."""
    kind: str
    """The challenge kind: what a submission is and how it is scored (its own section below)."""
    pair: str | None = None
    """For a kind that tests in a ratchet: the id of the challenge whose training sets it tests.
    The spec file then omits ``data``, ``classes``, ``tasks``, ``model`` and ``seeds``: they
    come from the pair (task names and positive classes; budgets stay the dual's own)."""
    title: str
    """A one-line title."""
    description: str
    """What participants do, in prose (the rules below are what counts)."""
    licence: str
    """The licence of the challenge's data."""
    published: str | None = Field(default=None, pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
    """The date this version was published (YYYY-MM-DD): the prepared data's Croissant
    ``datePublished``. Not part of any score."""
    data: DataRecipe
    """How the prepared data are built (deterministic: the same recipe gives the same bytes)."""
    classes: list[str] = Field(min_length=2)
    """Class names, indexed by label."""
    tasks: list[TaskSpec] = Field(min_length=1)
    """The tasks; each is scored separately and a result's score is the mean over tasks."""
    model: ModelSpec
    """The fixed model every submission is scored with."""
    metric: MetricSpec
    """The metric and its direction."""
    seeds: list[int] = Field(min_length=1)
    """Every score is computed once per seed (what a seed varies is the model's and kind's rule)."""
    budget: int = Field(gt=0)
    """Most rows (or currency units) a submission may use per task, unless the task sets its own."""
    resources: ResourceSpec = Field(default_factory=ResourceSpec)
    """Limits of one sandboxed evaluation."""
    options: KindOptions = Field(default_factory=KindOptions)
    """Kind-specific knobs (the cleaning retrain stride, the test-set balance rule, ...),
    typed by the kind's options model."""

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
class ParsedSubmission:
    """A parsed submission: the canonical table plus where it came from."""

    path: Path
    sha256: str
    table: pd.DataFrame
    """Canonical columns of the kind's schema, one row per submitted row."""
    rows: np.ndarray
    """For each table row, its 1-based row number in the file (for error messages)."""


@dataclass(frozen=True)
class CanonicalSubmission:
    """A submission file read and validated by a runner: the kind's canonical, schema-checked
    table and the file's sha256, with where the file was read. Whoever holds one needs the file
    no more (the ratchet scores this table alone)."""

    challenge: str
    version: int
    kind: str
    sha256: str
    """sha256 of the submitted file, computed where it was read."""
    table: pd.DataFrame
    """The kind's canonical columns, in schema order, one row per submitted row."""
    runner: str
    """The runner that read the file (``local``, ``docker``, ``dask``, ``dask+docker``)."""
    image_digest: str | None = None
    """The evaluator image's digest when the file was read in a container."""


class Role(StrEnum):
    """A kind's part in a data ratchet."""

    TRAINS = "trains"
    """Its submissions are training sets: scored against the suite of test sets."""
    TESTS = "tests"
    """Its submissions are test sets: scored against the models of the top training sets."""
    NONE = "none"
    """Not part of a ratchet: scored by the evaluator alone."""

    @property
    def set_role(self) -> str:
        """Return the role of this kind's sets in the ratchet's tables (``train``/``test``)."""
        return {"trains": "train", "tests": "test"}.get(self.value, "none")


class Share(StrEnum):
    """What the public bundle (what participants download) holds of one prepared split."""

    LABELLED = "labelled"
    """Features and labels, the labels being the truth: a public dev split."""
    PUBLIC_LABELS = "public-labels"
    """Features and the public labels (noisy, or none); the ground truth stays private."""
    FEATURES = "features"
    """Features only (an evaluation pool whose labels stay private)."""
    PRIVATE = "private"
    """Nothing: the split stays on the server (a hidden test split)."""


HIDDEN_SPLIT_NAME = "test-hidden"
"""The split name kinds keep private by default: the organizer's hidden test split."""
SCORING_SPLIT_NAME = "test"
"""The split the server scores a submission on (and a test-set dual's evaluation pool)."""
DEV_SPLIT_NAME = "dev"
"""The labelled dev split published for participants to score on, apart from the scoring split."""


def dev_split_of(spec: ChallengeSpec) -> str:
    """Return the split a participant scores on with the public bundle: ``dev`` where the
    recipe has one, else the scoring split ``test`` (published with its labels)."""
    return DEV_SPLIT_NAME if DEV_SPLIT_NAME in spec.data.split_names() else SCORING_SPLIT_NAME


def local_split_rule(spec: ChallengeSpec) -> str:
    """Return the rules page's sentence on which split ``dataperf evaluate`` scores on with the
    public bundle, and whose labels participants hold."""
    if dev_split_of(spec) == DEV_SPLIT_NAME:
        return (
            f"The labels of the '{SCORING_SPLIT_NAME}' split stay on the server; 'dataperf evaluate' with the "
            f"public bundle scores on the labelled '{DEV_SPLIT_NAME}' split instead, drawn apart from every other "
            "split, so its score estimates the leaderboard's without being it."
        )
    return (
        f"This challenge has no '{DEV_SPLIT_NAME}' split: its '{SCORING_SPLIT_NAME}' split is published with its "
        "labels, and 'dataperf evaluate' scores on it."
    )


@dataclass(frozen=True)
class BoardColumn:
    """One score column of a kind's leaderboard (beside rank, team, submission and time)."""

    key: str
    """The key of each board row that holds the value."""
    label: str
    """The column heading."""
    fmt: Literal["num", "ci", "yes", "star"] = "num"
    """How a value is shown: a number, an interval, 'yes' when true, a star when true."""
    doc: str = ""
    """What the value means (the heading's tooltip and the CSV documentation)."""


@dataclass(frozen=True)
class BoardLayout:
    """How a kind's leaderboard looks: its title, columns and what its score means."""

    title: str
    columns: tuple[BoardColumn, ...]
    meaning: str
    """One sentence: what a row's score is."""

    LEAD: ClassVar[tuple[str, ...]] = ("rank", "team", "label", "baseline")
    """The columns every board starts with."""
    SIGNIFICANCE: ClassVar[tuple[BoardColumn, ...]] = (
        BoardColumn(
            "tier",
            "Tier",
            "num",
            "submissions in one tier cannot be told apart: a new tier starts where a paired bootstrap over the "
            "shared test rows (stratified by test set, rows resampled in at most 64 blocks per test set) orders a "
            "submission above the next with probability at least 0.95 (empty where the rows' correctness is not "
            "known)",
        ),
        BoardColumn(
            "p_next",
            "P(above next)",
            "num",
            "the paired bootstrap's probability that this submission's models get more of the shared test rows "
            "right than the next one's",
        ),
    )
    """The columns every board ends with (:mod:`leaderboard.boards.tiers`)."""

    def to_dict(self) -> dict[str, Any]:
        """Return the layout as JSON-ready data: title, meaning, its columns (the kind's, then the
        significance columns every board has), and ``table`` (every column of a board row in the
        order tables and CSV files show them)."""
        cols = (*self.columns, *self.SIGNIFICANCE)
        return {
            "title": self.title,
            "meaning": self.meaning,
            "columns": [asdict(c) for c in cols],
            "table": [*self.LEAD, *(c.key for c in cols), "submission"],
        }


@dataclass(frozen=True)
class Rule:
    """One paragraph of a rules page: prose, or a formula shown as it is written."""

    text: str
    formula: bool = False


@dataclass(frozen=True)
class Section:
    """One section of a challenge's rules page (:mod:`dataperf.rules` renders them)."""

    title: str
    rules: tuple[Rule, ...]

    @classmethod
    def of(cls, title: str, *parts: str) -> Section:
        """Return a section from strings; one starting with ``= `` is a formula (prefix dropped)."""
        return cls(title, tuple(Rule(p[2:], True) if p.startswith("= ") else Rule(p) for p in parts))

    @classmethod
    def from_doc(cls, title: str, doc: str) -> Section:
        """Return a section from documentation text: one rule per paragraph (blank-line
        separated), and one formula per ``- `` bullet (its text as written)."""
        rules: list[Rule] = []
        for para in doc.strip().split("\n\n"):
            current: list[str] = []
            formula = False
            for ln in (ln.strip() for ln in para.strip().splitlines()):
                if ln.startswith("- "):
                    if current:
                        rules.append(Rule(" ".join(current), formula))
                    current, formula = [ln[2:]], True
                else:
                    current.append(ln)
            if current:
                rules.append(Rule(" ".join(current), formula))
        return cls(title, tuple(rules))


class ChallengeKind(ABC):
    """A sort of challenge; it owns everything about itself.

    Its typed options (:attr:`spec_model`), its submission schema (:attr:`columns`) and checks
    (:meth:`check`), its scoring (:meth:`score`), how its leaderboard looks (:meth:`board`), its
    role in a ratchet (:attr:`role`), the prepared splits it needs (:attr:`splits`) and a tiny
    variant of a spec for tests (:meth:`shrink`). Nothing outside a kind's module compares kind
    names: it asks the kind.
    """

    name: str
    """Registered name, used as ``kind:`` in specs."""
    spec_model: type[ChallengeSpec]
    """The spec model of this kind: :class:`ChallengeSpec` with ``kind`` fixed to :attr:`name`
    and ``options`` typed."""
    columns: tuple[Column, ...]
    """The canonical submission schema."""
    splits: tuple[str, ...]
    """The split names the data recipe must define."""
    role: Role = Role.NONE
    """The kind's part in a data ratchet."""
    baseline_order: int = 1
    """Where its baselines go when every challenge is filled at once (lower first): training sets
    before challenges outside a ratchet, test sets last so they meet trained models."""

    def check_spec(self, spec: ChallengeSpec) -> list[str]:
        """Return problems with ``spec`` that only this kind can see (empty if none)."""
        have = spec.data.split_names()
        where = "data.files" if spec.data.from_files else "data.splits"
        return [f"{where} lacks '{s}'" for s in self.splits if s not in have]

    @abstractmethod
    def check(self, spec: ChallengeSpec, data: PreparedData, sub: ParsedSubmission) -> list[Violation]:
        """Return every violation of the kind's invariants beyond the schema (empty if valid)."""

    @abstractmethod
    def score(
        self, spec: ChallengeSpec, data: PreparedData, sub: ParsedSubmission, counters: Counters
    ) -> dict[str, dict[int, float]]:
        """Return the metric per task and per seed for a valid submission."""

    def score_in_full(
        self, spec: ChallengeSpec, data: PreparedData, sub: ParsedSubmission, counters: Counters
    ) -> tuple[dict[str, dict[int, float]], dict[str, Any]]:
        """Return :meth:`score`'s scores and what the result's ``extra`` holds beside them.

        The extras are JSON-ready. A key named like a column of :meth:`board` fills that column
        of the submission's board row; ``tables`` (a list of ``{"title", "columns", "rows"}``)
        are printed by ``dataperf evaluate``. Default: no extras.
        """
        return self.score(spec, data, sub, counters), {}

    def publish(self, spec: ChallengeSpec, folder: Path) -> None:
        """Write the kind's own public files into ``folder``, a prepared data folder being built
        (its splits are written; its hashes and Croissant metadata come after, so they cover
        what is written here). Default: nothing."""
        return None

    def overview(self, spec: ChallengeSpec) -> dict[str, Any]:
        """Return what ``dataperf challenges <id>`` shows of the challenge beyond its spec:
        JSON-ready data, whose ``tables`` (``{"title", "columns", "rows"}``) are printed and
        whose ``notes`` (a list of lines) are printed after them. Default: nothing."""
        return {}

    def board(self, spec: ChallengeSpec, ratchet: bool) -> BoardLayout:
        """Return how the leaderboard of ``spec`` looks (``ratchet``: it is part of one)."""
        cols = (
            BoardColumn("score", spec.metric.name, "num", f"{spec.metric.name} ({spec.metric.direction} is better)"),
            BoardColumn("ci95", "95% CI", "ci", "95% Student-t interval over the fixed model's seeds"),
        )
        return BoardLayout("Leaderboard", cols, f"{spec.metric.name}, mean over tasks and seeds")

    def share(self, spec: ChallengeSpec) -> dict[str, Share]:
        """Return what participants get of each prepared split (see :class:`Share`).

        Default: the hidden split (``test-hidden``) stays private; a ``dev`` split is the
        labelled dev split, and then the scoring split (``test``, the server's and a dual's
        evaluation pool) is published with its features only; without a ``dev`` split the
        ``test`` split is the labelled dev split itself (its labels are then public, which the
        rules page states). Every other split comes with its public labels only. A split shared
        ``LABELLED`` whose public labels differ from the truth is published with its public
        labels only (the bundle never publishes a ground truth that participants do not see).
        """
        names = spec.data.split_names()
        has_dev = DEV_SPLIT_NAME in names
        out = {}
        for name in names:
            if name == HIDDEN_SPLIT_NAME:
                out[name] = Share.PRIVATE
            elif name == DEV_SPLIT_NAME:
                out[name] = Share.LABELLED
            elif name == SCORING_SPLIT_NAME:
                out[name] = Share.FEATURES if has_dev else Share.LABELLED
            else:
                out[name] = Share.PUBLIC_LABELS
        return out

    def check_pair(self, pair: ChallengeSpec) -> list[str]:
        """Return the problems of ``pair`` as the challenge whose training sets a challenge of
        this kind (a kind that tests) tests; empty when it fits. Default: none."""
        return []

    def diff(self, spec: ChallengeSpec, frame_a: pd.DataFrame, frame_b: pd.DataFrame) -> dict[str, Any]:
        """Return what changed from submission A to B (both canonical, valid tables) as JSON-ready
        data: a ``summary`` of counts and ``tables`` (``{"title", "columns", "rows"}``) that
        ``dataperf diff`` prints and a web page can render (see :mod:`dataperf.diffing`).

        Default, for a submission of rows and labels: rows added, removed and relabelled per
        group (the schema's first text column, e.g. the task) and the class balance before and
        after; a kind whose submission is something else (an order, counts) overrides it."""
        from dataperf.diffing import rows_and_labels

        names = [c.name for c in self.columns]
        group = next((c.name for c in self.columns if c.dtype == "str"), None)
        return rows_and_labels(
            frame_a,
            frame_b,
            group=group,
            key="id" if "id" in names else names[-1],
            label="label" if "label" in names else None,
            group_title=group or "task",
        )

    def local_meaning(self, spec: ChallengeSpec) -> str:
        """Return what a score of ``dataperf evaluate`` (this kind, scored alone) is, and on which split."""
        split = dev_split_of(spec)
        return f"{spec.metric.name} of the fixed model trained on the submission, on the public {split!r} split"

    def rules(self, spec: ChallengeSpec) -> list[Section]:
        """Return the kind's sections of the rules page of ``spec``: what a submission is, what
        is refused, and how it is scored, exactly enough to re-implement the scoring. Default:
        the submission schema and the kind's documentation."""
        cols = [f"{c.name} ({c.dtype}): {c.doc}" for c in self.columns]
        return [
            Section.of("Submission", "One table (Parquet, CSV or JSON) with the columns:", *cols),
            Section.of("Scoring", " ".join((type(self).__doc__ or "").split())),
        ]

    def outcome(self, step: dict[str, Any]) -> str:
        """Return one line saying what a ratchet step of this kind's submission did."""
        return f"rank {step.get('rank')}, score {step.get('score')}"

    def shrink(self, spec: ChallengeSpec, rows: int, budget: int) -> ChallengeSpec:
        """Return ``spec`` for fast tests: splits of at most ``rows`` rows, budgets of at most
        ``budget`` rows, two seeds. Kinds whose rules are sized with the data scale them here."""
        emb = spec.data.embedding
        data = spec.data.model_copy(
            update={
                "splits": {n: s.model_copy(update={"size": min(s.size, rows)}) for n, s in spec.data.splits.items()},
                "embedding": None if emb is None else emb.model_copy(update={"fit_rows": min(emb.fit_rows, 2000)}),
            }
        )
        tasks = [
            t.model_copy(
                update={"budget": None if t.budget is None else min(t.budget, budget), "examples": min(t.examples, 2)}
            )
            for t in spec.tasks
        ]
        return spec.model_copy(
            update={"data": data, "tasks": tasks, "seeds": spec.seeds[:2], "budget": min(spec.budget, budget)}
        )


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
    data_bundle: str | None = None
    """``public`` when scored with the public bundle (participants' data: dev splits, never the
    hidden split); None with the private bundle (the server's data)."""


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
        if d["provenance"]["data_bundle"] is None:  # the private bundle: as results always were
            del d["provenance"]["data_bundle"]
        return d

    def to_json(self) -> str:
        """Return the result as JSON text; tasks and seeds stay in the spec's order (a result read
        back from a container lists them as the local evaluator does)."""
        return json.dumps(self.to_dict(), indent=2)

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
    """Where an evaluation runs, and where a submission file is read: every runner returns the
    same :class:`Result` and the same :class:`CanonicalSubmission`. A sandboxed runner is the
    trust boundary: the file is opened only inside it."""

    name: str

    @abstractmethod
    def evaluate(self, challenge_id: str, submission: Path, *, sha256: str | None = None) -> Result:
        """Evaluate ``submission`` for ``challenge_id`` and return its result.

        With ``sha256``, the file is first checked to still have that content where it is
        read (ChangedFileError otherwise). Raises SubmissionError for an invalid submission
        and RunnerError when the evaluation could not finish (timeout, out of memory, crash).
        """

    @abstractmethod
    def parse(self, challenge_id: str, submission: Path, *, sha256: str | None = None) -> CanonicalSubmission:
        """Read and validate ``submission`` for ``challenge_id``; return its canonical table.

        The same checks as :meth:`evaluate` (every violation at once, as a SubmissionError),
        nothing scored. ``sha256`` and the errors are as for :meth:`evaluate`.
        """
