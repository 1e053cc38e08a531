"""Benchmark: the cost of each server component on this machine, the inputs of docs/scaling.md.

1. **Queue** (SQLite and, with ``--pg-url``, PostgreSQL with ``SKIP LOCKED``): enqueue
   ``--jobs`` jobs of ``--teams`` teams, then ``--threads`` workers (1 and 4 by default) take
   and finish them until the queue is empty, with :mod:`leaderboard.jobs.queue` itself.
   Reported: enqueues a second, take+finish pairs a second, median take latency.
2. **Ratchet cells and models** (tiny ratchet challenge, SQLite): ``--sets`` training sets are
   added with the real :class:`~leaderboard.ratchet.steps.Ratchet`; the real
   :func:`~leaderboard.ratchet.cells.write_cells` and :func:`~leaderboard.ratchet.cells.store_models`
   are timed as they run (wrapped, not replaced), and :func:`~leaderboard.ratchet.cells.load_models`
   is timed on each stored set afterwards (the banks forgotten first). Reported: median seconds
   of one training-set step, one cell write (one set's row of cells), one model store, one load.
3. **Containers** (with ``--docker``): a cold sandbox running ``python -c pass``, a cold one
   importing the evaluator, and a warm one (:mod:`dataperf.runners.docker_pool`) released to run
   ``dataperf --help`` with the evaluator already imported; medians of ``--runs``.
4. **Page build**: ``--page-subs`` scored submissions written into a scratch database
   (:func:`benchmarks.page_latency.fill`), then the leaderboard page requested from a live
   ``dataperf serve``: the first request (built) and the median of the next ``--runs`` (cached).

    python -m benchmarks.components [--pg-url URL] [--docker] [--output benchmarks/results-components.json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._server import scratch_env, start_server, stop
from benchmarks.rush import fresh_database


def queue_costs(url: str, jobs: int, teams: int, threads: int) -> dict[str, Any]:
    """Return the queue's throughput on the database at ``url`` (emptied first by the caller)."""
    from leaderboard.jobs import queue
    from leaderboard.storage.db import session_factory
    from leaderboard.storage.tables import Challenge, Submission, Team

    sessions = session_factory(url)
    with sessions.begin() as s:
        s.add(Challenge(id="tiny-selection", version=1, kind="training-set", spec_sha256="0" * 64))
        team_ids = []
        for k in range(teams):
            t = Team(name=f"q{k}")
            s.add(t)
            s.flush()
            team_ids.append(t.id)
    t0 = time.perf_counter()
    for i in range(jobs):
        with sessions.begin() as s:
            sub = Submission(
                challenge="tiny-selection",
                challenge_version=1,
                kind="training-set",
                team_id=team_ids[i % teams],
                sha256=f"{i:064d}",
                filename="f.csv",
                path="/nowhere/f.csv",
                status="queued",
            )
            s.add(sub)
            s.flush()
            queue.enqueue(s, sub.id)
    enqueue_s = time.perf_counter() - t0
    takes: list[float] = []
    lock = threading.Lock()

    def work(name: str) -> None:
        while True:
            a = time.perf_counter()
            lease = queue.take(sessions, name)
            b = time.perf_counter()
            if lease is None:
                return
            queue.finish(sessions, lease, "done", "ok")
            with lock:
                takes.append(b - a)

    t0 = time.perf_counter()
    pool = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    drain_s = time.perf_counter() - t0
    return {
        "jobs": jobs,
        "teams": teams,
        "threads": threads,
        "enqueue_per_s": round(jobs / enqueue_s, 1),
        "take_finish_pairs_per_s": round(len(takes) / drain_s, 1),
        "take_median_ms": round(statistics.median(takes) * 1e3, 2),
    }


