"""What the CLI, the quickstart and the server's worker call: store, process and fill.

- :func:`ingest_local` validates a file, stores it and scores it in this process
  (``dataperf submit --local``). Invalid input raises SubmissionError and stores nothing.
- :func:`process_submission` scores a stored submission (the worker's job). Ratchet
  challenges (a training-set challenge with a test-set dual, and that dual) are scored by the
  ratchet's cells, from the canonical table the runner read the file into; every other
  challenge by the runner. The runner is the only reader of the file. Writing the result is
  idempotent.
- :func:`recover_stale` puts submissions left ``running`` by a killed process back in the queue.
- :func:`fill_from_baselines` submits every registered baseline of every challenge.
"""

from __future__ import annotations

import tempfile
import time
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from dataperf.challenges import challenges, get_challenge, spec_sha256
from dataperf.contract import ChallengeSpec, Role
from dataperf.errors import ChangedFileError, SubmissionError, Violation
from dataperf.evaluator import load_data, validate
from dataperf.hashing import sha256_file
from dataperf.kinds import kind_of
from leaderboard.jobs.faults import report
from leaderboard.ratchet.problem import Problem, key_for, problem_id_for
from leaderboard.ratchet.steps import Ratchet
from leaderboard.storage.blobs import canonical_digest, store_file
from leaderboard.storage.db import insert_ignore_one
from leaderboard.storage.server_tables import DoneCount
from leaderboard.storage.tables import Challenge, ChallengeVersion, Submission, Team, utcnow

Sessions = sessionmaker[Session]
MAX_ATTEMPTS = 3
"""A submission left running this many times is failed instead of re-queued."""


def ensure_challenge(session: Session, spec: ChallengeSpec) -> None:
    """Create or update the challenge's row (version, spec hash and document, ratchet problem).

    When ``spec`` is a newer version than the recorded one, the recorded version is kept in
    ``challenge_versions`` (its spec document, title, metric, direction, and when it was
    superseded) before the row moves on, so its board stays readable; no submission changes."""
    row = session.get(Challenge, spec.id)
    sha, problem, doc = spec_sha256(spec), key_for(spec), spec.model_dump(mode="json")
    if row is None:
        values = {
            "id": spec.id,
            "version": spec.version,
            "kind": spec.kind,
            "spec_sha256": sha,
            "problem": problem,
            "spec": doc,
            "created_at": utcnow(),
            "updated_at": utcnow(),
        }
        insert_ignore_one(session, Challenge.__table__, values, ["id"])  # type: ignore[arg-type]
        return
    if row.version != spec.version:
        keep_version(session, row, spec.version)
    if (row.version, row.spec_sha256, row.problem, row.spec) != (spec.version, sha, problem, doc):
        row.version, row.spec_sha256, row.problem, row.spec = spec.version, sha, problem, doc
        row.kind, row.updated_at = spec.kind, utcnow()


def keep_version(session: Session, row: Challenge, superseded_by: int) -> None:
    """Record ``row``'s version as an earlier version of its challenge, superseded now by
    ``superseded_by`` (once: a concurrent sync that got there first wins)."""
    doc = row.spec or {}
    metric = doc.get("metric") or {}
    values = {
        "challenge": row.id,
        "version": row.version,
        "kind": row.kind,
        "spec_sha256": row.spec_sha256,
        "spec": row.spec,
        "title": doc.get("title"),
        "metric": metric.get("name"),
        "direction": metric.get("direction"),
        "superseded_by": superseded_by,
        "superseded_at": utcnow(),
    }
    insert_ignore_one(session, ChallengeVersion.__table__, values, ["challenge", "version"])  # type: ignore[arg-type]


def ensure_team(session: Session, name: str, is_baseline: bool = False) -> Team:
    """Return the team called ``name``, creating it if needed."""
    values = {"name": name, "is_baseline": is_baseline, "created_at": utcnow()}
    insert_ignore_one(session, Team.__table__, values, ["name"])  # type: ignore[arg-type]
    return session.execute(select(Team).where(Team.name == name)).scalar_one()


_PROBLEMS: dict[tuple[str, str], Problem] = {}


def problem(problem_id: str, evaluator_version: str | None = None) -> Problem:
    """Return the (process-cached) ratchet problem ``problem_id`` (its training-set challenge's
    id) at that challenge's current spec."""
    from dataperf.version import EVALUATOR_VERSION

    key = (spec_sha256(get_challenge(problem_id)), evaluator_version or EVALUATOR_VERSION)
    if key not in _PROBLEMS:
        _PROBLEMS[key] = Problem.load(problem_id, key[1])
    return _PROBLEMS[key]


