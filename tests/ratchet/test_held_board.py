"""A ratchet board kept up to date in the process equals one computed afresh from every cell, in
every view, after each step: new training sets, duplicates, new test sets accepted or not, and a
test set that joins the suite after its cells were read; and the public ratchet history's
points, recomputed from the held cells, equal those recomputed from every cell."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from sqlalchemy import insert, select
from sqlalchemy.orm import Session, sessionmaker

from dataperf.challenges import get_challenge
from leaderboard.boards import tiers
from leaderboard.boards.boards import board, task_means
from leaderboard.boards.held import public_points as held_points
from leaderboard.boards.problem_view import ProblemView
from leaderboard.boards.visibility import Visibility
from leaderboard.ratchet import live
from leaderboard.ratchet.problem import Problem
from leaderboard.ratchet.steps import Ratchet, Step
from leaderboard.storage.tables import Cell, Dataset, Submission, SuiteMember
from tests.ratchet.ratchet_helpers import baseline_table

TRAIN, TEST = "tiny-selection", "tiny-testset"


def _submit(sessions: sessionmaker[Session], step: Step, challenge: str, kind: str, team: str) -> None:
    from leaderboard.jobs.service import ensure_challenge, ensure_team

    with sessions.begin() as s:
        ensure_challenge(s, get_challenge(challenge))
        s.add(
            Submission(
                challenge=challenge,
                challenge_version=get_challenge(challenge).version,
                kind=kind,
                team_id=ensure_team(s, team).id,
                sha256="0" * 64,
                filename=f"{team}.csv",
                path="/nonexistent",
                status="done",
                dataset_id=step.dataset_id,
                content_sha256=step.digest,
            )
        )


def _totals(s: Session, pv: ProblemView, digests: list[str]) -> dict[str, np.ndarray]:
    """Return each training set's bootstrap totals over the shown suite, from every hit afresh."""
    q = select(Cell.train_sha256, Cell.test_sha256, Cell.hits).where(
        Cell.problem == pv.problem, Cell.evaluator_version == pv.version
    )
    hits = {(a, b): h for a, b, h in s.execute(q) if h is not None}
    out = {}
    for d in digests:
        if pv.suite and all((d, m) in hits for m in pv.suite):
            parts = [
                tiers.draw_sums(tiers.correct_counts(hits[(d, m)], len(pv.seeds), pv.task_names)[None, :], m)[0]
                for m in pv.suite
            ]
            out[d] = np.sum(parts, axis=0)
    return out


def _fresh(s: Session, view: Visibility) -> list[dict[str, Any]]:
    """Return the training-set board's rows computed from every cell, without held state."""
    pv = ProblemView(s, TRAIN, view)
    st = pv.standings
    digests: dict[int, str] = {
        i: d for i, d in s.execute(select(Dataset.id, Dataset.digest).where(Dataset.problem == pv.problem))
    }
    subs = s.execute(
        select(Submission.id, Submission.dataset_id).where(Submission.challenge == TRAIN, Submission.status == "done")
    ).all()
    rows: list[dict[str, Any]] = [{"submission": sid, "digest": digests[ds or -1]} for sid, ds in subs]
    rows.sort(key=lambda r: (st.rank[r["digest"]], r["submission"]))
    for r in rows:
        d: str = r["digest"]
        r |= {"score": st.score[d], "worst": pv.worst(d), "complete": st.complete[d], "top_k": d in st.top_k}
        r |= {"ci95": pv.ci95(d), "tier": None, "p_next": None}
    totals = _totals(s, pv, [r["digest"] for r in rows if r["complete"]])
    known = [r for r in rows if r["complete"] and r["digest"] in totals]
    if known:
        probs = tiers.p_from_sums(np.stack([totals[r["digest"]] for r in known]), pv.direction == "max")
        found = tiers.from_probs(probs, len(known))
        for r, t, p in zip(known, found.tier, found.p_ordered, strict=True):
            r["tier"], r["p_next"] = t, p
    return rows


def _same(held: list[dict[str, Any]], fresh: list[dict[str, Any]]) -> None:
    assert [r["submission"] for r in held] == [r["submission"] for r in fresh]
    for h, f in zip(held, fresh, strict=True):
        for key in ("digest", "score", "worst", "complete", "top_k", "tier", "p_next"):
            assert h[key] == f[key], (key, h, f)
        if f["ci95"] is None:
            assert h["ci95"] is None
        else:
            assert h["ci95"] == pytest.approx(f["ci95"], rel=1e-12, abs=1e-12)


