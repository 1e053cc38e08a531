"""Benchmark: latency of a leaderboard page with 10,000 submissions under 32 concurrent connections.

A scratch database gets 10,000 scored training-set submissions of the tiny ratchet challenge
(sets, cells against the hidden and a public test set, ratchet events) written directly. A live
``dataperf serve`` then answers rounds of requests from 32 concurrent connections on loopback,
alternating the leaderboard page (``/challenges/tiny-selection``) and a static file from the same
server (``/static/style.css``). Prints the median and 95th percentile of each and the ratio of the
medians (target: at most 3x). Before the rounds, ``--changes`` scored training sets land one at a
time, each followed by one page request: the page right after a change, which must build anew
(bar: a median of 300 ms). Prints a JSON summary.

    python benchmarks/page_latency.py [--submissions 10000] [--connections 32] [--requests 1280]
"""

from __future__ import annotations

import argparse
import asyncio
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

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._server import percentile, scratch_env, start_server, stop


def fill(db: str, n: int) -> None:
    """Write ``n`` scored training sets (with teams, cells and events) into the database at ``db``."""
    import hashlib
    import random

    from sqlalchemy import insert

    from leaderboard.storage.db import session_factory, upgrade
    from leaderboard.storage.server_tables import Job
    from leaderboard.storage.tables import (
        Cell,
        Challenge,
        Dataset,
        ProblemRow,
        RatchetEvent,
        Submission,
        SuiteMember,
        Team,
        utcnow,
    )

    upgrade(db)
    rnd = random.Random(0)
    now = utcnow()

    def h(x: str) -> str:
        return hashlib.sha256(x.encode()).hexdigest()

    s0, pub = h("s0"), h("public")
    with session_factory(db).begin() as s:
        for cid, kind in (("tiny-selection", "training-set"), ("tiny-testset", "test-set")):
            s.add(Challenge(id=cid, version=1, kind=kind, spec_sha256="0" * 64, problem="tiny-selection@v1"))
        s.add(ProblemRow(id="tiny-selection@v1", test_challenge="tiny-testset", top_k=[]))
        s.execute(
            insert(Team),
            [{"name": f"team-{i:03d}", "is_baseline": i < 4, "created_at": now} for i in range(100)],
        )
        s.execute(
            insert(Dataset),
            [
                {
                    "id": 1,
                    "problem": "tiny-selection@v1",
                    "role": "test",
                    "digest": s0,
                    "n_rows": 800,
                    "payload": b"",
                    "origin": "organizer",
                    "created_at": now,
                },
                {
                    "id": 2,
                    "problem": "tiny-selection@v1",
                    "role": "test",
                    "digest": pub,
                    "n_rows": 200,
                    "payload": b"",
                    "origin": "submission",
                    "created_at": now,
                },
            ],
        )
        s.execute(
            insert(SuiteMember),
            [
                {
                    "problem": "tiny-selection@v1",
                    "dataset_id": 1,
                    "test_sha256": s0,
                    "reason": "organizer",
                    "added_at": now,
                },
                {
                    "problem": "tiny-selection@v1",
                    "dataset_id": 2,
                    "test_sha256": pub,
                    "reason": "accepted",
                    "difficulty": 0.7,
                    "added_at": now,
                },
            ],
        )
        digests = [h(f"train{i}") for i in range(n)]
        s.execute(
            insert(Dataset),
            [
                {
                    "id": 3 + i,
                    "problem": "tiny-selection@v1",
                    "role": "train",
                    "digest": d,
                    "n_rows": 400,
                    "payload": b"",
                    "origin": "submission",
                    "created_at": now,
                }
                for i, d in enumerate(digests)
            ],
        )
        cells = []
        for d in digests:
            for t in (s0, pub):
                a, b = rnd.random(), rnd.random()
                cells.append(
                    {
                        "problem": "tiny-selection@v1",
                        "train_sha256": d,
                        "test_sha256": t,
                        "evaluator_version": "1.0.0",
                        "scores": {"shirt": {"0": a, "1": b}, "sneaker": {"0": b, "1": a}},
                        "mean": (a + b) / 2,
                        "provenance": {},
                        "created_at": now,
                    }
                )
        s.execute(insert(Cell), cells)
        s.execute(
            insert(Submission),
            [
                {
                    "challenge": "tiny-selection",
                    "challenge_version": 1,
                    "kind": "training-set",
                    "team_id": 1 + i % 100,
                    "sha256": d,
                    "content_sha256": d,
                    "filename": f"picks-{i}.csv",
                    "path": "/nowhere",
                    "status": "done",
                    "attempts": 1,
                    "dataset_id": 3 + i,
                    "result": {"duplicate": False},
                    "created_at": now,
                    "updated_at": now,
                }
                for i, d in enumerate(digests)
            ],
        )
        s.execute(
            insert(Job),
            [
                {
                    "submission_id": i + 1,
                    "state": "done",
                    "attempts": 1,
                    "max_attempts": 3,
                    "completions": 1,
                    "log": "",
                    "created_at": now,
                    "updated_at": now,
                }
                for i in range(n)
            ],
        )
        s.execute(
            insert(RatchetEvent),
            [
                {
                    "problem": "tiny-selection@v1",
                    "at": now,
                    "kind": "init",
                    "evaluator_version": "1.0.0",
                    "suite": [s0],
                    "top_k": [],
                    "scores": {},
                    "bar": None,
                },
                {
                    "problem": "tiny-selection@v1",
                    "at": now,
                    "kind": "accept",
                    "evaluator_version": "1.0.0",
                    "suite": [s0, pub],
                    "top_k": digests[:3],
                    "scores": {"difficulty": {pub: 0.7}},
                    "bar": 0.7,
                },
            ],
        )


