"""The leaderboard's storage tables: submissions and the data ratchet.

Identical content is stored once: submission files by sha256 (on disk, see
:mod:`leaderboard.storage.blobs`), ratchet sets by the digest of their canonical rows
(:class:`Dataset`), cells by (training-set digest, test-set digest, evaluator version),
fitted models by (training-set digest, evaluator version, task, seed), each within its ratchet
problem: the problem key names the training-set challenge and its version
(:func:`leaderboard.ratchet.problem.problem_key`), so a version bump starts a ratchet of its
own and never reuses or overwrites an earlier version's sets, cells or models. Every uniqueness rule
is a database constraint, so concurrent writers cannot create duplicates; writers insert with
``ON CONFLICT DO NOTHING`` (:func:`leaderboard.storage.db.insert_ignore`).

Server-only tables (API tokens, quotas, jobs) live in ``leaderboard.storage.server_tables`` on the same
:class:`~leaderboard.storage.base.Base`; they may reference ``teams.id`` and ``submissions.id``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from leaderboard.storage.base import Base

STATUSES = ("received", "queued", "running", "done", "failed", "rejected")
"""Every submission status: received (stored, not yet queued), queued, running, done
(scored), failed (the platform could not score it), rejected (invalid input)."""
ROLES = ("train", "test")
SHA = 64


def utcnow() -> datetime:
    """Return the current time in UTC (timezone-aware)."""
    return datetime.now(UTC)


class Challenge(Base):
    """A challenge as last seen by the leaderboard: its version and spec hash."""

    __tablename__ = "challenges"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(32))
    spec_sha256: Mapped[str] = mapped_column(String(SHA))
    problem: Mapped[str | None] = mapped_column(String(64))
    """The ratchet problem this challenge feeds, if any: its key (the training-set challenge id
    and version, see :func:`leaderboard.ratchet.problem.problem_key`)."""
    spec: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    """The spec document of ``version`` (None in databases older than versions, until the next sync)."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ChallengeVersion(Base):
    """An earlier version of a challenge, kept when a newer one replaced it, so its board (its
    submissions, scored on its data and rules) can still be shown after its spec file is gone."""

    __tablename__ = "challenge_versions"

    challenge: Mapped[str] = mapped_column(ForeignKey("challenges.id"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    spec_sha256: Mapped[str] = mapped_column(String(SHA))
    spec: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    """The version's spec document (None when the database never stored it)."""
    title: Mapped[str | None] = mapped_column(String(200))
    metric: Mapped[str | None] = mapped_column(String(64))
    direction: Mapped[str | None] = mapped_column(String(8))
    superseded_by: Mapped[int] = mapped_column(Integer)
    """The version that replaced it."""
    superseded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Team(Base):
    """A participant team (baselines are teams named ``baseline/<name>``)."""

    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    is_baseline: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class EvaluatorVersion(Base):
    """An evaluator version that has written scores; cells of other versions are stale."""

    __tablename__ = "evaluator_versions"

    version: Mapped[str] = mapped_column(String(32), primary_key=True)
    packages: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Dataset(Base):
    """A ratchet set (a training set or a test set), stored once per canonical content."""

    __tablename__ = "datasets"
    __table_args__ = (
        UniqueConstraint("problem", "digest"),
        CheckConstraint("role IN ('train', 'test')", name="role"),
        Index("ix_datasets_problem_role", "problem", "role"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    problem: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(8))
    digest: Mapped[str] = mapped_column(String(SHA))
    """sha256 of the canonical rows (see :func:`leaderboard.storage.blobs.canonical_digest`)."""
    n_rows: Mapped[int] = mapped_column(Integer)
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    """The canonical rows as an ``.npz`` (no pickle): task names, task index, id, label."""
    origin: Mapped[str] = mapped_column(String(16))
    """``organizer`` (the hidden test set S0) or ``submission`` (participants and baselines)."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Submission(Base):
    """One submitted file, its processing state and its result."""

    __tablename__ = "submissions"
    __table_args__ = (
        CheckConstraint("status IN ('received', 'queued', 'running', 'done', 'failed', 'rejected')", name="status"),
        Index("ix_submissions_challenge_status", "challenge", "status"),
        Index("ix_submissions_team_content", "team_id", "challenge", "content_sha256"),
        Index("ix_submissions_challenge_version", "challenge", "challenge_version", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    challenge: Mapped[str] = mapped_column(ForeignKey("challenges.id"))
    challenge_version: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(32))
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"))
    sha256: Mapped[str] = mapped_column(String(SHA))
    """sha256 of the stored file's bytes."""
    content_sha256: Mapped[str | None] = mapped_column(String(SHA))
    """Digest of the canonical content (ratchet sets); identical content, any format, is one set."""
    filename: Mapped[str] = mapped_column(String(255))
    path: Mapped[str] = mapped_column(String(1024))
    """Where the stored file lies (content-addressed, see :mod:`leaderboard.storage.blobs`)."""
    label: Mapped[str | None] = mapped_column(String(200))
    """Display name (the baseline's name for baseline submissions)."""
    status: Mapped[str] = mapped_column(String(16), default="received")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    dataset_id: Mapped[int | None] = mapped_column(ForeignKey("datasets.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Cell(Base):
    """``A[t, s]``: the fixed model trained on set t, scored on set s, for one evaluator version."""

    __tablename__ = "cells"
    __table_args__ = (
        UniqueConstraint("problem", "train_sha256", "test_sha256", "evaluator_version"),
        # (problem, version) alone serves whole-version reads; with the test set, a new test
        # set's cells among 2,000,000 without a scan, and with the training set without reading
        # the rows either (revision 0011).
        Index("ix_cells_problem_version_test", "problem", "evaluator_version", "test_sha256", "train_sha256"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    problem: Mapped[str] = mapped_column(String(64))
    train_sha256: Mapped[str] = mapped_column(String(SHA))
    test_sha256: Mapped[str] = mapped_column(String(SHA))
    evaluator_version: Mapped[str] = mapped_column(String(32))
    scores: Mapped[dict[str, Any]] = mapped_column(JSON)
    """Metric per task and seed: ``{task: {seed: value}}`` (seeds as strings)."""
    mean: Mapped[float] = mapped_column(Double)
    """Mean over tasks of the mean over seeds."""
    hardness: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    """The test-set challenge's metric per task and seed (the same models, the same rows);
    None for cells of evaluator versions that did not measure it."""
    hardness_mean: Mapped[float | None] = mapped_column(Double, nullable=True)
    """How hard the models find the test set: the measure's mean over tasks and seeds, turned so
    that higher is harder (see :meth:`leaderboard.ratchet.problem.Problem.hardness`)."""
    hits: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    """Per task: which of the test set's rows each seed's model got right, one bit per (seed, row)
    (:func:`dataperf.hits.pack_hits`, seeds in the spec's order); what board tiers are computed from."""
    provenance: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class FittedModel(Base):
    """A fitted fixed model, content-addressed; weights are ``.npz`` bytes (never pickle)."""

    __tablename__ = "fitted_models"
    __table_args__ = (
        UniqueConstraint("problem", "train_sha256", "evaluator_version", "task", "seed"),
        Index("ix_fitted_models_problem_version", "problem", "evaluator_version"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    problem: Mapped[str] = mapped_column(String(64))
    train_sha256: Mapped[str] = mapped_column(String(SHA))
    evaluator_version: Mapped[str] = mapped_column(String(32))
    task: Mapped[str] = mapped_column(String(64))
    seed: Mapped[int] = mapped_column(Integer)
    form: Mapped[str] = mapped_column(String(16))
    """``linear`` (weights holds w, b, classes), ``constant`` (weights holds the label) or ``refit``
    (no weights: fitted again from the training set's stored rows, see :mod:`leaderboard.ratchet.cells`)."""
    weights: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ProblemRow(Base):
    """A ratchet problem (keyed by its training-set challenge and that challenge's version) and
    its current top-k."""

    __tablename__ = "problems"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    test_challenge: Mapped[str] = mapped_column(String(64))
    top_k: Mapped[list[str]] = mapped_column(JSON, default=list)
    """Digests of the current top-k training sets, best first."""
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SuiteMember(Base):
    """A test set in a problem's active suite: S0 (organizer) or an accepted test set."""

    __tablename__ = "suite_members"
    __table_args__ = (UniqueConstraint("problem", "dataset_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    problem: Mapped[str] = mapped_column(ForeignKey("problems.id"))
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id"))
    test_sha256: Mapped[str] = mapped_column(String(SHA))
    reason: Mapped[str] = mapped_column(String(16))
    """``organizer`` or ``accepted``."""
    difficulty: Mapped[float | None] = mapped_column(Double)
    """Difficulty when it entered the suite (None for S0 entered before any training set)."""
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class RatchetEvent(Base):
    """One ratchet step: the suite or the top-k changed (or scores were recomputed)."""

    __tablename__ = "ratchet_events"
    __table_args__ = (Index("ix_ratchet_events_problem_at", "problem", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    problem: Mapped[str] = mapped_column(ForeignKey("problems.id"))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    kind: Mapped[str] = mapped_column(String(16))
    """``init``, ``accept``, ``top-k`` or ``rescore``."""
    subject_sha256: Mapped[str | None] = mapped_column(String(SHA))
    evaluator_version: Mapped[str] = mapped_column(String(32))
    suite: Mapped[list[str]] = mapped_column(JSON)
    top_k: Mapped[list[str]] = mapped_column(JSON)
    scores: Mapped[dict[str, Any]] = mapped_column(JSON)
    """``{"train": {digest: mean over suite}, "difficulty": {digest: value}}`` at that time."""
    bar: Mapped[float | None] = mapped_column(Double)
    """Difficulty of the easiest suite member (the acceptance bar before the margin)."""
    best_score: Mapped[float | None] = mapped_column(Double)
    """The best training-set score in ``scores`` (None: no set scored, or ``train_sets`` is None)."""
    train_sets: Mapped[int | None] = mapped_column(Integer)
    """How many training sets ``scores`` holds; None on events recorded before this column (their
    best score is then read from ``scores``)."""
