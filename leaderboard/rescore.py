"""Rescoring after an evaluator version bump: recompute stale work, diff every leaderboard.

Cells and fitted models are keyed by evaluator version, so a new version makes every cached
cell stale at once. :func:`rescore` refits each stored training set, recomputes the cells the
old version had (and the suite's), re-evaluates stored results of other challenges, and
returns a before/after diff of every leaderboard that changed.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dataperf.challenges import get_challenge
from dataperf.version import EVALUATOR_VERSION
from leaderboard.models import Cell, Challenge, Submission
from leaderboard.problem import Problem, problem_id_for
from leaderboard.ratchet import Ratchet
from leaderboard.views import effective_version, leaderboard


def _key(row: dict[str, Any]) -> tuple[int | None, float | None]:
    return row.get("rank"), row.get("score", row.get("difficulty"))


def diff(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    """Return the rows whose rank or score differs between two leaderboards of one challenge."""
    old = {r["submission"]: r for r in before["rows"]}
    out = []
    for r in after["rows"]:
        o = old.get(r["submission"], {})
        if _key(o) != _key(r):
            out.append(
                {
                    "submission": r["submission"],
                    "team": r["team"],
                    "label": r["label"],
                    "before": {"rank": o.get("rank"), "score": _key(o)[1]},
                    "after": {"rank": r.get("rank"), "score": _key(r)[1]},
                }
            )
    return out


def _rescore_plain(sessions: sessionmaker[Session], challenge: str, version: str, runner: str) -> int:
    from dataperf.runners import RUNNERS

    with sessions() as s:
        subs = [
            (sub.id, sub.path, sub.result)
            for sub in s.execute(
                select(Submission).where(Submission.challenge == challenge, Submission.status == "done")
            ).scalars()
        ]
    n = 0
    for sid, path, result in subs:
        if (result or {}).get("provenance", {}).get("evaluator_version") == version:
            continue
        fresh = RUNNERS.get(runner)().evaluate(challenge, Path(path))
        with sessions.begin() as s:
            row = s.get(Submission, sid)
            if row is not None:
                row.result = fresh.to_dict()
        n += 1
    return n


def plan(
    sessions: sessionmaker[Session], version: str, challenge_ids: list[str] | None
) -> tuple[list[str], dict[str, dict[str, Any]], dict[str, list[str]]]:
    """Return what a rescore to ``version`` covers: the challenge ids (default: all stored),
    their leaderboards now (to diff against), and per ratchet problem the test sets whose
    cells are at the version in effect until now."""
    with sessions() as s:
        ids = challenge_ids or list(s.execute(select(Challenge.id).order_by(Challenge.id)).scalars())
        before = {c: leaderboard(s, c, version) for c in ids}
    stale: dict[str, list[str]] = {}
    for pid in sorted({pid for c in ids if (pid := problem_id_for(get_challenge(c))) is not None}):
        with sessions() as s:
            old = effective_version(s, pid, version)
            q = select(Cell.test_sha256).where(Cell.problem == pid, Cell.evaluator_version == old).distinct()
            stale[pid] = list(s.execute(q).scalars())
    return ids, before, stale


def rescore(
    sessions: sessionmaker[Session],
    evaluator_version: str | None = None,
    challenge_ids: list[str] | None = None,
    runner: str = "local",
    progress: Callable[[str], None] | None = None,
) -> list[dict[str, Any]]:
    """Recompute everything stale for ``evaluator_version`` (default: this evaluator's) and
    return ``[{"challenge", "before_version", "after_version", "changes": [...]}]`` for every
    leaderboard that changed. Idempotent: a second run computes nothing and reports nothing."""
    version = evaluator_version or EVALUATOR_VERSION
    say = progress or (lambda _m: None)
    ids, before, stale = plan(sessions, version, challenge_ids)
    for pid, tests in stale.items():
        counters = Ratchet(sessions, Problem.load(pid, version)).rebuild(tests)
        say(f"{pid}: recomputed at evaluator {version}: {counters.as_dict()}")
    for c in ids:
        if problem_id_for(get_challenge(c)) is None:
            say(f"{c}: re-evaluated {_rescore_plain(sessions, c, version, runner)} submissions")
    return leaderboard_diffs(sessions, ids, before, version)


def leaderboard_diffs(
    sessions: sessionmaker[Session], ids: list[str], before: dict[str, dict[str, Any]], version: str
) -> list[dict[str, Any]]:
    """Return, per challenge in ``ids`` whose leaderboard changed since ``before``, its diff."""
    out = []
    with sessions() as s:
        for c in ids:
            after = leaderboard(s, c, version)
            changes = diff(before[c], after)
            if changes:
                out.append(
                    {
                        "challenge": c,
                        "before_version": before[c]["evaluator_version"],
                        "after_version": after["evaluator_version"],
                        "changes": changes,
                    }
                )
    return out