def content_digest(spec: ChallengeSpec, table: Any, file_sha: str) -> str:
    """Return the identity of a submission's content: its ratchet set digest, else the file sha."""
    pid = problem_id_for(spec)
    if pid is None:
        return file_sha
    return canonical_digest(pid, kind_of(spec).role.set_role, table)


def recover_stale(sessions: Sessions, older_than_s: float = 900.0) -> list[int]:
    """Re-queue submissions left ``running`` (by a killed process) for over ``older_than_s``
    seconds; fail those that already used :data:`MAX_ATTEMPTS`. Returns the ids touched."""
    cutoff = utcnow() - timedelta(seconds=older_than_s)
    with sessions.begin() as s:
        q = select(Submission).where(Submission.status == "running", Submission.updated_at < cutoff)
        touched = []
        for sub in s.execute(q).scalars():
            if sub.attempts >= MAX_ATTEMPTS:
                sub.status, sub.error = "failed", f"left running {sub.attempts} times (the process died)"
            else:
                sub.status = "queued"
            sub.updated_at = utcnow()
            touched.append(sub.id)
    return touched


class StoredFileError(RuntimeError):
    """A submission's stored file is missing or no longer has its recorded content: a failure
    of the platform's storage, never the participant's fault (the submission ``failed``)."""


def check_stored_file(submission_id: int, path: Path, sha256: str | None = None) -> None:
    """Raise StoredFileError unless ``path`` is a file (whose sha256 is ``sha256``, when given:
    that reads the file here; without it only its existence is checked, and the runner that
    reads the file checks its content, see :func:`stored_content`)."""
    if not path.is_file():
        raise StoredFileError(f"submission {submission_id}: stored file {path} is missing (a platform failure)")
    actual = sha256_file(path) if sha256 is not None else None
    if actual is not None and actual != sha256:
        raise StoredFileError(
            f"submission {submission_id}: stored file {path} has sha256 {actual}, "
            f"not the recorded {sha256} (a platform failure)"
        )


@contextmanager
def stored_content(submission_id: int, path: Path) -> Iterator[None]:
    """Turn a runner's ChangedFileError (the stored file no longer has its recorded sha256,
    found where the runner read it) into the StoredFileError of :func:`check_stored_file`."""
    try:
        yield
    except ChangedFileError as e:
        raise StoredFileError(
            f"submission {submission_id}: stored file {path} has sha256 {e.actual}, "
            f"not the recorded {e.expected} (a platform failure)"
        ) from None


def _finish(sessions: Sessions, sid: int, **values: Any) -> None:
    with sessions.begin() as s:
        res = s.execute(
            update(Submission)
            .where(Submission.id == sid, Submission.status.not_in(["done", "rejected"]))
            .values(updated_at=utcnow(), finished_at=utcnow(), **values)
        )
        if values.get("status") == "done" and res.rowcount:  # type: ignore[attr-defined]
            count_done(s)


def count_done(s: Session) -> None:
    """Count one more done submission in :class:`DoneCount` (the boards' cache stamp reads it)."""
    bump = update(DoneCount).where(DoneCount.id == 1).values(n=DoneCount.n + 1)
    if not s.execute(bump).rowcount:  # type: ignore[attr-defined]
        if not insert_ignore_one(s, DoneCount.__table__, {"id": 1, "n": 1}, ["id"]):  # type: ignore[arg-type]
            s.execute(bump)


