"""Uploading submissions, their status with queue position, their logs and files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse
from sqlalchemy import select

from dataperf.contract import Role
from dataperf.kinds import KINDS
from leaderboard.boards import boards
from leaderboard.boards.visibility import for_participants
from leaderboard.http import uploads
from leaderboard.http.api.deps import Caller, caller, challenge, client_address, require_team, state
from leaderboard.http.errors import ApiError, not_found
from leaderboard.http.limits import too_many
from leaderboard.jobs import queue, quota
from leaderboard.storage.server_tables import Job
from leaderboard.storage.tables import Cell, Dataset, Submission, Team, utcnow

router = APIRouter(tags=["submissions"])


@router.post("/challenges/{challenge_id}/submissions", status_code=202, summary="Submit a file")
async def submit(challenge_id: str, request: Request, filename: str) -> dict[str, Any]:
    """Upload a submission as the raw request body (``?filename=picks.parquet``).

    Refusals (nothing stored, nothing charged): 401 without a valid token, 404 unknown
    challenge, 413 over the size limit (checked before the body is read), 422 invalid file
    (every violation listed), 429 over the daily quota (with the reset time), over a rate
    limit, over the team's concurrent uploads or its daily cap of refused uploads (with
    ``Retry-After``), 507 when the server's disk is full.
    """
    who = require_team(request)
    st = state(request)
    addr = client_address(request)
    st.limits.uploads_per_address.check(addr, "uploads from this address")
    st.limits.uploads_per_team.check(str(who.team_id), "uploads for this team")
    spec = challenge(challenge_id)
    with st.sessions() as s:
        q = quota.state(s, who.team_id)
        refused = quota.refusals_today(s, who.team_id)
    if refused >= st.settings.max_refused_per_day:
        wait = (q.reset_at - utcnow()).total_seconds()
        raise too_many(
            "refused uploads today",
            f"{st.settings.max_refused_per_day} a UTC day per team",
            wait,
            code="too_many_refused",
        )
    if q.remaining <= 0:
        raise ApiError(429, "over_quota", q.message(), quota=q.to_dict())
    st.limits.start_upload(who.team_id)
    try:
        name = uploads.safe_filename(filename)
        declared = request.headers.get("content-length")
        path = await uploads.receive(
            request.stream(),
            int(declared) if declared and declared.isdigit() else None,
            st.settings.max_upload_bytes,
            name,
        )
        accepted = await run_in_threadpool(uploads.accept, st.sessions, spec, who, path, st.settings.max_attempts, name)
    except ApiError as e:
        if e.code in REFUSED_FOR_CONTENT:
            with st.sessions.begin() as s:
                quota.record_refusal(s, who.team_id, e.code)
        raise
    finally:
        st.limits.end_upload(who.team_id)
    return accepted.to_dict() | {
        "challenge": spec.id,
        "team": who.team,
        "url": f"/submissions/{accepted.submission}",
    }


REFUSED_FOR_CONTENT = ("invalid_submission", "bad_filename", "empty_upload", "too_large")
"""Refusal codes that count toward a team's daily cap of refused uploads."""


def _owned(request: Request, submission_id: int, allow_cookie: bool = False) -> tuple[Submission, Caller]:
    who = caller(request, allow_cookie)
    if who is None:
        raise ApiError(401, "no_token", "a submission's log and file are shown to its team only: send its API token")
    with state(request).sessions() as s:
        sub = s.get(Submission, submission_id)
    if sub is None:
        raise not_found(f"submission {submission_id}")
    if sub.team_id != who.team_id:
        raise ApiError(
            403,
            "wrong_team",
            f"submission {submission_id} belongs to another team; a team sees only its own submissions' files and logs",
        )
    return sub, who


SHOWN_TO_ALL = ("done",)
"""The statuses of another team's submission that anyone may see: scored ones only. A queued,
running, rejected or failed submission is shown to its own team only (to everyone else it
does not exist), so ids cannot be walked to list every team's attempts."""


