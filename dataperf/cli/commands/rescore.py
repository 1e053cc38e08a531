"""``dataperf rescore``: recompute stale scores after an evaluator version bump."""

from __future__ import annotations

import argparse
import json

from dataperf.cli import arguments, command

DB_HELP = "database URL (default: $DATAPERF_DB, else SQLite in the data home)"


def _args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--challenge", action="append", metavar="ID", help="only this challenge (repeatable)")
    p.add_argument("--runner", default="local", help="runner for non-ratchet challenges (default: local)")
    p.add_argument("--json", action="store_true", help="print the diffs as JSON")
    p.add_argument("--db", metavar="URL", help=DB_HELP)
    p.add_argument("-q", "--quiet", action="store_true", help="no progress lines")


@command(
    "rescore",
    help="recompute every stale cell and result with this evaluator version; "
    "print each changed leaderboard's diff",
    examples="  dataperf rescore\n  dataperf rescore --challenge vision-selection --json",
)
@arguments(_args)
def run(args: argparse.Namespace) -> int:
    """Rescore and print the before/after diff."""
    from dataperf.cli.output import Progress, table
    from leaderboard.db import session_factory
    from leaderboard.rescore import rescore

    diffs = rescore(
        session_factory(args.db),
        challenge_ids=args.challenge,
        runner=args.runner,
        progress=Progress(not args.quiet and not args.json),
    )
    if args.json:
        print(json.dumps(diffs, indent=2))
        return 0
    if not diffs:
        print("no leaderboard changed")
    for d in diffs:
        print(f"{d['challenge']}: evaluator {d['before_version']} -> {d['after_version']}")
        print(
            table(
                ["submission", "team", "label", "rank before", "rank after", "score before", "score after"],
                [
                    [
                        c["submission"],
                        c["team"],
                        c["label"],
                        c["before"]["rank"],
                        c["after"]["rank"],
                        c["before"]["score"],
                        c["after"]["score"],
                    ]
                    for c in d["changes"]
                ],
            )
        )
    return 0
