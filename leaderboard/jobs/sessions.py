"""Browser sessions: what the web pages carry in a cookie instead of the API token.

A session is a random secret shown to the browser once (in an HttpOnly cookie); only its
sha256 is stored, bound to one team, with an expiry. It reads pages and sends the challenge
page's upload form (the API itself needs the bearer token). A state-changing form proves it
comes from our own page with a CSRF token derived from the secret (a cross-site page cannot
read the cookie, so it cannot compute the token).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from leaderboard.jobs.auth import Caller
from leaderboard.storage.server_tables import BrowserSession
from leaderboard.storage.tables import Team, utcnow

SESSION_PREFIX = "dps_"
DEFAULT_TTL_S = 12 * 3600
"""How long a page login lasts."""


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def open_session(session: Session, team_id: int, ttl_s: float = DEFAULT_TTL_S) -> str:
    """Store a new session of ``team_id`` expiring in ``ttl_s`` seconds; return its secret."""
    secret = SESSION_PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        BrowserSession(
            session_sha256=_digest(secret), team_id=team_id, created_at=now, expires_at=now + timedelta(seconds=ttl_s)
        )
    )
    return secret


def team_for_session(session: Session, secret: str) -> Caller | None:
    """Return the team of a live (known, unexpired, not revoked) session, else None."""
    if not secret or not secret.startswith(SESSION_PREFIX) or len(secret) > 100:
        return None
    row = session.execute(
        select(Team.id, Team.name, BrowserSession.expires_at)
        .join(BrowserSession, BrowserSession.team_id == Team.id)
        .where(BrowserSession.session_sha256 == _digest(secret), BrowserSession.revoked_at.is_(None))
    ).first()
    if row is None:
        return None
    from leaderboard.jobs.queue import aware

    expires = aware(row[2])
    if expires is None or expires <= utcnow():
        return None
    return Caller(int(row[0]), str(row[1]))


def close_session(session: Session, secret: str) -> bool:
    """Revoke the session ``secret``; return True when a live one was revoked."""
    res = session.execute(
        update(BrowserSession)
        .where(BrowserSession.session_sha256 == _digest(secret), BrowserSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    return bool(res.rowcount)  # type: ignore[attr-defined]


def csrf_token(secret: str) -> str:
    """Return the CSRF token of the session (or pre-login) secret ``secret``."""
    return hmac.new(secret.encode(), b"dataperf csrf v1", hashlib.sha256).hexdigest()


def csrf_ok(secret: str, token: str) -> bool:
    """Return True when ``token`` is the CSRF token of ``secret`` (compared in constant time)."""
    return bool(secret) and bool(token) and hmac.compare_digest(csrf_token(secret), token)
