"""Answers about submissions and the calling team."""

from __future__ import annotations

from pydantic import Field

from leaderboard.http.api.models.common import (
    ChallengeId,
    Closed,
    JobState,
    Kind,
    Open,
    OptionalTimestamp,
    Quota,
    Status,
    Violation,
)


class Accepted(Closed):
    """An upload accepted for evaluation (or the earlier submission with the same content)."""

    submission: int
    duplicate: bool = Field(description="The team already sent this content: nothing new was stored or charged")
    status: Status
    queue_position: int | None
    quota: Quota
    challenge: ChallengeId
    team: str
    url: str = Field(description="The submission's web page")


class Provenance(Open):
    """Where a submission's scores came from (the evaluator's record)."""

    evaluator_version: str | None = None
    data_sha256: str | None = None
    submission_sha256: str | None = None


class SubmissionResult(Open):
    """What the caller may see of a submission's result (a ratchet set's score is on the board)."""

    challenge: str | None = None
    version: int | None = None
    kind: str | None = None


class Submission(Closed):
    """A submission: its status, place in the queue, result and provenance; its own team also
    gets the error, the violations and the log."""

    submission: int
    challenge: str
    challenge_version: int
    kind: Kind
    team: str
    filename: str
    sha256: str
    status: Status
    queue_position: int | None = Field(description="1 is next; null when not queued")
    attempts: int
    max_attempts: int | None
    job_state: JobState
    created_at: OptionalTimestamp
    started_at: OptionalTimestamp
    finished_at: OptionalTimestamp
    result: SubmissionResult | None
    provenance: Provenance | None
    owner: bool = Field(description="The caller's team sent it")
    error: str | None = Field(None, description="Owner only: why it failed")
    violations: list[Violation] | None = Field(None, description="Owner only: why it was rejected")
    log: str | None = Field(None, description="Owner only: the evaluation log")


class SubmissionItem(Closed):
    """One of the calling team's submissions."""

    submission: int
    challenge: str
    filename: str
    status: Status
    created_at: OptionalTimestamp


class MySubmissions(Closed):
    """The calling team's latest submissions, newest first."""

    team: str
    submissions: list[SubmissionItem]


class Log(Closed):
    """A submission's evaluation log."""

    submission: int
    status: Status
    log: str


class Me(Closed):
    """The calling team and its quota."""

    team: str
    team_id: int
    quota: Quota
