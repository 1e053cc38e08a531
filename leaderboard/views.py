"""Leaderboards, the train x test matrix and the ratchet history, read from the database.

Ratchet challenges are ranked from cached cells (see :mod:`leaderboard.standings`); other
challenges from each done submission's stored result. Views read the cells of the current
evaluator version; when that version has no cell yet for a problem (just bumped, before
``dataperf rescore``), they show the newest older version's cells and mark the rows stale.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dataperf.challenges import get_challenge
from dataperf.contract import Role
from dataperf.kinds import kind_of
from dataperf.kinds.test_set import options_of
from dataperf.version import EVALUATOR_VERSION
from leaderboard.models import Cell, Dataset, EvaluatorVersion, RatchetEvent, Submission, SuiteMember, Team
from leaderboard.problem import dual_of, problem_id_for
from leaderboard.ratchet import load_standings
from leaderboard.standings import Standings


def effective_version(session: Session, problem: str, current: str | None = None) -> str:
    """Return ``current`` (default: this evaluator's) if the problem has cells at it, else the
    newest version that has cells (or ``current`` when there are none at all)."""
    current = current or EVALUATOR_VERSION
    q = select(Cell.evaluator_version, func.count()).where(Cell.problem == problem).group_by(Cell.evaluator_version)
    have = dict(session.execute(q).all())
    if current in have or not have:
        return current
    order = select(EvaluatorVersion.version).order_by(EvaluatorVersion.created_at.desc())
    for v in session.execute(order).scalars():
        if v in have:
            return str(v)
    return str(max(have))


def _submissions(session: Session, challenge: str) -> list[tuple[Submission, Team]]:
    q = (
        select(Submission, Team)
        .join(Team, Team.id == Submission.team_id)
        .where(Submission.challenge == challenge, Submission.status == "done")
        .order_by(Submission.id)
    )
    return [(s, t) for s, t in session.execute(q)]


def _base(sub: Submission, team: Team) -> dict[str, Any]:
    return {
        "submission": sub.id,
        "team": team.name,
        "label": sub.label or sub.filename,
        "baseline": team.is_baseline,
        "submitted_at": sub.created_at.isoformat() if sub.created_at else None,
    }


def leaderboard(session: Session, challenge: str, evaluator_version: str | None = None) -> dict[str, Any]:
    """Return a challenge's leaderboard: ``{"challenge", "kind", "metric", "direction",
    "evaluator_version", "stale", "rows": [...]}``, rows best first, each with its rank."""
    spec = get_challenge(challenge)
    problem = problem_id_for(spec)
    head: dict[str, Any] = {
        "challenge": spec.id,
        "kind": spec.kind,
        "metric": spec.metric.name,
        "layout": kind_of(spec).board(spec, problem is not None).to_dict(),
    }
    if problem is None:
        keys = [c["key"] for c in head["layout"]["columns"]]
        rows = [_plain_row(s, t, keys) for s, t in _submissions(session, challenge)]
        sign = -1.0 if spec.metric.direction == "max" else 1.0
        rows.sort(key=lambda r: (r["score"] is None, sign * (r["score"] or 0.0), r["submission"]))
        for i, r in enumerate(rows, 1):
            r["rank"] = i
        stale = any(r["evaluator_version"] != (evaluator_version or EVALUATOR_VERSION) for r in rows)
        return head | {
            "direction": spec.metric.direction,
            "evaluator_version": evaluator_version or EVALUATOR_VERSION,
            "stale": stale,
            "rows": rows,
        }
    version = effective_version(session, problem, evaluator_version)
    st = standings(session, problem, version)
    current = evaluator_version or EVALUATOR_VERSION
    meta = head | {
        "evaluator_version": version,
        "stale": version != current,
        "top_k": st.top_k,
        "bar": st.bar,
    }
    if kind_of(spec).role is Role.TESTS:
        return meta | {"direction": "max", "metric": "difficulty", "rows": _test_rows(session, challenge, st)}
    return meta | {"direction": spec.metric.direction, "rows": _train_rows(session, challenge, st)}


def standings(session: Session, problem: str, version: str) -> Standings:
    """Return the standings of ``problem`` from ``version``'s cells (no data is read)."""
    k = options_of(dual_of(problem)).top_k
    return load_standings(session, problem, version, k, get_challenge(problem).metric.direction)


