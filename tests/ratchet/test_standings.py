"""The ratchet's rules, on hand-made cell matrices."""

from __future__ import annotations

import numpy as np
import pytest

from leaderboard.arithmetic.standings import compute


def test_scores_ranks_top_k_difficulty_and_bar() -> None:
    cells = [
        ("t1", "s0", 0.8),
        ("t1", "s1", 0.4),
        ("t2", "s0", 0.6),
        ("t2", "s1", 0.5),
        ("t3", "s0", 0.9),
        ("t1", "x", 0.2),
        ("t2", "x", 0.3),
    ]
    st = compute(["t1", "t2", "t3"], ["s0", "s1", "x"], ["s0", "s1"], cells, k=2)
    assert st.score["t1"] == pytest.approx(0.6) and st.worst["t1"] == 0.4
    assert st.complete == {"t1": True, "t2": True, "t3": False}
    assert st.train == ["t1", "t2", "t3"]  # t3 lacks a suite cell: ranked after complete ones
    assert st.top_k == ["t1", "t2"]
    assert st.difficulty["x"] == pytest.approx(1 - 0.25)
    assert st.difficulty["s1"] == pytest.approx(1 - 0.45) and st.bar == pytest.approx(min(1 - 0.7, 1 - 0.45))


def test_ties_keep_arrival_order_and_empty_top_k_has_no_difficulty() -> None:
    st = compute(["a", "b"], ["s0"], ["s0"], [("b", "s0", 0.5), ("a", "s0", 0.5)], k=5)
    assert st.train == ["a", "b"]
    empty = compute([], ["s0"], ["s0"], [], k=3)
    assert empty.top_k == [] and empty.difficulty == {"s0": None} and empty.bar is None


def test_recomputing_a_10000_cell_matrix_ranks_every_set() -> None:
    """The standings of a 500 x 20 matrix (its time: ``benchmarks/standings_bench.py``)."""
    rng = np.random.default_rng(0)
    train = [f"t{i}" for i in range(500)]
    test = [f"s{j}" for j in range(20)]
    cells = [
        (t, s, float(v))
        for t, row in zip(train, rng.random((500, 20)), strict=True)
        for s, v in zip(test, row, strict=True)
    ]
    st = compute(train, test, test, cells, k=10)
    assert len(st.rank) == 500 and len(st.top_k) == 10
    means = {t: float(np.mean([v for a, _, v in cells if a == t])) for t in train}
    best = sorted(train, key=lambda t: -means[t])
    assert st.top_k == best[:10] and [st.rank[t] for t in best[:3]] == [1, 2, 3]
    assert st.score[best[0]] == pytest.approx(means[best[0]])


@pytest.mark.parametrize("direction", ["max", "min"])
def test_an_empty_suite_gives_no_scores_and_ranks_by_arrival(direction: str) -> None:
    cells = [("b", "s", 0.9), ("a", "s", 0.1)]
    st = compute(["a", "b", "c"], ["s"], [], cells, k=2, direction=direction)
    assert st.train == ["a", "b", "c"] and st.rank == {"a": 1, "b": 2, "c": 3}
    assert st.score == {"a": None, "b": None, "c": None} and st.worst == st.score
    assert st.complete == {"a": False, "b": False, "c": False}
    assert st.top_k == [] and st.suite == [] and st.difficulty == {"s": None} and st.bar is None
    nothing = compute([], [], [], [], k=2, direction=direction)
    assert nothing.train == [] and nothing.score == {} and nothing.difficulty == {} and nothing.bar is None


def test_a_suite_member_without_a_stored_set_counts_as_empty() -> None:
    st = compute(["a"], ["s"], ["gone"], [("a", "s", 0.5)], k=1)
    assert st.score == {"a": None} and st.top_k == [] and st.bar is None