def take_with_history(url: str, history: int, teams: int, takes: int = 50) -> dict[str, Any]:
    """Return the median take latency with ``history`` finished jobs of ``teams`` teams already
    in the database at ``url`` (PostgreSQL, emptied by the caller) and one queued job per team."""
    from sqlalchemy import text

    from leaderboard.jobs import queue
    from leaderboard.storage.db import session_factory
    from leaderboard.storage.tables import Challenge, Team

    sessions = session_factory(url)
    with sessions.begin() as s:
        s.add(Challenge(id="tiny-selection", version=1, kind="training-set", spec_sha256="0" * 64))
        s.add_all([Team(id=k, name=f"h{k}") for k in range(1, teams + 1)])
        s.flush()
        for state, first, n in (("done", 1, history), ("queued", history + 1, teams)):
            s.execute(
                text(
                    "INSERT INTO submissions (id, challenge, challenge_version, kind, team_id, sha256, filename, path,"
                    " status, attempts, created_at, updated_at) SELECT g, 'tiny-selection', 1, 'training-set',"
                    " 1 + g % :t, lpad(g::text, 64, '0'), 'f.csv', '/nowhere', :st, 0, now(), now()"
                    " FROM generate_series(CAST(:a AS integer), CAST(:b AS integer)) g"
                ),
                {"t": teams, "st": state, "a": first, "b": first + n - 1},
            )
            s.execute(
                text(
                    "INSERT INTO jobs (id, submission_id, state, attempts, max_attempts, completions, log, created_at,"
                    " updated_at, heartbeat_at) SELECT g, g, :st, 1, 3, 1, '', now(), now(),"
                    " now() - make_interval(secs => g % 1000)"
                    " FROM generate_series(CAST(:a AS integer), CAST(:b AS integer)) g"
                ),
                {"st": state, "a": first, "b": first + n - 1},
            )
        # Each team's turn as revision 0008 fills it from the recorded jobs (absent before it).
        if s.execute(text("SELECT to_regclass('queue_turns')")).scalar() is not None:
            s.execute(
                text(
                    "INSERT INTO queue_turns (team_id, last_served_at) SELECT s.team_id, MAX(j.heartbeat_at)"
                    " FROM jobs j JOIN submissions s ON j.submission_id = s.id GROUP BY s.team_id"
                )
            )
    walls = []
    for i in range(min(takes, teams)):
        t0 = time.perf_counter()
        lease = queue.take(sessions, f"w{i}")
        walls.append(time.perf_counter() - t0)
        assert lease is not None
    return {"history_jobs": history, "teams": teams, "take_median_ms": round(statistics.median(walls) * 1e3, 2)}


