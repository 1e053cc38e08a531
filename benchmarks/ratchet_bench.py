"""Benchmark of the data ratchet on vision-selection data, on SQLite and PostgreSQL side by side.

Steps, per database (each from an empty, migrated database):

1. the full matrix from empty: S0 plus 19 organizer test sets in the suite, then 200 training
   sets (random and balanced selections, varied seeds): 200 x 20 cells;
2. one more training set (several times, median): must cost one fit per task and seed and one
   prediction per task, seed and suite member;
3. one more test set (random or hard rows of the evaluation pool; several times, median): must
   cost no fit and one batched pass over all cached models;
4. batched scoring of a new test set (a random one, and a 'hard' one) against all cached
   models vs scoring a single model (one training set's models, every task and seed) one by
   one, as the loop does, and vs the same batched function on a bank of that model alone
   (compute only: rounds of the three back to back, the order rotated; end to end, with
   reading the rows and writing the cells: alternating; ``--threads`` BLAS threads for the big
   products, and the batched pass again with ``--alt-threads``); every timed pass must equal
   the one-by-one loop's numbers bit for bit;
5. recomputing every score and rank of a 10,000-cell matrix (500 x 20) from the database.

Needs vision-selection and vision-testset prepared in $DATAPERF_HOME, and $DATAPERF_TEST_PG_URL
(``scripts/start-postgres``) for the PostgreSQL column. Run:
``python benchmarks/ratchet_bench.py [--train 200] [--tests 20] [--runs 5]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from baselines import get_baseline
from dataperf.challenges import get_challenge
from dataperf.evaluator import load_data
from leaderboard.arithmetic import bank as bank_module
from leaderboard.arithmetic.bank import Bank
from leaderboard.arithmetic.types import RatchetCounters
from leaderboard.ratchet import cells
from leaderboard.ratchet.problem import Problem
from leaderboard.ratchet.steps import Ratchet, load_standings
from leaderboard.storage.db import insert_ignore, session_factory, upgrade
from leaderboard.storage.tables import Cell, Dataset, SuiteMember, utcnow

TRAIN, TEST = "vision-selection", "vision-testset"


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Return (seconds, result) of one call."""
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def training_sets(n: int, offset: int = 0) -> list[pd.DataFrame]:
    """Return ``n`` cheap training sets: random and balanced selections with varied seeds."""
    spec = get_challenge(TRAIN)
    data = load_data(spec)
    names = ["random", "balanced"]
    return [get_baseline("training-set", names[i % 2]).build(spec, data, 1000 + offset + i) for i in range(n)]


def test_sets(n: int, offset: int = 0) -> list[pd.DataFrame]:
    """Return ``n`` test sets from the evaluation pool: random draws and 'hard' selections."""
    spec = get_challenge(TEST)
    data = load_data(spec)
    out = []
    for i in range(n):
        name = "hard" if i % 4 == 3 else "random"
        out.append(get_baseline("test-set", name).build(spec, data, 2000 + offset + i))
    return out


def hard_test_set() -> pd.DataFrame:
    """Return a 'hard' test set (rows near the decision boundaries of a model trained on the
    pool: many close float32 decisions to re-check) not otherwise in the benchmark."""
    spec = get_challenge(TEST)
    return get_baseline("test-set", "hard").build(spec, load_data(spec), 3 * 10**5)


def reset(url: str) -> None:
    """Empty the database at ``url`` and migrate it."""
    from sqlalchemy import text

    from leaderboard.storage.db import engine

    if url.startswith("postgresql"):
        with engine(url).begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    cells.forget_banks()
    upgrade(url)


