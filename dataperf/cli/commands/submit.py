"""``dataperf submit``: submit a file to the server (after validating it here), or with
``--local`` score it straight into the local database.
"""

from __future__ import annotations

from pathlib import Path

import click

from dataperf.cli.base import command as make_command
from dataperf.cli.base import json_option


@make_command(
    "submit",
    "Validate a file here, upload it to the server and follow it (--local: score it locally)",
    help="With --local the challenge's data is prepared first where the data home has none.",
    examples=[
        "dataperf submit vision-selection picks.parquet --wait",
        "dataperf submit --local vision-selection picks.parquet --team ada",
        "dataperf submit --local vision-testset hard.csv --team ada --json",
    ],
)
@click.argument("challenge")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--local", is_flag=True, help="Score in this process into the local database (no server)")
@click.option("--team", help="Team name (required with --local)")
@click.option("--db", metavar="URL", help="Database URL for --local (default: $DATAPERF_DB, else SQLite)")
@json_option("Print the result as JSON")
@click.option("--wait", is_flag=True, help="Follow the submission on the server until scored")
@click.option("--timeout", type=float, default=3600.0, show_default=True, help="Most seconds --wait waits")
@click.option("--server", metavar="URL", help="Server (default: the one from 'dataperf login')")
def command(
    challenge: str,
    file: Path,
    local: bool,
    team: str | None,
    db: str | None,
    as_json: bool,
    wait: bool,
    timeout: float,
    server: str | None,
) -> int:
    """Submit and print the outcome (exit 2 when the file is rejected)."""
    from dataperf.errors import InputError, param_error

    if not local:
        from dataperf.cli.remote import submit

        return submit(challenge, file, server=server, wait_s=timeout if wait else None, as_json=as_json)
    if not team:
        raise InputError(param_error("--team", "dataperf submit --local", "a team name", None))
    from dataperf.challenges import get_challenge
    from dataperf.cli.data import ensure_prepared
    from dataperf.cli.output import print_json, progress
    from leaderboard.jobs.service import ingest_local
    from leaderboard.storage.db import session_factory, upgrade

    with progress(not as_json) as say:
        ensure_prepared(get_challenge(challenge), say)
    url = upgrade(db)
    out = ingest_local(session_factory(url), challenge, file, team)
    if as_json:
        print_json(out)
    else:
        print(f"submission {out['submission']} ({out['challenge']}, team {out['team']}): {out['status']}")
        print(out["message"])
        if out.get("counters"):
            print("work: " + ", ".join(f"{k} {v}" for k, v in out["counters"].items()))
    return 0 if out["status"] == "done" else 1
