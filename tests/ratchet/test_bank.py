"""The batched bank against the one-by-one loop on adversarial models: decision scores exactly
on, one rounding from, and a float32 rounding from the boundary (and exact argmax ties), so
every re-check tier runs. The batched numbers must equal the loop's bit for bit."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest

from dataperf.metrics import METRICS
from dataperf.models import Constant, Fitted, Linear
from leaderboard.arithmetic import bank as bank_module
from leaderboard.arithmetic import batched
from leaderboard.arithmetic.bank import Bank
from leaderboard.arithmetic.types import RatchetCounters

D, N = 64, 120


class _Problem:
    """The part of :class:`leaderboard.ratchet.problem.Problem` the bank uses."""

    def __init__(self, metric: str, tasks: list[str], n_classes: int) -> None:
        self.metric_name, self.metric = metric, METRICS.get(metric)
        self.task_names, self._n = tasks, n_classes

    def n_classes(self, i: int) -> int:
        return self._n


def _one_by_one(p: _Problem, models: dict[tuple[str, str, int], Fitted], rows: Any) -> dict[str, Any]:
    """What :meth:`Problem.score_one` computes, for every model."""
    out: dict[str, Any] = {}
    for (d, task, seed), m in models.items():
        x, truth = rows[task]
        out.setdefault(d, {t: {} for t in p.task_names})[task][seed] = p.metric(
            truth, m.predict(x.astype(np.float64)), p.n_classes(0)
        )
    return out


def _edge_binary(rng: np.random.Generator, x: np.ndarray, classes: list[int], kind: int) -> Linear:
    """A binary model whose float64 score on some rows is exactly 0, one ulp off, or so close
    to 0 that float32 rounding may flip the decision."""
    w = rng.standard_normal((D, 1))
    x64 = x.astype(np.float64)
    r = int(rng.integers(len(x)))
    t = float((x64 @ w)[r, 0])  # exactly what Linear.predict computes before the intercept
    b = [-t, np.nextafter(-t, np.inf), np.nextafter(-t, -np.inf), -t + abs(t) * 3e-8, -t - abs(t) * 3e-8][kind % 5]
    return Linear(w=w, b=np.asarray([b]), classes=np.asarray(classes, dtype=np.int64))


def _edge_multi(rng: np.random.Generator, x: np.ndarray, k: int) -> Linear:
    """A k-class model with an exact float64 tie of two classes on one row."""
    w = rng.standard_normal((D, k))
    r = int(rng.integers(len(x)))
    s = x.astype(np.float64) @ w
    b = rng.standard_normal(k) * 0.01
    b[0], b[1] = -s[r, 0], -s[r, 1]  # both scores exactly 0 on row r
    b[2:] = -s[r, 2:] - 1.0  # the others lower there
    return Linear(w=w, b=b, classes=np.arange(k, dtype=np.int64))


def _rows(rng: np.random.Generator, tasks: list[str], n_classes: int, n: int = N) -> Any:
    out = {}
    for t in tasks:
        x = rng.standard_normal((n, D)).astype(np.float32)
        out[t] = (x, rng.integers(0, n_classes, n).astype(np.int64))
    return out


@pytest.mark.parametrize("metric", ["f1", "accuracy", "macro-f1"])
@pytest.mark.parametrize("threads", [1, 2])
def test_batched_equals_one_by_one_on_boundary_cases(
    metric: str, threads: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bank_module, "BATCH_THREADS", threads)
    monkeypatch.setattr(bank_module, "THREADED_MIN_FLOPS", 0)
    rng = np.random.default_rng(7)
    tasks = ["a", "b"]
    p = _Problem(metric, tasks, 2)
    rows = _rows(rng, tasks, 2)
    models: dict[tuple[str, str, int], Fitted] = {}
    for i in range(40):
        for t in tasks:
            for seed in range(3):
                x = rows[t][0]
                if i == 0:
                    models[(f"d{i}", t, seed)] = Constant(seed % 2)
                elif i == 1:
                    models[(f"d{i}", t, seed)] = _edge_binary(rng, x, [1, 0] if seed else [0, 1], seed)
                else:
                    models[(f"d{i}", t, seed)] = _edge_binary(rng, x, [0, 1], i + seed)
    bank = Bank("p", "v")
    for (d, t, seed), m in reversed(models.items()):  # arrival order must not matter
        bank.add(d, t, seed, m)
    counters = RatchetCounters()
    batched = bank.score(p, rows, counters).as_dict()  # type: ignore[arg-type]
    assert batched == _one_by_one(p, models, rows)
    assert counters.exact_rechecks > 0 and counters.matmuls == 2 * 2  # two groups per task ([0,1], [1,0])
    assert list(batched["d5"]) == tasks and list(batched["d5"]["a"]) == [0, 1, 2]  # seeds ascending
    some = ["d3", "d0", "nope"]
    part = bank.score(p, rows, RatchetCounters(), only=some).as_dict()  # type: ignore[arg-type]
    assert set(part) == {"d3", "d0"} and part["d3"] == batched["d3"] and part["d0"] == batched["d0"]


@pytest.mark.parametrize("metric", ["accuracy", "macro-f1"])
def test_multiclass_ties_equal_one_by_one(metric: str) -> None:
    rng = np.random.default_rng(11)
    p = _Problem(metric, ["t"], 4)
    rows = _rows(rng, ["t"], 4)
    models: dict[tuple[str, str, int], Fitted] = {
        (f"d{i}", "t", s): _edge_multi(rng, rows["t"][0], 4) for i in range(30) for s in range(2)
    }
    bank = Bank("p", "v")
    for (d, t, s), m in models.items():
        bank.add(d, t, s, m)
    counters = RatchetCounters()
    assert bank.score(p, rows, counters).as_dict() == _one_by_one(p, models, rows)  # type: ignore[arg-type]
    assert counters.exact_rechecks > 0


def test_empty_rows_and_empty_bank() -> None:
    rng = np.random.default_rng(3)
    p = _Problem("f1", ["t"], 2)
    rows = _rows(rng, ["t"], 2, n=0)
    models: dict[tuple[str, str, int], Fitted] = {
        ("d", "t", 0): _edge_binary(rng, np.ones((1, D), np.float32), [0, 1], 1)
    }
    bank = Bank("p", "v")
    bank.add("d", "t", 0, models[("d", "t", 0)])
    assert bank.score(p, rows, RatchetCounters()).as_dict() == _one_by_one(p, models, rows) == {"d": {"t": {0: 0.0}}}  # type: ignore[arg-type]
    assert Bank("p", "v").score(p, _rows(rng, ["t"], 2), RatchetCounters()).as_dict() == {}  # type: ignore[arg-type]


def test_models_added_after_a_pass_are_restacked() -> None:
    rng = np.random.default_rng(5)
    p = _Problem("f1", ["t"], 2)
    rows = _rows(rng, ["t"], 2)
    bank = Bank("p", "v")
    models: dict[tuple[str, str, int], Fitted] = {}
    for i in range(6):
        models[(f"d{i}", "t", 0)] = _edge_binary(rng, rows["t"][0], [0, 1], i)
        bank.add(f"d{i}", "t", 0, models[(f"d{i}", "t", 0)])
        assert bank.score(p, rows, RatchetCounters()).as_dict() == _one_by_one(p, models, rows)  # type: ignore[arg-type]


def test_the_stack_is_the_only_copy_and_gives_back_every_model_bit_for_bit() -> None:
    rng = np.random.default_rng(6)
    problems = {"t": _Problem("accuracy", ["t"], 3), "u": _Problem("accuracy", ["u"], 2)}
    rows = {"t": _rows(rng, ["t"], 3), "u": _rows(rng, ["u"], 2)}
    bank = Bank("p", "v")
    models: dict[tuple[str, str, int], Fitted] = {}
    # a later seed of an earlier training set arrives after a pass: the stack is re-ordered
    for wave in ([(d, s) for d in range(5) for s in (0, 1)], [(d, 2) for d in range(5)] + [(7, 0), (6, 1)]):
        for d, seed in wave:
            x_t, x_u = rows["t"]["t"][0], rows["u"]["u"][0]
            models[(f"d{d}", "t", seed)] = _edge_multi(rng, x_t, 3)
            models[(f"d{d}", "u", seed)] = Constant(1) if d == 3 else _edge_binary(rng, x_u, [0, 1], d + seed)
            for t in ("t", "u"):
                bank.add(f"d{d}", t, seed, models[(f"d{d}", t, seed)])
        for t, p in problems.items():
            mine = {k: m for k, m in models.items() if k[1] == t}
            got = bank.score(p, rows[t], RatchetCounters()).as_dict()  # type: ignore[arg-type]
            assert got == _one_by_one(p, mine, rows[t])  # type: ignore[arg-type]
    assert len(bank.models) == len(models) and set(bank.models) == set(models)
    for key, want in models.items():
        got = bank.models[key]
        if isinstance(want, Linear):
            assert isinstance(got, Linear)
            assert np.array_equal(got.w, want.w) and np.array_equal(got.b, want.b)
            assert np.array_equal(got.classes, want.classes) and got.w.flags.c_contiguous
        else:
            assert got == want
    with pytest.raises(KeyError):
        bank.models[("d0", "t", 9)]
    for group in bank._groups["t"]:
        assert not group.pending and group.stack is not None  # weights held once, stacked


def test_float64_rows_are_checked_against_their_exact_values() -> None:
    rng = np.random.default_rng(9)
    p = _Problem("f1", ["t"], 2)
    x = rng.standard_normal((N, D))  # float64, most values not representable in float32
    rows = {"t": (x, rng.integers(0, 2, N).astype(np.int64))}
    models: dict[tuple[str, str, int], Fitted] = {
        (f"d{i}", "t", 0): _edge_binary(rng, x.astype(np.float32), [0, 1], i) for i in range(20)
    }
    for i in range(20):  # and models on the boundary of the float64 rows themselves
        w = rng.standard_normal((D, 1))
        t = float((x @ w)[i, 0])
        models[(f"e{i}", "t", 0)] = Linear(w=w, b=np.asarray([-t]), classes=np.asarray([0, 1]))
    bank = Bank("p", "v")
    for (d, t, s), m in models.items():
        bank.add(d, t, s, m)
    assert bank.score(p, rows, RatchetCounters()).as_dict() == _one_by_one(p, models, rows)  # type: ignore[arg-type]


@pytest.mark.parametrize("metric", ["f1", "accuracy", "macro-f1"])
def test_row_blocks_give_the_same_numbers(metric: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Products in blocks of 16 rows (the positives span several) equal one product."""
    rng = np.random.default_rng(13)
    p = _Problem(metric, ["t"], 2)
    rows = _rows(rng, ["t"], 2)
    models: dict[tuple[str, str, int], Fitted] = {
        (f"d{i}", "t", s): _edge_binary(rng, rows["t"][0], [0, 1], i + s) for i in range(25) for s in range(2)
    }
    bank = Bank("p", "v")
    for (d, t, s), m in models.items():
        bank.add(d, t, s, m)
    whole = bank.score(p, rows, RatchetCounters()).as_dict()
    monkeypatch.setattr(batched, "BLOCK_BYTES", 1)
    assert batched.block_rows(50) == 16
    counters = RatchetCounters()
    blocked = bank.score(p, rows, counters).as_dict()
    assert blocked == whole == _one_by_one(p, models, rows)  # type: ignore[arg-type]
    assert counters.exact_rechecks > 0