def bench_backend(
    url: str,
    tr: list[pd.DataFrame],
    extra_tr: list[pd.DataFrame],
    ts: list[pd.DataFrame],
    extra_ts: list[pd.DataFrame],
    score_runs: int = 61,
    alt_threads: int = 0,
) -> dict[str, Any]:
    """Run steps 1-4 on one database; return timings, counters and checks."""
    reset(url)
    sessions = session_factory(url)
    p = Problem.load(TRAIN)
    r = Ratchet(sessions, p)
    out: dict[str, Any] = {}
    full = RatchetCounters()

    def build() -> None:
        for t in ts:
            full.add(r.add_test_set(t, organizer=True).counters)
        for t in tr:
            full.add(r.add_training_set(t).counters)

    out["full_s"], _ = timed(build)
    suite = len(ts) + 1
    with sessions() as s:
        n_cells = len(cells.cell_keys(s, p))
    out["full_counters"] = full.as_dict() | {"cells_in_db": n_cells}
    per_fit = len(p.tasks) * len(p.seeds)
    out["check_full"] = full.fits == len(tr) * per_fit and n_cells == len(tr) * suite
    times, ok = [], True
    for t in extra_tr:
        sec, step = timed(partial(r.add_training_set, t))
        times.append(sec)
        ok &= step.counters.fits == per_fit and step.counters.predictions == per_fit * suite
        ok &= step.counters.batched_passes == 0 and step.counters.cells_computed == suite
    out["new_train_s"], out["check_new_train"] = statistics.median(times), ok
    out["new_train_counters"] = step.counters.as_dict()
    times, ok = [], True
    for t in extra_ts[:-1]:
        sec, step = timed(partial(r.add_test_set, t))
        times.append(sec)
        ok &= step.counters.fits == 0 and step.counters.predictions == 0 and step.counters.batched_passes == 1
        ok &= step.counters.cells_computed == len(tr) + len(extra_tr)
    out["new_test_s"], out["check_new_test"] = statistics.median(times), ok
    out["new_test_counters"] = step.counters.as_dict()
    out |= batched_vs_single(sessions, p, extra_ts[-1], score_runs, alt_threads)
    hard = batched_vs_single(sessions, p, hard_test_set(), score_runs, 0, e2e_runs=3)
    keys = ["batched_s", "loop1_s", "ratio_loop1", "ratio_loop1_rounds", "ratio_loop1_q", "rechecks_per_pass"]
    out |= {f"hard_{k}": hard[k] for k in keys} | {"identical": out["identical"] and hard["identical"]}
    return out


def batched_vs_single(
    sessions: Any, p: Problem, table: pd.DataFrame, runs: int = 61, alt_threads: int = 0, e2e_runs: int = 15
) -> dict[str, Any]:
    """Time one batched pass over every cached model against scoring a single model (one
    training set's models, every task and seed) two ways: one by one, as the loop that batching
    replaces does (:meth:`Problem.score_one`), and with the same batched function on a bank of
    that training set alone.

    Compute only: ``runs`` rounds of the three, back to back so all see the same machine, the
    order rotated every round (whichever runs first finds the cache holding the last one's
    data); the ratio is reported both as the ratio of the medians and as the median (and
    quartiles) of the per-round ratios. End to end (reading the rows, writing the cells):
    ``e2e_runs`` alternating rounds. Every timed pass must give the one-by-one loop's numbers
    bit for bit. With ``alt_threads``, also time the batched pass with that many BLAS threads."""
    with sessions() as s:
        bank = cells.bank_for(s, p)
    digests = bank.digests()
    one = Bank(p.id, p.evaluator_version)
    for (d, task, seed), m in bank.models.items():
        if d == digests[0]:
            one.add(d, task, seed, m)
    first = {(t, s): bank.models[(digests[0], t, s)] for t in p.task_names for s in p.seeds}
    rows = p.test_rows(table)
    counters = RatchetCounters()
    contenders: dict[str, Callable[[], Any]] = {
        "batched": lambda: bank.score(p, rows, counters),
        "single": lambda: one.score(p, rows, RatchetCounters()),
        "loop1": lambda: p.score_one(first, rows, RatchetCounters()),
    }
    res: dict[str, list[float]] = {k: [] for k in [*contenders, "batched_e2e", "single_e2e"]}
    outputs: dict[str, list[Any]] = {k: [] for k in [*contenders, "batched_alt"]}
    names = list(contenders)
    for i in range(runs):
        for name in names[i % 3 :] + names[: i % 3]:
            sec, got = timed(contenders[name])
            res[name].append(sec)
            outputs[name].append(got if name == "loop1" else got.as_dict())
    per_round = [b / o for b, o in zip(res["batched"], res["loop1"], strict=True)]
    alt: list[float] = []
    for i in range(e2e_runs):
        for name, b in (("batched", bank), ("single", one)):
            digest = f"{name}-{i}-{time.time_ns()}"

            def e2e(b: Bank = b, digest: str = digest) -> None:
                fresh = p.test_rows(table)
                scores = b.score(p, fresh, RatchetCounters(), also=p.measure, hits=True)
                hard, hits = scores.measures(), scores.packed_hits()
                found = {(d, digest): (sc, hard[d], hits[d]) for d, sc in scores.items()}
                with sessions.begin() as s:
                    cells.write_cells(s, p, found, "batched", 0.0)

            res[name + "_e2e"].append(timed(e2e)[0])
        if alt_threads:
            threads, bank_module.BATCH_THREADS = bank_module.BATCH_THREADS, alt_threads
            try:
                sec, got = timed(contenders["batched"])
            finally:
                bank_module.BATCH_THREADS = threads
            alt.append(sec)
            outputs["batched_alt"].append(got.as_dict())
    loop_s, loop = timed(
        lambda: {
            d: p.score_one(
                {(t, s): bank.models[(d, t, s)] for t in p.task_names for s in p.seeds},
                rows,
                RatchetCounters(),
            )
            for d in digests
        }
    )
    med = {k: statistics.median(v) for k, v in res.items()}
    best = {k: min(v) for k, v in res.items()}
    q1, _, q3 = statistics.quantiles(per_round, n=4)
    return {
        "models": len(digests) * len(p.tasks) * len(p.seeds),
        "score_runs": runs,
        "batched_s": med["batched"],
        "single_s": med["single"],
        "loop1_s": med["loop1"],
        "batched_best_s": best["batched"],
        "single_best_s": best["single"],
        "loop1_best_s": best["loop1"],
        "loop_s": loop_s,
        "batched_e2e_s": med["batched_e2e"],
        "single_e2e_s": med["single_e2e"],
        "ratio_loop1": med["batched"] / med["loop1"],
        "ratio_loop1_rounds": statistics.median(per_round),
        "ratio_loop1_q": f"{q1:.2f}-{q3:.2f}",
        "ratio_loop1_best": best["batched"] / best["loop1"],
        "ratio": med["batched"] / med["single"],
        "ratio_best": best["batched"] / best["single"],
        "ratio_e2e": med["batched_e2e"] / med["single_e2e"],
        "rechecks_per_pass": counters.exact_rechecks / runs,
        "alt_threads": alt_threads,
        "batched_alt_s": statistics.median(alt) if alt else float("nan"),
        "identical": all(out == loop for out in outputs["batched"] + outputs["batched_alt"])
        and all(out == {digests[0]: loop[digests[0]]} for out in outputs["single"])
        and all(out == loop[digests[0]] for out in outputs["loop1"]),
    }


