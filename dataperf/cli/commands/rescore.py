"""``dataperf rescore``: recompute stale scores after an evaluator version bump."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from typing import Any

from dataperf.cli import arguments, command
from dataperf.cli.output import print_json

DB_HELP = "database URL (default: $DATAPERF_DB, else SQLite in the data home)"


def _args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--challenge", action="append", metavar="ID", help="only this challenge (repeatable)")
    p.add_argument("--runner", default="local", help="runner for non-ratchet challenges (default: local)")
    p.add_argument("--json", action="store_true", help="print the diffs as JSON")
    p.add_argument("--db", metavar="URL", help=DB_HELP)
    p.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    p.add_argument(
        "--dask",
        action="store_true",
        help="compute the ratchet's stale cells on a Dask cluster: --scheduler, else $DATAPERF_DASK_SCHEDULER, "
        "else a LocalCluster using every core",
    )
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="the Dask scheduler address, e.g. tcp://host:8786 (implies --dask; also used by --runner dask)",
    )


def _rescore_on_dask(args: argparse.Namespace, progress: Callable[[str], None]) -> list[dict[str, Any]]:
    """Rescore with the ratchet's cells computed on the Dask cluster the flags name."""
    from dataperf.runners.dask import ENV_SCHEDULER, close_clients, get_client
    from leaderboard.boards.diffs import rescore_on_dask
    from leaderboard.storage.db import session_factory

    if args.scheduler:
        os.environ[ENV_SCHEDULER] = args.scheduler  # so that --runner dask uses the same cluster
    try:
        client = get_client(args.scheduler)
        progress(f"dask: {len(client.scheduler_info().get('workers', {}))} workers at {client.scheduler.address}")
        return rescore_on_dask(
            session_factory(args.db), client, challenge_ids=args.challenge, runner=args.runner, progress=progress
        )
    finally:
        close_clients()


@command(
    "rescore",
    help="recompute every stale cell and result with this evaluator version; print each changed leaderboard's diff",
    examples="  dataperf rescore\n  dataperf rescore --challenge vision-selection --json\n"
    "  dataperf rescore --dask\n  dataperf rescore --scheduler tcp://10.0.0.5:8786 --runner dask",
)
@arguments(_args)
def run(args: argparse.Namespace) -> int:
    """Rescore and print the before/after diff."""
    from dataperf.cli.output import Progress, table
    from leaderboard.boards.diffs import rescore
    from leaderboard.storage.db import session_factory

    progress = Progress(not args.quiet and not args.json)
    if args.dask or args.scheduler:
        diffs = _rescore_on_dask(args, progress)
    else:
        diffs = rescore(session_factory(args.db), challenge_ids=args.challenge, runner=args.runner, progress=progress)
    if args.json:
        print_json(diffs)
        return 0
    if not diffs:
        print("no leaderboard changed")
    for d in diffs:
        print(f"{d['challenge']}: evaluator {d['before_version']} -> {d['after_version']}")
        print(
            table(
                ["submission", "team", "label", "rank before", "rank after", "score before", "score after"],
                [
                    [
                        c["submission"],
                        c["team"],
                        c["label"],
                        c["before"]["rank"],
                        c["after"]["rank"],
                        c["before"]["score"],
                        c["after"]["score"],
                    ]
                    for c in d["changes"]
                ],
            )
        )
    return 0