def process_submission(session_factory: Sessions, submission_id: int, runner_name: str = "local") -> None:
    """Validate and score stored submission ``submission_id``, then write its result.

    A submission made against an earlier version of its challenge than the current one (the
    spec was bumped while it waited) is ``rejected`` as stale, never scored (:func:`check_version`).
    Idempotent: a submission already ``done`` or ``rejected`` is left as it is; re-running one
    left ``running``, ``queued`` or ``failed`` recomputes only what is missing (cells are cached).
    On success: status ``done``, ``result`` set (a ratchet step dict for ratchet challenges, a
    :meth:`Result.to_dict` otherwise). Invalid content: status ``rejected``, ``error`` and
    ``result["violations"]`` set, nothing raised. Any other failure, including a stored file
    that is missing or no longer matches its recorded sha256 (:class:`StoredFileError`: the
    platform's fault, not the participant's): status ``failed`` with the error, and the
    exception is re-raised for the caller (the worker) to log or retry.
    ``runner_name`` picks the runner that reads the stored file: it evaluates a non-ratchet
    submission, and parses a ratchet one into the canonical table whose cells this process
    computes; with a sandboxed runner this process never opens the file.
    """
    with session_factory.begin() as s:
        sub = s.get(Submission, submission_id)
        if sub is None:
            raise LookupError(f"no submission {submission_id}")
        if sub.status in ("done", "rejected"):
            return
        sub.status, sub.attempts, sub.started_at, sub.updated_at = (
            "running",
            sub.attempts + 1,
            utcnow(),
            utcnow(),
        )
        challenge, path, file_sha, filename = sub.challenge, Path(sub.path), sub.sha256, sub.filename
        made_for = sub.challenge_version
    try:
        check_stored_file(submission_id, path)
        spec = get_challenge(challenge)
        check_version(spec, made_for, filename)
        pid = problem_id_for(spec)
        from dataperf.runners import RUNNERS

        runner = RUNNERS.get(runner_name)()
        if pid is None:
            with stored_content(submission_id, path):
                result = runner.evaluate(spec.id, path, sha256=file_sha)
            _finish(session_factory, submission_id, status="done", result=result.to_dict(), error=None)
            return
        start = time.perf_counter()
        with stored_content(submission_id, path):
            parsed = runner.parse(spec.id, path, sha256=file_sha)
        ratchet = Ratchet(session_factory, problem(pid))
        tests = kind_of(spec).role is Role.TESTS
        step = ratchet.add_test_set(parsed.table) if tests else ratchet.add_training_set(parsed.table)
        result_doc = _ratchet_result(spec, step.to_dict(), parsed.sha256)
        result_doc["provenance"] = ratchet.p.provenance("ratchet", time.perf_counter() - start) | {
            "submission_sha256": parsed.sha256,
            "runner": parsed.runner,
            "image_digest": parsed.image_digest,
        }
        _finish(
            session_factory,
            submission_id,
            status="done",
            result=result_doc,
            error=None,
            dataset_id=step.dataset_id,
            content_sha256=step.digest,
        )
    except SubmissionError as e:
        _finish(
            session_factory,
            submission_id,
            status="rejected",
            error=str(e),
            result={"violations": [v.to_dict() for v in e.violations]},
        )
    except BaseException as e:
        shown = report(e, f"submission {submission_id}")
        _finish(
            session_factory,
            submission_id,
            status="failed",
            error=f"the platform failed to evaluate this submission ({shown}); it is not charged",
        )
        raise


def check_version(spec: ChallengeSpec, made_for: int, filename: str) -> None:
    """Raise SubmissionError when a submission made against version ``made_for`` of ``spec``'s
    challenge is scored after a bump to ``spec.version``.

    Such a submission is refused as stale, not scored: it was checked against the old version's
    data and rules, which the bump changed, and the old version's board is closed. A refusal is
    a rejection, so the worker refunds its quota charge; the participant submits again."""
    if made_for == spec.version:
        return
    message = (
        f"stale: made against version {made_for} of '{spec.id}', which is now at version {spec.version} "
        "(its data or rules changed); submit again against the current version (not charged)"
    )
    raise SubmissionError([Violation(filename, None, None, message)])


def _ratchet_result(spec: ChallengeSpec, step: dict[str, Any], file_sha: str) -> dict[str, Any]:
    counters = step["counters"]
    if step["duplicate"]:
        reused = counters["cells_reused"]
        message = f"identical content was already evaluated: nothing computed ({reused} cells reused)"
    else:
        message = kind_of(spec).outcome(step)
    return {
        "challenge": spec.id,
        "version": spec.version,
        "kind": spec.kind,
        "submission_sha256": file_sha,
        "message": message,
        "ratchet": step,
        "counters": counters,
        "duplicate": step["duplicate"],
    }


