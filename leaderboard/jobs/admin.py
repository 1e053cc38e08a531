"""Organizer actions behind ``dataperf admin``: teams, tokens, quotas, publishing, and hosting
challenges (:mod:`leaderboard.jobs.hosting`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dataperf.errors import InputError
from leaderboard.jobs import auth, quota
from leaderboard.storage.server_tables import ChallengeSetting
from leaderboard.storage.tables import Team, utcnow


def _team(s: Session, name: str) -> Team:
    team = s.execute(select(Team).where(Team.name == name)).scalar_one_or_none()
    if team is None:
        raise InputError(f"no team named {name!r} (create it with 'dataperf admin create-team')")
    return team


def set_published(s: Session, challenge: str, published: bool) -> None:
    """Publish (or hide) the hidden results of ``challenge``."""
    from dataperf.challenges import get_challenge

    get_challenge(challenge)
    row = s.get(ChallengeSetting, challenge)
    if row is None:
        row = ChallengeSetting(challenge=challenge, published=published)
        s.add(row)
    row.published, row.published_at = published, utcnow() if published else None


def run_action(sessions: sessionmaker[Session], action: str, args: dict[str, Any]) -> dict[str, Any]:
    """Run admin ``action`` with ``args`` and return a JSON-ready answer with a ``message``."""
    if action == "add-challenge":
        from pathlib import Path

        from leaderboard.jobs.hosting import add_challenge

        return add_challenge(sessions, Path(args["file"]))
    if action == "retire":
        from leaderboard.jobs.hosting import retire

        return retire(sessions, args["challenge"], not args.get("undo"))
    with sessions.begin() as s:
        if action == "create-team":
            team, token = auth.create_team(s, args["name"], args.get("quota"))
            return {
                "team": team.name,
                "token": token,
                "message": f"team {team.name!r} created; its API token (shown once, keep it secret):",
            }
        if action == "issue-token":
            team = _team(s, args["name"])
            revoked = auth.revoke_tokens(s, team.id) if args.get("revoke") else 0
            token = auth.issue_token(s, team.id)
            return {
                "team": team.name,
                "token": token,
                "revoked": revoked,
                "message": f"new token for {team.name!r} ({revoked} revoked; shown once):",
            }
        if action == "set-quota":
            team = _team(s, args["name"])
            if args["limit"] < 0:
                raise InputError(f"The 'limit' parameter of set-quota must be >= 0. Got {args['limit']} instead.")
            quota.set_limit(s, team.id, args["limit"])
            return {
                "team": team.name,
                "limit": args["limit"],
                "message": f"{team.name!r} may submit {args['limit']} times per UTC day",
            }
        if action in ("publish", "unpublish"):
            set_published(s, args["challenge"], action == "publish")
            return {
                "challenge": args["challenge"],
                "published": action == "publish",
                "message": f"{args['challenge']}: hidden results " + ("published" if action == "publish" else "hidden"),
            }
    raise InputError(f"unknown admin action {action!r}")