def describe(request: Request, submission_id: int, allow_cookie: bool = False) -> dict[str, Any]:
    """Return a submission's status, queue position, public result and provenance; the owner
    also gets the error and the log. Another team's submission is shown only once it is scored
    (:data:`SHOWN_TO_ALL`); before that it is a 404, as an id that does not exist."""
    who = caller(request, allow_cookie)
    with state(request).sessions() as s:
        row = s.execute(
            select(Submission, Team.name)
            .join(Team, Team.id == Submission.team_id)
            .where(Submission.id == submission_id)
        ).first()
        if row is None:
            raise not_found(f"submission {submission_id}")
        sub, team = row
        if (who is None or who.team_id != sub.team_id) and sub.status not in SHOWN_TO_ALL:
            raise not_found(f"submission {submission_id}")
        job = s.execute(select(Job).where(Job.submission_id == submission_id)).scalar_one_or_none()
        pos = queue.position(s, submission_id)
        view = for_participants(s, sub.challenge)
        provenance = _provenance(s, sub)
    owner = who is not None and who.team_id == sub.team_id
    out: dict[str, Any] = {
        "submission": sub.id,
        "challenge": sub.challenge,
        "challenge_version": sub.challenge_version,
        "kind": sub.kind,
        "team": team,
        "filename": sub.filename,
        "sha256": sub.sha256,
        "status": sub.status,
        "queue_position": pos,
        "attempts": job.attempts if job else sub.attempts,
        "max_attempts": job.max_attempts if job else None,
        "job_state": job.state if job else None,
        "created_at": _iso(sub.created_at),
        "started_at": _iso(sub.started_at),
        "finished_at": _iso(sub.finished_at),
        "result": boards.result(sub, view),
        "provenance": provenance,
        "owner": owner,
    }
    if owner:
        out["error"] = sub.error
        out["violations"] = (sub.result or {}).get("violations")
        out["log"] = job.log if job else ""
    return out


def _provenance(session: Any, sub: Submission) -> dict[str, Any] | None:
    """Return where the submission's scores came from: the evaluator result's provenance, or for
    ratchet sets the provenance recorded with one of its cells (never a score)."""
    res = sub.result or {}
    if isinstance(res.get("provenance"), dict):
        return dict(res["provenance"])
    if sub.dataset_id is None:
        return None
    digest = session.execute(select(Dataset.digest).where(Dataset.id == sub.dataset_id)).scalar_one_or_none()
    col = Cell.test_sha256 if KINDS.get(sub.kind).role is Role.TESTS else Cell.train_sha256
    prov = session.execute(select(Cell.provenance).where(col == digest).limit(1)).scalar_one_or_none()
    if prov is None:
        return None
    return dict(prov) | {"set_digest": digest, "submission_sha256": sub.sha256}


def _iso(dt: Any) -> str | None:
    return queue.aware(dt).isoformat() if dt is not None else None  # type: ignore[union-attr]


@router.get("/submissions", summary="The calling team's submissions")
def mine(request: Request, limit: int = 50) -> dict[str, Any]:
    """Return the calling team's latest submissions (newest first)."""
    who = require_team(request)
    with state(request).sessions() as s:
        rows = s.execute(
            select(
                Submission.id,
                Submission.challenge,
                Submission.filename,
                Submission.status,
                Submission.created_at,
            )
            .where(Submission.team_id == who.team_id)
            .order_by(Submission.id.desc())
            .limit(max(1, min(limit, 500)))
        ).all()
    return {
        "team": who.team,
        "submissions": [
            {
                "submission": r.id,
                "challenge": r.challenge,
                "filename": r.filename,
                "status": r.status,
                "created_at": _iso(r.created_at),
            }
            for r in rows
        ],
    }


@router.get("/submissions/{submission_id}", summary="Status of a submission")
def status(submission_id: int, request: Request) -> dict[str, Any]:
    """Return status, queue position, public result and provenance (the owner also gets the log)."""
    return describe(request, submission_id)


@router.get("/submissions/{submission_id}/log", summary="Evaluation log (own team only)")
def log(submission_id: int, request: Request) -> dict[str, Any]:
    """Return the job log of one of the calling team's submissions."""
    sub, _ = _owned(request, submission_id)
    with state(request).sessions() as s:
        job = s.execute(select(Job).where(Job.submission_id == submission_id)).scalar_one_or_none()
    return {"submission": sub.id, "status": sub.status, "log": job.log if job else ""}


@router.get("/submissions/{submission_id}/file", summary="The submitted file (own team only)")
def file(submission_id: int, request: Request) -> FileResponse:
    """Return the stored file of one of the calling team's submissions."""
    sub, _ = _owned(request, submission_id)
    path = Path(sub.path)
    if not path.is_file():
        raise not_found(f"the stored file of submission {submission_id}")
    return FileResponse(path, filename=sub.filename, media_type="application/octet-stream")
