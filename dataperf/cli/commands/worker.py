"""``dataperf worker``: take evaluation jobs from the database queue and run them."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading

from dataperf.cli import arguments, command


def _args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--runner",
        default="local",
        help="where submission files are read and scored: local, docker, dask (default: local)",
    )
    p.add_argument("--once", action="store_true", help="exit when the queue is empty")
    p.add_argument("--db", metavar="URL", help="database URL (default: $DATAPERF_DB, else SQLite in the data home)")
    p.add_argument(
        "--lease",
        type=float,
        default=60.0,
        help="lease length in seconds, renewed by heartbeats (default: 60)",
    )
    p.add_argument("--poll", type=float, default=1.0, help="seconds between looks at an empty queue (default: 1)")
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="with --runner dask: the Dask scheduler, e.g. tcp://host:8786 "
        "(default: $DATAPERF_DASK_SCHEDULER, else a LocalCluster using every core)",
    )


@command(
    "worker",
    help="run evaluation jobs from the server's queue (lease, heartbeat, idempotent results)",
    examples="  dataperf worker\n  dataperf worker --runner docker\n  dataperf worker --once\n"
    "  dataperf worker --runner dask --scheduler tcp://10.0.0.5:8786",
)
@arguments(_args)
def run(args: argparse.Namespace) -> int:
    """Work until interrupted (or, with --once, until the queue is empty)."""
    from dataperf.runners import RUNNERS
    from leaderboard.jobs.worker import run_worker
    from leaderboard.storage.db import upgrade

    RUNNERS.get(args.runner)  # unknown runner: a clear error before any job is taken
    if args.scheduler:
        from dataperf.errors import InputError, param_error
        from dataperf.runners.dask import ENV_SCHEDULER

        if args.runner != "dask":
            raise InputError(param_error("--scheduler", "dataperf worker", "used with --runner dask", args.runner))
        os.environ[ENV_SCHEDULER] = args.scheduler  # the dask runner reads it when it first connects
    url = upgrade(args.db)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    n = run_worker(
        url,
        runner=args.runner,
        once=args.once,
        lease_s=args.lease,
        poll_s=args.poll,
        stop=stop,
        say=lambda m: print(m, file=sys.stderr, flush=True),
    )
    print(f"processed {n} job{'s' if n != 1 else ''}", file=sys.stderr)
    return 0
