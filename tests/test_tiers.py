"""Board tiers from a paired bootstrap over shared test rows, and packed per-row correctness."""

from __future__ import annotations

import numpy as np
import pytest

from dataperf.hits import pack_hits, unpack_hits
from leaderboard.boards.tiers import DRAWS, draw_sums, draw_totals, p_ordered, tiers


@pytest.mark.parametrize("shape", [(1, 1), (3, 7), (5, 1000), (2, 8)])
def test_hits_round_trip_one_bit_each(shape: tuple[int, int]) -> None:
    hits = np.random.default_rng(0).random(shape) < 0.7
    text = pack_hits(hits)
    assert np.array_equal(unpack_hits(text, shape[0]), hits)
    assert len(text) <= len(f"{shape[1]}:") + 4 * ((shape[0] * ((shape[1] + 7) // 8) + 2) // 3)
    with pytest.raises(ValueError, match="expected"):
        unpack_hits(text, shape[0] + 1)


def test_sets_told_apart_get_tiers_and_equal_sets_share_one() -> None:
    rng = np.random.default_rng(1)
    rows = 1000
    strong = (rng.random(rows) < 0.9).astype(np.float32)
    twin = strong.copy()
    twin[:3] = 1 - twin[:3]  # three rows differ: not told apart
    weak = (rng.random(rows) < 0.6).astype(np.float32)
    board = np.stack([strong, twin, weak])
    probs = p_ordered(board)
    assert probs[0] < 0.95 and probs[1] == 1.0
    assert tiers(board).tier == [1, 1, 2]
    # Lower is better: the same board read the other way round.
    assert tiers(board[::-1], higher_is_better=False).tier == [1, 2, 2]
    # Fixed seed: the same board gives the same probabilities.
    assert np.array_equal(p_ordered(board), probs)


def test_degenerate_boards() -> None:
    assert tiers(np.zeros((0, 5))).tier == []
    one = tiers(np.ones((1, 5)))
    assert one.tier == [1] and one.p_ordered == [None]
    same = tiers(np.ones((3, 10)))
    assert same.tier == [1, 1, 1] and same.p_ordered == [0.5, 0.5, None]


def test_integer_totals_equal_the_double_precision_ones_on_both_paths() -> None:
    rng = np.random.default_rng(11)
    for rows, top in [(200, 5), (37, 3), (5000, 2**20)]:  # the last: past 2**24, the double-precision path
        counts = rng.integers(0, top, size=(30, rows)).astype(np.float64)
        want = np.rint(draw_sums(counts, "stratum")).astype(np.int64)
        got = draw_totals(counts, "stratum")
        assert got.dtype == np.int64 and np.array_equal(got, want)
    assert draw_totals(np.zeros((0, 10)), "empty").shape == (0, DRAWS)
