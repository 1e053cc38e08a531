"""``dataperf ratchet``: a ratchet problem's train x test matrix, suite and history."""

from __future__ import annotations

from typing import Any

import click

from dataperf.cli.base import command as make_command
from dataperf.cli.base import db_option, json_option, view_option
from dataperf.cli.output import print_json


@make_command(
    "ratchet",
    "Show the data ratchet: the train x test matrix, the active test suite and every ratchet step",
    examples=["dataperf ratchet vision-selection", "dataperf ratchet vision-testset --json --view public"],
)
@click.argument("challenge")
@json_option("Print matrix, suite and history as JSON")
@db_option
@view_option
@click.option(
    "--event-scores",
    type=click.IntRange(min=1),
    default=20,
    show_default=True,
    metavar="N",
    help="With --json and --view organizer: the recorded scores of the best N training sets per step",
)
def command(challenge: str, as_json: bool, db: str | None, view: str, event_scores: int) -> int:
    """Print the ratchet's state."""
    from dataperf.challenges import get_challenge
    from dataperf.cli.output import table
    from dataperf.errors import InputError
    from leaderboard.boards.boards import matrix, suite
    from leaderboard.boards.history import history
    from leaderboard.boards.visibility import Visibility
    from leaderboard.ratchet.problem import problem_id_for
    from leaderboard.storage.db import session_factory

    pid = problem_id_for(get_challenge(challenge))
    if pid is None:
        raise InputError(f"challenge '{challenge}' has no ratchet (no challenge names it as its pair)")
    view = Visibility(view)
    with session_factory(db)() as s:
        doc: dict[str, Any] = {
            "problem": pid,
            "view": str(view),
            "matrix": matrix(s, pid, view),
            "suite": suite(s, pid, view),
            "history": history(s, pid, view, event_scores)["events"],
        }
    if as_json:
        print_json(doc)
        return 0
    m = doc["matrix"]
    short = [t["digest"][:8] + ("*" if t["in_suite"] else "") for t in m["test"]]
    print(
        f"ratchet {pid} (evaluator {m['evaluator_version']}); columns: test sets (* = in the suite); "
        f"rows: training sets, best first (+ = top-k)"
    )
    rows = [
        [t["digest"][:8] + ("+" if t["top_k"] else ""), *vals] for t, vals in zip(m["train"], m["values"], strict=True)
    ]
    print(table(["train \\ test", *short], rows) if rows else "(no training sets yet)")
    print("\nsuite:")
    print(
        table(
            ["test set", "reason", "difficulty", "added"],
            [[x["digest"][:8], x["reason"], x["difficulty"], x["added_at"]] for x in doc["suite"]],
        )
    )
    print("\nhistory:")
    print(
        table(
            ["at", "step", "suite size", "public suite size", "public test sets", "bar", "best score"],
            [
                [
                    e["at"],
                    e["kind"],
                    e.get("suite_size", ""),
                    e.get("public_suite_size", ""),
                    e.get("public_tests", ""),
                    e["bar"],
                    e["best_score"],
                ]
                for e in doc["history"]
            ],
        )
    )
    return 0
