"""Answers about challenges: descriptions, leaderboards, the train x test matrix, the history."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from leaderboard.http.api.models.common import ChallengeId, Closed, Direction, Kind, Open


class ChallengeSummary(Closed):
    """What anyone may know about a challenge (no data, no hidden labels)."""

    id: ChallengeId
    version: int = Field(description="Bumped whenever anything that can change a score changes")
    kind: Kind
    title: str
    description: str
    licence: str
    metric: str
    direction: Direction
    tasks: list[str]
    budget: int
    seeds: list[int]
    model: str = Field(description="The fixed model's name")


class ChallengeVersionInfo(Closed):
    """One version of a challenge: the current one, or an earlier one whose board is read-only."""

    version: int
    current: bool
    title: str
    superseded_by: int | None = Field(description="The version that replaced it (None for the current one)")
    superseded_at: str | None = Field(
        description="When it was replaced (None for the current one, or when the server did not see the moment)"
    )
    leaderboard: str = Field(description="The URL of this version's leaderboard (JSON)")
    page: str = Field(description="The URL of this version's web page")


class Challenge(ChallengeSummary):
    """A challenge, whether the organizer published its hidden results, and its versions."""

    published: bool
    versions: list[ChallengeVersionInfo] = Field(description="Every version, newest (the current one) first")


class Challenges(Closed):
    """Every challenge served."""

    challenges: list[ChallengeSummary]


class BoardColumn(Closed):
    """One score column of a kind's leaderboard."""

    key: str = Field(description="The key of each row that holds the value")
    label: str
    fmt: Literal["num", "ci", "yes", "star"]
    doc: str


class BoardLayout(Closed):
    """How a kind's leaderboard looks."""

    title: str
    meaning: str
    columns: list[BoardColumn]
    table: list[str] = Field(description="Every column of a row, in the order tables and CSV files show them")


class BoardRow(Open):
    """One ranked submission; the kind's columns (``layout.columns``) add their keys."""

    rank: int
    team: str
    label: str
    baseline: bool
    submission: int
    submitted_at: str | None


class Board(Closed):
    """A leaderboard as participants may see it now, best first: the board of one version of the
    challenge (the current one unless ``version`` was asked for), holding only the submissions made
    against that version."""

    challenge: ChallengeId
    version: int = Field(description="The challenge version whose submissions this board ranks")
    current: bool = Field(description="Whether it is the current version (earlier ones are read-only)")
    superseded_by: int | None = Field(description="The version that replaced it (None for the current one)")
    superseded_at: str | None = Field(description="When it was replaced (None if current or not seen)")
    title: str
    kind: Kind
    layout: BoardLayout
    view: Literal["public", "published"]
    published: bool
    metric: str
    direction: Direction
    ratchet: bool
    scope: str = Field(description="What the scores are computed over")
    evaluator_version: str
    stale: bool = Field(description="Some scores come from an older evaluator version")
    note: str
    rows: list[BoardRow] = Field(description="One page of rows, best first (see ``offset`` and ``limit``)")
    total: int = Field(description="Rows of the whole board")
    offset: int = Field(description="Rows skipped from the top")
    limit: int = Field(description="Most rows in this answer")
    problem: str | None = Field(None, description="Ratchet boards: the ratchet problem")
    top_k: list[str] | None = Field(None, description="Ratchet boards: digests of the top training sets")
    bar: float | None = Field(None, description="Ratchet boards: the difficulty a test set must beat")


class MatrixSet(Closed):
    """A training or test set of the matrix."""

    digest: str
    label: str
    top_k: bool | None = None
    in_suite: bool | None = None


class Matrix(Closed):
    """The train x test matrix of a ratchet problem (the hidden test set's column left out)."""

    challenge: ChallengeId
    ratchet: bool
    train: list[MatrixSet]
    test: list[MatrixSet]
    values: list[list[float | None]] = Field(description="values[i][j]: train[i] scored on test[j]")
    problem: str | None = None
    view: Literal["public", "published"] | None = None
    evaluator_version: str | None = None
    published: bool | None = None
    hidden_columns: int | None = Field(None, description="Test sets left out of the matrix")
    suite: list[str] | None = None
    top_k: list[str] | None = None


class HistoryEvent(Open):
    """One ratchet step as participants may see it."""

    at: str
    kind: Literal["init", "accept", "top-k", "rescore"]
    public_suite_size: int | None = Field(
        None, description="Public members of the suite then (once published: membership is decided with the hidden set)"
    )
    public_tests: int | None = Field(None, description="Public test sets submitted by then (before publish)")
    bar: float | None = None
    best_score: float | None = None


class History(Closed):
    """The ratchet history of a challenge's problem: the bar and the best score over time."""

    challenge: ChallengeId
    ratchet: bool
    events: list[HistoryEvent]
    problem: str | None = None
    view: Literal["public", "published"] | None = None
    published: bool | None = None
    metric: str | None = None
