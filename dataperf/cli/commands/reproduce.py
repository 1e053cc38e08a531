"""``dataperf reproduce RESULT.json``: re-score a saved result and say whether it matches bit for bit."""

from __future__ import annotations

import json
from pathlib import Path

import click

from dataperf.cli.base import command as make_command
from dataperf.cli.base import json_option

MATCH, MISMATCH, BAD_INPUT = 0, 1, 2
"""Exit statuses: reproduced bit for bit; a difference (named); a result or file that cannot be used."""


@make_command(
    "reproduce",
    "Re-score a saved result and say whether it matches bit for bit",
    help="RESULT is a result saved by 'dataperf evaluate --output' or downloaded from a submission's "
    "page. The recorded challenge version, spec, data, submission and evaluator version are checked, "
    "the submission is evaluated again and every score is compared by its bits. Exit status 0: "
    "reproduced bit for bit; 1: a difference, the first one named; 2: the result, the submission or "
    "the prepared data cannot be used.",
    examples=[
        "dataperf evaluate vision-selection sel.parquet --output result.json",
        "dataperf reproduce result.json",
        "dataperf reproduce result.json --submission sel.parquet --runner docker",
    ],
)
@click.argument("result", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--submission",
    type=click.Path(path_type=Path, dir_okay=False),
    help="The submission file scored (default: the file beside RESULT whose sha256 it records)",
)
@click.option(
    "--runner",
    type=click.Choice(["local", "docker"]),
    default="local",
    show_default=True,
    help="Re-run here, or in the evaluator image (the recorded image digest when there is one)",
)
@json_option("Print the outcome as JSON")
def command(result: Path, submission: Path | None, runner: str, as_json: bool) -> None:
    """Re-score a saved result and compare every score by its bits."""
    from dataperf.errors import DataPerfError
    from dataperf.reproduce import reproduce

    try:
        outcome = reproduce(result, submission, runner=runner)
    except DataPerfError as e:
        click.echo(f"error: {e}", err=True)
        raise SystemExit(BAD_INPUT) from None
    if as_json:
        click.echo(json.dumps(outcome.to_dict(), indent=2))
    else:
        name = f"{outcome.recorded.challenge} v{outcome.recorded.version}"
        if outcome.matched:
            click.echo(f"{name}: reproduced bit for bit (score {outcome.recorded.mean!r})")
        else:
            click.echo(f"{name}: NOT reproduced: {outcome.difference}")
        for note in outcome.notes:
            click.echo(f"note: {note}")
    raise SystemExit(MATCH if outcome.matched else MISMATCH)
