"""Benchmark: the leaderboard page of a ratchet of 100,000 submissions, right after each change.

A scratch database (SQLite, or PostgreSQL with ``--pg-url``) gets the ratchet of the tiny
selection challenge at a popular challenge's size, written directly: 10,000 training sets with
10 done submissions each (100,000 rows on the board), an organizer test set and 199 accepted
public ones, and every one of the 2,000,000 cells with its per-seed scores and its per-row
correctness (the bits the tiers are computed from; each training set has its own accuracy, so
the board has tiers). A live ``dataperf serve`` then answers:

- the first page (the server's process reads the whole problem once: cold);
- ``--changes`` times, one more scored training set lands (its set, its 200 cells, its
  submission), then the page is requested once and timed: the page right after a change, which
  must show the new score. Bar: a median of 300 ms;
- ``--test-changes`` times, one more public test set lands (its 10,000 cells: every training
  set's public score changes), then the page;
- rounds of 32 concurrent connections alternating the page and a static file of the same
  server. Bar: the page's median at most 2x the static file's;
- ``--view-changes`` times each, right after a change: the ratchet history (the chart under the
  board; the problem carries its 201 recorded events, each with every training set's score), a
  training-set submission's page and its comparison with another.

Prints a JSON summary (and appends it to ``--out``).

    python -m benchmarks.board_scale [--train 10000] [--per-set 10] [--suite 200] [--pg-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from benchmarks._server import scratch_env, start_server, stop
from benchmarks.page_latency import load, stats
from benchmarks.rush import fresh_database
from dataperf.version import EVALUATOR_VERSION

CHALLENGE, DUAL, PROBLEM, VERSION = "tiny-selection", "tiny-testset", "tiny-selection@v1", EVALUATOR_VERSION
TASKS, SEEDS, ROWS = ("shirt", "sneaker"), ("0", "1"), 200
"""The tiny selection challenge's tasks and seeds, and the rows of each test set per task."""
TEAMS = 100


def _h(x: str) -> str:
    return hashlib.sha256(x.encode()).hexdigest()


def _cells(rng: np.random.Generator, train: str, tests: list[str], quality: float, now: Any) -> list[tuple[Any, ...]]:
    """Return the cell rows of training set ``train`` against ``tests``: random per-row
    correctness at its ``quality``, and the scores those bits give."""
    bits = rng.random((len(tests), len(TASKS), len(SEEDS), ROWS)) < quality
    packed = np.packbits(bits, axis=3)
    acc = bits.mean(axis=3)
    out = []
    for j, test in enumerate(tests):
        scores = {t: {s: float(acc[j, k, n]) for n, s in enumerate(SEEDS)} for k, t in enumerate(TASKS)}
        hits = {t: f"{ROWS}:" + base64.b64encode(packed[j, k].tobytes()).decode() for k, t in enumerate(TASKS)}
        mean = float(acc[j].mean())
        out.append((PROBLEM, train, test, VERSION, json.dumps(scores), mean, "{}", now, json.dumps(hits)))
    return out


CELL_COLS = "problem, train_sha256, test_sha256, evaluator_version, scores, mean, provenance, created_at, hits"


def _write(url: str, table: str, cols: str, rows: list[tuple[Any, ...]]) -> None:
    """Append ``rows`` to ``table`` in bulk (COPY on PostgreSQL)."""
    from leaderboard.storage.db import engine

    raw = engine(url).raw_connection()
    try:
        cur = raw.cursor()
        if url.startswith("postgresql"):
            with cur.copy(f"COPY {table} ({cols}) FROM STDIN") as sink:
                for row in rows:
                    sink.write_row(row)
        else:
            marks = ",".join("?" * len(cols.split(",")))
            cur.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})", rows)
        raw.commit()
    finally:
        raw.close()


