"""The ratchet history reads each event's best score and count of scored training sets from
their columns, and shows the same history as one that decodes every event's full record (how
events recorded before those columns are read); the organizer's events carry the best training
sets' recorded scores, best first, and the count of all of them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from leaderboard.boards.history import history
from leaderboard.boards.visibility import Visibility
from leaderboard.ratchet import live
from leaderboard.ratchet.problem import Problem
from leaderboard.ratchet.steps import Ratchet
from leaderboard.storage.tables import RatchetEvent
from tests.ratchet.ratchet_helpers import baseline_table

TRAIN, TEST = "tiny-selection", "tiny-testset"


def _views(sessions: sessionmaker[Session], n: int | None) -> dict[Visibility, dict[str, Any]]:
    with sessions() as s:
        return {v: history(s, TRAIN, v, n) for v in Visibility}


def test_recorded_best_scores_equal_the_full_records(sessions: sessionmaker[Session]) -> None:
    live.forget()
    r = Ratchet(sessions, Problem.load(TRAIN))
    for name, seed in [("random", 0), ("balanced", 0), ("kcenter", 0), ("random", 1)]:
        r.add_training_set(baseline_table(TRAIN, "training-set", name, seed))
    for name, seed in [("hard", 0), ("random", 0), ("hard", 1)]:
        r.add_test_set(baseline_table(TEST, "test-set", name, seed))
    with sessions() as s:
        stored = s.execute(select(RatchetEvent.best_score, RatchetEvent.train_sets, RatchetEvent.scores)).all()
    assert len(stored) >= 4
    for best, count, scores in stored:
        values = [v for v in scores["train"].values() if v is not None]
        assert count == len(scores["train"]) and best == (max(values) if values else None)
    assert any(best is not None for best, _, _ in stored)

    recorded = _views(sessions, 2)
    whole = _views(sessions, None)
    with sessions.begin() as s:  # as events recorded before the columns existed
        s.execute(update(RatchetEvent).values(best_score=None, train_sets=None))
    assert _views(sessions, 2) == recorded
    assert _views(sessions, None) == whole

    published = recorded[Visibility.PUBLISHED]["events"]
    assert [e["best_score"] for e in published] == [best for best, _, _ in stored]
    assert all("scores" not in e for e in published)
    organizer = zip(recorded[Visibility.ORGANIZER]["events"], whole[Visibility.ORGANIZER]["events"], strict=True)
    for short, full in organizer:
        ranked = list(full["scores"]["train"].items())
        values = [v for _, v in ranked if v is not None]
        assert values == sorted(values, reverse=True) and [v for _, v in ranked[len(values) :]] == [None] * (
            len(ranked) - len(values)
        )
        assert list(short["scores"]["train"].items()) == ranked[:2]
        assert short["train_sets"] == full["train_sets"] == len(ranked)
        assert short["scores"]["difficulty"] == full["scores"]["difficulty"]
        assert short["best_score"] == (values[0] if values else None)
