"""``dataperf ratchet``: a ratchet problem's train x test matrix, suite and history."""

from __future__ import annotations

import argparse
import json
from typing import Any

from dataperf.cli import arguments, command

DB_HELP = "database URL (default: $DATAPERF_DB, else SQLite in the data home)"


def _args(p: argparse.ArgumentParser) -> None:
    p.add_argument("challenge", help="a ratchet challenge: a training-set challenge or its test-set dual")
    p.add_argument("--json", action="store_true", help="print matrix, suite and history as JSON")
    p.add_argument("--db", metavar="URL", help=DB_HELP)


@command(
    "ratchet",
    help="show the data ratchet: the train x test matrix, the active test suite and every ratchet step",
    examples="  dataperf ratchet vision-selection\n  dataperf ratchet vision-testset --json",
)
@arguments(_args)
def run(args: argparse.Namespace) -> int:
    """Print the ratchet's state."""
    from dataperf.challenges import get_challenge
    from dataperf.cli.output import table
    from dataperf.errors import DataPerfError
    from leaderboard.boards.views import history, matrix, suite
    from leaderboard.ratchet.problem import problem_id_for
    from leaderboard.storage.db import session_factory

    pid = problem_id_for(get_challenge(args.challenge))
    if pid is None:
        raise DataPerfError(f"challenge '{args.challenge}' has no ratchet (no test-set challenge pairs with it)")
    with session_factory(args.db)() as s:
        doc: dict[str, Any] = {
            "problem": pid,
            "matrix": matrix(s, pid),
            "suite": suite(s, pid),
            "history": history(s, pid),
        }
    if args.json:
        print(json.dumps(doc, indent=2))
        return 0
    m = doc["matrix"]
    short = [d[:8] + ("*" if d in m["suite"] else "") for d in m["test"]]
    print(
        f"ratchet {pid} (evaluator {m['evaluator_version']}); columns: test sets (* = in the suite); "
        f"rows: training sets, best first (+ = top-k)"
    )
    rows = [[t[:8] + ("+" if t in m["top_k"] else ""), *vals] for t, vals in zip(m["train"], m["values"], strict=True)]
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
            ["at", "step", "subject", "suite size", "top-k", "bar"],
            [
                [e["at"], e["kind"], (e["subject"] or "")[:8], len(e["suite"]), len(e["top_k"]), e["bar"]]
                for e in doc["history"]
            ],
        )
    )
    return 0
