"""``dataperf login``: remember a server and the team's API token for later commands."""

from __future__ import annotations

import click

from dataperf.cli.base import command as make_command
from dataperf.cli.base import json_option


@make_command(
    "login",
    "Store a server address and team token (file mode 0600 in the data home)",
    examples=["dataperf login http://127.0.0.1:8000 --token dp_..."],
)
@click.argument("url")
@click.option("--token", required=True, help="The team's API token (from 'dataperf admin create-team')")
@click.option("--no-check", is_flag=True, help="Store without asking the server")
@json_option()
def command(url: str, token: str, no_check: bool, as_json: bool) -> int:
    """Check the token against the server, then store it."""
    from dataperf.cli.output import print_json
    from dataperf.client import Client, Login, save_login

    team = None
    if not no_check:
        with Client(Login(url.rstrip("/"), token)) as c:
            team = c.request("GET", "/api/me")
    path = save_login(url, token)
    if as_json:
        print_json({"url": url.rstrip("/"), "stored": str(path), "me": team})
    else:
        who = f" as team {team['team']!r}" if team else ""
        print(f"logged in to {url.rstrip('/')}{who}; token stored in {path}")
    return 0
