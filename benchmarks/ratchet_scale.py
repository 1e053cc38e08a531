"""Benchmark: the ratchet's arithmetic at the size of a popular challenge, 10,000 training sets
(150,000 cached models: 3 tasks x 5 seeds each) on vision-selection data.

Bars: a new test set scored against every cached model in at most 1 s (reading its rows,
the batched pass, and the cells' values and means ready to write), identical to the one-by-one
loop; a new training set (its fits, and its cells against a suite of ``--suite`` test sets) in
at most 0.5 s; the bank's memory at most 2x the raw weights.

The models: ``--real`` training sets (random and balanced selections) are fitted for real;
the other training sets' models are those fits with every weight and intercept scaled by an
independent factor 1 + 1e-3 N(0, 1), so the bank holds 150,000 distinct float64 linear
models of the real shape and scale (fitting all 150,000 would take an hour on two cores and
would not change the arithmetic timed here). The bank's memory is what
the live bank holds once built and stacked (``tracemalloc``: every Python and NumPy
allocation still alive, the models having been made inside the traced span and held by the
bank only), with the growth of the resident size beside it (an upper bound: it keeps heap
pages freed after the models were stacked). Database writes are not part of these figures (see
``benchmarks/ratchet_bench.py`` for SQLite and PostgreSQL end to end at 200 x 20).

Wall and CPU seconds (this process, every thread) are both printed, with the load average:
on a machine shared with other work the CPU figure is the steadier one.

The batched pass runs on the CPU (numpy float32 products with float64 re-checks); a GPU could
take the products, which was not measured here.

Needs vision-selection prepared in $DATAPERF_HOME. Run:
``python -m benchmarks.ratchet_scale [--train 10000] [--real 40] [--suite 200] [--runs 5] [--out FILE]``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import time
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.ratchet_bench import test_sets, training_sets
from dataperf.models import Fitted, Linear
from leaderboard.arithmetic.bank import Bank
from leaderboard.arithmetic.types import RatchetCounters, Rows, Scores
from leaderboard.ratchet.problem import Problem

TRAIN = "vision-selection"


def rss_mb() -> float:
    """Return this process's resident set size now, in MiB."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * 4096 / 2**20


def jittered(model: Fitted, rng: np.random.Generator) -> Fitted:
    """Return ``model`` with every weight and intercept scaled by 1 + 1e-3 N(0, 1)."""
    if not isinstance(model, Linear):
        return model
    w = model.w * (1.0 + 1e-3 * rng.standard_normal(model.w.shape))
    b = model.b * (1.0 + 1e-3 * rng.standard_normal(model.b.shape))
    return Linear(w=w, b=b, classes=model.classes)


def cells_of(p: Problem, scores: dict[str, Scores], test: str) -> dict[tuple[str, str], tuple[Scores, float]]:
    """Return the cells of one new test set, keyed as stored, each with its mean."""
    return {(d, test): (sc, p.cell_mean(sc)) for d, sc in scores.items()}


def loop_all(p: Problem, models: dict[tuple[str, str, int], Fitted], rows: Rows) -> dict[str, Scores]:
    """Return every model's metric on ``rows`` one model at a time (the loop batching replaces)."""
    out: dict[str, Scores] = {}
    for i, task in enumerate(p.task_names):
        x, truth = rows[task]
        x64 = x.astype(np.float64)
        n = p.n_classes(i)
        for (d, t, seed), m in models.items():
            if t == task:
                out.setdefault(d, {}).setdefault(task, {})[seed] = p.metric(truth, m.predict(x64), n)
    return {d: {t: dict(sorted(per.items())) for t, per in sc.items()} for d, sc in out.items()}