def fill(url: str, n_train: int, per_set: int, n_suite: int) -> dict[str, Any]:
    """Write the problem (sets, suite, cells, submissions) into the database at ``url``."""
    from sqlalchemy import insert, text

    from leaderboard.storage.db import session_factory
    from leaderboard.storage.tables import Challenge, Dataset, ProblemRow, SuiteMember, Team, utcnow

    now = utcnow()
    rng = np.random.default_rng(0)
    tests = [_h(f"test{j}") for j in range(n_suite)]
    trains = [_h(f"train{i}") for i in range(n_train)]
    t0 = time.perf_counter()
    with session_factory(url).begin() as s:
        for cid, kind in ((CHALLENGE, "training-set"), (DUAL, "test-set")):
            s.add(Challenge(id=cid, version=1, kind=kind, spec_sha256="0" * 64, problem=PROBLEM))
        s.add(ProblemRow(id=PROBLEM, test_challenge=DUAL, top_k=[]))
        s.execute(
            insert(Team), [{"name": f"team-{i:03d}", "is_baseline": i < 4, "created_at": now} for i in range(TEAMS)]
        )
        sets = [(tests, "test"), (trains, "train")]
        rows, sid = [], 0
        for names, role in sets:
            for j, d in enumerate(names):
                sid += 1
                origin = "organizer" if role == "test" and j == 0 else "submission"
                rows.append({"id": sid, "problem": PROBLEM, "role": role, "digest": d, "n_rows": ROWS})
                rows[-1] |= {"payload": b"", "origin": origin, "created_at": now}
        s.execute(insert(Dataset), rows)
        s.execute(
            insert(SuiteMember),
            [
                {"problem": PROBLEM, "dataset_id": 1 + j, "test_sha256": d, "added_at": now}
                | {"reason": "organizer" if j == 0 else "accepted", "difficulty": 0.5}
                for j, d in enumerate(tests)
            ],
        )
        if url.startswith("postgresql"):  # the ids above were given: move the sequence past them
            s.execute(text("SELECT setval(pg_get_serial_sequence('datasets', 'id'), (SELECT max(id) FROM datasets))"))
    quality = rng.uniform(0.55, 0.95, n_train)
    batch: list[tuple[Any, ...]] = []
    for i, t in enumerate(trains):
        batch += _cells(rng, t, tests, float(quality[i]), now)
        if len(batch) >= 100_000:
            _write(url, "cells", CELL_COLS, batch)
            batch = []
            print(f"  {(i + 1) * n_suite:,} cells written", file=sys.stderr, flush=True)
    _write(url, "cells", CELL_COLS, batch)
    _write(url, "ratchet_events", EVENT_COLS, _events(trains, tests, quality, now))
    subs = [_submission(1 + n_suite + i, d, i * per_set + k, now) for i, d in enumerate(trains) for k in range(per_set)]
    subs += [_submission(2 + j, d, j, now, DUAL, "test-set") for j, d in enumerate(tests[1:])]
    _write(url, "submissions", SUB_COLS, subs)
    if url.startswith("postgresql"):  # as autovacuum leaves a table written over a season, not one just copied in
        from sqlalchemy import create_engine

        with create_engine(url, isolation_level="AUTOCOMMIT").connect() as conn:
            conn.execute(text("VACUUM ANALYZE"))
    return {"fill_s": round(time.perf_counter() - t0, 1), "cells": n_train * n_suite, "submissions": len(subs)}


EVENT_COLS = "problem, at, kind, subject_sha256, evaluator_version, suite, top_k, scores, bar, best_score, train_sets"


def _events(trains: list[str], tests: list[str], quality: np.ndarray, now: Any) -> list[tuple[Any, ...]]:
    """Return the ratchet's events as its steps record them: the organizer's test set, each
    public one accepted in turn, and a rescore; each with every training set's score then."""
    top = [trains[i] for i in np.argsort(-quality)[:10]]
    scores = json.dumps({"train": {t: float(q) for t, q in zip(trains, quality, strict=True)}})
    best, n = float(quality.max()), len(trains)
    out: list[tuple[Any, ...]] = []
    for j, test in enumerate(tests):
        kind, suite = ("init" if j == 0 else "accept"), json.dumps(tests[: j + 1])
        out.append((PROBLEM, now, kind, test, VERSION, suite, json.dumps(top), scores, 0.5, best, n))
    out.append((PROBLEM, now, "rescore", None, VERSION, json.dumps(tests), json.dumps(top), scores, 0.5, best, n))
    return out


