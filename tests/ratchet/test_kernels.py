"""The compiled kernels of a batched pass against the NumPy expressions they replace, on blocks
with scores planted exactly on, and one float32 step from, both thresholds."""

from __future__ import annotations

import numpy as np
import pytest

from leaderboard.arithmetic import batched, kernels


def _block(rng: np.random.Generator, n: int, m: int, tau: np.float32, scale: float = 50.0) -> np.ndarray:
    s = (rng.standard_normal((n, m)) * scale * tau).astype(np.float32)
    planted = [tau, -tau, np.float32(0.0), np.float32(-0.0)]
    planted += [np.nextafter(v, w) for v in (tau, -tau) for w in (np.float32(np.inf), np.float32(-np.inf))]
    for v in planted:
        s[rng.integers(n), rng.integers(m)] = v
    return s


def _expected(s: np.ndarray, first: int, npos: int, tau: np.float32) -> tuple[np.ndarray, ...]:
    hi, lo = s > tau, s >= -tau
    split = min(max(npos - first, 0), len(s))
    close_r, close_c = np.nonzero(lo & ~hi)  # row by row, columns ascending
    return hi.sum(axis=0), hi[:split].sum(axis=0), lo.sum(axis=0), close_r + first, close_c


@pytest.mark.parametrize(("first", "npos"), [(0, 0), (0, 17), (0, 40), (100, 90), (100, 117), (100, 200)])
def test_decide_block_counts_and_finds_what_numpy_does(first: int, npos: int) -> None:
    rng = np.random.default_rng(first + npos)
    tau = np.float32(1e-3)
    s = _block(rng, 43, 33, tau)  # 43 rows: groups of 8 and single rows
    jit = kernels.compiled()
    pp, tp = np.full(33, 5, dtype=np.int64), np.full(33, 2, dtype=np.int64)  # counts add up
    hi, lo = np.empty(33, dtype=np.int32), np.empty(33, dtype=np.int32)
    last = np.full(33, -1, dtype=np.int32)
    close = jit.decide_block(s, first, npos, tau, pp, tp, hi, lo, last)
    all_hi, pos_hi, all_lo, close_r, close_c = _expected(s, first, npos, tau)
    assert np.array_equal(pp, 5 + all_hi) and np.array_equal(tp, 2 + pos_hi)
    assert np.array_equal(hi, all_hi) and np.array_equal(lo, all_lo)
    assert close == len(close_r) >= 4  # the planted entries at least
    for j in range(33):  # after each column's last close entry, by at most a group of rows
        at = close_r[close_c == j] - first
        assert last[j] == 0 if not len(at) else at.max() < last[j] <= at.max() + kernels.GROUP
    rows, cols = np.full(close + 2, -1, dtype=np.int64), np.full(close + 2, -1, dtype=np.int64)
    assert jit.close_entries(s, first, tau, hi, lo, last, rows, cols) == close
    got = sorted(zip(rows[:close].tolist(), cols[:close].tolist(), strict=True))
    assert got == sorted(zip(close_r.tolist(), close_c.tolist(), strict=True))
    assert (rows[close:] == -1).all()  # nothing written beyond
    short = np.full(2, -1, dtype=np.int64), np.full(2, -1, dtype=np.int64)
    assert jit.close_entries(s, first, tau, hi, lo, last, *short) == close  # counts all, writes what fits
    assert (short[0] >= first).all() and set(zip(*short, strict=True)) <= set(got)


