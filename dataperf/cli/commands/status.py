"""``dataperf status``: a submission's status on the server, or the team's latest submissions."""

from __future__ import annotations

import argparse

from dataperf.cli import arguments, command
from dataperf.cli.output import print_json


def _args(p: argparse.ArgumentParser) -> None:
    p.add_argument("id", nargs="?", type=int, help="submission id (default: list the team's latest)")
    p.add_argument("--log", action="store_true", help="also print the evaluation log")
    p.add_argument("--server", metavar="URL", help="server (default: the one from 'dataperf login')")
    p.add_argument("--json", action="store_true", help="print JSON")


@command(
    "status",
    help="show a submission's status, queue position and result on the server (or list yours)",
    examples="  dataperf status\n  dataperf status 42 --log\n  dataperf status 42 --json",
)
@arguments(_args)
def run(args: argparse.Namespace) -> int:
    """Print the status; exit 1 for a failed or rejected submission."""
    from dataperf.cli.output import table
    from dataperf.cli.remote import describe
    from dataperf.client import Client, load_login

    with Client(load_login(args.server)) as c:
        if args.id is None:
            doc = c.request("GET", "/api/submissions")
            if args.json:
                print_json(doc)
            else:
                rows = [
                    [s["submission"], s["challenge"], s["filename"], s["status"], s["created_at"]]
                    for s in doc["submissions"]
                ]
                print(table(["id", "challenge", "file", "status", "received"], rows) if rows else "(no submissions)")
            return 0
        doc = c.status(args.id)
    if args.json:
        print_json(doc)
    else:
        print(describe(doc))
        if args.log and doc.get("log") is not None:
            print("log:\n" + doc["log"])
    return {"rejected": 2, "failed": 1}.get(doc["status"], 0)
