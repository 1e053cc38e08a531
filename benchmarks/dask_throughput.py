"""Benchmark of the ratchet on Dask: matrix-fill throughput with 1 vs 2 workers, and per-task
scheduling overhead.

1. Builds one SQLite database holding S0 plus ``--tests - 1`` organizer test sets in the
   suite and ``--train`` training sets (random and balanced baseline selections) of
   vision-selection, with no cells; each configuration fills a copy of it from empty.
2. Fills the ``train x tests`` matrix with :func:`leaderboard.ratchet.parallel.fill` on a LocalCluster
   of 1 worker, then of 2 workers (one process and one thread each; BLAS on one thread per
   task), in this run; reports cells per second of each and their ratio (bar >= 1.7 on a
   2-core machine), and checks both matrices are identical cell for cell.
3. Per-task scheduling overhead on the 2-worker cluster: ``--noop`` tiny tasks submitted at
   once (wall time / tasks, in ms), and the round trip of one tiny task at a time (median).

Needs vision-selection and vision-testset prepared in $DATAPERF_HOME. Prints JSON. Run:
``python benchmarks/dask_throughput.py [--train 200] [--tests 20] [--noop 2000] [--runs 1]``;
with ``--runs N`` the pairs are interleaved and the median ratio is reported (the machine may
be shared: each run also reports the cores other processes used meanwhile).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import select

from benchmarks.ratchet_bench import TRAIN, test_sets, training_sets
from dataperf.runners.dask import local_cluster
from leaderboard.ratchet import cells
from leaderboard.ratchet.parallel import fill
from leaderboard.ratchet.problem import Problem
from leaderboard.ratchet.steps import Ratchet
from leaderboard.storage.db import engine, session_factory, upgrade
from leaderboard.storage.tables import Cell


def seed_db(path: Path, n_train: int, n_tests: int) -> None:
    """Create the database at ``path``: the suite (S0 + organizer test sets) and the training
    sets, no cells and no models."""
    url = f"sqlite:///{path}"
    upgrade(url)
    sessions = session_factory(url)
    p = Problem.load(TRAIN)
    r = Ratchet(sessions, p)
    for t in test_sets(n_tests - 1):
        r.add_test_set(t, organizer=True)  # no training set yet: joins the suite, computes nothing
    with sessions.begin() as s:
        for t in training_sets(n_train):
            cells.ensure_dataset(s, p, "train", t)
    engine(url).dispose()  # checkpoint the WAL into the file, which is then copied


def cpu_seconds() -> tuple[float, float]:
    """Return (CPU seconds used by the whole machine, by this process and its descendants)."""
    import psutil

    machine = psutil.cpu_times()
    busy = machine.user + machine.nice + machine.system + machine.irq + machine.softirq + machine.steal
    me = psutil.Process()
    ours = 0.0
    for proc in [me, *me.children(recursive=True)]:
        try:
            c = proc.cpu_times()
            ours += c.user + c.system
        except psutil.NoSuchProcess:
            continue
    return busy, ours


def noop(i: int) -> int:
    """A tiny task."""
    return i


def overhead(client: Any, n: int, one_by_one: int = 50) -> dict[str, float]:
    """Return the per-task overhead in ms: ``n`` no-op tasks at once, and one at a time."""
    client.gather(client.map(noop, range(20), pure=False))  # warm up
    t0 = time.perf_counter()
    client.gather(client.map(noop, range(n), pure=False))
    batch = time.perf_counter() - t0
    trips = []
    for i in range(one_by_one):
        t1 = time.perf_counter()
        client.submit(noop, i, pure=False).result()
        trips.append(time.perf_counter() - t1)
    return {"per_task_ms_batched": 1000 * batch / n, "round_trip_ms_median": 1000 * statistics.median(trips)}


def run_fill(seed: Path, folder: Path, workers: int, noops: int) -> dict[str, Any]:
    """Fill a copy of the seeded database on a LocalCluster of ``workers`` single-threaded
    worker processes; return timings, counters and the cells."""
    from distributed import Client

    path = folder / f"fill-{time.time_ns()}-{workers}.db"  # a new file: engines are cached per URL
    shutil.copyfile(seed, path)
    url = f"sqlite:///{path}"
    sessions = session_factory(url)
    p = Problem.load(TRAIN)
    with local_cluster(n_workers=workers, threads_per_worker=1, dashboard=":0") as cluster, Client(cluster) as client:
        client.wait_for_workers(workers)
        cpu0 = cpu_seconds()
        t0 = time.perf_counter()
        counters = fill(sessions, p, client)
        wall = time.perf_counter() - t0
        cpu1 = cpu_seconds()
        extra = overhead(client, noops) if noops else {}
    with sessions() as s:
        rows = s.execute(select(Cell.train_sha256, Cell.test_sha256, Cell.mean, Cell.provenance)).all()
    engine(url).dispose()
    values = {(a, b): m for a, b, m, _ in rows}
    busy = sum(prov["wall_time_s"] for *_, prov in rows)  # each task's wall time, shared by its cells
    return {
        "workers": workers,
        "wall_s": wall,
        "cells": len(values),
        "cells_per_s": len(values) / wall,
        "task_time_s": busy,
        "worker_utilization": busy / (wall * workers),
        "cores_used_by_benchmark": (cpu1[1] - cpu0[1]) / wall,
        "cores_used_by_other_processes": max(0.0, (cpu1[0] - cpu0[0]) - (cpu1[1] - cpu0[1])) / wall,
        "counters": counters.as_dict(),
        "_cells": values,
    } | extra


def main() -> int:
    """Run the benchmark and print JSON."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", type=int, default=200)
    ap.add_argument("--tests", type=int, default=20, help="suite size, S0 included")
    ap.add_argument("--noop", type=int, default=2000, help="tiny tasks for the overhead measurement")
    ap.add_argument("--runs", type=int, default=1, help="(1 worker, 2 workers) pairs, interleaved; median ratio")
    args = ap.parse_args()
    pairs = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        seed_db(folder / "seed.db", args.train, args.tests)
        setup = time.perf_counter() - t0
        for i in range(args.runs):
            one = run_fill(folder / "seed.db", folder, 1, 0)
            two = run_fill(folder / "seed.db", folder, 2, args.noop if i == 0 else 0)
            pairs.append((one, two, two["cells_per_s"] / one["cells_per_s"]))
    first_two = pairs[0][1]
    identical = all(one.pop("_cells") == two.pop("_cells") for one, two, _ in pairs)
    ratios = [r for *_, r in pairs]
    ratio = statistics.median(ratios)
    one, two, _ = min(pairs, key=lambda p: abs(p[2] - ratio))
    out = {
        "matrix": f"{args.train} x {args.tests}",
        "cpus": os.cpu_count(),
        "setup_s": setup,
        "one_worker": one,
        "two_workers": {k: v for k, v in two.items() if not k.endswith("_ms_batched") and "round_trip" not in k},
        "throughput_ratios": ratios,
        "throughput_ratio": ratio,
        "bar_ratio": 1.7,
        "meets_bar": ratio >= 1.7,
        "identical_matrices": identical,
        "complete": all(a["cells"] == b["cells"] == args.train * args.tests for a, b, _ in pairs),
        "scheduling_overhead": {
            "tasks": args.noop,
            "per_task_ms_batched": first_two["per_task_ms_batched"],
            "round_trip_ms_median": first_two["round_trip_ms_median"],
        },
    }
    print(json.dumps(out, indent=2))
    return 0 if out["meets_bar"] and identical and out["complete"] else 1


if __name__ == "__main__":
    sys.exit(main())
