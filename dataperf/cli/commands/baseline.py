"""``dataperf baseline``: build a submission with one of the shipped baselines."""

from __future__ import annotations

import argparse
from pathlib import Path

from dataperf.cli import arguments, command


def _args(p: argparse.ArgumentParser) -> None:
    p.add_argument("challenge", help="challenge id")
    p.add_argument("name", nargs="?", help="baseline name (omit to list them)")
    p.add_argument("-o", "--output", type=Path, help="submission file to write (.parquet, .csv or .json)")
    p.add_argument("--seed", type=int, default=0, help="seed of the baseline's random choices")


@command(
    "baseline",
    "build a submission with a shipped baseline (random, balanced, kcenter, crossval, ...)",
    "  dataperf baseline vision-selection\n  dataperf baseline vision-selection kcenter -o kcenter.parquet\n"
    "  dataperf baseline vision-cleaning confident-learning -o ranking.csv --seed 3",
)
@arguments(_args)
def run(args: argparse.Namespace) -> int:
    """List the baselines of a challenge's kind, or build one into ``--output``."""
    from baselines import for_kind, get_baseline
    from dataperf.challenges import get_challenge
    from dataperf.errors import InputError
    from dataperf.evaluator import load_data, single_threaded
    from dataperf.submission import write_submission

    spec = get_challenge(args.challenge)
    if not args.name:
        for b in for_kind(spec.kind):
            print(f"{b.name:20s} {b.doc}")
        return 0
    if args.output is None:
        raise InputError("give the file to write with -o/--output (e.g. -o selection.parquet)")
    base = get_baseline(spec.kind, args.name)
    with single_threaded():
        table = base.build(spec, load_data(spec), args.seed)
    write_submission(table, args.output, spec.id)
    print(f"wrote {args.output} ({len(table)} rows, baseline {base.name}, seed {args.seed})")
    return 0
