"""``dataperf evaluate``: score a submission with the server's exact evaluator."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from dataperf.cli import arguments, command

if TYPE_CHECKING:
    from dataperf.contract import Result


def _args(p: argparse.ArgumentParser) -> None:
    p.add_argument("challenge", help="challenge id")
    p.add_argument("submission", type=Path, help="submission file (.parquet, .csv or .json)")
    p.add_argument("--runner", default="local", help="where to run: local (default), docker or dask")
    p.add_argument("--json", action="store_true", help="print the full result as JSON")
    p.add_argument("--output", type=Path, help="also write the result JSON here (on rejection: error.json beside it)")
    p.add_argument("--sha256", help="refuse the file unless its sha256 is this (it changed since it was recorded)")
    p.add_argument(
        "--public",
        action="store_true",
        help="score with the public bundle only, as a participant who downloaded it (its dev split; "
        "without the flag the private bundle is used where the data home holds it, e.g. a built-in "
        "challenge prepared from its public source, which gives the server's exact local score)",
    )


@command(
    "evaluate",
    "validate and score a submission: per-task and per-seed scores, mean, 95% CI, provenance",
    "  dataperf evaluate vision-selection my-selection.parquet\n"
    "  dataperf evaluate speech-selection sel.csv --json > result.json\n"
    "  dataperf evaluate vision-cleaning ranking.parquet --runner docker",
)
@arguments(_args)
def run(args: argparse.Namespace) -> int:
    """Evaluate with the chosen runner and print the result."""
    from dataperf.cli.output import table, write_error
    from dataperf.errors import DataPerfError
    from dataperf.runners import RUNNERS

    runner = RUNNERS.get(args.runner)()
    try:
        if args.public:
            result = _evaluate_public(args)
        else:
            result = runner.evaluate(args.challenge, args.submission, sha256=args.sha256)
    except DataPerfError as e:
        if args.output:
            write_error(args.output, e)
        raise
    text = result.to_json()
    if args.output:
        args.output.write_text(text + "\n")
    if args.json:
        print(text)
        return 0
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
    p = result.provenance
    if p.data_bundle == "public":
        print(
            "scored with the public bundle: on the public dev split, not the hidden split the server "
            "scores on (the leaderboard's score can differ)"
        )
    print(
        f"evaluator {p.evaluator_version}, runner {p.runner}, data {p.data_sha256[:12]}, "
        f"submission {p.submission_sha256[:12]}, {p.wall_time_s:.2f}s, counters {result.counters}"
    )
    return 0


def _evaluate_public(args: argparse.Namespace) -> Result:
    """Return the local result of scoring with the public bundle."""
    from dataperf.challenges import get_challenge
    from dataperf.errors import InputError
    from dataperf.evaluator import evaluate, load_data

    if args.runner != "local":
        raise InputError(f"--public scores in this process: use --runner local, not {args.runner!r}")
    spec = get_challenge(args.challenge)
    data = load_data(spec, public=True)
    if data.bundle != "public":
        raise InputError(f"{spec.id}: no public bundle in the data home (run 'dataperf prepare {spec.id}')")
    return evaluate(spec, args.submission, data=data, sha256=args.sha256)
