"""Benchmark: durability of the queue under load while workers are killed.

200 submissions (distinct training sets of the tiny ratchet challenge) are uploaded by 8
concurrent clients over loopback to a live ``dataperf serve``; two ``dataperf worker`` processes
evaluate them, and a worker is killed with SIGKILL twice mid-run (each time a fresh one is
started). Afterwards the database must show: every accepted submission evaluated and its result
recorded exactly once, none lost, one quota charge each and none twice. Prints a JSON summary;
exits 1 when a check fails.

    python benchmarks/durability.py [--submissions 200] [--clients 8] [--data PREPARED_DATA_DIR]
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._server import cli, scratch_env, start_server, stop

MAKE = """
import sys
from pathlib import Path
from baselines import get_baseline
from dataperf.challenges import challenges, get_challenge
from dataperf.data.prepare import prepare
from dataperf.evaluator import load_data
from dataperf.submission import write_submission
reg = challenges()
for n in reg.names():
    prepare(reg.get(n))
spec = get_challenge("tiny-selection")
data = load_data(spec)
build = get_baseline(spec.kind, "random").build
out = Path(sys.argv[1])
for i in range(int(sys.argv[2])):
    write_submission(build(spec, data, 1000 + i), out / f"s{i:03d}.csv", spec.id)