def _check(sessions: sessionmaker[Session]) -> int:
    compared = 0
    for view in Visibility:
        with sessions() as s:
            held = board(s, TRAIN, view)["rows"]
            fresh = _fresh(s, view)
            paged = board(s, TRAIN, view, paged=True)
            means = task_means(s, TRAIN, view, board=paged)
            fresh_means = task_means(s, TRAIN, view)  # without the board: from every cell
        _same(held, fresh)
        assert means.keys() == fresh_means.keys()
        for sid, per in fresh_means.items():
            assert means[sid] == pytest.approx(per, rel=1e-12, abs=1e-12)
        compared += len(fresh)
    with sessions() as s:
        pv = ProblemView(s, TRAIN, Visibility.PUBLIC)
        unknown = "f" * 64  # a set the problem does not hold: a row with no cell
        states = [(list(pv.train), pv.public_tests[:n]) for n in range(len(pv.public_tests) + 1)]
        states += [(pv.train[::2] + [unknown], list(pv.public_tests)), ([], list(pv.public_tests))]
        points = held_points(s, TRAIN, states)
        for (trains, known), (bar, best) in zip(states, points, strict=True):
            want = pv.history_point(trains, known)
            assert (bar, best) == (want["bar"], want["best_score"]), (trains, known)
    return compared


def test_held_board_equals_a_fresh_one_after_every_step(sessions: sessionmaker[Session]) -> None:
    live.forget()
    r = Ratchet(sessions, Problem.load(TRAIN))
    seen = 0
    for n, (name, seed) in enumerate([("random", 0), ("balanced", 0), ("random", 1)]):
        _submit(
            sessions,
            r.add_training_set(baseline_table(TRAIN, "training-set", name, seed)),
            TRAIN,
            "training-set",
            f"t{n}",
        )
        seen += _check(sessions)
    # The same set again: a second row, tied with the first.
    again = r.add_training_set(baseline_table(TRAIN, "training-set", "random", 0))
    _submit(sessions, again, TRAIN, "training-set", "twin")
    seen += _check(sessions)
    for name, seed in [("hard", 0), ("hard", 1)]:  # public test sets: accepted or not, both count publicly
        _submit(
            sessions, r.add_test_set(baseline_table(TEST, "test-set", name, seed)), TEST, "test-set", f"{name}{seed}"
        )
        seen += _check(sessions)
    for n, (name, seed) in enumerate([("kcenter", 0), ("crossval", 0)]):
        _submit(
            sessions,
            r.add_training_set(baseline_table(TRAIN, "training-set", name, seed)),
            TRAIN,
            "training-set",
            f"u{n}",
        )
        seen += _check(sessions)
    # A public test set that joins the suite after this process read its cells (random rows are
    # easy: not accepted when scored).
    outside = None
    for seed in range(5):
        step = r.add_test_set(baseline_table(TEST, "test-set", "random", seed))
        seen += _check(sessions)
        with sessions() as s:
            members = set(s.execute(select(SuiteMember.test_sha256)).scalars())
        if step.digest not in members:
            outside = (step.dataset_id, step.digest)
            break
    assert outside is not None, "every random test set was accepted"
    with sessions.begin() as s:
        problem = r.p.id
        s.execute(
            insert(SuiteMember),
            [{"problem": problem, "dataset_id": outside[0], "test_sha256": outside[1], "reason": "accepted"}],
        )
    seen += _check(sessions)
    assert seen > 0
    with sessions() as s:
        rows = board(s, TRAIN, Visibility.ORGANIZER)["rows"]
    assert any(not math.isnan(r["score"] or math.nan) for r in rows)
    assert any(r["tier"] is not None for r in rows)


def test_hits_unpacked_together_equal_one_by_one_and_damaged_ones_are_left_out() -> None:
    from dataperf.hits import pack_hits
    from leaderboard.boards.held import BoardData

    rng = np.random.default_rng(3)
    data = BoardData("max", ["0", "1"], ["a", "b"])
    good = [{t: pack_hits(rng.random((2, 37)) < 0.6) for t in ("a", "b")} for _ in range(4)]
    kept, counts = data._counts(good)
    assert list(kept) == [0, 1, 2, 3]
    for n, h in enumerate(good):
        assert np.array_equal(counts[n], tiers.correct_counts(h, 2, ["a", "b"]))
    damaged = [good[0], {"a": good[1]["a"]}, None, good[2] | {"b": "37:!!!"}, good[3]]
    kept, counts = data._counts(damaged)
    assert list(kept) == [0, 4] and np.array_equal(counts[1], tiers.correct_counts(good[3], 2, ["a", "b"]))
    wider = [good[0], {t: pack_hits(rng.random((2, 40)) < 0.6) for t in ("a", "b")}, good[1]]
    kept, _ = data._counts(wider)
    assert list(kept) == [0, 2]  # a cell of another width cannot share the draws: left out