def test_non_finite_and_huge_weights_are_scored_one_by_one() -> None:
    rng = np.random.default_rng(17)
    p = _Problem("f1", ["t"], 2)
    rows = _rows(rng, ["t"], 2)
    w = rng.standard_normal((D, 1))
    nan_w = w.copy()
    nan_w[3, 0] = np.nan
    models: dict[tuple[str, str, int], Fitted] = {
        ("nan", "t", 0): Linear(w=nan_w, b=np.asarray([0.0]), classes=np.asarray([0, 1])),
        ("huge", "t", 0): Linear(w=w * 1e35, b=np.asarray([1e30]), classes=np.asarray([0, 1])),
        ("plain", "t", 0): Linear(w=w, b=np.asarray([0.1]), classes=np.asarray([0, 1])),
    }
    bank = Bank("p", "v")
    for (d, t, s), m in models.items():
        bank.add(d, t, s, m)
    assert bank.score(p, rows, RatchetCounters()).as_dict() == _one_by_one(p, models, rows)  # type: ignore[arg-type]
    huge = Bank("p", "v")
    huge.add("huge", "t", 0, models[("huge", "t", 0)])
    counters = RatchetCounters()
    got = huge.score(p, rows, counters).as_dict()  # type: ignore[arg-type]
    assert got == _one_by_one(p, {("huge", "t", 0): models[("huge", "t", 0)]}, rows)  # type: ignore[arg-type]
    assert counters.exact_rechecks == 1  # beyond float32's range: re-scored whole


