"""``dataperf leaderboard``: a challenge's leaderboard from the local database."""

from __future__ import annotations

import argparse

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
    from dataperf.cli.output import print_board
    from leaderboard.boards.boards import board as read_board
    from leaderboard.boards.visibility import Visibility
    from leaderboard.storage.db import session_factory

    with session_factory(args.db)() as s:
        board = read_board(s, args.challenge, Visibility(args.view))
    stale = " (STALE: run 'dataperf rescore')" if board["stale"] else ""
    title = f"{board['challenge']} ({board['kind']}, {board['metric']}, evaluator {board['evaluator_version']}){stale}"
    print_board(board, "json" if args.json else "csv" if args.csv else "table", title)
    return 0
