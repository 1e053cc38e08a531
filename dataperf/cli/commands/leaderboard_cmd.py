"""``dataperf leaderboard``: a challenge's leaderboard from the local database."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from typing import Any

from dataperf.cli import arguments, command

DB_HELP = "database URL (default: $DATAPERF_DB, else SQLite in the data home)"


def _args(p: argparse.ArgumentParser) -> None:
    p.add_argument("challenge", help="challenge id (see 'dataperf challenges')")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print the leaderboard as JSON")
    fmt.add_argument("--csv", action="store_true", help="print the leaderboard as CSV")
    p.add_argument("--db", metavar="URL", help=DB_HELP)
    p.add_argument(
        "--view",
        choices=["organizer", "public", "published"],
        default="organizer",
        help="what to show: everything (organizer, the default), what participants see before the "
        "results are published (public), or after (published)",
    )
    p.add_argument(
        "--server",
        nargs="?",
        const="",
        metavar="URL",
        help="read the leaderboard from a server (no URL: the one from 'dataperf login')",
    )


def columns(board: dict[str, Any]) -> list[str]:
    """Return the columns shown for a leaderboard (its kind's layout)."""
    return list(board["layout"]["table"])


@command(
    "leaderboard",
    help="show a challenge's leaderboard from the local database (ratchet challenges: score over the suite)",
    examples="  dataperf leaderboard vision-selection\n  dataperf leaderboard vision-selection --view public\n"
    "  dataperf leaderboard vision-testset --json\n"
    "  dataperf leaderboard vision-cleaning --csv > board.csv",
)
@arguments(_args)
def run(args: argparse.Namespace) -> int:
    """Print the leaderboard."""
    if args.server is not None:
        from dataperf.cli.remote import leaderboard as remote_leaderboard

        return remote_leaderboard(args)
    from dataperf.cli.output import table
    from leaderboard.boards.boards import board as read_board
    from leaderboard.boards.visibility import Visibility
    from leaderboard.storage.db import session_factory

    with session_factory(args.db)() as s:
        board = read_board(s, args.challenge, Visibility(args.view))
    cols = columns(board)
    if args.json:
        print(json.dumps(board, indent=2))
    elif args.csv:
        w = csv.writer(sys.stdout, lineterminator="\n")
        w.writerow(cols)
        w.writerows([[r.get(c) for c in cols] for r in board["rows"]])
    else:
        stale = " (STALE: run 'dataperf rescore')" if board["stale"] else ""
        print(
            f"{board['challenge']} ({board['kind']}, {board['metric']}, evaluator {board['evaluator_version']}){stale}"
        )
        print(
            table(cols, [[r.get(c) for c in cols] for r in board["rows"]])
            if board["rows"]
            else "(no scored submissions)"
        )
    return 0