def _digests(session: Session, ids: list[int | None]) -> dict[int, str]:
    wanted = [i for i in ids if i is not None]
    q = select(Dataset.id, Dataset.digest).where(Dataset.id.in_(wanted))
    return dict(session.execute(q).all()) if wanted else {}


def _train_rows(session: Session, challenge: str, st: Standings) -> list[dict[str, Any]]:
    subs = _submissions(session, challenge)
    digests = _digests(session, [s.dataset_id for s, _ in subs])
    rows = []
    for sub, team in subs:
        d = digests.get(sub.dataset_id or -1)
        if d is None:
            continue
        rows.append(
            _base(sub, team)
            | {
                "digest": d,
                "score": st.score.get(d),
                "worst": st.worst.get(d),
                "complete": st.complete.get(d, False),
                "top_k": d in st.top_k,
            }
        )
    rows.sort(key=lambda r: (st.rank.get(r["digest"], 10**9), r["submission"]))
    for i, r in enumerate(rows, 1):
        r["rank"] = i
    return rows


def _test_rows(session: Session, challenge: str, st: Standings) -> list[dict[str, Any]]:
    subs = _submissions(session, challenge)
    digests = _digests(session, [s.dataset_id for s, _ in subs])
    rows = []
    for sub, team in subs:
        d = digests.get(sub.dataset_id or -1)
        if d is None:
            continue
        rows.append(_base(sub, team) | {"digest": d, "difficulty": st.difficulty.get(d), "in_suite": d in st.suite})
    rows.sort(key=lambda r: (r["difficulty"] is None, -(r["difficulty"] or 0.0), r["submission"]))
    for i, r in enumerate(rows, 1):
        r["rank"] = i
    return rows


def _plain_row(sub: Submission, team: Team, columns: list[str]) -> dict[str, Any]:
    """Return a board row from a stored result: its score and interval, and every other board
    column (``columns``: the layout's keys) from the result's ``extra`` (None where absent)."""
    res = sub.result or {}
    prov = res.get("provenance", {})
    row = _base(sub, team) | {
        "score": res.get("mean"),
        "ci95": res.get("ci95"),
        "evaluator_version": prov.get("evaluator_version"),
    }
    extra = res.get("extra") or {}
    return row | {k: extra.get(k) for k in columns if k not in row}


def matrix(session: Session, problem: str, evaluator_version: str | None = None) -> dict[str, Any]:
    """Return the train x test matrix: set digests (training sets best first), values (None
    where no cell), the suite and the top-k."""
    version = effective_version(session, problem, evaluator_version)
    st = standings(session, problem, version)
    tests = list(
        session.execute(
            select(Dataset.digest).where(Dataset.problem == problem, Dataset.role == "test").order_by(Dataset.id)
        ).scalars()
    )
    q = select(Cell.train_sha256, Cell.test_sha256, Cell.mean).where(
        Cell.problem == problem, Cell.evaluator_version == version
    )
    values = {(a, b): v for a, b, v in session.execute(q)}
    return {
        "problem": problem,
        "evaluator_version": version,
        "train": st.train,
        "test": tests,
        "suite": st.suite,
        "top_k": st.top_k,
        "values": [[values.get((t, s)) for s in tests] for t in st.train],
    }


def history(session: Session, problem: str) -> list[dict[str, Any]]:
    """Return every ratchet event of ``problem``, oldest first."""
    q = select(RatchetEvent).where(RatchetEvent.problem == problem).order_by(RatchetEvent.id)
    return [
        {
            "at": e.at.isoformat(),
            "kind": e.kind,
            "subject": e.subject_sha256,
            "evaluator_version": e.evaluator_version,
            "suite": e.suite,
            "top_k": e.top_k,
            "bar": e.bar,
            "scores": e.scores,
        }
        for e in session.execute(q).scalars()
    ]


def suite(session: Session, problem: str) -> list[dict[str, Any]]:
    """Return the active suite: digest, why it joined, its difficulty then, and when."""
    q = select(SuiteMember).where(SuiteMember.problem == problem).order_by(SuiteMember.id)
    return [
        {
            "digest": m.test_sha256,
            "reason": m.reason,
            "difficulty": m.difficulty,
            "added_at": m.added_at.isoformat(),
        }
        for m in session.execute(q).scalars()
    ]
