"""Standings held in the process and brought up to date incrementally equal a from-scratch load,
also when rows commit out of id order."""

from __future__ import annotations

import hashlib
import random

from sqlalchemy import insert
from sqlalchemy.orm import Session, sessionmaker

from leaderboard.ratchet import live
from leaderboard.ratchet.steps import load_standings
from leaderboard.storage.db import session_factory
from leaderboard.storage.tables import Cell, Dataset, ProblemRow, SuiteMember, utcnow

PROBLEM, VERSION = "p@v1", "9.9.9"


def _h(x: str) -> str:
    return hashlib.sha256(x.encode()).hexdigest()


def _set(s: Session, sid: int, role: str, name: str, origin: str = "submission") -> str:
    digest = _h(name)
    s.execute(
        insert(Dataset),
        [
            {
                "id": sid,
                "problem": PROBLEM,
                "role": role,
                "digest": digest,
                "n_rows": 1,
                "payload": b"",
                "origin": origin,
            }
        ],
    )
    return digest


def _cell(s: Session, cid: int, train: str, test: str, value: float, hard: float | None) -> None:
    s.execute(
        insert(Cell),
        [
            {
                "id": cid,
                "problem": PROBLEM,
                "train_sha256": train,
                "test_sha256": test,
                "evaluator_version": VERSION,
                "scores": {},
                "mean": value,
                "hardness_mean": hard,
                "provenance": {},
                "created_at": utcnow(),
            }
        ],
    )


def _both(sessions: sessionmaker[Session], k: int = 2, direction: str = "max") -> tuple[object, object]:
    with sessions() as s:
        return (
            live.standings(s, PROBLEM, VERSION, k, direction),
            load_standings(s, PROBLEM, VERSION, k, direction),
        )


def test_held_standings_follow_every_write_as_a_fresh_load_does(db_url: str) -> None:
    live.forget()
    sessions = session_factory(db_url)
    rnd = random.Random(7)
    with sessions.begin() as s:
        s.add(ProblemRow(id=PROBLEM, test_challenge="t", top_k=[]))
        s0 = _set(s, 1, "test", "s0", "organizer")
        s.execute(
            insert(SuiteMember), [{"problem": PROBLEM, "dataset_id": 1, "test_sha256": s0, "reason": "organizer"}]
        )
    tests, trains, next_set, next_cell = [s0], list[str](), 10, 1000
    checks = 0
    for step in range(40):
        with sessions.begin() as s:
            if step % 5 == 4:  # a new test set, scored against every training set; it may join the suite
                d = _set(s, next_set, "test", f"test{step}")
                tests.append(d)
                for t in trains:
                    _cell(s, next_cell, t, d, rnd.random(), rnd.choice([None, rnd.random()]))
                    next_cell += 1
                if rnd.random() < 0.5:
                    row = {"problem": PROBLEM, "dataset_id": next_set, "test_sha256": d, "reason": "accepted"}
                    s.execute(insert(SuiteMember), [row])
            else:  # a new training set, scored on every test set
                d = _set(s, next_set, "train", f"train{step}")
                trains.append(d)
                for u in tests:
                    _cell(s, next_cell, d, u, rnd.choice([0.5, rnd.random()]), rnd.random())
                    next_cell += 1
            next_set += 1
        held, fresh = _both(sessions)
        assert held == fresh
        checks += 1
    assert checks == 40 and len(trains) == 32


def test_a_row_committed_late_with_a_lower_id_is_not_missed(db_url: str) -> None:
    """Two workers' transactions can commit out of id order: the later, lower ids count too."""
    live.forget()
    sessions = session_factory(db_url)
    with sessions.begin() as s:
        s.add(ProblemRow(id=PROBLEM, test_challenge="t", top_k=[]))
        s0 = _set(s, 1, "test", "s0", "organizer")
        s.execute(
            insert(SuiteMember), [{"problem": PROBLEM, "dataset_id": 1, "test_sha256": s0, "reason": "organizer"}]
        )
        a = _set(s, 5, "train", "a")
        b = _set(s, 9, "train", "b")
        _cell(s, 500, b, s0, 0.4, None)
    held, fresh = _both(sessions, k=1)
    assert held == fresh and held.complete == {a: False, b: True}  # type: ignore[attr-defined]
    with sessions.begin() as s:  # a's cell, id 300, commits after b's (id 500) was read
        _cell(s, 300, a, s0, 0.9, None)
    held, fresh = _both(sessions, k=1)
    assert held == fresh
    assert held.top_k == [a] and held.score[a] == 0.9  # type: ignore[attr-defined]
    with sessions.begin() as s:  # a training set with a lower id than one already held
        c = _set(s, 7, "train", "c")
        _cell(s, 400, c, s0, 0.9, None)
    held, fresh = _both(sessions, k=1)
    assert held == fresh and held.train[:2] == [a, c]  # type: ignore[attr-defined]  # ties: arrival (id) order
