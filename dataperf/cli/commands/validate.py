"""``dataperf validate``: check a submission against every invariant, without scoring it."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from dataperf.cli import arguments, command


def _args(p: argparse.ArgumentParser) -> None:
    p.add_argument("challenge", help="challenge id")
    p.add_argument("submission", type=Path, help="submission file (.parquet, .csv or .json)")
    p.add_argument("--json", action="store_true", help="print JSON")


@command(
    "validate",
    "Check a submission file and report every violation at once (exit 2 if any).",
    "  dataperf validate vision-selection my-selection.csv\n  dataperf validate vision-cleaning ranking.parquet --json",
)
@arguments(_args)
def run(args: argparse.Namespace) -> int:
    """Validate the submission; violations raise SubmissionError (exit 2)."""
    from dataperf.challenges import get_challenge
    from dataperf.evaluator import validate

    spec = get_challenge(args.challenge)
    sub = validate(spec, args.submission)
    if args.json:
        print(json.dumps({"valid": True, "rows": len(sub.table), "sha256": sub.sha256}))
    else:
        print(f"{args.submission}: valid {spec.id} v{spec.version} submission ({len(sub.table)} rows)")
    return 0
