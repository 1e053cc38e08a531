"""What the server shows: leaderboards, the matrix and the ratchet history, public or private.

Rules (written down here, tested in ``tests/server``):

- The **hidden** part of a ratchet problem's suite is the organizer's test set S0 (origin
  ``organizer``, the ``test-hidden`` split). The **public** part is every other suite member
  (accepted test sets, drawn from the public evaluation pool).
- During the challenge (not published), a training set's shown score is its mean over the
  *public* suite members, ranked by that; S0 plays no part in anything shown. Once the organizer
  publishes (``dataperf admin publish``), the shown score is the ratchet's own: the mean over
  the whole suite, S0 included.
- Hidden per-cell scores never leave the server: the matrix has no S0 column and the worst cell
  is the worst *public* cell, in both modes.
- Confidence intervals: 95% Student-t over seeds of the per-seed mean over tasks and the shown
  suite members (the evaluator's rule).
- Challenges outside a ratchet are scored by the evaluator on the public ``test`` split only;
  their board is the same in both modes.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from dataperf.challenges import get_challenge
from dataperf.evaluator import confidence_interval
from dataperf.kinds.test_set import option
from dataperf.version import EVALUATOR_VERSION
from leaderboard.arithmetic.standings import Standings, compute
from leaderboard.boards import views
from leaderboard.ratchet.cells import effective_version
from leaderboard.ratchet.problem import dual_of, problem_id_for
from leaderboard.storage.server_tables import ChallengeSetting
from leaderboard.storage.tables import Cell, Dataset, Submission, SuiteMember, Team


def is_published(session: Session, challenge: str) -> bool:
    """Return whether the organizer published the hidden results of ``challenge`` (or of its
    ratchet problem's other challenge)."""
    spec = get_challenge(challenge)
    ids = {challenge}
    pid = problem_id_for(spec)
    if pid is not None:
        ids |= {pid, dual_of(pid).id}
    q = select(ChallengeSetting.published).where(ChallengeSetting.challenge.in_(sorted(ids)))
    return any(session.execute(q).scalars())


class ProblemView:
    """Everything about one ratchet problem that may be shown, loaded in one go."""

    def __init__(self, session: Session, problem: str, published: bool) -> None:
        spec = get_challenge(problem)
        self.problem, self.published = problem, published
        self.direction = spec.metric.direction
        self.seeds = [str(s) for s in spec.seeds]
        self.k = int(option(dual_of(problem), "top_k"))
        self.version = effective_version(session, problem)
        sets = session.execute(
            select(Dataset.digest, Dataset.role, Dataset.origin).where(Dataset.problem == problem).order_by(Dataset.id)
        ).all()
        self.train = [d for d, r, _ in sets if r == "train"]
        self.test = [d for d, r, _ in sets if r == "test"]
        self.hidden = {d for d, r, o in sets if r == "test" and o == "organizer"}
        members = (
            session.execute(
                select(SuiteMember.test_sha256).where(SuiteMember.problem == problem).order_by(SuiteMember.id)
            )
            .scalars()
            .all()
        )
        self.suite = list(members)
        self.public_suite = [d for d in self.suite if d not in self.hidden]
        rows = session.execute(
            select(Cell.train_sha256, Cell.test_sha256, Cell.mean, Cell.scores).where(
                Cell.problem == problem, Cell.evaluator_version == self.version
            )
        ).all()
        self.cells = [(a, b, float(m)) for a, b, m, _ in rows]
        self.cell_scores = {(a, b): sc for a, b, _, sc in rows}
        self.full = compute(self.train, self.test, self.suite, self.cells, self.k, self.direction)
        self.public = compute(self.train, self.test, self.public_suite, self.cells, self.k, self.direction)

    @property
    def shown(self) -> Standings:
        """Return the standings whose scores and ranks are shown."""
        return self.full if self.published else self.public

    @property
    def shown_suite(self) -> list[str]:
        """Return the suite members whose cells make up the shown scores."""
        return self.suite if self.published else self.public_suite

    def ci95(self, digest: str) -> list[float] | None:
        """Return the 95% CI over seeds of ``digest``'s shown score (None when unknown)."""
        sums: dict[str, float] = defaultdict(float)
        counts: dict[str, int] = defaultdict(int)
        for s in self.shown_suite:
            scores = self.cell_scores.get((digest, s))
            if scores is None:
                return None
            for per in scores.values():
                for seed, v in per.items():
                    sums[seed] += float(v)
                    counts[seed] += 1
        ci = confidence_interval([sums[s] / counts[s] for s in self.seeds if counts.get(s)])
        return list(ci) if ci is not None else None

    def public_bar(self) -> float | None:
        """Return the difficulty of the easiest public suite member (None without one)."""
        known = [self.full.difficulty.get(d) for d in self.public_suite]
        vals = [v for v in known if v is not None]
        return min(vals) if vals else None


def _subs(session: Session, challenge: str) -> list[Any]:
    """Return the done submissions of ``challenge`` (only the shown columns), oldest first."""
    q = (
        select(
            Submission.id,
            Submission.label,
            Submission.filename,
            Submission.created_at,
            Submission.dataset_id,
            Team.name.label("team"),
            Team.is_baseline,
        )
        .join(Team, Team.id == Submission.team_id)
        .where(Submission.challenge == challenge, Submission.status == "done")
        .order_by(Submission.id)
    )
    return list(session.execute(q).all())


def _base(row: Any) -> dict[str, Any]:
    return {
        "submission": row.id,
        "team": row.team,
        "label": row.label or row.filename,
        "baseline": bool(row.is_baseline),
        "submitted_at": row.created_at.isoformat() if row.created_at else None,
    }


def _digest_of(session: Session, subs: list[Any]) -> dict[int, str]:
    ids = sorted({r.dataset_id for r in subs if r.dataset_id is not None})
    if not ids:
        return {}
    return dict(session.execute(select(Dataset.id, Dataset.digest).where(Dataset.id.in_(ids))).all())  # type: ignore[arg-type]


def board(session: Session, challenge: str) -> dict[str, Any]:
    """Return the leaderboard of ``challenge`` as shown by the server (see the module rules):
    ``{"challenge", "kind", "metric", "direction", "published", "scope", "note", "rows"}``."""
    spec = get_challenge(challenge)
    published = is_published(session, challenge)
    pid = problem_id_for(spec)
    head: dict[str, Any] = {
        "challenge": spec.id,
        "title": spec.title,
        "kind": spec.kind,
        "published": published,
    }
    if pid is None:
        plain = views.leaderboard(session, challenge)
        return head | {
            "metric": plain["metric"],
            "direction": plain["direction"],
            "ratchet": False,
            "scope": "public test split",
            "stale": plain["stale"],
            "note": "scored by the evaluator on the public test split",
            "rows": plain["rows"],
        }
    pv = ProblemView(session, pid, published)
    subs = _subs(session, challenge)
    digests = _digest_of(session, subs)
    scope = "whole suite (hidden test set included)" if published else "public test sets of the suite"
    if spec.kind == "test-set":
        return head | {
            "metric": "difficulty",
            "direction": "max",
            "ratchet": True,
            "problem": pid,
            "scope": "difficulty over the top-k training sets",
            "stale": pv.version != EVALUATOR_VERSION,
            "bar": pv.full.bar if published else pv.public_bar(),
            "note": "",
            "rows": _test_rows(subs, digests, pv),
        }
    note = ""
    if not published and not pv.public_suite:
        note = "no public test set has joined the suite yet: scores appear when one does or when results are published"
    return head | {
        "metric": spec.metric.name,
        "direction": spec.metric.direction,
        "ratchet": True,
        "problem": pid,
        "scope": scope,
        "stale": pv.version != EVALUATOR_VERSION,
        "note": note,
        "rows": _train_rows(subs, digests, pv),
    }


def _train_rows(subs: list[Any], digests: dict[int, str], pv: ProblemView) -> list[dict[str, Any]]:
    st, pub = pv.shown, pv.public
    rows = []
    for sub in subs:
        d = digests.get(sub.dataset_id or -1)
        if d is None:
            continue
        rows.append(
            _base(sub)
            | {
                "digest": d,
                "score": st.score.get(d),
                "ci95": pv.ci95(d),
                "worst": pub.worst.get(d),
                "complete": st.complete.get(d, False),
                "top_k": d in pv.full.top_k,
            }
        )
    rows.sort(key=lambda r: (st.rank.get(r["digest"], 10**9), r["submission"]))
    for i, r in enumerate(rows, 1):
        r["rank"] = i
    return rows


def _test_rows(subs: list[Any], digests: dict[int, str], pv: ProblemView) -> list[dict[str, Any]]:
    rows = []
    for sub in subs:
        d = digests.get(sub.dataset_id or -1)
        if d is None or d in pv.hidden:
            continue
        rows.append(_base(sub) | {"digest": d, "difficulty": pv.full.difficulty.get(d), "in_suite": d in pv.suite})
    rows.sort(key=lambda r: (r["difficulty"] is None, -(r["difficulty"] or 0.0), r["submission"]))
    for i, r in enumerate(rows, 1):
        r["rank"] = i
    return rows


def _labels(session: Session, problem: str) -> dict[str, str]:
    """Return a display label per set digest: '#id team/label' of its first done submission."""
    q = (
        select(Dataset.digest, Submission.id, Team.name, Submission.label)
        .join(Submission, Submission.dataset_id == Dataset.id)
        .join(Team, Team.id == Submission.team_id)
        .where(Dataset.problem == problem, Submission.status == "done")
        .order_by(Submission.id)
    )
    out: dict[str, str] = {}
    for digest, sid, team, label in session.execute(q).all():
        out.setdefault(digest, f"#{sid} {team}" + (f" ({label})" if label and not team.endswith(label) else ""))
    return out


def matrix(session: Session, challenge: str, limit: int = 60) -> dict[str, Any]:
    """Return the train x test heatmap of ``challenge``'s ratchet problem without hidden cells:
    the best ``limit`` training sets (shown ranking) against every public test set."""
    spec = get_challenge(challenge)
    pid = problem_id_for(spec)
    if pid is None:
        return {"challenge": challenge, "ratchet": False, "train": [], "test": [], "values": []}
    pv = ProblemView(session, pid, is_published(session, challenge))
    labels = _labels(session, pid)
    tests = [d for d in pv.test if d not in pv.hidden]
    train = pv.shown.train[:limit]
    values = {(a, b): v for a, b, v in pv.cells}
    return {
        "challenge": challenge,
        "problem": pid,
        "ratchet": True,
        "evaluator_version": pv.version,
        "published": pv.published,
        "hidden_columns": len(pv.hidden),
        "train": [{"digest": d, "label": labels.get(d, d[:10])} for d in train],
        "test": [{"digest": d, "label": labels.get(d, d[:10]), "in_suite": d in pv.suite} for d in tests],
        "values": [[values.get((t, s)) for s in tests] for t in train],
    }


def history(session: Session, challenge: str) -> dict[str, Any]:
    """Return the ratchet history of ``challenge``'s problem as shown: per event its time,
    kind, suite size, the bar and the best training-set score (public ones unless published)."""
    spec = get_challenge(challenge)
    pid = problem_id_for(spec)
    if pid is None:
        return {"challenge": challenge, "ratchet": False, "events": []}
    pv = ProblemView(session, pid, is_published(session, challenge))
    values = {(a, b): v for a, b, v in pv.cells}
    pick = max if pv.direction == "max" else min
    out = []
    for e in views.history(session, pid):
        suite = list(e["suite"])
        diffs = (e.get("scores") or {}).get("difficulty") or {}
        trains = list(((e.get("scores") or {}).get("train") or {}).keys())
        if pv.published:
            bar = e["bar"]
            best_vals = [v for v in ((e.get("scores") or {}).get("train") or {}).values() if v is not None]
        else:
            public = [s for s in suite if s not in pv.hidden]
            pd_ = [diffs.get(s) for s in public]
            bar = min(v for v in pd_ if v is not None) if any(v is not None for v in pd_) else None
            best_vals = []
            for t in trains:
                cells = [values.get((t, s)) for s in public]
                if public and all(c is not None for c in cells):
                    best_vals.append(float(np.mean([c for c in cells if c is not None])))
        out.append(
            {
                "at": e["at"],
                "kind": e["kind"],
                "suite_size": len(suite),
                "public_suite_size": len([s for s in suite if s not in pv.hidden]),
                "bar": bar,
                "best_score": pick(best_vals) if best_vals else None,
            }
        )
    return {
        "challenge": challenge,
        "problem": pid,
        "ratchet": True,
        "published": pv.published,
        "metric": spec.metric.name if spec.kind != "test-set" else get_challenge(pid).metric.name,
        "events": out,
    }