SUB_COLS = (
    "challenge, challenge_version, kind, team_id, sha256, content_sha256, filename, path, status, attempts,"
    " dataset_id, result, created_at, updated_at"
)


def _submission(
    dataset: int, digest: str, n: int, now: Any, challenge: str = CHALLENGE, kind: str = "training-set"
) -> tuple[Any, ...]:
    team = 1 + n % TEAMS
    name = f"picks-{n}.csv"
    return (
        challenge,
        1,
        kind,
        team,
        digest,
        digest,
        name,
        "/nowhere",
        "done",
        1,
        dataset,
        '{"duplicate": false}',
        now,
        now,
    )


def land(url: str, n: int, role: str) -> None:
    """Land one more scored set of ``role``: a training set (its cells on every test set) or a
    public test set, not accepted (its cells against every training set); and its submission."""
    from sqlalchemy import select

    from leaderboard.storage.db import session_factory
    from leaderboard.storage.tables import Dataset, utcnow

    now = utcnow()
    digest = _h(f"{role}-change{n}-{time.time_ns()}")
    other = "test" if role == "train" else "train"
    with session_factory(url).begin() as s:
        sets = list(s.execute(select(Dataset.digest).where(Dataset.role == other).order_by(Dataset.id)).scalars())
        ds = Dataset(problem=PROBLEM, role=role, digest=digest, n_rows=ROWS, payload=b"", origin="submission")
        s.add(ds)
        s.flush()
        dataset = ds.id
    if role == "train":
        cells = _cells(np.random.default_rng(1000 + n), digest, sets, 0.75 + 0.02 * (n % 10), now)
        sub = _submission(dataset, digest, n, now)
    else:
        rng = np.random.default_rng(5000 + n)
        cells = [c for t in sets for c in _cells(rng, t, [digest], 0.75, now)]
        sub = _submission(dataset, digest, n, now, DUAL, "test-set")
    _write(url, "cells", CELL_COLS, cells)
    _write(url, "submissions", SUB_COLS, [sub])


def _timed_page(url: str, page: str, expect: str | None = None) -> float:
    t0 = time.perf_counter()
    r = httpx.get(url + page, timeout=300)
    took = time.perf_counter() - t0
    if r.status_code != 200 or (expect is not None and expect not in r.text):
        raise RuntimeError(f"{page}: {r.status_code}, {expect!r} {'missing' if expect else ''}")
    return took


