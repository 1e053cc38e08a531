"""``dataperf db``: create or migrate the leaderboard database."""

from __future__ import annotations

import argparse

from dataperf.cli import arguments, command
from dataperf.cli.output import print_json

DB_HELP = "database URL (default: $DATAPERF_DB, else SQLite in the data home)"


def _args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "action",
        choices=["upgrade", "current", "backup", "restore"],
        help="upgrade: migrate to the newest schema; current: print the schema revision; "
        "backup FILE: write a consistent copy (SQLite online backup, pg_dump for PostgreSQL); "
        "restore FILE: replace the database's content with a backup",
    )
    p.add_argument("file", nargs="?", metavar="FILE", help="the backup file (backup and restore)")
    p.add_argument("--db", metavar="URL", help=DB_HELP)
    p.add_argument("--json", action="store_true", help="print JSON")


@command(
    "db",
    help="create or migrate the leaderboard database (SQLite by default, PostgreSQL by URL)",
    examples="  dataperf db upgrade\n  dataperf db upgrade --db postgresql+psycopg://me@127.0.0.1/dataperf\n"
    "  dataperf db current --json\n  dataperf db backup /var/backups/dataperf.db\n"
    "  dataperf db restore /var/backups/dataperf.db --db sqlite:////srv/dataperf/new.db",
)
@arguments(_args)
def run(args: argparse.Namespace) -> int:
    """Migrate (or report) the database."""
    from leaderboard.storage.base import default_url
    from leaderboard.storage.db import current_revisions, upgrade

    url = args.db or default_url()
    if args.action in ("backup", "restore"):
        from pathlib import Path

        from dataperf.errors import InputError
        from leaderboard.storage import backup

        if not args.file:
            raise InputError(f"dataperf db {args.action} needs a FILE")
        if args.action == "backup":
            backup.backup(url, Path(args.file))
        else:
            backup.restore(url, Path(args.file))
        doc = {"url": url, args.action: args.file}
        if args.json:
            print_json(doc)
        else:
            print(f"{url}: {args.action} {args.file}: done")
        return 0
    if args.action == "upgrade":
        upgrade(url)
    revs = sorted(current_revisions(url))
    if args.json:
        print_json({"url": url, "revisions": revs})
    else:
        print(f"{url}: at revision {', '.join(revs) or '(none: run dataperf db upgrade)'}")
    return 0
