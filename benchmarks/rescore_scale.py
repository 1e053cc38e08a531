"""Benchmark: rescoring a ratchet of 10,000 training sets and a suite of 200 test sets
(2,000,000 cached cells) from the database. Bar: at most 20 s.

A rescore here is what the ratchet does when its suite or top-k changes, or when the standings
are needed from scratch (a new server process, ``dataperf rescore`` once the cells of a new
evaluator version are in): every cached cell of the problem is read back from the database and
every training set's score, worst cell, completeness and rank, the top-k, every test set's
difficulty and the bar are recomputed (:func:`leaderboard.ratchet.steps.load_standings`). No
model is fitted and no cell is evaluated: that is the point of caching cells.

The scratch database is filled directly (one organizer test set, 199 accepted ones, 10,000
training sets, each cell with its per-seed scores and hardness as the ratchet stores them),
on SQLite and, with ``--pg-url``, on PostgreSQL (the database it names plus ``_rescore``, emptied first). The
timed call is a whole :func:`load_standings` in a fresh session: the query, moving 2,000,000
rows into Python, and the arithmetic, which is also timed on its own. Median of ``--runs``.

Then what a ratchet step pays instead: one more training set lands (its set and 200 cells) and
the standings held by the process (:mod:`leaderboard.ratchet.live`) are brought up to date,
median of ``--runs``, checked equal to a from-scratch load, with its ratio to the rescore.

    python -m benchmarks.rescore_scale [--train 10000] [--suite 200] [--runs 3] [--pg-url URL] [--out FILE]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks._util import median_time
from benchmarks.rush import fresh_database

PROBLEM = "vision-selection@v3"
VERSION = "1.2.0"
BAR_S = 20.0


def _h(x: str) -> str:
    return hashlib.sha256(x.encode()).hexdigest()


def fill(url: str, n_train: int, n_suite: int) -> dict[str, Any]:
    """Write the problem's sets, suite and ``n_train * n_suite`` cells into the database at ``url``."""
    from sqlalchemy import insert

    from leaderboard.storage.db import engine, session_factory, upgrade
    from leaderboard.storage.tables import Dataset, ProblemRow, SuiteMember, utcnow

    upgrade(url)
    now = utcnow()
    tests = [_h(f"test{j}") for j in range(n_suite)]
    trains = [_h(f"train{i}") for i in range(n_train)]
    with session_factory(url).begin() as s:
        s.add(ProblemRow(id=PROBLEM, test_challenge="vision-testset", top_k=[]))
        rows = [
            {
                "id": 1 + j,
                "problem": PROBLEM,
                "role": "test",
                "digest": d,
                "n_rows": 600,
                "payload": b"",
                "origin": "organizer" if j == 0 else "submission",
                "created_at": now,
            }
            for j, d in enumerate(tests)
        ] + [
            {
                "id": 1 + n_suite + i,
                "problem": PROBLEM,
                "role": "train",
                "digest": d,
                "n_rows": 600,
                "payload": b"",
                "origin": "submission",
                "created_at": now,
            }
            for i, d in enumerate(trains)
        ]
        s.execute(insert(Dataset), rows)
        s.execute(
            insert(SuiteMember),
            [
                {
                    "problem": PROBLEM,
                    "dataset_id": 1 + j,
                    "test_sha256": d,
                    "reason": "organizer" if j == 0 else "accepted",
                    "difficulty": 0.5,
                    "added_at": now,
                }
                for j, d in enumerate(tests)
            ],
        )
    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    cols = (
        "problem, train_sha256, test_sha256, evaluator_version, scores, mean, hardness, hardness_mean,"
        " provenance, created_at"
    )
    raw = engine(url).raw_connection()
    try:
        cur = raw.cursor()
        postgres = url.startswith("postgresql")
        copy = cur.copy(f"COPY cells ({cols}) FROM STDIN") if postgres else None
        with copy if copy is not None else _Null() as sink:  # type: ignore[attr-defined]
            for i, t in enumerate(trains):
                vals = rng.random((n_suite, 3))
                batch = []
                for j, s_ in enumerate(tests):
                    a, b, c = (float(x) for x in vals[j])
                    scores = json.dumps({"shirt": {"0": a}, "sneaker": {"0": b}, "coat": {"0": c}})
                    mean = (a + b + c) / 3
                    batch.append((PROBLEM, t, s_, VERSION, scores, mean, scores, 1 - mean, "{}", now))
                if postgres:
                    for row in batch:
                        sink.write_row(row)  # type: ignore[union-attr]
                else:
                    cur.executemany(f"INSERT INTO cells ({cols}) VALUES (?,?,?,?,?,?,?,?,?,?)", batch)
                if i % 1000 == 999:
                    print(f"  {(i + 1) * n_suite:,} cells written", file=sys.stderr, flush=True)
        raw.commit()
    finally:
        raw.close()
    return {"cells": n_train * n_suite, "fill_s": round(time.perf_counter() - t0, 1)}


