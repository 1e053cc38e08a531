"""``dataperf submit``: submit a file to the server (after validating it here), or with
``--local`` score it straight into the local database.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from dataperf.cli import arguments, command
from dataperf.cli.output import print_json


def _args(p: argparse.ArgumentParser) -> None:
    p.add_argument("challenge", help="challenge id")
    p.add_argument("file", type=Path, help="submission file (.parquet, .csv or .json)")
    p.add_argument("--local", action="store_true", help="score in this process into the local database (no server)")
    p.add_argument("--team", help="team name (required with --local)")
    p.add_argument("--db", metavar="URL", help="database URL for --local (default: $DATAPERF_DB, else SQLite)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--wait", action="store_true", help="follow the submission on the server until scored")
    p.add_argument("--timeout", type=float, default=3600.0, help="most seconds --wait waits (default: 3600)")
    p.add_argument("--server", metavar="URL", help="server (default: the one from 'dataperf login')")


@command(
    "submit",
    help="validate a file here, upload it to the server and follow it (--local: score it locally)",
    examples="  dataperf submit vision-selection picks.parquet --wait\n"
    "  dataperf submit --local vision-selection picks.parquet --team ada\n"
    "  dataperf submit --local vision-testset hard.csv --team ada --json",
)
@arguments(_args)
def run(args: argparse.Namespace) -> int:
    """Submit and print the outcome (exit 2 when the file is rejected)."""
    from dataperf.errors import InputError, param_error

    if not args.local:
        from dataperf.cli.remote import submit

        return submit(args)
    if not args.team:
        raise InputError(param_error("--team", "dataperf submit --local", "a team name", None))
    from leaderboard.jobs.service import ingest_local
    from leaderboard.storage.db import session_factory, upgrade

    url = upgrade(args.db)
    out = ingest_local(session_factory(url), args.challenge, args.file, args.team)
    if args.json:
        print_json(out)
    else:
        print(f"submission {out['submission']} ({out['challenge']}, team {out['team']}): {out['status']}")
        print(out["message"])
        if out.get("counters"):
            print("work: " + ", ".join(f"{k} {v}" for k, v in out["counters"].items()))
    return 0 if out["status"] == "done" else 1
