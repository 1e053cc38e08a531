"""Comparing two submissions of one challenge from what a viewer may see of their stored
results: the change of each task's mean and of the overall score, with a 95% Student-t
interval of the paired difference over the seeds both were scored with.

A pair of seeds is the same fixed model trained with the same seed, so the paired difference
removes the seed-to-seed spread the two share. Where a viewer sees no per-seed scores (a ratchet
submission before the organizer publishes), only the board scores are compared and no interval
is given. Row-level differences (rows added, removed, relabelled) belong beside this, from the
submitted files.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dataperf.challenges import get_challenge
from dataperf.contract import Role
from dataperf.evaluator import confidence_interval
from dataperf.kinds import kind_of
from leaderboard.boards.problem_view import ProblemView
from leaderboard.boards.visibility import Visibility
from leaderboard.ratchet.problem import problem_id_for
from leaderboard.storage.tables import Dataset, Submission


def shown_result(
    session: Session, submission_id: int, result: dict[str, Any] | None, view: Visibility
) -> dict[str, Any] | None:
    """Return ``result`` (what ``view`` may see of a submission's stored result) with its per-task,
    per-seed ``scores`` and ``task_means``: a ratchet training set's come from its shown cells,
    averaged over the shown suite, as its board score does."""
    if result is not None and result.get("scores"):
        return result
    sub = session.get(Submission, submission_id)
    if sub is None or sub.dataset_id is None:
        return result
    spec = get_challenge(sub.challenge)
    pid = problem_id_for(spec)
    if pid is None or kind_of(spec).role is not Role.TRAINS:
        return result
    digest = session.execute(select(Dataset.digest).where(Dataset.id == sub.dataset_id)).scalar_one_or_none()
    scores = ProblemView(session, pid, view).seed_scores(digest) if digest else None
    if not scores:
        return result
    means = {t: sum(per.values()) / len(per) for t, per in scores.items() if per}
    return dict(result or {}) | {
        "scores": scores,
        "task_means": means,
        "mean": sum(means.values()) / len(means),
        "direction": spec.metric.direction,
    }


def _per_seed(result: dict[str, Any] | None) -> dict[str, dict[str, float]]:
    scores = (result or {}).get("scores") or {}
    return {str(t): {str(s): float(v) for s, v in per.items() if v is not None} for t, per in scores.items()}


def compare(
    a: dict[str, Any] | None,
    b: dict[str, Any] | None,
    a_score: float | None = None,
    b_score: float | None = None,
) -> dict[str, Any]:
    """Return how ``a`` differs from ``b`` (each a visible result: ``scores`` per task and seed,
    ``task_means``, ``mean``; None when nothing is visible), ``a - b`` throughout.

    ``a_score``/``b_score`` are the board scores used when a result shows no mean. Returns
    ``{"tasks": [{"task", "a", "b", "change", "seeds", "ci95"}], "overall": {the same without
    task}, "paired": bool}``: ``ci95`` is the interval of the mean paired difference over the
    seeds both have (None with fewer than two).
    """
    sa, sb = _per_seed(a), _per_seed(b)
    tasks = [t for t in sa if t in sb]
    rows = []
    per_seed_diffs: dict[str, list[float]] = {}
    for task in tasks:
        seeds = [s for s in sa[task] if s in sb[task]]
        diffs = [sa[task][s] - sb[task][s] for s in seeds]
        for s, d in zip(seeds, diffs, strict=True):
            per_seed_diffs.setdefault(s, []).append(d)
        ma = (a or {}).get("task_means", {}).get(task)
        mb = (b or {}).get("task_means", {}).get(task)
        rows.append(
            {
                "task": task,
                "a": ma,
                "b": mb,
                "change": None if ma is None or mb is None else ma - mb,
                "seeds": len(seeds),
                "ci95": _interval(diffs),
            }
        )
    overall_a = (a or {}).get("mean", a_score)
    overall_b = (b or {}).get("mean", b_score)
    whole = [sum(d) / len(d) for d in per_seed_diffs.values() if len(d) == len(tasks)]
    return {
        "tasks": rows,
        "overall": {
            "a": overall_a,
            "b": overall_b,
            "change": None if overall_a is None or overall_b is None else overall_a - overall_b,
            "seeds": len(whole),
            "ci95": _interval(whole),
        },
        "paired": bool(rows),
    }


def _interval(diffs: list[float]) -> list[float] | None:
    ci = confidence_interval(diffs)
    return None if ci is None else [ci[0], ci[1]]


def row_changes(session: Session, submission_ids: tuple[int, int], viewer_team_id: int | None) -> dict[str, Any]:
    """Return the row-level difference from the first submission's file to the second's, as the
    kind describes it (:meth:`dataperf.contract.ChallengeKind.diff`: ``summary`` and ``tables``),
    under ``changes``; or, where the viewer may not see both files' rows, only a ``note`` why.

    A submission's rows are its team's own work: they are compared only when the viewer's team
    owns both submissions or a submission is a baseline's (public). The files are read and
    checked through the same front door as on upload."""
    from pathlib import Path

    from dataperf.errors import DataPerfError
    from dataperf.evaluator import load_data, validate
    from leaderboard.storage.tables import Team

    subs = [session.get(Submission, i) for i in submission_ids]
    if any(s is None for s in subs):
        return {"note": "a submission is unknown"}
    a, b = subs
    assert a is not None and b is not None
    public = {t.id for t in session.scalars(select(Team).where(Team.id.in_([a.team_id, b.team_id]), Team.is_baseline))}
    if any(s.team_id != viewer_team_id and s.team_id not in public for s in (a, b)):
        return {
            "note": "Rows are compared only between your own team's submissions and the baselines: "
            "another team's rows are its own work."
        }
    spec = get_challenge(a.challenge)
    try:
        data = load_data(spec)
        frames = [validate(spec, Path(s.path), data).table for s in (a, b)]
    except DataPerfError as e:
        return {"note": f"the files cannot be compared row by row: {e}"}
    return {"changes": kind_of(spec).diff(spec, frames[0], frames[1])}
