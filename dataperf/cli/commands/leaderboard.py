"""``dataperf leaderboard``: a challenge's leaderboard from the local database or a server."""

from __future__ import annotations

import click

from dataperf.cli.base import command as make_command
from dataperf.cli.base import db_option, view_option


@make_command(
    "leaderboard",
    "Show a challenge's leaderboard from the local database (ratchet challenges: score over the suite)",
    examples=[
        "dataperf leaderboard vision-selection",
        "dataperf leaderboard vision-selection --view public",
        "dataperf leaderboard vision-testset --json",
        "dataperf leaderboard vision-cleaning --csv > board.csv",
        "dataperf leaderboard vision-selection --server https://dataperf.example.org",
    ],
)
@click.argument("challenge")
@click.option("--json", "as_json", is_flag=True, help="Print the leaderboard as JSON")
@click.option("--csv", "as_csv", is_flag=True, help="Print the leaderboard as CSV")
@db_option
@view_option
@click.option(
    "--server",
    is_flag=False,
    flag_value="",
    default=None,
    metavar="[URL]",
    help="Read the leaderboard from a server (no URL: the one from 'dataperf login')",
)
def command(challenge: str, as_json: bool, as_csv: bool, db: str | None, view: str, server: str | None) -> int:
    """Print the leaderboard."""
    if as_json and as_csv:
        raise click.UsageError("--json and --csv cannot be used together")
    fmt = "json" if as_json else "csv" if as_csv else "table"
    if server is not None:
        from dataperf.cli.remote import leaderboard as remote_leaderboard

        return remote_leaderboard(challenge, server or None, fmt)
    from dataperf.cli.output import print_board
    from leaderboard.boards.boards import board as read_board
    from leaderboard.boards.visibility import Visibility
    from leaderboard.storage.db import session_factory

    with session_factory(db)() as s:
        board = read_board(s, challenge, Visibility(view))
    stale = " (STALE: run 'dataperf rescore')" if board["stale"] else ""
    title = f"{board['challenge']} ({board['kind']}, {board['metric']}, evaluator {board['evaluator_version']}){stale}"
    print_board(board, fmt, title)
    return 0
