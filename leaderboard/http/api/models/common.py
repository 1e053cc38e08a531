"""What several answers share: the error model, the quota, open objects and named enums."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

ENUM_KEY = "x-dataperf-enum"
"""Marks a string schema as the named enum :mod:`leaderboard.http.openapi` puts in its place."""


def named(enum: str, nullable: bool = False) -> Any:
    """Return a string type whose schema is the named enum ``enum`` (filled when served)."""
    marker: dict[str, Any] = {"type": "string", ENUM_KEY: enum}
    if nullable:
        return Annotated[str | None, WithJsonSchema({"anyOf": [marker, {"type": "null"}]})]
    return Annotated[str, WithJsonSchema(marker)]


ChallengeId = named("ChallengeId")
"""A challenge id (the enum lists the challenges served)."""
Kind = named("ChallengeKind")
"""A challenge kind (the enum lists the registered kinds)."""
Direction = named("Direction")
"""Whether higher (``max``) or lower (``min``) scores are better."""
Status = named("SubmissionStatus")
"""A submission's status."""
JobState = named("JobState", nullable=True)
"""An evaluation job's state (null before it was queued)."""

Timestamp = Annotated[str, Field(json_schema_extra={"format": "date-time"})]
"""An RFC 3339 time with its UTC offset."""
OptionalTimestamp = Annotated[str | None, Field(json_schema_extra={"format": "date-time"})]


class Open(BaseModel):
    """A model that also keeps keys it does not declare (a kind's or an evaluator's own)."""

    model_config = ConfigDict(extra="allow")


class Closed(BaseModel):
    """A model with exactly its declared keys."""

    model_config = ConfigDict(extra="forbid")


class Violation(Closed):
    """One broken invariant of an uploaded file."""

    file: str
    row: int | None = Field(description="1-based data row, or null for the whole file")
    field: str | None = Field(description="The column, or null")
    message: str


class Quota(Closed):
    """A team's daily quota (counted per UTC day)."""

    limit: int = Field(description="Submissions allowed per UTC day")
    used: int
    remaining: int
    reset_at: Timestamp = Field(description="When the count starts again (the next UTC midnight)")


class Error(Open):
    """Every refusal: a message for people and a stable machine code; some add details."""

    error: str = Field(description="What was refused and why, for people")
    code: str = Field(description="A stable machine code, e.g. not_found, no_token, over_quota")
    violations: list[Violation] | None = Field(None, description="invalid_submission: every violation")
    quota: Quota | None = Field(None, description="over_quota: the quota and its reset time")
    limit: int | None = Field(None, description="too_large: the size limit in bytes")


class Health(Closed):
    """The server answers."""

    status: str
