"""The ratchet's history as a viewer may see it: the bar and the best score, step by step.

Each ratchet event records every training set's score at that time (:class:`RatchetEvent`); the
best of them and their count are columns beside the record, so a view decodes records only
where it shows them (the organizer's), where a public view needs to know which sets were scored
by then, and for events recorded before those columns.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dataperf.challenges import get_challenge
from leaderboard.arithmetic.standings import best_of
from leaderboard.boards import held
from leaderboard.boards.visibility import Visibility, is_published
from leaderboard.ratchet.problem import problem_id_for, problem_key
from leaderboard.storage.tables import Dataset, RatchetEvent

EVENT_SCORES = 20
"""Training sets whose recorded score each event of the organizer's history carries (the best)."""


def best_scores(train: dict[str, float | None], direction: str, n: int | None) -> dict[str, float | None]:
    """Return the best ``n`` entries of ``train`` (digest: score) best first, unscored ones last
    (``n`` None: all of them)."""
    sign = -1.0 if direction == "max" else 1.0
    order = sorted(train.items(), key=lambda kv: (kv[1] is None, sign * (kv[1] or 0.0), kv[0]))
    return dict(order if n is None else order[:n])


def history(
    session: Session, challenge: str, view: Visibility, event_scores: int | None = EVENT_SCORES
) -> dict[str, Any]:
    """Return the ratchet history of ``challenge``'s problem as ``view`` may see it: per event
    its time, kind, suite size, the bar and the best training-set score. A public view
    recomputes each event's bar and best score from public cells over the public test sets
    submitted by then, and leaves out the events that are decisions made with the hidden test
    set (a change of the top-k, an acceptance into the suite); the organizer also gets each
    event's recorded suite, top-k, the count of scored training sets, every test set's difficulty
    and the scores of the best ``event_scores`` training sets (None: all of them)."""
    spec = get_challenge(challenge)
    pid = problem_id_for(spec)
    if pid is None:
        return {"challenge": challenge, "ratchet": False, "events": []}
    problem = problem_key(pid, get_challenge(pid).version)
    tests = session.execute(
        select(Dataset.digest, Dataset.origin).where(Dataset.problem == problem, Dataset.role == "test")
    ).all()
    hidden = {d for d, o in tests if o == "organizer"}
    public_tests = {d for d, o in tests if o != "organizer"}
    direction = get_challenge(pid).metric.direction
    # Each event records every training set's score (10,000 on a popular challenge): the best
    # score and the count are columns beside it, so the record is decoded only where it is shown
    # (the organizer), where a public view needs which sets were scored, and for events recorded
    # before those columns.
    cols = [c for c in RatchetEvent.__table__.c if c.name != "scores"]
    events = session.execute(select(*cols).where(RatchetEvent.problem == problem).order_by(RatchetEvent.id)).all()
    # top-k changes and acceptances are decisions made with the hidden test set
    shown = {e.id for e in events if view.uses_hidden or e.kind not in ("top-k", "accept")}
    need = [
        e.id
        for e in events
        if e.id in shown and (not view.uses_hidden or view.shows_hidden_cells or e.train_sets is None)
    ]
    scores: dict[int, dict[str, Any]] = {}
    for at in range(0, len(need), 500):
        q = select(RatchetEvent.id, RatchetEvent.scores).where(RatchetEvent.id.in_(need[at : at + 500]))
        scores |= {i: v or {} for i, v in session.execute(q).all()}
    out: list[dict[str, Any]] = []
    known: list[str] = []  # public test sets submitted so far (what a public view scores over)
    states: list[tuple[list[str], list[str]]] = []
    for e in events:
        if e.subject_sha256 in public_tests and e.subject_sha256 not in known:
            known.append(e.subject_sha256)
        if e.id not in shown:
            continue
        suite = list(e.suite)
        trained = scores.get(e.id, {}).get("train") or {}
        event: dict[str, Any] = {"at": e.at.isoformat(), "kind": e.kind}
        if view.uses_hidden:
            public = [s for s in suite if s not in hidden]
            event |= {"suite_size": len(suite), "public_suite_size": len(public), "bar": e.bar}
            recorded = e.train_sets is not None
            event["best_score"] = e.best_score if recorded else best_of(trained.values(), direction)
        else:
            states.append((list(trained), list(known)))
            event |= {"public_tests": len(known)}
        if view.shows_hidden_cells:
            event |= {
                "subject": e.subject_sha256,
                "evaluator_version": e.evaluator_version,
                "suite": suite,
                "top_k": list(e.top_k),
                "train_sets": len(trained),
                "scores": {
                    **scores[e.id],
                    "train": best_scores(trained, direction, event_scores),
                },
            }
        out.append(event)
    if states:  # a public view: each shown event's bar and best score from public cells alone
        for event, (bar, best) in zip(out, held.public_points(session, pid, states), strict=True):
            event |= {"bar": bar, "best_score": best}
    return {
        "challenge": challenge,
        "problem": pid,
        "ratchet": True,
        "view": str(view),
        "published": is_published(session, challenge),
        "metric": get_challenge(pid).metric.name,
        "events": out,
    }
