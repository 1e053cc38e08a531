"""``dataperf status``: a submission's status on the server, or the team's latest submissions."""

from __future__ import annotations

import click

from dataperf.cli.base import command as make_command
from dataperf.cli.base import json_option, server_option


@make_command(
    "status",
    "Show a submission's status, queue position and result on the server (or list yours)",
    examples=["dataperf status", "dataperf status 42 --log", "dataperf status 42 --json"],
)
@click.argument("submission_id", metavar="[ID]", type=int, required=False)
@click.option("--log", "show_log", is_flag=True, help="Also print the evaluation log")
@server_option
@json_option()
def command(submission_id: int | None, show_log: bool, server: str | None, as_json: bool) -> int:
    """Print the status; exit 1 for a failed submission, 2 for a rejected one."""
    from dataperf.cli.output import print_json, table
    from dataperf.cli.remote import describe
    from dataperf.client import Client, load_login

    with Client(load_login(server)) as c:
        if submission_id is None:
            doc = c.request("GET", "/api/submissions")
            if as_json:
                print_json(doc)
            else:
                rows = [
                    [s["submission"], s["challenge"], s["filename"], s["status"], s["created_at"]]
                    for s in doc["submissions"]
                ]
                print(table(["id", "challenge", "file", "status", "received"], rows) if rows else "(no submissions)")
            return 0
        doc = c.status(submission_id)
    if as_json:
        print_json(doc)
    else:
        print(describe(doc))
        if show_log and doc.get("log") is not None:
            print("log:\n" + doc["log"])
    return {"rejected": 2, "failed": 1}.get(doc["status"], 0)