def bench_10k(url: str, n_train: int = 500, n_test: int = 20, runs: int = 5) -> dict[str, Any]:
    """Fill a synthetic problem with 500 x 20 cells; time recomputing every score and rank."""
    sessions = session_factory(url)
    rng = np.random.default_rng(0)
    problem = "bench-10k"
    with sessions.begin() as s:
        from leaderboard.storage.tables import ProblemRow

        s.add(ProblemRow(id=problem, test_challenge="-", top_k=[], updated_at=utcnow()))
        sets = [
            {
                "problem": problem,
                "role": role,
                "digest": f"{role[:2]}{i:062d}",
                "n_rows": 0,
                "payload": b"",
                "origin": "bench",
                "created_at": utcnow(),
            }
            for role, n in (("train", n_train), ("test", n_test))
            for i in range(n)
        ]
        insert_ignore(s, Dataset.__table__, sets, ["digest"])  # type: ignore[arg-type]
        ids = dict(s.execute(Dataset.__table__.select().with_only_columns(Dataset.digest, Dataset.id)).all())
        members = [
            {
                "problem": problem,
                "dataset_id": ids[f"te{j:062d}"],
                "test_sha256": f"te{j:062d}",
                "reason": "organizer",
                "difficulty": None,
                "added_at": utcnow(),
            }
            for j in range(n_test)
        ]
        insert_ignore(s, SuiteMember.__table__, members, ["problem", "dataset_id"])  # type: ignore[arg-type]
        rows = [
            {
                "problem": problem,
                "train_sha256": f"tr{i:062d}",
                "test_sha256": f"te{j:062d}",
                "evaluator_version": "bench",
                "scores": {},
                "mean": float(v),
                "provenance": {},
                "created_at": utcnow(),
            }
            for (i, j), v in np.ndenumerate(rng.random((n_train, n_test)))
        ]
        insert_ignore(s, Cell.__table__, rows, ["train_sha256", "test_sha256", "evaluator_version"])  # type: ignore[arg-type]
    times = []
    for _ in range(runs):
        with sessions() as s:
            sec, st = timed(partial(load_standings, s, problem, "bench", 10, "max"))
        times.append(sec)
    return {"recompute_10k_s": statistics.median(times), "ranked": len(st.rank)}


