"""Benchmark: a deadline rush through the real server, queue and workers.

``--teams`` teams (default 50) upload ``--submissions`` distinct training sets (default 2,000)
of the tiny ratchet challenge over ``--window`` seconds on a burst profile: ``--rush-share``
of them (default 80%) arrive in the last fifth of the window, the rest spread over the first
four fifths. Teams are unequal (team k sends in proportion to 1/k, at least one each), so the
heaviest teams' bursts compete with the light teams' single submissions. Uploads go over
loopback to a live ``dataperf serve`` (rate limits scaled up with ``--rate-scale``: every team
uploads from one address here); ``W`` ``dataperf worker`` processes score them with the chosen
runner, for every combination of ``--workers``, ``--runners`` and ``--dbs`` (a fresh database
each time: a SQLite file, or the PostgreSQL database ``--pg-url`` names plus ``_rush``).

Reported per run: throughput (jobs a minute, over the span from the first upload to the last
score, and over the saturated span after the last upload), p50/p95 seconds from upload to score
overall and per team, fairness (the wait of each team's first submission in the rush; Jain's
index of per-team median waits; the median wait of the ten lightest teams against the five
heaviest), and the durability verdict of :func:`benchmarks.durability.check`: lost, duplicated
(a job completed more than once, a duplicate cell) and double-charged submissions, all of which
must be 0.

    python -m benchmarks.rush [--quick] [--teams 50] [--submissions 2000] [--window 180]
        [--workers 1,2,4] [--runners local,docker-warm] [--dbs sqlite,postgresql]
        [--pg-url URL] [--output benchmarks/results-rush.json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from datetime import UTC
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._server import cli, percentile, scratch_env, start_server, stop
from benchmarks.durability import MAKE, check

CHALLENGE = "tiny-selection"


def schedule(n: int, teams: int, window: float, rush_share: float, seed: int = 0) -> list[tuple[float, int]]:
    """Return ``n`` (arrival second, team index) pairs, sorted by arrival: ``rush_share`` of
    them in the last fifth of ``window``; team k sends in proportion to 1/(k+1), at least one."""
    rng = random.Random(seed)
    weights = [1.0 / (k + 1) for k in range(teams)]
    owners = list(range(teams)) + rng.choices(range(teams), weights=weights, k=max(n - teams, 0))
    rng.shuffle(owners)
    rushed = round(n * rush_share)
    times = [rng.uniform(0.8 * window, window) for _ in range(rushed)]
    times += [rng.uniform(0.0, 0.8 * window) for _ in range(n - rushed)]
    rng.shuffle(times)
    return sorted(zip(times, owners[:n], strict=True))


def fresh_database(kind: str, scratch: Path, pg_url: str, suffix: str = "_rush") -> str:
    """Return the URL of an empty, migrated database of ``kind`` (PostgreSQL: the database
    ``pg_url`` names plus ``suffix``, created when missing)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from leaderboard.storage.db import upgrade

    if kind == "sqlite":
        return upgrade(f"sqlite:///{scratch / 'server.db'}")
    base = make_url(pg_url)
    url = base.set(database=f"{base.database}{suffix}")
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": url.database}).first() is None:
            conn.execute(text(f'CREATE DATABASE "{url.database}"'))
    admin.dispose()
    target = url.render_as_string(hide_password=False)
    eng = create_engine(target)
    with eng.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    eng.dispose()
    return upgrade(target)


def create_teams(db: str, counts: Counter[int]) -> dict[int, str]:
    """Create one team per index with a daily limit of its submissions; return their tokens."""
    from leaderboard.jobs.auth import create_team
    from leaderboard.storage.db import session_factory

    tokens = {}
    with session_factory(db).begin() as s:
        for k in sorted(counts):
            _team, tokens[k] = create_team(s, f"team{k:02d}", daily_limit=counts[k])
    return tokens


