"""What every route needs: the settings, database sessions and the calling team."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Path, Request
from sqlalchemy.orm import Session, sessionmaker

from dataperf.contract import ChallengeSpec
from dataperf.errors import RegistryError
from dataperf.submission import MAX_BYTES
from leaderboard.boards.cache import ViewCache
from leaderboard.http.errors import ApiError
from leaderboard.jobs.auth import Caller, team_for_token

COOKIE = "dataperf_token"
MAX_ID = 2**63 - 1
"""The largest id a table row can have (a signed 64-bit integer)."""

SubmissionId = Annotated[int, Path(ge=1, le=MAX_ID, description="A submission's id")]
"""A submission id in a route's path: anything else is answered 404 before the route runs."""


@dataclass(frozen=True)
class Settings:
    """How a server runs: its database, upload limit, job attempts and page size."""

    db_url: str | None = None
    """SQLAlchemy URL (None: ``$DATAPERF_DB``, else SQLite in the data home)."""
    max_upload_bytes: int = MAX_BYTES
    max_attempts: int = 3
    """Evaluation attempts per job before it fails (platform failures are never charged)."""
    page_size: int = 100
    """Leaderboard rows per page."""


@dataclass
class State:
    """The app's shared state (``app.state.dp``)."""

    settings: Settings
    sessions: sessionmaker[Session]
    cache: ViewCache


def state(request: Request) -> State:
    """Return the app's shared state."""
    return request.app.state.dp  # type: ignore[no-any-return]


def bearer(request: Request) -> str:
    """Return the token of the ``Authorization: Bearer`` header ('' without one)."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def caller(request: Request, allow_cookie: bool = False) -> Caller | None:
    """Return the team the request's token belongs to, or None without a token.

    Raises ApiError 401 for a token that is unknown or revoked.
    """
    token = bearer(request) or (request.cookies.get(COOKIE, "") if allow_cookie else "")
    if not token:
        return None
    with state(request).sessions() as s:
        who = team_for_token(s, token)
    if who is None:
        raise ApiError(401, "bad_token", "the API token is unknown or revoked; ask the organizer for a new one")
    return who


def require_team(request: Request) -> Caller:
    """Return the calling team; raise ApiError 401 when the request carries no token."""
    who = caller(request)
    if who is None:
        raise ApiError(
            401,
            "no_token",
            "this needs an API token: send 'Authorization: Bearer <token>' "
            "(run 'dataperf login URL --token TOKEN' for the CLI)",
        )
    return who


def challenge(challenge_id: str) -> ChallengeSpec:
    """Return the spec of ``challenge_id``; raise ApiError 404 with suggestions when unknown."""
    from dataperf.challenges import get_challenge

    try:
        return get_challenge(challenge_id)
    except RegistryError as e:
        raise ApiError(404, "not_found", str(e)) from None


def public_spec(spec: ChallengeSpec) -> dict[str, Any]:
    """Return what anyone may know about a challenge (no data, no hidden labels)."""
    return {
        "id": spec.id,
        "version": spec.version,
        "kind": spec.kind,
        "title": spec.title,
        "description": spec.description.strip(),
        "licence": spec.licence,
        "metric": spec.metric.name,
        "direction": spec.metric.direction,
        "tasks": [t.name for t in spec.tasks],
        "budget": spec.budget,
        "seeds": list(spec.seeds),
        "model": spec.model.name,
    }
