"""``dataperf admin``: organizer tasks on the server's database (teams, tokens, quotas, publishing,
adding and retiring challenges)."""

from __future__ import annotations

import argparse

from dataperf.cli import arguments, command
from dataperf.cli.output import print_json


def _args(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    c = sub.add_parser("create-team", help="create a team and print its API token (shown once)")
    c.add_argument("name")
    c.add_argument("--quota", type=int, default=None, help="daily submission limit (default: the server's)")
    t = sub.add_parser("issue-token", help="issue a new token for a team (old ones stay valid unless --revoke)")
    t.add_argument("name")
    t.add_argument("--revoke", action="store_true", help="revoke the team's other tokens")
    q = sub.add_parser("set-quota", help="set a team's daily submission limit")
    q.add_argument("name")
    q.add_argument("limit", type=int)
    for name, text in (("publish", "show the hidden test set's results"), ("unpublish", "hide them again")):
        pp = sub.add_parser(name, help=f"{text} for a challenge (and its ratchet partner)")
        pp.add_argument("challenge")
    a = sub.add_parser(
        "add-challenge",
        help="check, prepare and register a challenge from its YAML (and data files) on this server's data home",
    )
    a.add_argument("file", help="the challenge spec (YAML); a dual's pair must be added first")
    r = sub.add_parser("retire", help="hide a challenge from the lists; every submission is kept")
    r.add_argument("challenge")
    r.add_argument("--undo", action="store_true", help="list it again")
    for sp in sub.choices.values():
        sp.add_argument("--db", metavar="URL", help="database URL (default: $DATAPERF_DB, else SQLite)")
        sp.add_argument("--json", action="store_true", help="print JSON")


@command(
    "admin",
    help="organizer tasks: create teams and tokens, set quotas, publish hidden results, add and retire challenges",
    examples="  dataperf admin create-team ada --quota 5\n  dataperf admin issue-token ada --revoke\n"
    "  dataperf admin publish vision-selection\n  dataperf admin add-challenge mine/digits-selection.yaml\n"
    "  dataperf admin retire digits-selection",
)
@arguments(_args)
def run(args: argparse.Namespace) -> int:
    """Run one admin action."""
    from leaderboard.jobs import admin
    from leaderboard.storage.db import session_factory, upgrade

    url = upgrade(args.db)
    out = admin.run_action(session_factory(url), args.action, vars(args))
    if args.json:
        print_json(out)
    else:
        print(out["message"])
        if "token" in out:
            print(out["token"])
    return 0
