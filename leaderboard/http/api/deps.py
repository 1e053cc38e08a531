"""What every route needs: the settings, database sessions and the calling team."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Path, Request
from sqlalchemy.orm import Session, sessionmaker

from dataperf.contract import ChallengeSpec
from dataperf.errors import RegistryError
from dataperf.submission import MAX_BYTES
from leaderboard.boards.cache import ViewCache
from leaderboard.http.errors import ApiError
from leaderboard.http.limits import Buckets, Limiter, Rate, too_many
from leaderboard.http.shared_limits import StoredBuckets, StoredLimiter
from leaderboard.jobs.auth import Caller, team_for_token
from leaderboard.jobs.sessions import DEFAULT_TTL_S, team_for_session

DEFAULT_TOKEN_CHECKS = Rate(per_minute=300, burst=300)
DEFAULT_FAILED_TOKENS = Rate(per_minute=10, burst=20)
DEFAULT_TEAM_TOKEN_CHECKS = Rate(per_minute=600, burst=300)
DEFAULT_UPLOADS = Rate(per_minute=30, burst=30)
DEFAULT_TEAM_UPLOADS = Rate(per_minute=20, burst=20)

COOKIE = "dataperf_session"
"""The browser session cookie (a session secret, never the API token)."""
MAX_ID = 2**63 - 1
"""The largest id a table row can have (a signed 64-bit integer)."""

SubmissionId = Annotated[int, Path(ge=1, le=MAX_ID, description="A submission's id")]
"""A submission id in a route's path: anything else is answered 404 before the route runs."""


@dataclass(frozen=True)
class Settings:
    """How a server runs: its database, upload limit, job attempts, page size and the limits
    that protect it (every one is stated in the README)."""

    db_url: str | None = None
    """SQLAlchemy URL (None: ``$DATAPERF_DB``, else SQLite in the data home)."""
    max_upload_bytes: int = MAX_BYTES
    max_attempts: int = 3
    """Evaluation attempts per job before it fails (platform failures are never charged)."""
    page_size: int = 100
    """Leaderboard rows per page."""
    token_checks: Rate = DEFAULT_TOKEN_CHECKS
    """Requests carrying a token or a session, per client address."""
    failed_tokens: Rate = DEFAULT_FAILED_TOKENS
    """Wrong tokens per client address; once spent, every token check from it waits."""
    team_token_checks: Rate = DEFAULT_TEAM_TOKEN_CHECKS
    """Requests authenticated as one team, from every address together."""
    uploads: Rate = DEFAULT_UPLOADS
    """Uploads per client address."""
    team_uploads: Rate = DEFAULT_TEAM_UPLOADS
    """Uploads per team."""
    max_concurrent_uploads: int = 2
    """Uploads one team may have in progress at once."""
    max_refused_per_day: int = 100
    """Uploads of one team refused for their content in one UTC day before uploads wait for
    the next day (refusals are never charged to the quota)."""
    session_ttl_s: float = DEFAULT_TTL_S
    """How long a page login lasts."""
    trust_proxy: bool = False
    """Behind a reverse proxy: take the client address from ``X-Forwarded-For`` and the scheme
    from ``X-Forwarded-Proto`` (a cookie is ``Secure`` when either says https)."""

    def with_rates_scaled(self, factor: float) -> Settings:
        """Return these settings with every rate limit (per minute and burst) ``factor`` times
        as large: for load tests and fuzzers that send thousands of requests from one address."""
        from dataclasses import replace

        def scaled(r: Rate) -> Rate:
            return Rate(per_minute=r.per_minute * factor, burst=max(1, round(r.burst * factor)))

        return replace(
            self,
            token_checks=scaled(self.token_checks),
            failed_tokens=scaled(self.failed_tokens),
            team_token_checks=scaled(self.team_token_checks),
            uploads=scaled(self.uploads),
            team_uploads=scaled(self.team_uploads),
        )

    def limiter(self, sessions: sessionmaker[Session] | None = None) -> Limiter:
        """Return the rate limits of these settings: kept in the database of ``sessions`` (shared
        by every server process on it), or in this process without one."""

        def bucket(rate: Rate, name: str) -> Buckets:
            return Buckets(rate) if sessions is None else StoredBuckets(rate, sessions, name)

        return StoredLimiter(
            token_checks_per_address=bucket(self.token_checks, "token_checks_per_address"),
            failed_tokens_per_address=bucket(self.failed_tokens, "failed_tokens_per_address"),
            token_checks_per_team=bucket(self.team_token_checks, "token_checks_per_team"),
            uploads_per_address=bucket(self.uploads, "uploads_per_address"),
            uploads_per_team=bucket(self.team_uploads, "uploads_per_team"),
            max_concurrent_uploads=self.max_concurrent_uploads,
            sessions=sessions,
        )


@dataclass
class State:
    """The app's shared state (``app.state.dp``)."""

    settings: Settings
    sessions: sessionmaker[Session]
    cache: ViewCache
    limits: Limiter = field(default_factory=lambda: Settings().limiter())


def state(request: Request) -> State:
    """Return the app's shared state."""
    return request.app.state.dp  # type: ignore[no-any-return]


def bearer(request: Request) -> str:
    """Return the token of the ``Authorization: Bearer`` header ('' without one)."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def client_address(request: Request) -> str:
    """Return the client's address (behind a trusted proxy: the last ``X-Forwarded-For`` hop)."""
    if state(request).settings.trust_proxy:
        forwarded = request.headers.get("x-forwarded-for", "")
        if forwarded.strip():
            return forwarded.split(",")[-1].strip()[:64]
    return request.client.host if request.client else "unknown"


def is_https(request: Request) -> bool:
    """Return True when the request came over TLS (or a trusted proxy says it did)."""
    if request.url.scheme == "https":
        return True
    proto = request.headers.get("x-forwarded-proto", "")
    return state(request).settings.trust_proxy and proto.split(",")[0].strip().lower() == "https"


def check_token(request: Request, token: str) -> Caller:
    """Return the team owning ``token``, under the rate limits of token checks.

    Raises ApiError 429 (with ``Retry-After``) when the client address or the team is over its
    rate, or while the address has spent its allowance of wrong tokens; 401 for a token that is
    unknown or revoked.
    """
    st = state(request)
    addr = client_address(request)
    lim = st.limits
    wait = lim.failed_tokens_per_address.wait(addr)
    if wait > 0:
        raise too_many("wrong tokens from this address", str(lim.failed_tokens_per_address.rate), wait)
    lim.token_checks_per_address.check(addr, "token checks from this address")
    with st.sessions() as s:
        who = team_for_token(s, token)
    if who is None:
        lim.failed_tokens_per_address.take(addr)
        raise ApiError(401, "bad_token", "the API token is unknown or revoked; ask the organizer for a new one")
    lim.token_checks_per_team.check(str(who.team_id), "requests for this team")
    return who


def caller(request: Request, allow_cookie: bool = False) -> Caller | None:
    """Return the team the request acts for, or None for an anonymous request.

    The API token (``Authorization: Bearer``) is checked by :func:`check_token` (401 when
    unknown or revoked). With ``allow_cookie`` (pages, which only read), a live browser session
    also names the team; an expired or unknown session is anonymous.
    """
    token = bearer(request)
    if token:
        return check_token(request, token)
    secret = request.cookies.get(COOKIE, "") if allow_cookie else ""
    if not secret:
        return None
    st = state(request)
    st.limits.token_checks_per_address.check(client_address(request), "token checks from this address")
    with st.sessions() as s:
        return team_for_session(s, secret)


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
