"""``dataperf baseline``: build a submission with one of the shipped baselines."""

from __future__ import annotations

from pathlib import Path

import click

from dataperf.cli.base import command as make_command


@make_command(
    "baseline",
    "Build a submission with a shipped baseline (random, balanced, kcenter, crossval, ...)",
    help="Without NAME, list the baselines of the challenge's kind. The challenge's data is "
    "prepared first where the data home has none.",
    examples=[
        "dataperf baseline vision-selection",
        "dataperf baseline vision-selection kcenter -o kcenter.parquet",
        "dataperf baseline vision-cleaning confident-learning -o ranking.csv --seed 3",
    ],
)
@click.argument("challenge")
@click.argument("name", required=False)
@click.option(
    "-o", "--output", type=click.Path(path_type=Path), help="Submission file to write (.parquet, .csv or .json)"
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the baseline's random choices")
def command(challenge: str, name: str | None, output: Path | None, seed: int) -> int:
    """List the baselines of a challenge's kind, or build one into ``--output``."""
    from baselines import for_kind, get_baseline
    from dataperf.challenges import get_challenge
    from dataperf.cli.data import prepared
    from dataperf.cli.output import progress
    from dataperf.errors import InputError
    from dataperf.evaluator import single_threaded
    from dataperf.submission import write_submission

    spec = get_challenge(challenge)
    if not name:
        for b in for_kind(spec.kind):
            print(f"{b.name:20s} {b.doc}")
        return 0
    if output is None:
        raise InputError("give the file to write with -o/--output (e.g. -o selection.parquet)")
    base = get_baseline(spec.kind, name)
    with progress() as say:
        data = prepared(spec, say)
    with single_threaded():
        table = base.build(spec, data, seed)
    write_submission(table, output, spec.id)
    print(f"wrote {output} ({len(table)} rows, baseline {base.name}, seed {seed})")
    return 0
