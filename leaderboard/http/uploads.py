"""Receiving a submission: stream it to disk under a size limit, validate it with the
evaluator's own validator, then store it (content-addressed), queue it and charge the quota
in one transaction.

Nothing is stored and nothing is charged for a refused upload: the temporary copy is removed
on every path, and the stored copy and the database rows are written only once the file is
valid and the quota allows it.
"""

from __future__ import annotations

import errno
import math
import os
import re
import shutil
import tempfile
import threading
import unicodedata
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
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


MAX_NAME_CHARS = 200
"""Longest display name kept for an upload, in characters (the database column holds 255)."""


def display_name(name: str | None) -> str:
    """Return the name an upload is shown under: the last path component of ``name`` without
    control characters or Unicode format characters (category Cf: the right-to-left override
    and other invisible marks that can make a name read as another), at most 200 characters
    and keeping its suffix; the suffix must be a submission format.

    The name is shown only: the file is stored under a fixed name of the server's own.
    """
    base = re.split(r"[\\/]", name or "")[-1]
    base = "".join(ch for ch in base if unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Zl", "Zp")).strip()
    suffix = Path(base).suffix.lower()
    if not base or suffix not in FORMATS or base.lower() == suffix:
        shown = (name or "")[:100]
        raise ApiError(422, "bad_filename", f"the file name must end in one of {', '.join(FORMATS)}; got {shown!r}")
    if len(base) > MAX_NAME_CHARS:
        base = base[: MAX_NAME_CHARS - len(suffix)].rstrip() + suffix
    return base


def safe_filename(name: str | None) -> str:
    """Return the display name of an upload named ``name`` (:func:`display_name`); refuse (422
    ``bad_filename``) a name that does not match :data:`FILENAME_PATTERN` (the pattern the API
    schema declares) or is longer than :data:`MAX_FILENAME` characters."""
    if name is None or len(name) > MAX_FILENAME or not re.search(FILENAME_PATTERN, name):
        raise ApiError(
            422,
            "bad_filename",
            f"the file name must be a plain name (no folder, no control character, at most {MAX_FILENAME} "
            f"characters) ending in one of {', '.join(FORMATS)}; got {(name or '')[:100]!r}",
        )
    return display_name(name)


def uploads_dir() -> Path:
    """Return the folder holding uploads while they are received and validated."""
    return home() / "uploads"


async def receive(chunks: AsyncIterator[bytes], declared: int | None, limit: int, filename: str) -> Path:
    """Write the streamed body to a fresh temporary folder and return the path.

    The file is written under a fixed name (``upload`` plus the suffix of ``filename``, the
    display name): a participant's name never becomes a path. Refuses (413) before reading
    anything when the declared length is over ``limit``, and stops reading as soon as the
    received bytes pass it; a full disk is refused (507). The partial file is removed on
    every refusal.
    """
    if declared is not None and declared > limit:
        raise too_large(declared, limit)
    uploads_dir().mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="up-", dir=uploads_dir()))
    path = folder / ("upload" + Path(filename).suffix.lower())
    size = 0
    try:
        with path.open("wb") as f:
            async for chunk in chunks:
                size += len(chunk)
                if size > limit:
                    raise too_large(size, limit, partial=True)
                f.write(chunk)
            f.flush()
            os.fsync(f.fileno())
    except OSError as e:
        discard(path)
        if e.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
            raise ApiError(507, "storage_full", "the server has no room for this upload now; try again later") from None
        raise
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
    sessions: sessionmaker[Session],
    spec: ChallengeSpec,
    caller: Caller,
    path: Path,
    max_attempts: int,
    name: str | None = None,
) -> Accepted:
    """Validate the uploaded file at ``path``; store, queue and charge it for ``caller``
    (``name`` is the display name it is listed under; default: the file's own name).

    Raises ApiError 422 ``invalid_submission`` (every violation listed) or 429 ``over_quota``
    (with the reset time); on any refusal nothing is stored or charged. Content this team
    already has queued, running or scored is not stored again: the answer names that
    submission and says ``duplicate`` (no charge). Always removes the temporary upload.
    """
    try:
        name = name or path.name
        try:
            parsed = validate(spec, path, prepared(spec))
        except SubmissionError as e:
            raise invalid(e, path.name, name) from None
        digest = content_digest(spec, parsed.table, parsed.sha256)
        with sessions() as s:
            earlier = s.execute(
                select(Submission.id, Submission.status)
                .where(
                    Submission.team_id == caller.team_id,
                    Submission.challenge == spec.id,
                    Submission.challenge_version == spec.version,
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
            sub = add_queued(s, spec, caller.team_id, name, sha, stored, digest)
            queue.enqueue(s, sub.id, max_attempts)
            quota.charge(s, caller.team_id, sub.id)
            sid = sub.id
        with sessions() as s:
            return Accepted(sid, False, "queued", queue.position(s, sid), quota.state(s, caller.team_id))
    finally:
        discard(path)


def invalid(e: SubmissionError, stored_as: str, name: str) -> ApiError:
    """Return the 422 refusal of an invalid upload, its violations naming the display name
    (not the fixed name the file was received under), with how many were left out."""
    found = [replace(v, file=name) if v.file == stored_as else v for v in e.violations]
    renamed = SubmissionError(found)
    message = str(renamed)
    if e.left_out:
        message = message.replace(f"{len(found)} violations", f"{len(found) + e.left_out} violations", 1)
    return ApiError(
        422,
        "invalid_submission",
        message,
        violations=[v.to_dict() for v in found],
        violations_left_out=e.left_out,
    )


def _store(path: Path, sha: str) -> tuple[str, Path]:
    """Copy the valid upload into the content-addressed store (before the commit that refers
    to it; a copy left by a failed commit is content-addressed and harmless). A full disk is
    refused (507) and leaves no partial copy."""
    if not sha:
        raise ApiError(500, "store_failed", "the upload has no checksum")
    try:
        submissions_dir().mkdir(parents=True, exist_ok=True)
        return store_file(path)
    except OSError as e:
        if e.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
            raise ApiError(507, "storage_full", "the server has no room for this upload now; try again later") from None
        raise