def one(args: argparse.Namespace, kind: str, tmp: Path) -> dict[str, Any]:
    """Fill a database of ``kind``, start a server on it, and time the pages."""
    env = scratch_env(tmp / "home")
    os.environ.update({k: env[k] for k in ("DATAPERF_HOME", "DATAPERF_CHALLENGES", "DATAPERF_BUILTIN_CHALLENGES")})
    marker = tmp / f"filled-{kind}.json"
    if kind == "sqlite" and marker.exists():  # --scratch: a database filled by an earlier run
        url, filled = f"sqlite:///{tmp / 'home' / 'server.db'}", json.loads(marker.read_text())
    else:
        url = fresh_database(kind, tmp / "home", args.pg_url, suffix="_boards")
        filled = fill(url, args.train, args.per_set, args.suite)
        marker.write_text(json.dumps(filled))
    print(f"{kind}: filled {filled}", file=sys.stderr, flush=True)
    server, base = start_server(env, url, tmp / f"serve-{kind}.log")
    page, static = f"/challenges/{CHALLENGE}", "/static/style.css"
    try:
        cold = _timed_page(base, page, "team-0")
        asyncio.run(load(base, static, args.connections, args.connections * 4))
        after: list[float] = []
        for n in range(args.changes):
            land(url, n, "train")
            after.append(_timed_page(base, page))
        tests: list[float] = []
        for n in range(args.test_changes):
            land(url, n, "test")
            tests.append(_timed_page(base, page))
        page_lat: list[float] = []
        file_lat: list[float] = []
        for _ in range(args.rounds):
            page_lat += asyncio.run(load(base, page, args.connections, args.requests))
            file_lat += asyncio.run(load(base, static, args.connections, args.requests))
        deep = _timed_page(base, page + f"?page={args.train * args.per_set // 100}")
        views: dict[str, list[float]] = {}
        sub, other = 1 + args.per_set * (args.train // 2), 1  # training sets' submissions come first
        for n in range(args.changes, args.changes + args.view_changes):  # each right after a change
            for name, path in (
                ("history_api", f"/api/challenges/{CHALLENGE}/history"),
                ("submission_page", f"/submissions/{sub}"),
                ("compare_page", f"/submissions/{sub}/compare?with={other}"),
            ):
                land(url, n * 10 + len(views.get(name, [])), "train")
                views.setdefault(name, []).append(_timed_page(base, path))
        rss = _rss_mb(server.pid)
    finally:
        stop(server)
    history = _history_views(url, args.rounds)
    lookups = _cell_lookups(url, args.rounds)
    ps, fs = stats(page_lat), stats(file_lat)
    ratio = ps["median_ms"] / fs["median_ms"]
    return {
        "database": kind,
        **filled,
        "first_page_s": round(cold, 2),
        "after_training_set_s": [round(x, 3) for x in after],
        "after_training_set_median_s": round(statistics.median(after), 3) if after else None,
        "after_test_set_s": [round(x, 3) for x in tests],
        "deep_page_s": round(deep, 3),
        "other_views_after_change_median_s": {k: round(statistics.median(v), 3) for k, v in views.items()},
        "page": ps,
        "static": fs,
        "ratio_median": round(ratio, 2),
        "server_rss_mb": rss,
        "history_in_process_median_s": history,
        "cell_lookups_median_s": lookups,
        "bars": {"after_change_median_s": 0.3, "ratio_median": 2.0},
        "met": {
            "after_change": bool(after) and statistics.median(after) <= 0.3,
            "ratio": ratio <= 2.0,
        },
    }


def _history_views(url: str, rounds: int) -> dict[str, float]:
    """Time the published and the organizer's ratchet history in this process (median of
    ``rounds``), reading each event's best score from its column, then as events recorded before
    that column are read (every event's full record decoded), on the same database."""
    from sqlalchemy import select, update

    from leaderboard.boards.history import history
    from leaderboard.boards.visibility import Visibility
    from leaderboard.storage.db import session_factory
    from leaderboard.storage.tables import RatchetEvent

    sessions = session_factory(url)
    with sessions() as s:
        kept = [
            {"id": i, "best_score": b, "train_sets": n}
            for i, b, n in s.execute(select(RatchetEvent.id, RatchetEvent.best_score, RatchetEvent.train_sets))
        ]
    out: dict[str, float] = {}
    for label in ("columns", "full_records"):
        if label == "full_records":
            with sessions.begin() as s:
                s.execute(update(RatchetEvent).values(best_score=None, train_sets=None))
        for view in (Visibility.PUBLISHED, Visibility.ORGANIZER):
            times = []
            for _ in range(rounds):
                with sessions() as s:
                    t0 = time.perf_counter()
                    history(s, CHALLENGE, view)
                    times.append(time.perf_counter() - t0)
            out[f"{view}_{label}"] = round(statistics.median(times), 3)
    with sessions.begin() as s:  # as filled, for a later run on a kept (--scratch) database
        s.execute(update(RatchetEvent), kept)
    return out


def _cell_lookups(url: str, rounds: int) -> dict[str, float]:
    """Time what a ratchet step asks of the cells (which training sets have a cell on a new
    test set; which test sets on a new training set), median of ``rounds`` on fresh sets, with
    today's indexes and with the (problem, version) index they replaced (swapped in the same run,
    planner statistics taken again each time)."""
    from types import SimpleNamespace

    from sqlalchemy import create_engine, text

    from leaderboard.ratchet import cells
    from leaderboard.storage.base import Base
    from leaderboard.storage.db import engine, session_factory
    from leaderboard.storage.tables import Cell  # noqa: F401 - its table in the metadata

    p = SimpleNamespace(id=PROBLEM, evaluator_version=VERSION)
    # Connections opened now, as the server's and the workers' are after the fill (this process's
    # were opened on empty tables: SQLite loads its planner statistics per connection).
    engine(url).dispose()
    sessions = session_factory(url)
    with sessions() as s:
        test = s.execute(text("SELECT digest FROM datasets WHERE role = 'test' ORDER BY id")).scalars().all()
        train = s.execute(text("SELECT digest FROM datasets WHERE role = 'train' ORDER BY id")).scalars().all()
    (today,) = [i for i in Base.metadata.tables["cells"].indexes if i.name == "ix_cells_problem_version_test"]
    swaps = {
        "old": (str(today.name), "ix_cells_problem_version", "problem, evaluator_version"),
        "new": ("ix_cells_problem_version", str(today.name), ", ".join(c.name for c in today.columns)),
    }
    out: dict[str, float] = {}
    for label in ("today", "old", "new"):
        if label != "today":
            drop, make, cols = swaps[label]
            with create_engine(url).begin() as conn:
                conn.execute(text(f"DROP INDEX {drop}"))
                conn.execute(text(f"CREATE INDEX {make} ON cells ({cols})"))
                conn.execute(text("ANALYZE cells"))
            if label == "new":
                break  # restored
        for what, digests, key in (("new_test_set", test, "test"), ("new_training_set", train, "train")):
            times = []
            for n in range(rounds):
                with sessions() as s:
                    t0 = time.perf_counter()
                    cells.cell_keys(s, p, **{key: [digests[(n * 37) % len(digests)]]})  # type: ignore[arg-type]
                    times.append(time.perf_counter() - t0)
            out[f"{what}_{'indexed' if label == 'today' else 'before'}"] = round(statistics.median(times), 4)
    return out


def _rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def main() -> int:
    """Run the benchmark on SQLite and, with ``--pg-url``, PostgreSQL; print the JSON summary."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--train", type=int, default=10_000)
    ap.add_argument("--per-set", type=int, default=10, help="done submissions per training set")
    ap.add_argument("--suite", type=int, default=200)
    ap.add_argument("--changes", type=int, default=15)
    ap.add_argument("--test-changes", type=int, default=2)
    ap.add_argument("--view-changes", type=int, default=3, help="changes before each other view is timed")
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--requests", type=int, default=640, help="requests per round and target")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--pg-url", default=os.environ.get("DATAPERF_TEST_PG_URL", ""))
    ap.add_argument("--only", choices=["sqlite", "postgresql"], default=None)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--scratch", type=Path, default=None, help="keep the SQLite database here and reuse it")
    args = ap.parse_args()
    kinds = [args.only] if args.only else ["sqlite", *(["postgresql"] if args.pg_url else [])]
    runs = []
    for kind in kinds:
        tmp = args.scratch or Path(tempfile.mkdtemp(prefix="dataperf-boards-"))
        tmp.mkdir(parents=True, exist_ok=True)
        try:
            runs.append(one(args, kind, tmp))
        finally:
            if args.scratch is None:
                shutil.rmtree(tmp, ignore_errors=True)
    out = {
        "what_ran": (
            f"{args.train} training sets x {args.per_set} submissions, suite {args.suite}; {args.changes} training"
            f" sets and {args.test_changes} public test sets landed one by one, each followed by one page; then"
            f" {args.view_changes} more before each other view; {args.rounds} rounds of {args.requests} requests"
            f" a target over {args.connections} connections; history and cell lookups in process, median of"
            f" {args.rounds}"
        ),
        "load_average": os.getloadavg(),
        "cpus": os.cpu_count(),
        "runs": runs,
    }
    print(json.dumps(out, indent=2))
    if args.out:
        args.out.write_text(json.dumps(out, indent=2) + "\n")
    return 0 if all(all(r["met"].values()) for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
