"""``dataperf validate``: check a submission against every invariant, without scoring it."""

from __future__ import annotations

from pathlib import Path

import click

from dataperf.cli.base import command as make_command
from dataperf.cli.base import json_option


@make_command(
    "validate",
    "Check a submission file and report every violation at once (exit 2 if any)",
    help="The challenge's data is prepared first where the checks need it and the data home has none.",
    examples=[
        "dataperf validate vision-selection my-selection.csv",
        "dataperf validate vision-cleaning ranking.parquet --json",
        "dataperf validate vision-testset hard.parquet --runner docker --output table.json",
    ],
)
@click.argument("challenge")
@click.argument("submission", type=click.Path(path_type=Path))
@click.option("--runner", default="local", show_default=True, help="Where the file is read: local, docker, dask")
@json_option()
@click.option(
    "--output",
    type=click.Path(path_type=Path),
    help="Also write the canonical table here as JSON (on rejection: error.json beside it)",
)
@click.option("--sha256", help="Refuse the file unless its sha256 is this (it changed since it was recorded)")
def command(
    challenge: str, submission: Path, runner: str, as_json: bool, output: Path | None, sha256: str | None
) -> int:
    """Validate the submission with the chosen runner; violations raise SubmissionError (exit 2)."""
    from dataperf.canonical import write_doc
    from dataperf.challenges import get_challenge
    from dataperf.cli.data import needing_data
    from dataperf.cli.output import print_json, progress, write_error
    from dataperf.errors import DataPerfError
    from dataperf.runners import RUNNERS

    spec = get_challenge(challenge)
    run = RUNNERS.get(runner)()
    try:
        with progress(not as_json) as say:
            sub = needing_data(spec, say, lambda: run.parse(spec.id, submission, sha256=sha256))
    except DataPerfError as e:
        if output:
            write_error(output, e)
        raise
    if output:
        write_doc(output, spec, sub.table, sub.sha256)
    if as_json:
        print_json({"valid": True, "rows": len(sub.table), "sha256": sub.sha256, "runner": sub.runner})
    else:
        print(f"{submission}: valid {spec.id} v{spec.version} submission ({len(sub.table)} rows)")
    return 0
