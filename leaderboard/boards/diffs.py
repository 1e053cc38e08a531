"""Rescoring as the boards show it: recompute what is stale, then diff every leaderboard.

:func:`rescore` runs :func:`leaderboard.ratchet.rescore.recompute` (every cell and result
stale at the new evaluator version) between two reads of each leaderboard and returns what
changed; :func:`rescore_on_dask` computes the ratchet's stale cells on a Dask cluster first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from dataperf.version import EVALUATOR_VERSION
from leaderboard.boards.boards import board
from leaderboard.boards.visibility import Visibility
from leaderboard.ratchet.parallel import fill
from leaderboard.ratchet.problem import Problem
from leaderboard.ratchet.rescore import challenge_ids as stored_challenges
from leaderboard.ratchet.rescore import recompute, stale_tests


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


def _boards(sessions: sessionmaker[Session], ids: list[str], version: str) -> dict[str, dict[str, Any]]:
    with sessions() as s:
        return {c: board(s, c, Visibility.ORGANIZER, version) for c in ids}


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
    ids = stored_challenges(sessions, challenge_ids)
    before = _boards(sessions, ids, version)
    recompute(sessions, version, ids, stale_tests(sessions, version, ids), runner, progress)
    return leaderboard_diffs(sessions, ids, before, version)


def rescore_on_dask(
    sessions: sessionmaker[Session],
    client: Any,
    evaluator_version: str | None = None,
    challenge_ids: list[str] | None = None,
    runner: str = "local",
    progress: Callable[[str], None] | None = None,
) -> list[dict[str, Any]]:
    """:func:`rescore` with the ratchet's stale cells computed on the Dask cluster of
    ``client`` first (:func:`leaderboard.ratchet.parallel.fill`): each problem's training sets
    against its suite and the test sets the previous version had cells for. The local
    recompute that follows finds every cell stored, records the ``rescore`` events and
    re-evaluates non-ratchet challenges (with ``runner``). Returns the same diffs, against the
    leaderboards as they were before the fill."""
    version = evaluator_version or EVALUATOR_VERSION
    ids = stored_challenges(sessions, challenge_ids)
    before = _boards(sessions, ids, version)
    stale = stale_tests(sessions, version, ids)
    for pid, tests in stale.items():
        fill(sessions, Problem.load(pid, version), client, tests=tests, progress=progress)
    recompute(sessions, version, ids, stale, runner, progress)
    return leaderboard_diffs(sessions, ids, before, version)


def leaderboard_diffs(
    sessions: sessionmaker[Session], ids: list[str], before: dict[str, dict[str, Any]], version: str
) -> list[dict[str, Any]]:
    """Return, per challenge in ``ids`` whose leaderboard changed since ``before``, its diff."""
    out = []
    with sessions() as s:
        for c in ids:
            after = board(s, c, Visibility.ORGANIZER, version)
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
