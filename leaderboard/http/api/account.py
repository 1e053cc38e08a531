"""Who am I and how much quota is left."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from leaderboard.http.api.deps import require_team, state
from leaderboard.http.api.models.common import Quota
from leaderboard.http.api.models.submissions import Me
from leaderboard.http.openapi import REQUIRED_AUTH, errors
from leaderboard.jobs import quota

router = APIRouter(tags=["account"])


@router.get(
    "/me",
    summary="The calling team",
    operation_id="get_me",
    response_model=Me,
    responses=errors(401),
    openapi_extra=REQUIRED_AUTH,
)
def me(request: Request) -> dict[str, Any]:
    """Return the team the token belongs to and its quota (with the reset time)."""
    who = require_team(request)
    with state(request).sessions() as s:
        q = quota.state(s, who.team_id)
    return {"team": who.team, "team_id": who.team_id, "quota": q.to_dict()}


@router.get(
    "/quota",
    summary="The calling team's daily quota",
    operation_id="get_quota",
    response_model=Quota,
    responses=errors(401),
    openapi_extra=REQUIRED_AUTH,
)
def get_quota(request: Request) -> dict[str, Any]:
    """Return the quota: limit, used, remaining and the reset time (next UTC midnight)."""
    who = require_team(request)
    with state(request).sessions() as s:
        return quota.state(s, who.team_id).to_dict()
