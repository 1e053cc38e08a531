"""Uploading submissions, their status with queue position, their logs and files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse
from sqlalchemy import select

from dataperf.contract import Role
from dataperf.kinds import KINDS
from leaderboard.boards import boards
from leaderboard.boards.visibility import for_participants
from leaderboard.http import intake, uploads
from leaderboard.http.api.deps import Caller, SubmissionId, caller, require_team, state
from leaderboard.http.api.models import submissions as answers
from leaderboard.http.errors import ApiError, not_found
from leaderboard.http.openapi import OPTIONAL_AUTH, REQUIRED_AUTH, UPLOAD_BODY, errors
from leaderboard.jobs import queue
from leaderboard.storage.server_tables import Job
from leaderboard.storage.tables import Cell, Dataset, Submission, Team

router = APIRouter(tags=["submissions"])


FILENAME = Query(
    description="The file's name: its suffix names the format (.csv, .json or .parquet)",
    json_schema_extra={"pattern": uploads.FILENAME_PATTERN, "maxLength": uploads.MAX_FILENAME},
)


@router.post(
    "/challenges/{challenge_id}/submissions",
    status_code=202,
    summary="Submit a file",
    operation_id="submit",
    response_model=answers.Accepted,
    response_description="Accepted and queued (or the team's earlier submission of the same content)",
    responses=errors(401, 404, 413, 422, 429, 503, 507),
    openapi_extra=REQUIRED_AUTH | UPLOAD_BODY,
)
async def submit(challenge_id: str, request: Request, filename: Annotated[str, FILENAME]) -> dict[str, Any]:
    """Upload a submission: the raw file as the body (``application/octet-stream``,
    ``?filename=picks.parquet``), or a form with the file in the part ``file``.

    Refusals (nothing stored, nothing charged): 401 without a valid token, 404 unknown
    challenge, 413 over the size limit (checked before the body is read when its length is
    declared), 422 invalid file (every violation listed), 429 over the daily quota (with the
    reset time), over a rate limit, over the team's concurrent uploads or its daily cap of
    refused uploads (each with ``Retry-After``), 507 when the server's disk is full.
    """
    return await intake.take(request, require_team(request), challenge_id, filename)


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
    found = session.execute(select(Dataset.problem, Dataset.digest).where(Dataset.id == sub.dataset_id)).first()
    if found is None:
        return None
    problem, digest = found
    col = Cell.test_sha256 if KINDS.get(sub.kind).role is Role.TESTS else Cell.train_sha256
    # With the problem, a training set's cells are found by the (problem, training set) index.
    q = select(Cell.provenance).where(Cell.problem == problem, col == digest).limit(1)
    prov = session.execute(q).scalar_one_or_none()
    if prov is None:
        return None
    return dict(prov) | {"set_digest": digest, "submission_sha256": sub.sha256}


def _iso(dt: Any) -> str | None:
    return queue.aware(dt).isoformat() if dt is not None else None  # type: ignore[union-attr]


@router.get(
    "/submissions",
    summary="The calling team's submissions",
    operation_id="list_my_submissions",
    response_model=answers.MySubmissions,
    responses=errors(401, 422),
    openapi_extra=REQUIRED_AUTH,
)
def mine(
    request: Request, limit: Annotated[int, Query(ge=1, le=500, description="How many, newest first")] = 50
) -> dict[str, Any]:
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
            .limit(limit)
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


@router.get(
    "/submissions/{submission_id}",
    summary="Status of a submission",
    operation_id="get_submission",
    response_model=answers.Submission,
    response_model_exclude_unset=True,
    responses=errors(401, 404),
    openapi_extra=OPTIONAL_AUTH,
)
def status(submission_id: SubmissionId, request: Request) -> dict[str, Any]:
    """Return status, queue position, public result and provenance (the owner also gets the log)."""
    return describe(request, submission_id)


@router.get(
    "/submissions/{submission_id}/log",
    summary="Evaluation log (own team only)",
    operation_id="get_submission_log",
    response_model=answers.Log,
    responses=errors(401, 403, 404),
    openapi_extra=REQUIRED_AUTH,
)
def log(submission_id: SubmissionId, request: Request) -> dict[str, Any]:
    """Return the job log of one of the calling team's submissions."""
    sub, _ = _owned(request, submission_id)
    with state(request).sessions() as s:
        job = s.execute(select(Job).where(Job.submission_id == submission_id)).scalar_one_or_none()
    return {"submission": sub.id, "status": sub.status, "log": job.log if job else ""}


@router.get(
    "/submissions/{submission_id}/file",
    summary="The submitted file (own team only)",
    operation_id="get_submission_file",
    response_class=FileResponse,
    responses=errors(
        401,
        403,
        404,
        ok={
            "description": "The file as it was uploaded",
            "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
        },
    ),
    openapi_extra=REQUIRED_AUTH,
)
def file(submission_id: SubmissionId, request: Request) -> FileResponse:
    """Return the stored file of one of the calling team's submissions."""
    sub, _ = _owned(request, submission_id)
    path = Path(sub.path)
    if not path.is_file():
        raise not_found(f"the stored file of submission {submission_id}")
    return FileResponse(path, filename=sub.filename, media_type="application/octet-stream")