def main() -> None:
    """Build the bank, then time a new test set and a new training set; print JSON."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--train", type=int, default=10_000)
    ap.add_argument("--real", type=int, default=40)
    ap.add_argument("--suite", type=int, default=200)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    p = Problem.load(TRAIN)
    tables = training_sets(args.real + args.runs)
    fits, real = [], []
    for table in tables[: args.real]:
        t0 = time.perf_counter()
        real.append(p.fit(p.train_rows(table), RatchetCounters()))
        fits.append(time.perf_counter() - t0)
    suite_tables = test_sets(args.suite)
    suite = [p.test_rows(t) for t in suite_tables]
    fresh_tests = test_sets(args.runs, offset=10_000)

    warm = Bank(p.id, p.evaluator_version)  # compiles the kernels (and loads numba) before measuring
    for (task, seed), m in real[0].items():
        warm.add("warm", task, seed, m)
    warm.score(p, suite[0], RatchetCounters())
    del warm
    gc.collect()
    before = rss_mb()
    tracemalloc.start()
    traced0 = tracemalloc.get_traced_memory()[0]
    t0 = time.perf_counter()
    bank = Bank(p.id, p.evaluator_version)
    rng = np.random.default_rng(0)
    raw_bytes = 0
    for i in range(args.train):
        base = real[i % args.real]
        for (task, seed), m in base.items():
            model = m if i < args.real else jittered(m, rng)
            if isinstance(model, Linear):
                raw_bytes += model.w.nbytes + model.b.nbytes
            bank.add(f"t{i:06d}", task, seed, model)
    del base, model
    build_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    bank.score(p, suite[0], RatchetCounters())  # stacks every group once (as the first pass after a load)
    stack_s = time.perf_counter() - t0
    gc.collect()
    held_mb = (tracemalloc.get_traced_memory()[0] - traced0) / 2**20
    tracemalloc.stop()
    bank_mb = rss_mb() - before

    # a new test set against every cached model, end to end (rows read, pass, cell values)
    new_test: list[float] = []
    cpu: dict[str, list[float]] = {"new_test_set": [], "new_training_set": []}
    batched: list[dict[str, Scores]] = []
    counters = RatchetCounters()
    for i, table in enumerate(fresh_tests):
        t0, c0 = time.perf_counter(), time.process_time()
        rows = p.test_rows(table)
        scores = bank.score(p, rows, counters).as_dict()
        cells = cells_of(p, scores, f"new-{i}")
        new_test.append(time.perf_counter() - t0)
        cpu["new_test_set"].append(time.process_time() - c0)
        batched.append(scores)
        assert len(cells) == args.train
    t0 = time.perf_counter()
    loop = loop_all(p, bank.models, p.test_rows(fresh_tests[0]))
    loop_s = time.perf_counter() - t0
    identical = loop == batched[0]

    # a new training set: its fits, then its cells against every suite member, one by one
    new_train: list[float] = []
    fit_part: list[float] = []
    for table in tables[args.real :]:
        t0, c0 = time.perf_counter(), time.process_time()
        models = p.fit(p.train_rows(table), RatchetCounters())
        t1 = time.perf_counter()
        cells_t = {j: p.score_one(models, rows, RatchetCounters()) for j, rows in enumerate(suite)}
        new_train.append(time.perf_counter() - t0)
        cpu["new_training_set"].append(time.process_time() - c0)
        fit_part.append(t1 - t0)
        assert len(cells_t) == args.suite

    med = statistics.median
    models_n = len(bank.models)
    summary: dict[str, Any] = {
        "bench": "ratchet_scale",
        "training_sets": args.train,
        "models": models_n,
        "real_fits": args.real * len(real[0]),
        "suite": args.suite,
        "runs": args.runs,
        "bank": {
            "raw_weights_mb": round(raw_bytes / 2**20, 1),
            "held_mb": round(held_mb, 1),
            "over_raw": round(held_mb * 2**20 / raw_bytes, 2),
            "resident_growth_mb": round(bank_mb, 1),
            "build_s": round(build_s, 2),
            "first_stack_s": round(stack_s, 2),
        },
        "new_test_set_s": round(med(new_test), 3),
        "new_test_set_runs_s": [round(t, 3) for t in new_test],
        "one_by_one_loop_s": round(loop_s, 2),
        "batched_identical_to_loop": identical,
        "exact_rechecks_per_pass": counters.exact_rechecks // max(counters.batched_passes, 1),
        "new_training_set_s": round(med(new_train), 3),
        "new_training_set_fits_s": round(med(fit_part), 3),
        "new_training_set_runs_s": [round(t, 3) for t in new_train],
        "real_fit_median_s": round(med(fits), 3),
        "cpu_median_s": {k: round(med(v), 3) for k, v in cpu.items()},
        "load_average_1min_at_end": round(os.getloadavg()[0], 2),
        "gpu": "not measured (no GPU on this machine); the batched products are the part a GPU could take",
        "bars": {"new_test_set_s": 1.0, "new_training_set_s": 0.5, "bank_over_raw": 2.0},
    }
    summary["met"] = {
        "new_test_set": summary["new_test_set_s"] <= 1.0 and identical,
        "new_training_set": summary["new_training_set_s"] <= 0.5,
        "bank_memory": summary["bank"]["over_raw"] <= 2.0,
    }
    text = json.dumps(summary, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
