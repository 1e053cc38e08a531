"""``dataperf evaluate``: score a submission with the server's evaluator.

By default on the public bundle's dev split, as a participant who downloaded the public bundle
scores it; with ``--hidden``, with the private bundle, as the server does.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from dataperf.cli.base import command as make_command
from dataperf.cli.base import json_option

if TYPE_CHECKING:
    from collections.abc import Callable

    from dataperf.contract import ChallengeSpec, Result, Runner

HIDDEN_HELP = (
    "Score with the private bundle (hidden labels), as the server does, to get the server's exact "
    "score; possible where the data home holds the private bundle: a built-in challenge prepared "
    "from its public source, or the organizer's own data. Needed for the docker and dask runners"
)


@make_command(
    "evaluate",
    "Validate and score a submission: per-task and per-seed scores, mean, 95% CI, provenance",
    help="Scores on the public dev split by default, as a participant who downloaded the public "
    "bundle (the leaderboard's score, on the hidden split, can differ); --hidden gives the "
    "server's exact score where the private bundle is here. The challenge's data is prepared "
    "first where the data home has none.",
    examples=[
        "dataperf evaluate vision-selection my-selection.parquet",
        "dataperf evaluate speech-selection sel.csv --json > result.json",
        "dataperf evaluate vision-selection my-selection.parquet --hidden",
        "dataperf evaluate vision-cleaning ranking.parquet --hidden --runner docker",
    ],
)
@click.argument("challenge")
@click.argument("submission", type=click.Path(path_type=Path))
@click.option("--hidden", is_flag=True, help=HIDDEN_HELP)
@click.option(
    "--public",
    is_flag=True,
    hidden=True,
    help="Deprecated: the public dev split is the default now; accepted and ignored",
)
@click.option(
    "--runner", default="local", show_default=True, help="Where to run: local, docker or dask (with --hidden)"
)
@json_option("Print the full result as JSON")
@click.option(
    "--output",
    type=click.Path(path_type=Path),
    help="Also write the result JSON here (on rejection: error.json beside it)",
)
@click.option("--sha256", help="Refuse the file unless its sha256 is this (it changed since it was recorded)")
def command(
    challenge: str,
    submission: Path,
    hidden: bool,
    public: bool,
    runner: str,
    as_json: bool,
    output: Path | None,
    sha256: str | None,
) -> int:
    """Evaluate with the chosen runner and print the result, naming the split it is on."""
    import sys

    from dataperf.challenges import get_challenge
    from dataperf.cli.output import progress, write_error
    from dataperf.errors import DataPerfError, InputError
    from dataperf.runners import RUNNERS

    if public:
        print("dataperf: note: --public is deprecated: the public dev split is the default", file=sys.stderr)
        if hidden:
            raise InputError("--public and --hidden contradict each other: give one")
    spec = get_challenge(challenge)
    run = RUNNERS.get(runner)()  # an unknown runner, or a missing extra, before any data is prepared
    if not hidden and runner != "local":
        raise InputError(
            f"--runner {runner} scores as the server does, on the hidden split: add --hidden "
            "(the public dev split is scored in this process: --runner local)"
        )
    try:
        with progress(not as_json) as say:
            if hidden:
                result = _evaluate_hidden(spec, submission, run, sha256, say)
            else:
                result = _evaluate_public(spec, submission, sha256, say)
    except DataPerfError as e:
        if output:
            write_error(output, e)
        raise
    text = result.to_json()
    if output:
        output.write_text(text + "\n")
    if as_json:
        print(text)
        return 0
    _print_result(spec, result)
    return 0


def _evaluate_hidden(
    spec: ChallengeSpec, submission: Path, runner: Runner, sha256: str | None, say: Callable[[str], None]
) -> Result:
    """Return the server's result: the private bundle, with the chosen runner."""
    from dataperf.cli.data import ensure_prepared, has_private_bundle, is_prepared
    from dataperf.errors import InputError

    if not is_prepared(spec):
        ensure_prepared(spec, say)
    if not has_private_bundle(spec):
        raise InputError(
            f"{spec.id}: --hidden needs the private bundle, and this data home holds only the public one "
            "(drop --hidden to score on the public dev split; the server gives the hidden score)"
        )
    return runner.evaluate(spec.id, submission, sha256=sha256)


def _evaluate_public(spec: ChallengeSpec, submission: Path, sha256: str | None, say: Callable[[str], None]) -> Result:
    """Return the local result of scoring with the public bundle, in this process."""
    from dataperf.cli.data import prepared, public_or_hint
    from dataperf.evaluator import evaluate

    data = prepared(spec, say, public=True)
    return public_or_hint(spec, lambda: evaluate(spec, submission, data=data, sha256=sha256))


def split_line(spec: ChallengeSpec, result: Result) -> str:
    """Return the line that says which data (and split) ``result``'s score is on."""
    from dataperf.kinds import kind_of

    if result.provenance.data_bundle == "public":
        return f"split: {kind_of(spec).local_meaning(spec)} (public bundle, as a participant scores it)"
    return "split: private bundle (hidden labels), as the server scores it: the server's exact score"


def _print_result(spec: ChallengeSpec, result: Result) -> None:
    """Print the per-task table, the kind's extra tables, the score, its split and provenance."""
    from dataperf.cli.output import table

    better = "higher" if result.direction == "max" else "lower"
    print(f"{result.challenge} v{result.version}: {result.metric} ({better} is better)")
    seeds = result.provenance.seeds
    rows = [[t, result.task_means[t], *[per[s] for s in seeds]] for t, per in result.scores.items()]
    print(table(["task", "mean", *[f"seed {s}" for s in seeds]], rows))
    for extra in result.extra.get("tables", []):
        print(f"\n{extra['title']}")
        print(table(extra["columns"], extra["rows"]))
    ci = f"  95% CI [{result.ci95[0]:.4f}, {result.ci95[1]:.4f}]" if result.ci95 else ""
    print(f"\nscore: {result.mean:.6f}{ci}")
    print(split_line(spec, result))
    if result.provenance.data_bundle == "public":
        print(
            "scored with the public bundle: on the public dev split, not the hidden split the server "
            "scores on (the leaderboard's score can differ)"
        )
    p = result.provenance
    print(
        f"evaluator {p.evaluator_version}, runner {p.runner}, data {p.data_sha256[:12]}, "
        f"submission {p.submission_sha256[:12]}, {p.wall_time_s:.2f}s, counters {result.counters}"
    )
