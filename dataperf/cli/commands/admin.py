"""``dataperf admin``: organizer tasks on the server's database (teams, tokens, quotas, publishing,
adding and retiring challenges)."""

from __future__ import annotations

from typing import Any

import click

from dataperf.cli.base import command as make_command
from dataperf.cli.base import db_option, group, json_option

command = group(
    "admin",
    "Organizer tasks: create teams and tokens, set quotas, publish hidden results, add and retire challenges",
    examples=[
        "dataperf admin create-team ada --quota 5",
        "dataperf admin issue-token ada --revoke",
        "dataperf admin publish vision-selection",
        "dataperf admin add-challenge mine/digits-selection.yaml",
        "dataperf admin retire digits-selection",
    ],
)


def _run(action: str, db: str | None, as_json: bool, **args: Any) -> int:
    """Run one admin action on the database and print its answer (a new token on its own line)."""
    from dataperf.cli.output import print_json
    from leaderboard.jobs import admin
    from leaderboard.storage.db import session_factory, upgrade

    url = upgrade(db)
    out = admin.run_action(session_factory(url), action, args)
    if as_json:
        print_json(out)
    else:
        print(out["message"])
        if "token" in out:
            print(out["token"])
    return 0


@make_command(
    "create-team",
    "Create a team and print its API token (shown once)",
    examples=["dataperf admin create-team ada", "dataperf admin create-team ada --quota 5 --json"],
    group=command,
)
@click.argument("name")
@click.option("--quota", type=int, default=None, help="Daily submission limit (default: the server's)")
@db_option
@json_option()
def create_team(name: str, quota: int | None, db: str | None, as_json: bool) -> int:
    """Create the team."""
    return _run("create-team", db, as_json, name=name, quota=quota)


@make_command(
    "issue-token",
    "Issue a new token for a team (old ones stay valid unless --revoke)",
    examples=["dataperf admin issue-token ada", "dataperf admin issue-token ada --revoke"],
    group=command,
)
@click.argument("name")
@click.option("--revoke", is_flag=True, help="Revoke the team's other tokens")
@db_option
@json_option()
def issue_token(name: str, revoke: bool, db: str | None, as_json: bool) -> int:
    """Issue the token."""
    return _run("issue-token", db, as_json, name=name, revoke=revoke)


@make_command(
    "set-quota",
    "Set a team's daily submission limit",
    examples=["dataperf admin set-quota ada 20"],
    group=command,
)
@click.argument("name")
@click.argument("limit", type=int)
@db_option
@json_option()
def set_quota(name: str, limit: int, db: str | None, as_json: bool) -> int:
    """Set the quota."""
    return _run("set-quota", db, as_json, name=name, limit=limit)


@make_command(
    "publish",
    "Show the hidden test set's results for a challenge (and its ratchet partner)",
    examples=["dataperf admin publish vision-selection"],
    group=command,
)
@click.argument("challenge")
@db_option
@json_option()
def publish(challenge: str, db: str | None, as_json: bool) -> int:
    """Publish the results."""
    return _run("publish", db, as_json, challenge=challenge)


@make_command(
    "unpublish",
    "Hide the hidden test set's results again for a challenge (and its ratchet partner)",
    examples=["dataperf admin unpublish vision-selection"],
    group=command,
)
@click.argument("challenge")
@db_option
@json_option()
def unpublish(challenge: str, db: str | None, as_json: bool) -> int:
    """Hide the results."""
    return _run("unpublish", db, as_json, challenge=challenge)


@make_command(
    "add-challenge",
    "Check, prepare and register a challenge from its YAML (and data files) on this server's data home",
    help="FILE is the challenge spec (YAML); a dual's pair must be added first.",
    examples=["dataperf admin add-challenge mine/digits-selection.yaml"],
    group=command,
)
@click.argument("file")
@db_option
@json_option()
def add_challenge(file: str, db: str | None, as_json: bool) -> int:
    """Add the challenge."""
    return _run("add-challenge", db, as_json, file=file)


@make_command(
    "retire",
    "Hide a challenge from the lists; every submission is kept",
    examples=["dataperf admin retire digits-selection", "dataperf admin retire digits-selection --undo"],
    group=command,
)
@click.argument("challenge")
@click.option("--undo", is_flag=True, help="List it again")
@db_option
@json_option()
def retire(challenge: str, undo: bool, db: str | None, as_json: bool) -> int:
    """Retire (or list again) the challenge."""
    return _run("retire", db, as_json, challenge=challenge, undo=undo)
