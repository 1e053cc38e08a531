"""A challenge's versions as the boards show them: the current one (the registry's spec) and
every earlier one the server recorded when a newer version replaced it.

Each version has its own board: the submissions made against it (``challenge_version``), scored
on its data and rules. An earlier version's board is read-only (its submissions are closed) and
is drawn from the spec document stored with it, so it stays readable after its spec file is
gone. A version the ``challenges`` table still records but the registry has moved past (no
submission has synced the bump yet) counts as an earlier version superseded at an unknown time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dataperf.challenges import get_challenge, parse_spec
from dataperf.contract import ChallengeSpec
from dataperf.errors import SpecError
from leaderboard.storage.tables import Challenge, ChallengeVersion


class UnknownVersionError(LookupError):
    """A challenge has no such version (neither current nor recorded as an earlier one)."""


@dataclass(frozen=True)
class Version:
    """One version of a challenge as its board shows it."""

    version: int
    spec: ChallengeSpec
    """The version's spec (for an earlier version whose document was never stored: the current
    spec, with the recorded title, metric and direction shown beside it)."""
    current: bool
    superseded_by: int | None = None
    superseded_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the fields a board or a challenge's description shows."""
        return {
            "version": self.version,
            "current": self.current,
            "title": self.spec.title,
            "superseded_by": self.superseded_by,
            "superseded_at": self.superseded_at.isoformat() if self.superseded_at else None,
        }


def _earlier(session: Session, challenge: str, current: ChallengeSpec) -> dict[int, Version]:
    out: dict[int, Version] = {}
    q = select(ChallengeVersion).where(ChallengeVersion.challenge == challenge)
    for row in session.execute(q).scalars():
        if row.version == current.version:
            continue
        spec = _spec_from(row.spec, current, row.title, f"stored spec of {challenge} v{row.version}")
        out[row.version] = Version(row.version, spec, False, row.superseded_by, row.superseded_at)
    recorded = session.get(Challenge, challenge)
    if recorded is not None and recorded.version != current.version and recorded.version not in out:
        spec = _spec_from(recorded.spec, current, None, f"stored spec of {challenge} v{recorded.version}")
        out[recorded.version] = Version(recorded.version, spec, False, current.version, None)
    return out


def _spec_from(doc: dict[str, Any] | None, current: ChallengeSpec, title: str | None, source: str) -> ChallengeSpec:
    """Return the spec of a stored document (the current spec, retitled, when none was stored
    or this installation can no longer read it, e.g. its kind is gone)."""
    if doc is not None:
        try:
            return parse_spec(doc, source)
        except SpecError:
            pass
    return current.model_copy(update={"title": title}) if title else current


def versions(session: Session, challenge: str) -> list[Version]:
    """Return every version of ``challenge``, newest first (the current one first)."""
    current = get_challenge(challenge)
    earlier = _earlier(session, challenge, current)
    return [Version(current.version, current, True)] + [earlier[v] for v in sorted(earlier, reverse=True)]


def version_of(session: Session, challenge: str, version: int | None = None) -> Version:
    """Return version ``version`` of ``challenge`` (the current one when None); raise
    UnknownVersionError, naming the known versions, when it has no such version."""
    current = get_challenge(challenge)
    if version is None or version == current.version:
        return Version(current.version, current, True)
    earlier = _earlier(session, challenge, current)
    if version not in earlier:
        known = ", ".join(str(v) for v in [current.version, *sorted(earlier, reverse=True)])
        raise UnknownVersionError(f"challenge '{challenge}' has no version {version} (its versions: {known})")
    return earlier[version]