class Uploader:
    """Sends the scheduled uploads from a pool of client threads, each at its arrival time."""

    def __init__(self, url: str, tokens: dict[int, str], plan: list[tuple[float, int, Path]], clients: int) -> None:
        self.url, self.tokens, self.plan, self.clients = url, tokens, plan, clients
        self.accepted: dict[int, tuple[int, float]] = {}
        """Submission id -> (team index, epoch seconds when its upload began)."""
        self.refused: list[str] = []
        self.retries = 0
        self.busy = 0
        """503 ``database_busy`` answers (retried, as a client should after Retry-After)."""
        self._next = 0
        self._lock = threading.Lock()

    def _one(self, c: httpx.Client, start: float, at: float, team: int, path: Path) -> None:
        time.sleep(max(0.0, start + at - time.monotonic()))
        began = time.time()
        for attempt in range(50):
            try:
                r = c.post(
                    f"/api/challenges/{CHALLENGE}/submissions",
                    params={"filename": path.name},
                    content=path.read_bytes(),
                    headers={"Authorization": f"Bearer {self.tokens[team]}"},
                )
            except httpx.TransportError:
                r = None
            if r is not None and r.status_code not in (429, 503):
                break
            with self._lock:
                self.retries += 1
                self.busy += r is not None and r.status_code == 503
            # a team's concurrent-upload limit, a busy database (Retry-After) or a transport error
            wait = float(r.headers.get("Retry-After", 0)) if r is not None and r.status_code == 503 else 0.0
            time.sleep(max(wait, 0.05 * (attempt + 1)))
        with self._lock:
            if r is not None and r.status_code == 202:
                self.accepted[int(r.json()["submission"])] = (team, began)
            else:
                self.refused.append(f"{path.name}: {r.status_code if r else 'transport'} {r.text[:200] if r else ''}")

    def _client(self, start: float) -> None:
        with httpx.Client(base_url=self.url, timeout=120) as c:
            while True:
                with self._lock:
                    if self._next >= len(self.plan):
                        return
                    at, team, path = self.plan[self._next]
                    self._next += 1
                self._one(c, start, at, team, path)

    def run(self) -> float:
        """Send every upload; return the seconds it took."""
        start = time.monotonic()
        threads = [threading.Thread(target=self._client, args=(start,)) for _ in range(self.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return time.monotonic() - start


def finished_times(db: str) -> dict[int, float]:
    """Return submission id -> epoch seconds when it finished (scored or refused)."""
    from sqlalchemy import select

    from leaderboard.storage.db import session_factory
    from leaderboard.storage.tables import Submission

    out = {}
    with session_factory(db)() as s:
        for sid, fin in s.execute(select(Submission.id, Submission.finished_at)):
            if fin is not None:
                out[int(sid)] = fin.replace(tzinfo=fin.tzinfo or UTC).timestamp()
    return out


def jain(values: list[float]) -> float:
    """Return Jain's fairness index of ``values`` (1.0: all equal)."""
    if not values or not any(values):
        return 1.0
    return sum(values) ** 2 / (len(values) * sum(v * v for v in values))


def summarize(accepted: dict[int, tuple[int, float]], done: dict[int, float]) -> dict[str, Any]:
    """Return throughput, latency and fairness figures of one run."""
    waits: dict[int, list[tuple[float, float]]] = defaultdict(list)  # team -> (upload, wait)
    for sid, (team, began) in accepted.items():
        if sid in done:
            waits[team].append((began, done[sid] - began))
    every = [w for team in waits.values() for _b, w in team]
    first_upload = min(b for _t, b in accepted.values())
    last_upload = max(b for _t, b in accepted.values())
    ends = sorted(done[s] for s in accepted if s in done)
    span = ends[-1] - first_upload if ends else float("nan")
    after = [e for e in ends if e > last_upload]
    per_team = {
        f"team{t:02d}": {
            "submissions": len(ws),
            "p50_s": round(statistics.median(w for _b, w in ws), 2),
            "p95_s": round(percentile([w for _b, w in ws], 95), 2),
        }
        for t, ws in sorted(waits.items())
    }
    sizes = sorted(waits, key=lambda t: (len(waits[t]), t))
    p50 = {t: statistics.median(w for _b, w in waits[t]) for t in waits}
    rush_start = first_upload + 0.8 * (last_upload - first_upload)
    first_in_rush = [min(ws)[1] for ws in ([x for x in waits[t] if x[0] >= rush_start] for t in waits) if ws]
    # A submission uploaded while its team had nothing queued or running: what the round robin
    # promises, whatever the other teams' bursts (each earlier submission of the team was scored).
    idle = [
        w
        for ws in waits.values()
        for i, (b, w) in enumerate(sorted(ws))
        if all(b0 + w0 <= b for b0, w0 in sorted(ws)[:i])
    ]
    return {
        "scored": len(every),
        "throughput_jobs_per_min": round(len(ends) / span * 60, 1) if ends else 0.0,
        "drain_jobs_per_min": round(len(after) / (after[-1] - last_upload) * 60, 1) if len(after) > 1 else None,
        "wall_first_upload_to_last_score_s": round(span, 1),
        "p50_s": round(statistics.median(every), 2),
        "p95_s": round(percentile(every, 95), 2),
        "fairness": {
            "policy": "round robin across teams (fewest in flight, then least recently served)",
            "first_in_rush_wait_p50_s": round(statistics.median(first_in_rush), 2) if first_in_rush else None,
            "first_in_rush_wait_max_s": round(max(first_in_rush), 2) if first_in_rush else None,
            "idle_team_uploads": len(idle),
            "idle_team_wait_p50_s": round(statistics.median(idle), 2) if idle else None,
            "idle_team_wait_p95_s": round(percentile(idle, 95), 2) if idle else None,
            "idle_team_wait_max_s": round(max(idle), 2) if idle else None,
            "jain_index_of_team_p50": round(jain(list(p50.values())), 3),
            "lightest10_p50_s": round(statistics.median(p50[t] for t in sizes[:10]), 2),
            "heaviest5_p50_s": round(statistics.median(p50[t] for t in sizes[-5:]), 2),
        },
        "per_team": per_team,
    }


def one_run(args: argparse.Namespace, db_kind: str, runner: str, workers: int, files: list[Path]) -> dict[str, Any]:
    """Run one rush (fresh database, server and workers) and return its figures."""
    scratch = Path(tempfile.mkdtemp(prefix="dataperf-rush-"))
    try:
        env = scratch_env(scratch / "home", args.data)
        db = fresh_database(db_kind, scratch, args.pg_url)
        plan_raw = schedule(len(files), args.teams, args.window, args.rush_share, args.seed)
        plan = [(at, team, files[i]) for i, (at, team) in enumerate(plan_raw)]
        counts = Counter(team for _at, team, _f in plan)
        tokens = create_teams(db, counts)
        server, url = start_server(env, db, scratch / "serve.log", "--rate-scale", str(args.rate_scale))
        server_args = ["worker", "--db", db, "--runner", runner, "--lease", "60", "--poll", "0.2"]
        procs = [cli(env, *server_args, log=scratch / f"worker{i}.log") for i in range(workers)]
        try:
            up = Uploader(url, tokens, plan, args.clients)
            upload_s = up.run()
            deadline = time.monotonic() + args.timeout
            while time.monotonic() < deadline:
                done = finished_times(db)
                if all(s in done for s in up.accepted):
                    break
                time.sleep(0.5)
        finally:
            stop(*procs)
            stop(server)
        done = finished_times(db)
        teams = Counter(f"team{t:02d}" for t, _b in up.accepted.values())
        verdict = check(db, {s: f"team{t:02d}" for s, (t, _b) in up.accepted.items()}, dict(teams))
        zero = {
            "lost": len(verdict["lost"]),
            "duplicated": len(verdict["not_completed_once"]) - len(verdict["lost"]) + verdict["duplicate_cells"],
            "double_charged": len(verdict["charged_not_once"]),
            "unknown_rows": len(verdict["unknown_rows"]),
            "refunded": verdict["refunded"],
            "refused_uploads": len(up.refused),
        }
        logs = "".join(p.read_text(errors="replace") for p in scratch.glob("worker*.log"))
        serve_log = (scratch / "serve.log").read_text(errors="replace")
        errors = [line for line in serve_log.splitlines() if "Error" in line or "error" in line][-5:]
        first = serve_log.find("Traceback")
        first_traceback = serve_log[first : first + 8000].splitlines()[:80] if first >= 0 else []
        return {
            "db": db_kind,
            "runner": runner,
            "workers": workers,
            "teams": len(counts),
            "submissions": len(files),
            "accepted": len(up.accepted),
            "window_s": args.window,
            "load_average_1m_at_end": round(os.getloadavg()[0], 1),
            "upload_wall_s": round(upload_s, 1),
            "upload_retries_429": up.retries - up.busy,
            "upload_retries_503_database_busy": up.busy,
            "ok": all(v == 0 for v in zero.values()) and verdict["charges_per_team_match"],
            "must_be_zero": zero,
            "refused_examples": up.refused[:3],
            "failed_attempts_in_worker_logs": logs.count("failed after"),
            "server_error_lines": errors,
            "server_first_traceback": first_traceback,
            **summarize(up.accepted, done),
        }
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def save(path: Path, run: dict[str, Any]) -> None:
    """Merge ``run`` into the JSON report at ``path`` (replacing a run of the same database,
    runner and worker count)."""
    doc: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {"benchmark": "rush", "runs": []}
    key = (run["db"], run["runner"], run["workers"])
    runs = [r for r in doc.get("runs", []) if (r["db"], r["runner"], r["workers"]) != key] + [run]
    path.write_text(json.dumps({**doc, "cores": os.cpu_count(), "runs": runs}, indent=2) + "\n")


def main() -> int:
    """Run every configuration and print (and save) the JSON report."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="a small run: 10 teams, 60 submissions, 20 s, W=1,2")
    ap.add_argument("--teams", type=int, default=50)
    ap.add_argument("--submissions", type=int, default=2000)
    ap.add_argument("--window", type=float, default=180.0, help="seconds over which the uploads arrive")
    ap.add_argument("--rush-share", type=float, default=0.8, help="share arriving in the last fifth")
    ap.add_argument("--workers", default="1,2,4", help="worker counts, comma-separated")
    ap.add_argument("--runners", default="local", help="runners, comma-separated (local, docker, docker-warm)")
    ap.add_argument("--dbs", default="sqlite,postgresql", help="databases, comma-separated")
    ap.add_argument("--pg-url", default=os.environ.get("DATAPERF_TEST_PG_URL", ""), help="PostgreSQL server URL")
    ap.add_argument("--clients", type=int, default=16, help="concurrent upload connections")
    ap.add_argument("--rate-scale", type=float, default=1000.0, help="dataperf serve --rate-scale")
    ap.add_argument("--data", type=Path, default=None, help="prepared data folder to reuse")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=3600.0, help="give up waiting for scores after this")
    ap.add_argument("--output", type=Path, help="also write (merge into) this JSON file")
    args = ap.parse_args()
    if args.quick:
        args.teams, args.submissions, args.window, args.workers = 10, 60, 20.0, "1,2"
    dbs = [d for d in args.dbs.split(",") if d]
    if "postgresql" in dbs and not args.pg_url:
        raise SystemExit("--dbs postgresql needs --pg-url (or $DATAPERF_TEST_PG_URL)")
    files_dir = Path(tempfile.mkdtemp(prefix="dataperf-rush-files-"))
    try:
        make_home = files_dir / "home"
        env = scratch_env(make_home, args.data)
        subprocess.run([sys.executable, "-c", MAKE, str(files_dir), str(args.submissions)], env=env, check=True)
        if args.data is None:
            args.data = make_home / "data"
        files = sorted(files_dir.glob("*.csv"))
        runs = []
        for db_kind in dbs:
            for runner in [r for r in args.runners.split(",") if r]:
                for w in [int(x) for x in args.workers.split(",") if x]:
                    print(f"rush: {db_kind} {runner} W={w} ({len(files)} submissions)", file=sys.stderr, flush=True)
                    res = one_run(args, db_kind, runner, w, files)
                    print(json.dumps({k: v for k, v in res.items() if k != "per_team"}), file=sys.stderr, flush=True)
                    runs.append(res)
                    if args.output:
                        save(args.output, res)
    finally:
        shutil.rmtree(files_dir, ignore_errors=True)
    print(json.dumps({"benchmark": "rush", "cores": os.cpu_count(), "runs": runs}, indent=2))
    return 0 if all(r["ok"] for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
