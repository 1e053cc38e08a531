"""The logged-in participant's pages: submitting a file from the browser, following its job
live, and the team page (submissions, quota and the best per challenge).

The browser form goes through the API's own intake (:func:`leaderboard.http.intake.take`): the
same streaming, limits, validation and quota. It is refused unless it comes from this site's own
page (its Origin) and carries the session's CSRF token, sent before the file so that a forged
form is refused before any byte of the file is read.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy import select

from leaderboard.boards import boards
from leaderboard.http import intake
from leaderboard.http.api.deps import COOKIE, SubmissionId, caller, challenge, state
from leaderboard.http.api.submissions import describe
from leaderboard.http.errors import ApiError
from leaderboard.http.web import pages
from leaderboard.jobs import quota
from leaderboard.jobs.sessions import csrf_ok
from leaderboard.storage.tables import Submission

FINAL = ("done", "failed", "rejected")
"""The statuses after which a job changes no more."""


def _login_needed(request: Request, what: str) -> HTMLResponse:
    return pages.error_page(request, 401, f"{what} needs a logged-in team: log in with its token first")


async def upload(challenge_id: str, request: Request) -> Response:
    """Take a submission from the challenge page's form (multipart, the file in ``file``, the
    CSRF token in ``csrf`` before it). Accepted: a redirect to the submission's page, which
    follows the job. Refused: the upload page with the reason and every violation."""
    refused = pages.refuse_cross_site(request)
    if refused is not None:
        return refused
    try:
        who = caller(request, allow_cookie=True)
    except ApiError as e:
        return pages.error_page(request, e.status, e.message)
    if who is None:
        return _login_needed(request, "submitting from the browser")
    secret = request.cookies.get(COOKIE, "")

    def check_form(fields: dict[str, str]) -> None:
        if not csrf_ok(secret, fields.get("csrf", "")):
            raise ApiError(403, "bad_csrf", "the upload form did not come from this site's page: reload it")

    try:
        answer = await intake.take(request, who, challenge_id, None, check_form)
    except ApiError as e:
        resp = _refusal(request, challenge_id, who.team, e)
        resp.headers.update(e.headers)
        return resp
    return RedirectResponse(answer["url"], status_code=303)


def _refusal(request: Request, challenge_id: str, team: str, e: ApiError) -> HTMLResponse:
    try:
        title = challenge(challenge_id).title
    except ApiError:
        title = challenge_id
    return pages.render(
        "refused.html",
        e.status,
        title="Upload refused",
        challenge_id=challenge_id,
        challenge_title=title,
        message=e.message,
        code=e.code,
        violations=e.extra.get("violations") or [],
        left_out=e.extra.get("violations_left_out") or 0,
        team=team,
        csrf=pages.logout_csrf(request, team),
    )


def live(submission_id: SubmissionId, request: Request) -> JSONResponse:
    """What the submission page polls while the job runs: status, queue position, and once
    scored the mean, interval and per-task means (the same visibility as the page)."""
    try:
        sub = describe(request, submission_id, allow_cookie=True)
    except ApiError as e:
        return JSONResponse(e.body(), status_code=e.status)
    res = sub.get("result") or {}
    if sub["status"] == "done" and res.get("mean") is None:
        res = res | _board_row(request, sub)
    out = {
        "submission": sub["submission"],
        "status": sub["status"],
        "final": sub["status"] in FINAL,
        "queue_position": sub["queue_position"],
        "mean": res.get("mean"),
        "ci95": res.get("ci95"),
        "metric": res.get("metric"),
        "task_means": res.get("task_means") or {},
        "message": res.get("message"),
    }
    if sub.get("owner"):
        out["error"] = sub.get("error")
    return JSONResponse(out, headers={"Cache-Control": "no-store"})


def _board_row(request: Request, sub: dict[str, Any]) -> dict[str, Any]:
    """Return the score and interval of ``sub``'s row on the board as the viewer sees it."""
    board = pages.cached_board(request, sub["challenge"])
    first = board["layout"]["columns"][0]
    r = boards.find_row(board, sub["submission"])
    return {} if r is None else {"mean": r.get(first["key"]), "ci95": r.get("ci95"), "metric": first["label"]}


def team_page(request: Request) -> HTMLResponse:
    """The logged-in team's page: its submissions (newest first), its quota today with the
    reset time, and its best-placed submission on each challenge's board."""
    try:
        who = caller(request, allow_cookie=True)
    except ApiError as e:
        return pages.error_page(request, e.status, e.message)
    if who is None:
        return _login_needed(request, "the team page")
    st = state(request)
    with st.sessions() as s:
        q = quota.state(s, who.team_id)
        subs = s.execute(
            select(Submission.id, Submission.challenge, Submission.filename, Submission.status, Submission.created_at)
            .where(Submission.team_id == who.team_id)
            .order_by(Submission.id.desc())
            .limit(200)
        ).all()
    best = []
    for cid in sorted({r.challenge for r in subs if r.status == "done"}):
        try:
            spec = challenge(cid)
        except ApiError:
            continue
        board = pages.cached_board(request, cid)
        top = boards.best_of(board, who.team)
        if top is not None:
            key = board["layout"]["columns"][0]["key"]
            best.append(
                {
                    "challenge": cid,
                    "title": spec.title,
                    "submission": top["submission"],
                    "rank": top["rank"],
                    "of": len(board["rows"]),
                    "metric": board["layout"]["columns"][0]["label"],
                    "score": top.get(key),
                }
            )
    return pages.render(
        "team.html",
        title=f"Team {who.team}",
        quota=q,
        submissions=subs,
        best=best,
        team=who.team,
        csrf=pages.logout_csrf(request, who.team),
    )
