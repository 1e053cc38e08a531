"""The compare view: one submission against another of the same challenge (the team's own, or
any scored one), per task and overall, with the paired interval over seeds
(:func:`leaderboard.boards.compare.compare`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import HTMLResponse

from leaderboard.boards import boards
from leaderboard.boards.compare import compare, row_changes, shown_result
from leaderboard.boards.visibility import for_participants
from leaderboard.http.api.deps import SubmissionId, caller, state
from leaderboard.http.api.submissions import describe
from leaderboard.http.errors import ApiError
from leaderboard.http.web import pages


def candidates(request: Request, sub: dict[str, Any]) -> list[dict[str, Any]]:
    """Return what ``sub`` can be compared with: the other rows of its challenge's board as the
    viewer sees it (the team's own unscored submissions are not on it)."""
    if sub["status"] != "done":
        return []
    board = pages.cached_board(request, sub["challenge"])
    rows = board["rows"]
    if len(rows) > 2 * CANDIDATES:  # a board of 100,000: the top, the baselines and the neighbours
        mine = boards.find_row(board, sub["submission"])
        at = (mine["rank"] - 1) if mine else 0
        near = rows[max(0, at - NEIGHBOURS) : at + NEIGHBOURS + 1]
        picked = {r["submission"]: r for r in [*rows[:CANDIDATES], *boards.baseline_rows(board), *near]}
        rows = sorted(picked.values(), key=lambda r: r["rank"])
    return [r for r in rows if r["submission"] != sub["submission"]]


CANDIDATES = 100
"""On a large board, the best this many rows are offered for a comparison..."""
NEIGHBOURS = 10
"""... with the baselines and this many rows either side of the submission's own."""


def _board_score(request: Request, sub: dict[str, Any]) -> tuple[float | None, str]:
    board = pages.cached_board(request, sub["challenge"])
    key = board["layout"]["columns"][0]["key"]
    row = boards.find_row(board, sub["submission"])
    return (None if row is None else row.get(key)), board["layout"]["columns"][0]["label"]


def compare_page(
    submission_id: SubmissionId,
    request: Request,
    other: Annotated[int, Query(alias="with", ge=1, le=2**63 - 1)],
) -> HTMLResponse:
    """Submission ``submission_id`` against submission ``with``: the change of each task's mean
    and of the score, each with the 95% interval of the paired difference over seeds."""
    team = pages.team_of(request)
    try:
        a = describe(request, submission_id, allow_cookie=True)
        b = describe(request, other, allow_cookie=True)
    except ApiError as e:
        return pages.error_page(request, e.status, e.message)
    if a["challenge"] != b["challenge"]:
        message = f"submission {a['submission']} is on {a['challenge']} and {b['submission']} on {b['challenge']}"
        return pages.error_page(request, 422, message + ": only submissions of one challenge can be compared")
    a_score, label = _board_score(request, a)
    b_score, _ = _board_score(request, b)
    st = state(request)
    with st.sessions() as s:
        view = for_participants(s, a["challenge"])
        ra = shown_result(s, a["submission"], a["result"], view)
        rb = shown_result(s, b["submission"], b["result"], view)
        who = caller(request, allow_cookie=True)
        rows = row_changes(s, (a["submission"], b["submission"]), who.team_id if who else None)
    diff = compare(ra, rb, a_score, b_score)
    res = ra or rb or {}
    return pages.render(
        "compare.html",
        title=f"Submission {a['submission']} against {b['submission']}",
        a=a,
        b=b,
        diff=diff,
        rows=rows,
        label=label,
        direction=res.get("direction"),
        others=candidates(request, a),
        team=team,
        csrf=pages.logout_csrf(request, team),
    )
