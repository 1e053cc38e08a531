"""Teams and API tokens: a token is a ``secrets.token_urlsafe`` secret shown once; only its
sha256 is stored. A request carries it as ``Authorization: Bearer <token>`` (the web pages may
carry it in the ``dataperf_token`` cookie, for reading only)."""

from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from dataperf.errors import InputError
from leaderboard.storage.server_tables import ApiToken, TeamQuota
from leaderboard.storage.tables import Team, utcnow

TOKEN_PREFIX = "dp_"  # noqa: S105 - a prefix that makes tokens recognisable, not a secret
TEAM_NAME = re.compile(r"^[^\x00-\x1f\x7f]{1,100}$")


@dataclass(frozen=True)
class Caller:
    """The team a request acts for."""

    team_id: int
    team: str


def hash_token(token: str) -> str:
    """Return the sha256 hex digest stored for ``token``."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    """Return a fresh random token (shown to the organizer once, never stored)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def issue_token(session: Session, team_id: int) -> str:
    """Store the hash of a new token for ``team_id`` and return the token itself."""
    token = new_token()
    session.add(ApiToken(team_id=team_id, token_sha256=hash_token(token), created_at=utcnow()))
    return token


def create_team(session: Session, name: str, daily_limit: int | None = None) -> tuple[Team, str]:
    """Create team ``name`` and return it with its first token.

    Raises InputError when the name is empty, too long, has control characters, or is taken
    (a name starting with ``baseline/`` is reserved for the platform's baselines).
    """
    invisible = any(unicodedata.category(ch) in ("Cf", "Zl", "Zp") for ch in name)
    if not TEAM_NAME.match(name) or name != name.strip() or invisible:
        raise InputError(
            f"The 'name' parameter of create-team must be 1 to 100 printable characters without "
            f"leading or trailing spaces or invisible format characters. Got {name!r} instead."
        )
    if name.startswith("baseline/"):
        raise InputError(f"team names starting with 'baseline/' are reserved for baselines; got {name!r}")
    if session.execute(select(Team.id).where(Team.name == name)).first() is not None:
        raise InputError(f"team {name!r} already exists; use 'dataperf admin issue-token' for a new token")
    team = Team(name=name, is_baseline=False, created_at=utcnow())
    session.add(team)
    session.flush()
    session.add(TeamQuota(team_id=team.id, daily_limit=daily_limit, updated_at=utcnow()))
    return team, issue_token(session, team.id)


def team_for_token(session: Session, token: str) -> Caller | None:
    """Return the team owning ``token`` if the token is known and not revoked, else None."""
    if not token:
        return None
    q = (
        select(Team.id, Team.name)
        .join(ApiToken, ApiToken.team_id == Team.id)
        .where(ApiToken.token_sha256 == hash_token(token), ApiToken.revoked_at.is_(None))
    )
    row = session.execute(q).first()
    return Caller(int(row[0]), str(row[1])) if row else None


def revoke_tokens(session: Session, team_id: int) -> int:
    """Revoke every live token of ``team_id``; return how many were revoked."""
    rows = session.execute(select(ApiToken).where(ApiToken.team_id == team_id, ApiToken.revoked_at.is_(None))).scalars()
    n = 0
    for tok in rows:
        tok.revoked_at = utcnow()
        n += 1
    return n
