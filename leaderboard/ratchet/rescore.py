"""Rescoring after an evaluator version bump: recompute everything stale.

Cells and fitted models are keyed by evaluator version, so a new version makes every cached
cell stale at once. :func:`recompute` refits each stored training set, recomputes the cells the
old version had (and the suite's) and re-evaluates stored results of other challenges;
:func:`stale_tests` says which test sets that covers. The before/after diff of every
leaderboard is the read model's (:mod:`leaderboard.boards.diffs`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dataperf.challenges import get_challenge
from leaderboard.ratchet.cells import effective_version
from leaderboard.ratchet.problem import Problem, problem_id_for, problem_key
from leaderboard.ratchet.steps import Ratchet
from leaderboard.storage.tables import Cell, Challenge, Submission


def _rescore_plain(sessions: sessionmaker[Session], challenge: str, version: str, runner: str) -> int:
    """Re-evaluate the done submissions of ``challenge``'s current version not scored at evaluator
    ``version``; an earlier version's stay as they were scored (its data and rules are gone)."""
    from dataperf.runners import RUNNERS

    current = get_challenge(challenge).version
    with sessions() as s:
        q = select(Submission).where(
            Submission.challenge == challenge,
            Submission.challenge_version == current,
            Submission.status == "done",
        )
        subs = [(sub.id, sub.path, sub.result) for sub in s.execute(q).scalars()]
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


def challenge_ids(sessions: sessionmaker[Session], challenge_ids: list[str] | None) -> list[str]:
    """Return ``challenge_ids``, or every stored challenge id when None."""
    if challenge_ids:
        return list(challenge_ids)
    with sessions() as s:
        return list(s.execute(select(Challenge.id).order_by(Challenge.id)).scalars())


def stale_tests(sessions: sessionmaker[Session], version: str, ids: list[str]) -> dict[str, list[str]]:
    """Return, per ratchet problem of the challenges ``ids``, the test sets whose cells are at
    the version in effect until a rescore to ``version``."""
    stale: dict[str, list[str]] = {}
    for pid in sorted({pid for c in ids if (pid := problem_id_for(get_challenge(c))) is not None}):
        key = problem_key(pid, get_challenge(pid).version)
        with sessions() as s:
            old = effective_version(s, key, version)
            q = select(Cell.test_sha256).where(Cell.problem == key, Cell.evaluator_version == old).distinct()
            stale[pid] = list(s.execute(q).scalars())
    return stale


def recompute(
    sessions: sessionmaker[Session],
    version: str,
    ids: list[str],
    stale: dict[str, list[str]],
    runner: str = "local",
    progress: Callable[[str], None] | None = None,
) -> None:
    """Recompute at ``version`` each problem's training sets against its suite and the
    ``stale`` test sets, and re-evaluate the stored results of the challenges of ``ids``
    outside a ratchet (with ``runner``). Idempotent: cells already stored are reused."""
    say = progress or (lambda _m: None)
    for pid, tests in stale.items():
        counters = Ratchet(sessions, Problem.load(pid, version)).rebuild(tests)
        say(f"{pid}: recomputed at evaluator {version}: {counters.as_dict()}")
    for c in ids:
        if problem_id_for(get_challenge(c)) is None:
            say(f"{c}: re-evaluated {_rescore_plain(sessions, c, version, runner)} submissions")