def main() -> int:
    """Run the benchmark and print the table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", type=int, default=200)
    ap.add_argument("--tests", type=int, default=20, help="suite size, S0 included")
    ap.add_argument("--runs", type=int, default=5, help="repetitions of the incremental steps (median)")
    ap.add_argument("--score-runs", type=int, default=61, help="rounds of the compute-only scoring passes (median)")
    ap.add_argument(
        "--threads", type=int, default=bank_module.BATCH_THREADS, help="BLAS threads for the big batched products"
    )
    ap.add_argument(
        "--alt-threads", type=int, default=2, help="also time the batched pass with this many threads (0: no)"
    )
    ap.add_argument("--pg-url", default=os.environ.get("DATAPERF_TEST_PG_URL"))
    args = ap.parse_args()
    bank_module.BATCH_THREADS = args.threads
    tr, extra_tr = training_sets(args.train), training_sets(args.runs, offset=10**5)
    ts, extra_ts = test_sets(args.tests - 1), test_sets(args.runs + 1, offset=10**5)
    with tempfile.TemporaryDirectory() as tmp:
        urls = {"sqlite": f"sqlite:///{tmp}/bench.db"}
        if args.pg_url:
            urls["postgresql"] = args.pg_url
        results = {}
        for name, url in urls.items():
            print(f"[{name}] running ...", file=sys.stderr, flush=True)
            results[name] = bench_backend(url, tr, extra_tr, ts, extra_ts, args.score_runs, args.alt_threads)
            results[name] |= bench_10k(url)
    report(results, args)
    checks = ["check_full", "check_new_train", "check_new_test", "identical"]
    return 0 if all(r[c] for r in results.values() for c in checks) else 1


def report(results: dict[str, dict[str, Any]], args: argparse.Namespace) -> None:
    """Print the side-by-side table."""
    names = list(results)
    lines = [
        ("full matrix from empty (s)", "full_s", "{:.2f}"),
        ("one more training set (s, median)", "new_train_s", "{:.4f}"),
        ("one more test set (s, median)", "new_test_s", "{:.4f}"),
        ("batched pass, all models (ms)", "batched_s", "ms"),
        ("one model scored one by one (ms)", "loop1_s", "ms"),
        ("ratio batched / one by one (bar <= 3)", "ratio_loop1", "{:.2f}"),
        ("  median of per-round ratios", "ratio_loop1_rounds", "{:.2f}"),
        ("  quartiles of per-round ratios", "ratio_loop1_q", "{}"),
        ("  best runs: batched (ms)", "batched_best_s", "ms"),
        ("  best runs: one by one (ms)", "loop1_best_s", "ms"),
        ("  ratio of best runs", "ratio_loop1_best", "{:.2f}"),
        ("batched pass, one model's bank (ms)", "single_s", "ms"),
        ("ratio batched / one model's bank", "ratio", "{:.2f}"),
        ("  best run, one model's bank (ms)", "single_best_s", "ms"),
        ("  ratio of best runs", "ratio_best", "{:.2f}"),
        ("float64 re-checks per batched pass (models)", "rechecks_per_pass", "{:.1f}"),
        ("a 'hard' test set: batched pass (ms)", "hard_batched_s", "ms"),
        ("  one model scored one by one (ms)", "hard_loop1_s", "ms"),
        ("  ratio (bar <= 3)", "hard_ratio_loop1", "{:.2f}"),
        ("  median of per-round ratios", "hard_ratio_loop1_rounds", "{:.2f}"),
        ("  quartiles of per-round ratios", "hard_ratio_loop1_q", "{}"),
        ("  float64 re-checks per batched pass (models)", "hard_rechecks_per_pass", "{:.1f}"),
        ("batched pass with --alt-threads BLAS threads (ms)", "batched_alt_s", "ms"),
        ("batched end to end (ms)", "batched_e2e_s", "ms"),
        ("one model's bank end to end (ms)", "single_e2e_s", "ms"),
        ("ratio end to end", "ratio_e2e", "{:.2f}"),
        ("one-by-one loop, all models (ms)", "loop_s", "ms"),
        ("batched == one-by-one, bit for bit", "identical", "{}"),
        ("recompute 10,000-cell matrix (ms, bar < 1000)", "recompute_10k_s", "ms"),
        ("counters: full matrix as expected", "check_full", "{}"),
        ("counters: new training set as expected", "check_new_train", "{}"),
        ("counters: new test set as expected", "check_new_test", "{}"),
    ]
    first = results[names[0]]
    print(
        f"ratchet benchmark: {args.train} training sets x {args.tests} test sets (suite), "
        f"{first['models']} cached models; medians of {args.runs} runs "
        f"({args.score_runs} rounds of the scoring passes); {args.threads} BLAS thread(s) for the big batched products"
    )
    w = max(len(label) for label, _, _ in lines)
    print(" " * w + "  " + "  ".join(f"{n:>12}" for n in names))
    for label, key, fmt in lines:
        vals = []
        for n in names:
            v = results[n][key]
            vals.append(f"{v * 1000:.2f}" if fmt == "ms" else fmt.format(v))
        print(f"{label:<{w}}  " + "  ".join(f"{v:>12}" for v in vals))
    for n in names:
        print(f"[{n}] full matrix counters: {results[n]['full_counters']}")
        print(f"[{n}] new training set: {results[n]['new_train_counters']}")
        print(f"[{n}] new test set: {results[n]['new_test_counters']}")


if __name__ == "__main__":
    sys.exit(main())