"""


def check(db: str, accepted: dict[int, str], teams: dict[str, int]) -> dict[str, Any]:
    """Return the verdicts read from the database."""
    from sqlalchemy import func, select

    from leaderboard.storage.db import session_factory
    from leaderboard.storage.server_tables import Job, QuotaCharge
    from leaderboard.storage.tables import Cell, Submission, Team

    with session_factory(db)() as s:
        subs = {r.id: r for r in s.execute(select(Submission)).scalars()}
        jobs = {j.submission_id: j for j in s.execute(select(Job)).scalars()}
        charges = Counter(c.submission_id for c in s.execute(select(QuotaCharge)).scalars())
        refunded = s.execute(
            select(func.count()).select_from(QuotaCharge).where(QuotaCharge.refunded_at.is_not(None))
        ).scalar_one()
        per_team = dict(
            s.execute(
                select(Team.name, func.count()).join(QuotaCharge, QuotaCharge.team_id == Team.id).group_by(Team.name)
            ).all()
        )  # type: ignore[arg-type]
        cells = s.execute(select(func.count()).select_from(Cell)).scalar_one()
        cell_keys = s.execute(
            select(func.count()).select_from(
                select(Cell.train_sha256, Cell.test_sha256, Cell.evaluator_version).distinct().subquery()
            )
        ).scalar_one()
    ids = set(accepted)
    return {
        "accepted": len(ids),
        "rows_in_db": len(subs),
        "lost": sorted(i for i in ids if i not in subs or subs[i].status != "done"),
        "unknown_rows": sorted(set(subs) - ids),
        "not_completed_once": sorted(
            i for i in ids if i not in jobs or jobs[i].completions != 1 or jobs[i].state != "done"
        ),
        "charged_not_once": sorted(i for i in ids if charges.get(i, 0) != 1),
        "refunded": int(refunded),
        "charges_per_team_match": per_team == {t: n for t, n in teams.items() if n},
        "re_leased_after_kill": sorted(i for i in ids if i in jobs and jobs[i].attempts > 1),
        "cells": int(cells),
        "duplicate_cells": int(cells) - int(cell_keys),
    }


def client(
    url: str,
    token: str,
    files: list[Path],
    accepted: dict[int, str],
    team: str,
    lock: threading.Lock,
    refused: list[str],
) -> None:
    """Upload ``files`` one by one (retrying transport errors: an upload is idempotent)."""
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=120) as c:
        for f in files:
            for attempt in range(5):
                try:
                    r = c.post(
                        "/api/challenges/tiny-selection/submissions",
                        params={"filename": f.name},
                        content=f.read_bytes(),
                    )
                    break
                except httpx.TransportError:
                    if attempt == 4:
                        raise
                    time.sleep(0.5)
            with lock:
                if r.status_code == 202:
                    accepted[r.json()["submission"]] = team
                else:
                    refused.append(f"{f.name}: {r.status_code} {r.text[:200]}")


def main() -> int:
    """Run the benchmark and print its JSON summary."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--submissions", type=int, default=200)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--lease", type=float, default=3.0)
    ap.add_argument("--data", type=Path, default=None, help="prepared data folder to reuse (else prepared here)")
    ap.add_argument("--timeout", type=float, default=900.0, help="give up after this many seconds")
    ap.add_argument("--keep", action="store_true", help="keep the scratch folder (database, logs)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="dataperf-durability-"))
    env = scratch_env(tmp / "home", args.data)
    db = f"sqlite:///{tmp / 'home' / 'server.db'}"
    (tmp / "files").mkdir()
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", MAKE, str(tmp / "files"), str(args.submissions)], env=env, check=True)
    files = sorted((tmp / "files").glob("*.csv"))
    server, url = start_server(env, db, tmp / "serve.log")
    tokens = {}
    for i in range(args.clients):
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "dataperf.cli",
                "admin",
                "create-team",
                f"team{i}",
                "--quota",
                str(args.submissions),
                "--db",
                db,
                "--json",
            ],
            env=env,
            check=True,
            capture_output=True,
        )
        tokens[f"team{i}"] = json.loads(out.stdout)["token"]
    wargs = ["worker", "--db", db, "--lease", str(args.lease), "--poll", "0.2"]
    workers = [cli(env, *wargs, log=tmp / f"worker{i}.log") for i in range(args.workers)]
    accepted: dict[int, str] = {}
    refused: list[str] = []
    lock = threading.Lock()
    threads = [
        threading.Thread(
            target=client,
            args=(url, tokens[f"team{i}"], files[i :: args.clients], accepted, f"team{i}", lock, refused),
        )
        for i in range(args.clients)
    ]
    start = time.perf_counter()
    for t in threads:
        t.start()
    kills = []
    from sqlalchemy import func, select

    from leaderboard.storage.db import session_factory
    from leaderboard.storage.server_tables import Job

    sessions = session_factory(db)

    def done_count() -> int:
        with sessions() as s:
            return int(
                s.execute(select(func.count()).select_from(Job).where(Job.state.in_(["done", "failed"]))).scalar_one()
            )

    deadline = time.monotonic() + args.timeout
    for target in (args.submissions // 4, args.submissions // 2):
        while done_count() < target and time.monotonic() < deadline:
            time.sleep(0.2)
        with sessions() as s:
            busy = s.execute(select(func.count()).select_from(Job).where(Job.state == "leased")).scalar_one()
        victim = workers.pop(0)
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        kills.append({"after_done": done_count(), "leased_at_kill": int(busy), "pid": victim.pid})
        workers.append(cli(env, *wargs, log=tmp / f"worker-r{len(kills)}.log"))
    for t in threads:
        t.join()
    upload_s = time.perf_counter() - start
    while done_count() < len(accepted) and time.monotonic() < deadline:
        time.sleep(0.3)
    total_s = time.perf_counter() - start
    stop(*workers, server)
    teams = Counter(accepted.values())
    verdict = check(db, accepted, dict(teams))
    ok = (
        verdict["accepted"] == args.submissions
        and not verdict["lost"]
        and not verdict["unknown_rows"]
        and not verdict["not_completed_once"]
        and not verdict["charged_not_once"]
        and verdict["refunded"] == 0
        and verdict["charges_per_team_match"]
        and verdict["duplicate_cells"] == 0
        and not refused
    )
    summary = {
        "ok": ok,
        "submissions": args.submissions,
        "clients": args.clients,
        "workers": args.workers,
        "lease_s": args.lease,
        "kills": kills,
        "refused": refused[:5],
        "upload_wall_s": round(upload_s, 2),
        "total_wall_s": round(total_s, 2),
        "setup_s": round(start - t0, 2),
        "verdict": {
            k: (v if not isinstance(v, list) else (len(v) if k == "re_leased_after_kill" else v[:10]))
            for k, v in verdict.items()
        },
        "scratch": str(tmp),
    }
    print(json.dumps(summary, indent=2))
    if not args.keep:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
