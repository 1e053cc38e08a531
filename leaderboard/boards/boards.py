"""The read model: every leaderboard, matrix, suite, history and submission result shown.

The CLI (``dataperf leaderboard``, ``dataperf ratchet``), the JSON API, the CSV export, the
rescore diffs and the web pages all read through these functions, each under an explicit
:class:`~leaderboard.boards.visibility.Visibility`, so they cannot disagree and none can show
more than its viewer may see (the rules are in :mod:`leaderboard.boards.visibility`).

Ratchet challenges are ranked from cached cells (:mod:`leaderboard.arithmetic.standings`);
other challenges from each done submission's stored result, scored by the evaluator on the
public ``test`` split only, so their board is the same at every level. Views read the cells of
the current evaluator version; when that version has no cell yet for a problem (just bumped,
before ``dataperf rescore``), they show the newest older version's and mark the board stale.
Confidence intervals: 95% Student-t over seeds of the per-seed mean over tasks and the shown
suite members (the evaluator's rule). Significance: every row also gets ``tier`` and
``p_next`` (:mod:`leaderboard.boards.tiers`), from the per-row correctness stored with the
cells (ratchet boards, over the shown suite) or with the results (other boards); never a refit.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from dataperf.challenges import get_challenge
from dataperf.contract import Role
from dataperf.kinds import kind_of
from dataperf.version import EVALUATOR_VERSION
from leaderboard.boards import held, tiers
from leaderboard.boards import versions as _versions
from leaderboard.boards.done import Done, done, shown_query
from leaderboard.boards.held import Snapshot
from leaderboard.boards.problem_view import ProblemView
from leaderboard.boards.rows import TrainRows
from leaderboard.boards.rows import base as _base
from leaderboard.boards.versions import Version, version_of
from leaderboard.boards.visibility import Visibility, is_published
from leaderboard.ratchet.problem import problem_id_for, version_in_key
from leaderboard.storage.tables import Dataset, Submission, SuiteMember, Team

SAFE_RESULT = ("challenge", "version", "kind", "submission_sha256", "counters", "duplicate")
"""The parts of a ratchet submission's result that a public view may show."""
SAFE_STEP = ("role", "digest", "duplicate", "counters")
"""The parts of its ratchet step a public view may show (no score, rank, difficulty, bar,
top-k or reason: those come from standings over the whole suite)."""


def _subs(session: Session, challenge: str, version: int | None = None) -> list[Any]:
    """Return the done submissions of ``challenge`` (only the shown columns and each stored
    result), oldest first: those made against its version ``version`` (the current one when
    None). A ratchet board reads :func:`leaderboard.boards.done.done` instead."""
    if version is None:
        version = get_challenge(challenge).version
    q = shown_query(challenge, version, Submission.result).order_by(Submission.id)
    return list(session.execute(q).all())


def versions(session: Session, challenge: str) -> list[dict[str, Any]]:
    """Return every version of ``challenge``, newest first: its number, whether it is current,
    its title, and the version and time that superseded it (None for the current one)."""
    return [v.to_dict() for v in _versions.versions(session, challenge)]


def _digest_of(session: Session, subs: list[Any]) -> dict[int, str]:
    return _digests(session, sorted({r.dataset_id for r in subs if r.dataset_id is not None}))


def _digests(session: Session, ids: list[int]) -> dict[int, str]:
    """Return the digest of each set of ``ids`` (by dataset id)."""
    if not ids:
        return {}
    return dict(session.execute(select(Dataset.id, Dataset.digest).where(Dataset.id.in_(ids))).all())  # type: ignore[arg-type]


