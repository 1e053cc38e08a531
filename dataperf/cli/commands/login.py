"""``dataperf login``: remember a server and the team's API token for later commands."""

from __future__ import annotations

import argparse

from dataperf.cli import arguments, command
from dataperf.cli.output import print_json


def _args(p: argparse.ArgumentParser) -> None:
    p.add_argument("url", help="server address, e.g. http://127.0.0.1:8000")
    p.add_argument("--token", required=True, help="the team's API token (from 'dataperf admin create-team')")
    p.add_argument("--no-check", action="store_true", help="store without asking the server")
    p.add_argument("--json", action="store_true", help="print JSON")


@command(
    "login",
    help="store a server address and team token (file mode 0600 in the data home)",
    examples="  dataperf login http://127.0.0.1:8000 --token dp_...",
)
@arguments(_args)
def run(args: argparse.Namespace) -> int:
    """Check the token against the server, then store it."""
    from dataperf.client import Client, Login, save_login

    team = None
    if not args.no_check:
        with Client(Login(args.url.rstrip("/"), args.token)) as c:
            team = c.request("GET", "/api/me")
    path = save_login(args.url, args.token)
    if args.json:
        print_json({"url": args.url.rstrip("/"), "stored": str(path), "me": team})
    else:
        who = f" as team {team['team']!r}" if team else ""
        print(f"logged in to {args.url.rstrip('/')}{who}; token stored in {path}")
    return 0
