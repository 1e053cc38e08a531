"""Receiving a submission: stream it to disk under a size limit, validate it with the
evaluator's own validator, then store it (content-addressed), queue it and charge the quota
in one transaction.

Nothing is stored and nothing is charged for a refused upload: the temporary copy is removed
on every path, and the stored copy and the database rows are written only once the file is
valid and the quota allows it.
"""

from __future__ import annotations

import math
import re
import shutil
import tempfile
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dataperf.contract import ChallengeSpec
from dataperf.data.prepared import PreparedData
from dataperf.errors import SubmissionError
from dataperf.evaluator import load_data, validate
from dataperf.paths import home
from dataperf.submission import FORMATS
from leaderboard.http.errors import ApiError
from leaderboard.jobs import queue, quota
from leaderboard.jobs.auth import Caller
from leaderboard.jobs.service import add_queued, content_digest, ensure_challenge
from leaderboard.storage.blobs import store_file, submissions_dir
from leaderboard.storage.tables import Submission, utcnow

CHUNK = 1 << 16
MAX_FILENAME = 200
"""The longest file name kept (characters)."""
_PLAIN = r"[^/\\\x00-\x1f\x7f]"
"""A character allowed in a file name: no path separator, no control character."""
_SUFFIXES = "|".join("".join(f"[{c.lower()}{c.upper()}]" for c in f[1:]) for f in FORMATS)
FILENAME_PATTERN = rf"^{_PLAIN}*[^/\\\x00-\x1f\x7f\s.]{_PLAIN}*\.(?:{_SUFFIXES})$"
"""What an upload's file name must match (declared in the API schema): no path separator and no
control character, a visible character before the suffix, and a submission format's suffix
(any case)."""
_DATA: dict[tuple[str, int], PreparedData] = {}
_DATA_LOCK = threading.Lock()


def safe_filename(name: str | None) -> str:
    """Return ``name`` stripped of surrounding blanks; refuse (422 ``bad_filename``) a name
    that does not match :data:`FILENAME_PATTERN` or is longer than :data:`MAX_FILENAME`."""
    if name is None or len(name) > MAX_FILENAME or not re.search(FILENAME_PATTERN, name):
        raise ApiError(
            422,
            "bad_filename",
            f"the file name must be a plain name (no folder, no control character, at most {MAX_FILENAME} "
            f"characters) ending in one of {', '.join(FORMATS)}; got {name!r}",
        )
    base = re.split(r"[\\/]", name or "")[-1]
    base = re.sub(r"[\x00-\x1f\x7f]", "", base).strip()[-200:]
    suffix = Path(base).suffix.lower()
    if not base or suffix not in FORMATS:
        raise ApiError(422, "bad_filename", f"the file name must end in one of {', '.join(FORMATS)}; got {name!r}")
    return base


def uploads_dir() -> Path:
    """Return the folder holding uploads while they are received and validated."""
    return home() / "uploads"


async def receive(chunks: AsyncIterator[bytes], declared: int | None, limit: int, filename: str) -> Path:
    """Write the streamed body to a fresh temporary folder as ``filename`` and return the path.

    Refuses (413) before reading anything when the declared length is over ``limit``, and
    stops reading as soon as the received bytes pass it; the partial file is removed.
    """
    if declared is not None and declared > limit:
        raise too_large(declared, limit)
    uploads_dir().mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="up-", dir=uploads_dir()))
    path = folder / filename
    size = 0
    try:
        with path.open("wb") as f:
            async for chunk in chunks:
                size += len(chunk)
                if size > limit:
                    raise too_large(size, limit, partial=True)
                f.write(chunk)
    except BaseException:
        discard(path)
        raise
    if size == 0:
        discard(path)
        raise ApiError(422, "empty_upload", f"{filename}: the upload is empty (send the file as the request body)")
    return path