def ingest_local(
    session_factory: Sessions,
    challenge_id: str,
    path: Path | str,
    team: str,
    *,
    label: str | None = None,
    is_baseline: bool = False,
) -> dict[str, Any]:
    """Validate, store and score the file at ``path`` for ``team`` in this process.

    Raises SubmissionError (every violation listed) before anything is stored. Content this
    team already had scored (same canonical rows, any file format) is not stored again: the
    answer says ``duplicate`` and points at the earlier submission. Returns a summary dict:
    submission, challenge, team, status, duplicate, message, counters, result.
    """
    spec = get_challenge(challenge_id)
    path = Path(path)
    parsed = validate(spec, path, load_data(spec))
    digest = content_digest(spec, parsed.table, parsed.sha256)
    recover_stale(session_factory)
    with session_factory() as s:
        q = (
            select(Submission.id)
            .join(Team, Team.id == Submission.team_id)
            .where(
                Submission.challenge == spec.id,
                Submission.challenge_version == spec.version,
                Team.name == team,
                Submission.content_sha256 == digest,
                Submission.status == "done",
            )
            .order_by(Submission.id)
        )
        earlier = s.execute(q).scalars().first()
    if earlier is not None:
        out = summary(session_factory, earlier)
        zero = dict.fromkeys(out.get("counters") or {}, 0)
        return out | {
            "duplicate": True,
            "counters": zero,
            "message": f"identical content already scored as submission {earlier}: nothing stored or computed",
        }
    sha, stored = store_file(path)
    with session_factory.begin() as s:
        ensure_challenge(s, spec)
        t = ensure_team(s, team, is_baseline)
        sid = add_queued(s, spec, t.id, path.name, sha, stored, digest, label).id
    process_submission(session_factory, sid)
    return summary(session_factory, sid)


def add_queued(
    s: Session,
    spec: ChallengeSpec,
    team_id: int,
    filename: str,
    sha: str,
    stored: Path,
    content_sha256: str | None = None,
    label: str | None = None,
) -> Submission:
    """Add a queued submission of ``spec`` whose file is stored at ``stored`` (sha256 ``sha``)
    and flush it, so it has its id. The display name keeps no control or Unicode format
    characters (a right-to-left override would make the shown name read as another)."""
    filename = "".join(ch for ch in filename if unicodedata.category(ch) not in ("Cc", "Cf"))[:255]
    sub = Submission(
        challenge=spec.id,
        challenge_version=spec.version,
        kind=spec.kind,
        team_id=team_id,
        sha256=sha,
        content_sha256=content_sha256,
        filename=filename,
        path=str(stored),
        label=label,
        status="queued",
    )
    s.add(sub)
    s.flush()
    return sub


def summary(session_factory: Sessions, submission_id: int) -> dict[str, Any]:
    """Return a submission's state and result as a JSON-ready dict."""
    with session_factory() as s:
        sub = s.get(Submission, submission_id)
        if sub is None:
            raise LookupError(f"no submission {submission_id}")
        team = s.get(Team, sub.team_id)
        res = sub.result or {}
        return {
            "submission": sub.id,
            "challenge": sub.challenge,
            "team": team.name if team else None,
            "status": sub.status,
            "duplicate": bool(res.get("duplicate", False)),
            "message": res.get("message") or sub.error or _score_text(res),
            "counters": res.get("counters"),
            "result": res,
        }


def _score_text(res: dict[str, Any]) -> str:
    return f"score {res['mean']}" if "mean" in res else ""


def fill_from_baselines(
    session_factory: Sessions,
    challenge_ids: list[str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[dict[str, Any]]:
    """Submit every registered baseline (seed 0) of every challenge (or of ``challenge_ids``)
    as team ``baseline/<name>``; return one summary per submission.

    Training-set challenges go first, test-set challenges last, so test sets meet trained
    models. Idempotent: a second run finds identical content and computes nothing. Needs the
    challenges' prepared data (DataError otherwise); the database must be migrated.
    """
    from baselines import for_kind
    from dataperf.submission import write_submission

    say = progress or (lambda _m: None)
    specs = sorted(
        (get_challenge(c) for c in (challenge_ids or challenges().names())),
        key=lambda sp: (kind_of(sp).baseline_order, sp.id),
    )
    out = []
    with tempfile.TemporaryDirectory(prefix="dataperf-baselines-") as tmp:
        for spec in specs:
            data = load_data(spec)
            for b in for_kind(spec.kind):
                say(f"{spec.id}: baseline {b.name}")
                path = write_submission(b.build(spec, data, 0), Path(tmp) / f"{spec.id}-{b.name}.parquet", spec.id)
                res = ingest_local(session_factory, spec.id, path, f"baseline/{b.name}", label=b.name, is_baseline=True)
                say(f"{spec.id}: baseline {b.name}: {res['status']}: {res['message']}")
                out.append(res)
    return out