def test_concurrent_passes_share_the_bank_safely() -> None:
    """Threads scoring different test sets on one bank (whose buffers are reused) each get
    their own numbers."""
    rng = np.random.default_rng(19)
    p = _Problem("f1", ["t"], 2)
    sets = [_rows(rng, ["t"], 2) for _ in range(4)]
    models: dict[tuple[str, str, int], Fitted] = {
        (f"d{i}", "t", 0): _edge_binary(rng, sets[0]["t"][0], [0, 1], i) for i in range(30)
    }
    bank = Bank("p", "v")
    for (d, t, s), m in models.items():
        bank.add(d, t, s, m)
    expected = [_one_by_one(p, models, r) for r in sets]
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda r: bank.score(p, r, RatchetCounters()).as_dict(), sets * 5))  # type: ignore[arg-type]
    assert got == expected * 5


@pytest.mark.parametrize("metric", ["f1", "accuracy", "macro-f1"])
def test_a_test_set_where_every_decision_is_close(metric: str) -> None:
    """Rows in a subspace the weights ignore: every float32 score is the intercept, within the
    margin of 0 for every entry, so every entry is re-checked (far beyond the block's room for
    close entries, and beyond the count where they are tracked)."""
    rng = np.random.default_rng(23)
    p = _Problem(metric, ["t"], 2)
    x = np.zeros((N, D), dtype=np.float32)
    x[:, :10] = rng.standard_normal((N, 10))
    rows = {"t": (x, rng.integers(0, 2, N).astype(np.int64))}
    models: dict[tuple[str, str, int], Fitted] = {}
    for i in range(40):
        w = np.zeros((D, 1))
        w[10:, 0] = rng.standard_normal(D - 10)
        b = [1e-12, -1e-12, 0.0, 1e-17][i % 4]  # decided in float64, or (the last two) whole
        models[(f"d{i}", "t", 0)] = Linear(w=w, b=np.asarray([b]), classes=np.asarray([0, 1]))
    bank = Bank("p", "v")
    for (d, t, s), m in models.items():
        bank.add(d, t, s, m)
    counters = RatchetCounters()
    assert bank.score(p, rows, counters).as_dict() == _one_by_one(p, models, rows)  # type: ignore[arg-type]
    assert counters.exact_rechecks == 40
