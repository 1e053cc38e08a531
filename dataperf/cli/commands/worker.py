"""``dataperf worker``: take evaluation jobs from the database queue and run them."""

from __future__ import annotations

import os
import signal
import sys
import threading

import click

from dataperf.cli.base import command as make_command
from dataperf.cli.base import db_option


@make_command(
    "worker",
    "Run evaluation jobs from the server's queue (lease, heartbeat, idempotent results)",
    examples=[
        "dataperf worker",
        "dataperf worker --runner docker",
        "dataperf worker --once",
        "dataperf worker --runner dask --scheduler tcp://10.0.0.5:8786",
    ],
)
@click.option(
    "--runner",
    default="local",
    show_default=True,
    help="Where submission files are read and scored: local, docker, dask",
)
@click.option("--once", is_flag=True, help="Exit when the queue is empty")
@db_option
@click.option(
    "--lease", type=float, default=60.0, show_default=True, help="Lease length in seconds, renewed by heartbeats"
)
@click.option("--poll", type=float, default=1.0, show_default=True, help="Seconds between looks at an empty queue")
@click.option(
    "--scheduler",
    metavar="ADDRESS",
    help="With --runner dask: the Dask scheduler, e.g. tcp://host:8786 "
    "(default: $DATAPERF_DASK_SCHEDULER, else a LocalCluster using every core)",
)
def command(runner: str, once: bool, db: str | None, lease: float, poll: float, scheduler: str | None) -> int:
    """Work until interrupted (or, with --once, until the queue is empty)."""
    from dataperf.runners import RUNNERS
    from leaderboard.jobs.worker import run_worker
    from leaderboard.storage.db import upgrade

    RUNNERS.get(runner)  # unknown runner: a clear error before any job is taken
    if scheduler:
        from dataperf.errors import InputError, param_error
        from dataperf.runners.dask import ENV_SCHEDULER

        if runner != "dask":
            raise InputError(param_error("--scheduler", "dataperf worker", "used with --runner dask", runner))
        os.environ[ENV_SCHEDULER] = scheduler  # the dask runner reads it when it first connects
    url = upgrade(db)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    n = run_worker(
        url,
        runner=runner,
        once=once,
        lease_s=lease,
        poll_s=poll,
        stop=stop,
        say=lambda m: print(m, file=sys.stderr, flush=True),
    )
    print(f"processed {n} job{'s' if n != 1 else ''}", file=sys.stderr)
    return 0
