"""``dataperf rescore``: recompute stale scores after an evaluator version bump."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import click

from dataperf.cli.base import command as make_command
from dataperf.cli.base import db_option, json_option


def _rescore_on_dask(
    db: str | None, challenges: list[str] | None, runner: str, scheduler: str | None, progress: Callable[[str], None]
) -> list[dict[str, Any]]:
    """Rescore with the ratchet's cells computed on the Dask cluster the flags name."""
    from dataperf.runners.dask import ENV_SCHEDULER, close_clients, get_client
    from leaderboard.boards.diffs import rescore_on_dask
    from leaderboard.storage.db import session_factory

    if scheduler:
        os.environ[ENV_SCHEDULER] = scheduler  # so that --runner dask uses the same cluster
    try:
        client = get_client(scheduler)
        progress(f"dask: {len(client.scheduler_info().get('workers', {}))} workers at {client.scheduler.address}")
        return rescore_on_dask(session_factory(db), client, challenge_ids=challenges, runner=runner, progress=progress)
    finally:
        close_clients()


@make_command(
    "rescore",
    "Recompute every stale cell and result with this evaluator version; print each changed leaderboard's diff",
    examples=[
        "dataperf rescore",
        "dataperf rescore --challenge vision-selection --json",
        "dataperf rescore --dask",
        "dataperf rescore --scheduler tcp://10.0.0.5:8786 --runner dask",
    ],
)
@click.option("--challenge", "challenges", multiple=True, metavar="ID", help="Only this challenge (repeatable)")
@click.option("--runner", default="local", show_default=True, help="Runner for non-ratchet challenges")
@json_option("Print the diffs as JSON")
@db_option
@click.option("-q", "--quiet", is_flag=True, help="No progress lines")
@click.option(
    "--dask",
    is_flag=True,
    help="Compute the ratchet's stale cells on a Dask cluster: --scheduler, else $DATAPERF_DASK_SCHEDULER, "
    "else a LocalCluster using every core",
)
@click.option(
    "--scheduler",
    metavar="ADDRESS",
    help="The Dask scheduler address, e.g. tcp://host:8786 (implies --dask; also used by --runner dask)",
)
def command(
    challenges: tuple[str, ...],
    runner: str,
    as_json: bool,
    db: str | None,
    quiet: bool,
    dask: bool,
    scheduler: str | None,
) -> int:
    """Rescore and print the before/after diff."""
    from dataperf.cli.output import print_json, progress, table
    from leaderboard.boards.diffs import rescore
    from leaderboard.storage.db import session_factory

    only = list(challenges) or None
    with progress(not quiet and not as_json) as say:
        if dask or scheduler:
            diffs = _rescore_on_dask(db, only, runner, scheduler, say)
        else:
            diffs = rescore(session_factory(db), challenge_ids=only, runner=runner, progress=say)
    if as_json:
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
