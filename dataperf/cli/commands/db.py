"""``dataperf db``: create, migrate, back up and restore the leaderboard database."""

from __future__ import annotations

from pathlib import Path

import click

from dataperf.cli.base import command as make_command
from dataperf.cli.base import db_option, group, json_option

command = group(
    "db",
    "Create or migrate the leaderboard database (SQLite by default, PostgreSQL by URL)",
    examples=[
        "dataperf db upgrade",
        "dataperf db upgrade --db postgresql+psycopg://me@127.0.0.1/dataperf",
        "dataperf db current --json",
        "dataperf db backup /var/backups/dataperf.db",
        "dataperf db restore /var/backups/dataperf.db --db sqlite:////srv/dataperf/new.db",
    ],
)


def _revisions(db: str | None, as_json: bool, migrate: bool) -> int:
    """(Migrate, then) print the database's schema revisions."""
    from dataperf.cli.output import print_json
    from leaderboard.storage.base import default_url
    from leaderboard.storage.db import current_revisions, upgrade

    url = db or default_url()
    if migrate:
        upgrade(url)
    revs = sorted(current_revisions(url))
    if as_json:
        print_json({"url": url, "revisions": revs})
    else:
        print(f"{url}: at revision {', '.join(revs) or '(none: run dataperf db upgrade)'}")
    return 0


def _copy(action: str, file: Path, db: str | None, as_json: bool) -> int:
    """Back up the database into ``file``, or restore it from ``file``."""
    from dataperf.cli.output import print_json
    from leaderboard.storage import backup
    from leaderboard.storage.base import default_url

    url = db or default_url()
    if action == "backup":
        backup.backup(url, file)
    else:
        backup.restore(url, file)
    if as_json:
        print_json({"url": url, action: str(file)})
    else:
        print(f"{url}: {action} {file}: done")
    return 0


@make_command(
    "upgrade",
    "Migrate the database to the newest schema (creating it if needed)",
    examples=["dataperf db upgrade", "dataperf db upgrade --db postgresql+psycopg://me@127.0.0.1/dataperf"],
    group=command,
)
@db_option
@json_option()
def upgrade(db: str | None, as_json: bool) -> int:
    """Migrate and print the revision."""
    return _revisions(db, as_json, migrate=True)


@make_command("current", "Print the database's schema revision", examples=["dataperf db current --json"], group=command)
@db_option
@json_option()
def current(db: str | None, as_json: bool) -> int:
    """Print the revision."""
    return _revisions(db, as_json, migrate=False)


@make_command(
    "backup",
    "Write a consistent copy of the database to FILE (SQLite online backup, pg_dump for PostgreSQL)",
    examples=["dataperf db backup /var/backups/dataperf.db"],
    group=command,
)
@click.argument("file", type=click.Path(path_type=Path))
@db_option
@json_option()
def backup(file: Path, db: str | None, as_json: bool) -> int:
    """Back up the database."""
    return _copy("backup", file, db, as_json)


@make_command(
    "restore",
    "Replace the database's content with a backup",
    examples=["dataperf db restore /var/backups/dataperf.db --db sqlite:////srv/dataperf/new.db"],
    group=command,
)
@click.argument("file", type=click.Path(path_type=Path))
@db_option
@json_option()
def restore(file: Path, db: str | None, as_json: bool) -> int:
    """Restore the database."""
    return _copy("restore", file, db, as_json)