class _Null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def time_rescore(url: str, runs: int, k: int) -> dict[str, Any]:
    """Return the median wall time of a whole :func:`load_standings` and of its arithmetic alone."""
    from sqlalchemy import select

    from leaderboard.arithmetic.standings import compute
    from leaderboard.ratchet import cells as cells_mod
    from leaderboard.ratchet.steps import load_standings
    from leaderboard.storage.db import session_factory
    from leaderboard.storage.tables import Cell, Dataset

    sessions = session_factory(url)

    def whole() -> Any:
        with sessions() as s:
            return load_standings(s, PROBLEM, VERSION, k)

    median, each, st = median_time(whole, runs)
    with sessions() as s:
        sets = s.execute(
            select(Dataset.digest, Dataset.role).where(Dataset.problem == PROBLEM).order_by(Dataset.id)
        ).all()
        q = select(Cell.train_sha256, Cell.test_sha256, Cell.mean, Cell.hardness_mean).where(
            Cell.problem == PROBLEM, Cell.evaluator_version == VERSION
        )
        t0 = time.perf_counter()
        values = [(a, b, v, hm) for a, b, v, hm in s.execute(q)]
        read_s = time.perf_counter() - t0
        suite = cells_mod.suite_digests(s, PROBLEM)
    train = [d for d, r in sets if r == "train"]
    test = [d for d, r in sets if r == "test"]
    arith, _, _ = median_time(lambda: compute(train, test, suite, values, k), runs)
    step = incremental(url, runs, k, len(train) + len(test), len(test))
    complete = sum(st.complete.values())
    assert complete == len(train) and len(st.top_k) == k and st.bar is not None, "the rescore did not see every cell"
    return {
        "rescore_s": round(median, 2),
        "rescore_runs_s": [round(x, 2) for x in each],
        "read_cells_s": round(read_s, 2),
        "arithmetic_s": round(arith, 2),
        "complete_training_sets": complete,
        "met": median <= BAR_S,
        "incremental_step": step,
        "incremental_over_rescore": round(step["median_s"] / median, 4),
    }


def incremental(url: str, runs: int, k: int, first_id: int, n_tests: int) -> dict[str, Any]:
    """Return the median time of the standings after one more training set (its set and one
    cell per test set written), as a ratchet step gets them: held in the process and brought up
    to date (:func:`leaderboard.ratchet.live.standings`), checked equal to a from-scratch load."""
    from sqlalchemy import insert, select

    from leaderboard.ratchet import live
    from leaderboard.ratchet.steps import load_standings
    from leaderboard.storage.db import session_factory
    from leaderboard.storage.tables import Cell, Dataset, utcnow

    sessions = session_factory(url)
    live.forget()
    with sessions() as s:
        t0 = time.perf_counter()
        live.standings(s, PROBLEM, VERSION, k)
        prime = time.perf_counter() - t0
        tests = list(
            s.execute(
                select(Dataset.digest).where(Dataset.problem == PROBLEM, Dataset.role == "test").order_by(Dataset.id)
            )
        )
    rng = np.random.default_rng(1)
    walls = []
    for r in range(runs):
        digest = _h(f"late{r}")
        now = utcnow()
        with sessions.begin() as s:
            s.execute(
                insert(Dataset),
                [
                    {
                        "id": first_id + 1 + r,
                        "problem": PROBLEM,
                        "role": "train",
                        "digest": digest,
                        "n_rows": 600,
                        "payload": b"",
                        "origin": "submission",
                        "created_at": now,
                    }
                ],
            )
            s.execute(
                insert(Cell),
                [
                    {
                        "problem": PROBLEM,
                        "train_sha256": digest,
                        "test_sha256": t,
                        "evaluator_version": VERSION,
                        "scores": {},
                        "mean": float(v),
                        "hardness_mean": 1 - float(v),
                        "provenance": {},
                        "created_at": now,
                    }
                    for (t,), v in zip(tests, rng.random(n_tests), strict=True)
                ],
            )
        with sessions() as s:
            t0 = time.perf_counter()
            held = live.standings(s, PROBLEM, VERSION, k)
            walls.append(time.perf_counter() - t0)
    with sessions() as s:
        assert held == load_standings(s, PROBLEM, VERSION, k), "held standings differ from a fresh load"
    return {
        "median_s": round(float(np.median(walls)), 4),
        "runs_s": [round(w, 4) for w in walls],
        "first_look_s": round(prime, 2),
        "equal_to_fresh_load": True,
    }


def main() -> int:
    """Fill the scratch databases, time the rescore, print (and write) the JSON report."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--train", type=int, default=10_000)
    ap.add_argument("--suite", type=int, default=200)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--pg-url", default=os.environ.get("DATAPERF_TEST_PG_URL"))
    ap.add_argument("--out")
    args = ap.parse_args()
    report: dict[str, Any] = {
        "bench": "rescore_scale",
        "training_sets": args.train,
        "suite": args.suite,
        "bar_s": BAR_S,
        "runs": args.runs,
    }
    tmp = Path(tempfile.mkdtemp(prefix="dataperf-rescore-"))
    try:
        for name in ["sqlite"] + (["postgresql"] if args.pg_url else []):
            url = fresh_database(name, tmp, args.pg_url or "", "_rescore")
            print(f"{name}: filling", file=sys.stderr, flush=True)
            report[name] = fill(url, args.train, args.suite) | time_rescore(url, args.runs, args.k)
            print(json.dumps({name: report[name]}), file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    report["load_average_1min_at_end"] = round(os.getloadavg()[0], 2)
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    return 0 if all(report[n]["met"] for n in ("sqlite", "postgresql") if n in report) else 1


if __name__ == "__main__":
    sys.exit(main())