def too_large(size: int, limit: int, partial: bool = False) -> ApiError:
    """Return the 413 refusal for an upload over ``limit`` bytes."""
    got = f"more than {limit}" if partial else str(size)
    return ApiError(413, "too_large", f"the upload is {got} bytes; at most {limit} bytes are accepted", limit=limit)


def over_quota(q: quota.QuotaState) -> ApiError:
    """Return the 429 refusal of a spent quota, with the seconds until it resets as ``Retry-After``."""
    wait = max(0, math.ceil((q.reset_at - utcnow()).total_seconds()))
    return ApiError(429, "over_quota", q.message(), headers={"Retry-After": str(wait)}, quota=q.to_dict())


def discard(path: Path) -> None:
    """Remove an upload's temporary folder."""
    shutil.rmtree(path.parent, ignore_errors=True)


def prepared(spec: ChallengeSpec) -> PreparedData:
    """Return the challenge's prepared data, loaded once per process."""
    key = (spec.id, spec.version)
    with _DATA_LOCK:
        if key not in _DATA:
            _DATA[key] = load_data(spec)
        return _DATA[key]


@dataclass(frozen=True)
class Accepted:
    """The answer to an accepted (or duplicate) upload."""

    submission: int
    duplicate: bool
    status: str
    position: int | None
    quota: quota.QuotaState

    def to_dict(self) -> dict[str, Any]:
        """Return the answer as a JSON-ready dict."""
        return {
            "submission": self.submission,
            "duplicate": self.duplicate,
            "status": self.status,
            "queue_position": self.position,
            "quota": self.quota.to_dict(),
        }


def accept(
    sessions: sessionmaker[Session], spec: ChallengeSpec, caller: Caller, path: Path, max_attempts: int
) -> Accepted:
    """Validate the uploaded file at ``path``; store, queue and charge it for ``caller``.

    Raises ApiError 422 ``invalid_submission`` (every violation listed) or 429 ``over_quota``
    (with the reset time); on any refusal nothing is stored or charged. Content this team
    already has queued, running or scored is not stored again: the answer names that
    submission and says ``duplicate`` (no charge). Always removes the temporary upload.
    """
    try:
        try:
            parsed = validate(spec, path, prepared(spec))
        except SubmissionError as e:
            raise ApiError(422, "invalid_submission", str(e), violations=[v.to_dict() for v in e.violations]) from None
        digest = content_digest(spec, parsed.table, parsed.sha256)
        with sessions() as s:
            earlier = s.execute(
                select(Submission.id, Submission.status)
                .where(
                    Submission.team_id == caller.team_id,
                    Submission.challenge == spec.id,
                    Submission.content_sha256 == digest,
                    Submission.status.in_(["queued", "running", "done"]),
                )
                .order_by(Submission.id)
            ).first()
            if earlier is not None:
                return Accepted(
                    earlier.id,
                    True,
                    earlier.status,
                    queue.position(s, earlier.id),
                    quota.state(s, caller.team_id),
                )
        with sessions.begin() as s:
            ensure_challenge(s, spec)
            quota.lock_team(s, caller.team_id)
            q = quota.state(s, caller.team_id)
            if q.remaining <= 0:
                raise over_quota(q)
            sha, stored = _store(path, parsed.sha256)
            sub = add_queued(s, spec, caller.team_id, path.name, sha, stored, digest)
            queue.enqueue(s, sub.id, max_attempts)
            quota.charge(s, caller.team_id, sub.id)
            sid = sub.id
        with sessions() as s:
            return Accepted(sid, False, "queued", queue.position(s, sid), quota.state(s, caller.team_id))
    finally:
        discard(path)


def _store(path: Path, sha: str) -> tuple[str, Path]:
    """Copy the valid upload into the content-addressed store (before the commit that refers
    to it; a copy left by a failed commit is content-addressed and harmless)."""
    if not sha:
        raise ApiError(500, "store_failed", "the upload has no checksum")
    submissions_dir().mkdir(parents=True, exist_ok=True)
    return store_file(path)