def timed_calls(module: Any, name: str, sink: list[float]) -> Callable[[], None]:
    """Wrap ``module.name`` so each call's seconds go to ``sink``; return the undo."""
    real = getattr(module, name)

    def wrapper(*a: Any, **k: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return real(*a, **k)
        finally:
            sink.append(time.perf_counter() - t0)

    setattr(module, name, wrapper)
    return lambda: setattr(module, name, real)


def ratchet_costs(scratch: Path, sets: int) -> dict[str, Any]:
    """Return the seconds of a training-set step, a cell write, a model store and load."""
    from baselines import get_baseline
    from dataperf.challenges import get_challenge
    from dataperf.data.prepare import prepare
    from dataperf.evaluator import load_data
    from leaderboard.ratchet import cells
    from leaderboard.ratchet.problem import Problem
    from leaderboard.ratchet.steps import Ratchet
    from leaderboard.storage.db import session_factory

    spec = get_challenge("tiny-selection")
    prepare(get_challenge("tiny-testset"))
    prepare(spec)
    data = load_data(spec)
    url = fresh_database("sqlite", scratch, "", "")
    sessions = session_factory(url)
    cells.forget_banks()
    p = Problem.load(spec.id)
    r = Ratchet(sessions, p)
    writes: list[float] = []
    stores: list[float] = []
    undo = [timed_calls(cells, "write_cells", writes), timed_calls(cells, "store_models", stores)]
    steps, digests = [], []
    try:
        build = get_baseline(spec.kind, "random").build
        for i in range(sets):
            table = build(spec, data, 5000 + i)
            t0 = time.perf_counter()
            step = r.add_training_set(table)
            steps.append(time.perf_counter() - t0)
            digests.append(step.digest)
    finally:
        for u in undo:
            u()
    cells.forget_banks()
    loads = []
    with sessions() as s:
        for d in digests:
            t0 = time.perf_counter()
            models = cells.load_models(s, p, d)
            loads.append(time.perf_counter() - t0)
            assert models, "a stored training set's models load back"
    return {
        "training_sets": sets,
        "tasks_x_seeds": len(p.tasks) * len(p.seeds),
        "training_set_step_median_s": round(statistics.median(steps), 4),
        "cell_write_median_ms": round(statistics.median(writes) * 1e3, 2) if writes else None,
        "model_store_median_ms": round(statistics.median(stores) * 1e3, 2) if stores else None,
        "model_load_median_ms": round(statistics.median(loads) * 1e3, 2),
    }


def container_costs(runs: int) -> dict[str, Any]:
    """Return the median seconds of cold and warm sandboxes."""
    from dataperf.runners.docker import DockerRunner, Limits, run_sandboxed
    from dataperf.runners.docker_pool import WarmPool

    image = DockerRunner().image_for(gpu=False)
    limits = Limits(memory="2g", cpus=1.0, pids=256, timeout=120)
    imports = "import dataperf.evaluator, sklearn.linear_model, pyarrow.parquet"

    def cold(code: str) -> float:
        t0 = time.perf_counter()
        out = run_sandboxed(image, ["-c", code], entrypoint=["python"], limits=limits)
        shutil.rmtree(out.out_dir, ignore_errors=True)
        if out.status != "ok":
            raise SystemExit(f"cold sandbox failed: {out.log[-2000:]}")
        return time.perf_counter() - t0

    cold_pass = [cold("pass") for _ in range(runs)]
    cold_import = [cold(imports) for _ in range(runs)]
    pool = WarmPool(image, (), limits, {}, size=1)
    warm = []
    try:
        for _ in range(runs):
            time.sleep(4)  # let the replacement start and import, as between a worker's jobs
            t0 = time.perf_counter()
            out = pool.run(["dataperf", "--help"], {})
            warm.append(time.perf_counter() - t0)
            shutil.rmtree(out.out_dir, ignore_errors=True)
            if out.status != "ok" or not out.extra["warm"]:
                raise SystemExit(f"warm sandbox failed or was not pre-started: {out.log[-2000:]}")
    finally:
        pool.close()
    return {
        "runs": runs,
        "cold_python_pass_median_s": round(statistics.median(cold_pass), 3),
        "cold_with_evaluator_imports_median_s": round(statistics.median(cold_import), 3),
        "warm_release_to_removed_median_s": round(statistics.median(warm), 3),
    }


def page_costs(scratch: Path, subs: int, runs: int) -> dict[str, Any]:
    """Return the seconds of the first (built) and later (cached) leaderboard page requests."""
    from benchmarks.page_latency import fill

    env = scratch_env(scratch / "page-home")
    db = f"sqlite:///{scratch / 'page-home' / 'server.db'}"
    saved = {k: os.environ.get(k) for k in ("DATAPERF_HOME", "DATAPERF_CHALLENGES", "DATAPERF_BUILTIN_CHALLENGES")}
    os.environ.update({k: env[k] for k in saved})
    try:
        fill(db, subs)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    server, url = start_server(env, db, scratch / "serve.log")
    try:
        t0 = time.perf_counter()
        first = httpx.get(url + "/challenges/tiny-selection", timeout=300)
        built = time.perf_counter() - t0
        cached = []
        for _ in range(runs):
            t0 = time.perf_counter()
            httpx.get(url + "/challenges/tiny-selection", timeout=300)
            cached.append(time.perf_counter() - t0)
    finally:
        stop(server)
    return {
        "submissions": subs,
        "status": first.status_code,
        "first_request_s": round(built, 3),
        "cached_median_s": round(statistics.median(cached), 4),
    }


def main() -> int:
    """Measure every component and print (and save) the JSON report."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pg-url", default=os.environ.get("DATAPERF_TEST_PG_URL", ""))
    ap.add_argument("--jobs", type=int, default=1000)
    ap.add_argument("--teams", type=int, default=50)
    ap.add_argument("--threads", default="1,4")
    ap.add_argument("--history", default="0,10000,100000", help="finished jobs already queued through (PG)")
    ap.add_argument("--only-history", action="store_true", help="only the queue-with-history part")
    ap.add_argument("--sets", type=int, default=30)
    ap.add_argument("--docker", action="store_true", help="also time cold and warm sandboxes")
    ap.add_argument("--page-subs", type=int, default=0, help="also time a page build with this many submissions")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--output", type=Path)
    args = ap.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="dataperf-components-"))
    env = scratch_env(scratch / "home")
    os.environ.update({k: env[k] for k in ("DATAPERF_HOME", "DATAPERF_CHALLENGES", "DATAPERF_BUILTIN_CHALLENGES")})
    report: dict[str, Any] = {"benchmark": "components", "cores": os.cpu_count(), "load_average_1m": os.getloadavg()[0]}
    try:
        queues = []
        for kind in [] if args.only_history else ["sqlite"] + (["postgresql"] if args.pg_url else []):
            for n in [int(x) for x in args.threads.split(",")]:
                folder = scratch / f"queue-{kind}-{n}"
                folder.mkdir()
                url = fresh_database(kind, folder, args.pg_url, "_components")
                queues.append({"db": kind} | queue_costs(url, args.jobs, args.teams, n))
                print(json.dumps(queues[-1]), file=sys.stderr, flush=True)
        report["queue"] = queues
        if args.pg_url:
            report["queue_history"] = []
            for history in [int(x) for x in args.history.split(",") if x]:
                url = fresh_database("postgresql", scratch, args.pg_url, "_components")
                report["queue_history"].append(take_with_history(url, history, 1000))
                print(json.dumps(report["queue_history"][-1]), file=sys.stderr, flush=True)
        if not args.only_history:
            rest(report, scratch, args)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    text = json.dumps(report, indent=2)
    if args.output:
        args.output.write_text(text + "\n")
    print(text)
    return 0


def rest(report: dict[str, Any], scratch: Path, args: argparse.Namespace) -> None:
    """Measure the ratchet, the containers (with ``--docker``) and the page into ``report``."""
    report["ratchet"] = ratchet_costs(scratch, args.sets)
    print(json.dumps(report["ratchet"]), file=sys.stderr, flush=True)
    if args.docker:
        report["containers"] = container_costs(args.runs)
        print(json.dumps(report["containers"]), file=sys.stderr, flush=True)
    if args.page_subs:
        report["page"] = page_costs(scratch, args.page_subs, args.runs)


if __name__ == "__main__":
    sys.exit(main())