def _ranked(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for i, r in enumerate(rows, 1):
        r["rank"] = i
    return rows


def board(
    session: Session,
    challenge: str,
    view: Visibility,
    evaluator_version: str | None = None,
    version: int | None = None,
    paged: bool = False,
) -> dict[str, Any]:
    """Return the leaderboard of ``challenge``'s version ``version`` (the current one when None)
    as ``view`` may see it: ``{"challenge", "version", "current", "superseded_by",
    "superseded_at", "title", "kind", "view", "published", "metric", "direction", "ratchet",
    "scope", "evaluator_version", "stale", "note", "rows"}`` (ratchet boards add "problem",
    "top_k" and "bar"), rows best first, each with its rank. Only the submissions made against
    that version are on it, and "stale" is only ever true on the current version's (an earlier
    version is never rescored); an unknown version raises
    :class:`~leaderboard.boards.versions.UnknownVersionError`. ``paged``: a ratchet training-set
    board's rows may be a :class:`~leaderboard.boards.rows.TrainRows`, which builds a row only
    when it is read (a page of a board of 100,000); else they are a list."""
    ver = version_of(session, challenge, version)
    spec = ver.spec
    current = evaluator_version or EVALUATOR_VERSION
    pid = problem_id_for(get_challenge(challenge))
    head: dict[str, Any] = {
        "challenge": spec.id,
        **ver.to_dict(),
        "title": spec.title,
        "kind": spec.kind,
        "layout": kind_of(spec).board(spec, pid is not None).to_dict(),
        "view": str(view),
        "published": is_published(session, challenge),
    }
    if pid is None:
        keys = [c["key"] for c in head["layout"]["columns"]]
        plain = _subs(session, challenge, ver.version)
        rows = [_plain_row(r, keys) for r in plain]
        sign = -1.0 if spec.metric.direction == "max" else 1.0
        rows.sort(key=lambda r: (r["score"] is None, sign * (r["score"] or 0.0), r["submission"]))
        tiers.assign([r for r in rows if r["score"] is not None], _plain_hits(plain, spec.seeds, spec.tasks))
        return head | {
            "metric": spec.metric.name,
            "direction": spec.metric.direction,
            "ratchet": False,
            "scope": "public test split",
            "evaluator_version": current,
            "stale": ver.current and any(r["evaluator_version"] != current for r in rows),
            "note": "scored by the evaluator on the public test split",
            "rows": _ranked(rows),
        }
    subs = done(session, challenge, ver.version)
    snap = held.snapshot(session, pid, view, evaluator_version, _train_version(session, pid, challenge, ver, subs.rows))
    meta = head | {
        "ratchet": True,
        "problem": pid,
        "evaluator_version": snap.version,
        "stale": ver.current and snap.version != current,
        "top_k": list(snap.top_k),
        "bar": snap.bar,
    }
    if kind_of(spec).role is Role.TESTS:
        return meta | {
            "metric": "difficulty",
            "direction": "max",
            "scope": "difficulty over the top-k training sets" + ("" if view.uses_hidden else " of the public ranking"),
            "note": "",
            "rows": _test_rows(session, subs, snap, view),
        }
    ranked = TrainRows(subs, snap, _outside(session, subs, snap))
    note = ""
    if not view.uses_hidden and not snap.public_suite:
        note = "no public test set has been scored yet: scores appear when one is or when results are published"
    return meta | {
        "metric": spec.metric.name,
        "direction": spec.metric.direction,
        "scope": "whole suite (hidden test set included)" if view.uses_hidden else "public test sets of the suite",
        "note": note,
        "rows": ranked if paged else list(ranked),
    }


def _outside(session: Session, subs: Done, snap: Snapshot) -> dict[int, str]:
    """Return the digests of the submissions' sets that are not the problem's (by dataset id)."""
    sets = np.unique(subs.datasets[subs.datasets >= 0])
    return _digests(session, [int(d) for d in sets if int(d) not in snap.by_id])


def _train_version(session: Session, pid: str, challenge: str, ver: Version, subs: list[Any]) -> int | None:
    """Return the version of training-set challenge ``pid`` whose ratchet holds the board of
    ``challenge``'s version ``ver``: ``ver`` itself for the training-set challenge; for its dual
    the current one, or for an earlier version of the dual the one its submissions' sets were
    stored under (None: the current one)."""
    if challenge == pid:
        return ver.version
    ids = sorted({r.dataset_id for r in subs if r.dataset_id is not None})
    if ver.current or not ids:
        return None
    keys = session.execute(select(Dataset.problem).where(Dataset.id.in_(ids)).order_by(Dataset.id.desc())).scalars()
    return next((v for key in keys if (v := version_in_key(key)) is not None), None)


def _test_rows(session: Session, subs: Done, snap: Snapshot, view: Visibility) -> list[dict[str, Any]]:
    shown, suite = set(snap.tests), set(snap.full_suite)
    other = _outside(session, subs, snap)
    rows = []
    for sub in subs.rows:
        found = snap.by_id.get(sub.dataset_id or -1)
        d = snap.test_sets[found[1]] if found is not None and found[0] == "test" else other.get(sub.dataset_id or -1)
        if d is None or d not in shown:
            continue
        in_suite = d in suite if view.uses_hidden else None  # a decision made with S0: hidden before publish
        rows.append(_base(sub) | {"digest": d, "difficulty": snap.difficulty.get(d), "in_suite": in_suite})
    rows.sort(key=lambda r: (r["difficulty"] is None, -(r["difficulty"] or 0.0), r["submission"]))
    tiers.assign(rows, {})  # test sets share no rows: a paired bootstrap cannot compare them
    return _ranked(rows)


def _plain_row(row: Any, columns: list[str]) -> dict[str, Any]:
    """Return a board row from a stored result: its score and interval, and every other board
    column (``columns``: the layout's keys) from the result's ``extra`` (None where absent)."""
    res = row.result or {}
    prov = res.get("provenance", {})
    out = _base(row) | {
        "score": res.get("mean"),
        "ci95": res.get("ci95"),
        "evaluator_version": prov.get("evaluator_version"),
    }
    extra = res.get("extra") or {}
    return out | {k: extra.get(k) for k in columns if k not in out}


def _plain_hits(subs: list[Any], seeds: list[int], tasks: list[Any]) -> dict[int, np.ndarray]:
    """Return each done submission's per-row correctness (mean over seeds, task by task) from its
    result's ``hits``, for results of the current seeds that carry every task's."""
    names = [t.name for t in tasks]
    out = {}
    for row in subs:
        res = row.result or {}
        hits = (res.get("extra") or {}).get("hits")
        if not isinstance(hits, dict) or set(hits) != set(names):
            continue
        if list(res.get("provenance", {}).get("seeds", [])) != list(seeds):
            continue
        out[row.id] = tiers.correct_counts(hits, len(seeds), names)
    return out


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


def matrix(
    session: Session,
    challenge: str,
    view: Visibility,
    limit: int | None = None,
    evaluator_version: str | None = None,
) -> dict[str, Any]:
    """Return the train x test matrix of ``challenge``'s ratchet problem as ``view`` may see it:
    the best ``limit`` training sets (all when None) in the shown ranking against every shown
    test set (S0's column only for the organizer), with the shown suite and top-k."""
    pid = problem_id_for(get_challenge(challenge))
    if pid is None:
        return {"challenge": challenge, "ratchet": False, "train": [], "test": [], "values": []}
    snap = held.snapshot(session, pid, view, evaluator_version, values=limit)
    labels = _labels(session, snap.problem)
    members = set(snap.full_suite)
    train = snap.ranking if limit is None else snap.ranking[:limit]
    suite = view.named_members(snap.full_suite, snap.public_suite)
    return {
        "challenge": challenge,
        "problem": pid,
        "ratchet": True,
        "view": str(view),
        "evaluator_version": snap.version,
        "published": is_published(session, challenge),
        "hidden_columns": 0 if view.shows_hidden_cells else len(snap.test_sets) - len(snap.public_suite),
        "suite": suite,
        "top_k": list(snap.top_k),
        "train": [{"digest": d, "label": labels.get(d, d[:10]), "top_k": d in snap.top_k} for d in train],
        "test": [
            {"digest": d, "label": labels.get(d, d[:10]), "in_suite": (d in members) if view.uses_hidden else None}
            for d in snap.tests
        ],
        "values": [[snap.values.get((t, s)) for s in snap.tests] for t in train],
    }


def suite(session: Session, challenge: str, view: Visibility) -> list[dict[str, Any]]:
    """Return the active suite as ``view`` may see it: digest, why it joined, when, and its
    difficulty (the organizer: when it joined; others: now, in the shown standings)."""
    pid = problem_id_for(get_challenge(challenge))
    if pid is None:
        return []
    snap = held.snapshot(session, pid, view)
    shown = set(view.named_members(snap.full_suite, snap.public_suite))
    q = select(SuiteMember).where(SuiteMember.problem == snap.problem).order_by(SuiteMember.id)
    return [
        {
            "digest": m.test_sha256,
            "reason": m.reason,
            "difficulty": m.difficulty if view.shows_hidden_cells else snap.difficulty.get(m.test_sha256),
            "added_at": m.added_at.isoformat(),
        }
        for m in session.execute(q).scalars()
        if m.test_sha256 in shown
    ]


def result(sub: Submission, view: Visibility) -> dict[str, Any] | None:
    """Return what ``view`` may see of a submission's stored result: everything for challenges
    outside a ratchet (scored on the public split) and for published or organizer views; for a
    ratchet submission in a public view only what reveals nothing of the hidden test set (its
    score, rank and difficulty are on the public board)."""
    res = sub.result
    if not res or "violations" in res:
        return None
    if "ratchet" not in res or view.uses_hidden:
        return dict(res)
    out = {k: res[k] for k in SAFE_RESULT if k in res}
    out["ratchet"] = {k: res["ratchet"][k] for k in SAFE_STEP if k in res["ratchet"]}
    return out


def task_means(
    session: Session,
    challenge: str,
    view: Visibility,
    version: int | None = None,
    only: Collection[int] | None = None,
    board: dict[str, Any] | None = None,
) -> dict[int, dict[str, float]]:
    """Return each done submission's shown mean per task, keyed by submission id, for the
    submissions made against ``challenge``'s version ``version`` (the current one when None;
    ``only``: just those ids, e.g. the rows of one page): from its stored result outside a
    ratchet; for a ratchet training set from its shown cells (the mean over the shown suite
    members it has a cell for, as its score is). Test sets have none. ``board``: that board as
    :func:`board` returned it, read instead of the cells when given."""
    spec = get_challenge(challenge)
    pid = problem_id_for(spec)
    rows = (board or {}).get("rows")
    if pid is not None and isinstance(rows, TrainRows):
        return rows.task_means(list(only) if only is not None else [r["submission"] for r in rows])
    subs = _subs(session, challenge, version)
    if only is not None:
        wanted = set(only)
        subs = [r for r in subs if r.id in wanted]
    if pid is None:
        return {r.id: dict((r.result or {}).get("task_means") or {}) for r in subs}
    if kind_of(spec).role is not Role.TRAINS:
        return {}
    pv = ProblemView(session, pid, view, version=version_of(session, challenge, version).version)
    digests = _digest_of(session, subs)
    if len(digests) > 20:
        pv.read_all()
    out = {}
    for r in subs:
        d = digests.get(r.dataset_id or -1)
        per = pv.seed_scores(d) if d else None
        if per:
            out[r.id] = {t: sum(v.values()) / len(v) for t, v in per.items() if v}
    return out


def find_row(board: dict[str, Any], submission: int) -> dict[str, Any] | None:
    """Return ``submission``'s row on ``board`` (as :func:`board` returned it; None: not on it)."""
    rows = board["rows"]
    if isinstance(rows, TrainRows):
        return rows.find(submission)
    return next((r for r in rows if r["submission"] == submission), None)


def baseline_rows(board: dict[str, Any]) -> list[dict[str, Any]]:
    """Return the baselines' rows of ``board``, best first."""
    rows = board["rows"]
    return rows.baselines() if isinstance(rows, TrainRows) else [r for r in rows if r.get("baseline")]


def best_of(board: dict[str, Any], team: str) -> dict[str, Any] | None:
    """Return the best-ranked row of ``team`` on ``board`` that is not a baseline (None: none)."""
    rows = board["rows"]
    if isinstance(rows, TrainRows):
        return rows.best_of(team)
    mine = [r for r in rows if r["team"] == team and not r.get("baseline")]
    return min(mine, key=lambda r: r["rank"] or 10**9) if mine else None