def test_close_entries_grow_the_scratch_when_out_of_room() -> None:
    rng = np.random.default_rng(1)
    tau = np.float32(0.5)  # about 40% of the entries are close
    scratch = batched.Scratch()
    scratch.close = np.empty(3, dtype=np.int64), np.empty(3, dtype=np.int64)
    blocks = [_block(rng, 20, 10, tau, scale=1.0) for _ in range(3)]
    pp, tp = np.zeros(10, dtype=np.int64), np.zeros(10, dtype=np.int64)
    scratch.hi, scratch.lo, scratch.last = (np.empty(10, dtype=np.int32) for _ in range(3))
    want_r, want_c = [], []
    for i, s in enumerate(blocks):
        batched._decide(scratch, s, 20 * i, 25, tau, pp, tp)
        _, _, _, r, c = _expected(s, 20 * i, 25, tau)
        want_r.append(r)
        want_c.append(c)
    assert scratch.nclose == sum(len(r) for r in want_r) > 3
    got = zip(*(c[: scratch.nclose].tolist() for c in scratch.close), strict=True)
    assert sorted(got) == sorted(zip(np.concatenate(want_r).tolist(), np.concatenate(want_c).tolist(), strict=True))
    whole = np.vstack(blocks)
    assert np.array_equal(pp, (whole > tau).sum(axis=0)) and np.array_equal(tp, (whole[:25] > tau).sum(axis=0))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_recheck_equals_float64_scores_and_counts_the_decided(dtype: type) -> None:
    rng = np.random.default_rng(2)
    x = rng.standard_normal((30, 8)).astype(dtype)
    wt = rng.standard_normal((5, 9))
    r, c = rng.integers(0, 30, 40), rng.integers(0, 5, 40)
    given = (r * 7) % 30  # reordered rows: entry e reads x[given[e]]
    wt[c[0], -1] = -float(x[given[0]].astype(np.float64) @ wt[c[0], :-1])  # a score of exactly 0
    s = np.einsum("ij,ij->i", x[given].astype(np.float64), wt[c, :-1]) + wt[c, -1]
    yes, undecided = np.empty(40, dtype=bool), np.empty(40, dtype=bool)
    pp, tp = np.full(5, 3, dtype=np.int64), np.zeros(5, dtype=np.int64)
    bound = np.full(5, 1e-9)
    left = kernels.compiled().recheck(x, given, r, c, np.ascontiguousarray(wt.T), bound, 12, yes, undecided, pp, tp)
    decided = ~undecided
    assert undecided[0] and left == undecided.sum() and decided.sum() >= 35  # 0 is undecided, whatever its sign
    assert np.array_equal(yes[decided], s[decided] > 0)
    counted = decided & yes
    assert np.array_equal(pp, 3 + np.bincount(c[counted], minlength=5))
    assert np.array_equal(tp, np.bincount(c[counted & (r < 12)], minlength=5))


@pytest.mark.parametrize("positives_first", [True, False])
def test_prepare_rows_equals_the_numpy_steps(positives_first: bool) -> None:
    rng = np.random.default_rng(4)
    x = rng.standard_normal((50, 7))  # float64: rounded to float32 as astype does
    truth = rng.integers(0, 3, 50)
    rows = batched.Rows.of(x, truth, positives_first)
    order = np.argsort(truth != 1, kind="stable") if positives_first else np.arange(50)
    xa = np.hstack([x[order].astype(np.float32), np.ones((50, 1), np.float32)])
    assert np.array_equal(rows.xa, xa) and np.array_equal(rows.truth, truth[order])
    assert rows.npos == (int((truth == 1).sum()) if positives_first else 0)
    assert (rows.order is None) != positives_first and (rows.order is None or np.array_equal(rows.order, order))
    norms = np.sqrt((xa.astype(np.float64) ** 2).sum(axis=1))
    assert norms.max() <= rows.norm <= norms.max() * (1 + 1e-3)


def test_tau32_is_never_below_the_float64_margin() -> None:
    rng = np.random.default_rng(3)
    for scale in (1e-3, 1.0, 7.3, 1e6):
        x = (rng.standard_normal((5, 16)) * scale).astype(np.float32)
        rows = batched.Rows.of(x, np.zeros(5, dtype=np.int64), positives_first=True)
        dims = rows.xa.shape[1]
        tau = batched.SAFETY * sum(batched.bounds(dims, rows.norm, 1 + 1e-5))
        t32 = rows.tau
        assert (
            t32 == batched.tau32(dims, rows.norm)
            and t32.dtype == np.float32
            and float(t32) >= tau
            and float(np.nextafter(t32, np.float32(0))) < tau
        )


def test_kernels_refuse_arrays_of_the_wrong_size() -> None:
    """They skip bounds checks inside their loops, so they check sizes on entry."""
    jit = kernels.compiled()
    s, tau = np.zeros((4, 3), dtype=np.float32), np.float32(0.1)
    ok, short = np.zeros(3, dtype=np.int32), np.zeros(2, dtype=np.int32)
    counts = np.zeros(3, dtype=np.int64)
    with pytest.raises(ValueError, match="one entry per column"):
        jit.decide_block(s, 0, 0, tau, counts, counts, ok, ok, short)
    with pytest.raises(ValueError, match="one entry per column"):
        jit.close_entries(s, 0, tau, ok, ok, short, np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.int64))
    e = np.zeros(1, dtype=np.int64)
    flags = np.zeros(1, dtype=bool)
    with pytest.raises(ValueError, match="one entry per column"):
        jit.recheck(s, e, e, e, np.zeros((3, 3)), np.ones(3), 0, flags, flags, counts, counts)
    with pytest.raises(ValueError, match="match the rows"):
        jit.prepare_rows(s, np.zeros(4, dtype=np.int64), True, np.zeros((4, 3), np.float32), e, e)