def add_scored(db: str, i: int) -> None:
    """Land one more scored training set (its set, cells, submission and job) in the database:
    a change that the next leaderboard page must show."""
    import hashlib

    from sqlalchemy import select

    from leaderboard.storage.db import session_factory
    from leaderboard.storage.server_tables import Job
    from leaderboard.storage.tables import Cell, Dataset, Submission, SuiteMember, utcnow

    now = utcnow()
    digest = hashlib.sha256(f"change{i}".encode()).hexdigest()
    with session_factory(db).begin() as s:
        tests = list(s.execute(select(SuiteMember.test_sha256).order_by(SuiteMember.id)).scalars())
        ds = Dataset(
            problem="tiny-selection@v1",
            role="train",
            digest=digest,
            n_rows=400,
            payload=b"",
            origin="submission",
            created_at=now,
        )
        s.add(ds)
        s.flush()
        for k, t in enumerate(tests):
            v = ((i * 7919 + k * 104729) % 1000) / 1000
            s.add(
                Cell(
                    problem="tiny-selection@v1",
                    train_sha256=digest,
                    test_sha256=t,
                    evaluator_version="1.0.0",
                    scores={"shirt": {"0": v, "1": v}, "sneaker": {"0": v, "1": v}},
                    mean=v,
                    provenance={},
                    created_at=now,
                )
            )
        team = 1 + i % 100  # fill() made 100 teams
        sub = Submission(
            challenge="tiny-selection",
            challenge_version=1,
            kind="training-set",
            team_id=team,
            sha256=digest,
            content_sha256=digest,
            filename=f"change-{i}.csv",
            path="/nowhere",
            status="done",
            attempts=1,
            dataset_id=ds.id,
            result={"duplicate": False},
            created_at=now,
            updated_at=now,
        )
        s.add(sub)
        s.flush()
        s.add(
            Job(
                submission_id=sub.id,
                state="done",
                attempts=1,
                max_attempts=3,
                completions=1,
                log="",
                created_at=now,
                updated_at=now,
            )
        )


async def load(url: str, path: str, connections: int, requests: int) -> list[float]:
    """Return the latency (s) of each of ``requests`` GETs of ``path`` over ``connections`` connections."""
    lat: list[float] = []
    per = requests // connections
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as c:

        async def one() -> None:
            for _ in range(per):
                t0 = time.perf_counter()
                r = await c.get(path)
                lat.append(time.perf_counter() - t0)
                if r.status_code != 200:
                    raise RuntimeError(f"{path}: {r.status_code}")

        await asyncio.gather(*(one() for _ in range(connections)))
    return lat


def stats(lat: list[float]) -> dict[str, float]:
    """Return median and 95th percentile in milliseconds."""
    return {
        "median_ms": round(statistics.median(lat) * 1e3, 2),
        "p95_ms": round(percentile(lat, 95) * 1e3, 2),
        "n": len(lat),
    }


def main() -> int:
    """Run the benchmark and print its JSON summary."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--submissions", type=int, default=10_000)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--requests", type=int, default=1280, help="requests per round and target")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--changes", type=int, default=5, help="scores landed one by one, each followed by a page")
    ap.add_argument("--keep", action="store_true", help="keep the scratch folder")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="dataperf-latency-"))
    env = scratch_env(tmp / "home")
    db = f"sqlite:///{tmp / 'home' / 'server.db'}"
    os.environ.update({k: env[k] for k in ("DATAPERF_HOME", "DATAPERF_CHALLENGES", "DATAPERF_BUILTIN_CHALLENGES")})
    t0 = time.perf_counter()
    fill(db, args.submissions)
    fill_s = time.perf_counter() - t0
    server, url = start_server(env, db, tmp / "serve.log")
    page, static = "/challenges/tiny-selection", "/static/style.css"
    try:
        t0 = time.perf_counter()
        first = httpx.get(url + page, timeout=120)
        cold_s = time.perf_counter() - t0
        assert first.status_code == 200 and "team-0" in first.text
        asyncio.run(load(url, static, args.connections, args.connections * 4))  # warm up connections
        after_change: list[float] = []
        for i in range(args.changes):
            add_scored(db, i)
            t0 = time.perf_counter()
            fresh = httpx.get(url + page, timeout=120)
            after_change.append(time.perf_counter() - t0)
            assert fresh.status_code == 200
        pages: list[float] = []
        files: list[float] = []
        for _ in range(args.rounds):
            pages += asyncio.run(load(url, page, args.connections, args.requests))
            files += asyncio.run(load(url, static, args.connections, args.requests))
    finally:
        stop(server)
    ps, fs = stats(pages), stats(files)
    ratio = ps["median_ms"] / fs["median_ms"]
    out: dict[str, Any] = {
        "submissions": args.submissions,
        "connections": args.connections,
        "fill_s": round(fill_s, 2),
        "first_render_s": round(cold_s, 3),
        "after_change_s": [round(x, 3) for x in after_change],
        "after_change_median_s": round(statistics.median(after_change), 3) if after_change else None,
        "after_change_bar_s": 0.3,
        "page_bytes": len(first.content),
        "page": ps,
        "static": fs,
        "ratio_median": round(ratio, 2),
        "ratio_p95": round(ps["p95_ms"] / fs["p95_ms"], 2),
        "target_met": ratio <= 3.0,
        "cpus": os.cpu_count(),
    }
    print(json.dumps(out, indent=2))
    if not args.keep:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0 if out["target_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
