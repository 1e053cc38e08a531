"""``dataperf validate``: check a submission against every invariant, without scoring it."""

from __future__ import annotations

import argparse
from pathlib import Path

from dataperf.cli import arguments, command
from dataperf.cli.output import print_json


def _args(p: argparse.ArgumentParser) -> None:
    p.add_argument("challenge", help="challenge id")
    p.add_argument("submission", type=Path, help="submission file (.parquet, .csv or .json)")
    p.add_argument("--runner", default="local", help="where the file is read: local (default), docker, dask")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument(
        "--output",
        type=Path,
        help="also write the canonical table here as JSON (on rejection: error.json beside it)",
    )
    p.add_argument("--sha256", help="refuse the file unless its sha256 is this (it changed since it was recorded)")


@command(
    "validate",
    "check a submission file and report every violation at once (exit 2 if any)",
    "  dataperf validate vision-selection my-selection.csv\n"
    "  dataperf validate vision-cleaning ranking.parquet --json\n"
    "  dataperf validate vision-testset hard.parquet --runner docker --output table.json",
)
@arguments(_args)
def run(args: argparse.Namespace) -> int:
    """Validate the submission with the chosen runner; violations raise SubmissionError (exit 2)."""
    from dataperf.canonical import write_doc
    from dataperf.challenges import get_challenge
    from dataperf.cli.output import write_error
    from dataperf.errors import DataPerfError
    from dataperf.runners import RUNNERS

    spec = get_challenge(args.challenge)
    runner = RUNNERS.get(args.runner)()
    try:
        sub = runner.parse(spec.id, args.submission, sha256=args.sha256)
    except DataPerfError as e:
        if args.output:
            write_error(args.output, e)
        raise
    if args.output:
        write_doc(args.output, spec, sub.table, sub.sha256)
    if args.json:
        print_json({"valid": True, "rows": len(sub.table), "sha256": sub.sha256, "runner": sub.runner})
    else:
        print(f"{args.submission}: valid {spec.id} v{spec.version} submission ({len(sub.table)} rows)")
    return 0
