"""``dataperf quickstart``: the main job, end to end on the embedded defaults."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

from dataperf.cli import arguments, command
from dataperf.cli.output import print_json


def _args(p: argparse.ArgumentParser) -> None:
    p.add_argument("challenges", nargs="*", metavar="CHALLENGE", help="challenge ids (default: all)")
    p.add_argument("--json", action="store_true", help="print the leaderboards as JSON")
    p.add_argument("--no-db", action="store_true", help="do not fill the embedded leaderboard database")
    p.add_argument("--serve", action="store_true", help="then serve the leaderboard on 127.0.0.1")
    p.add_argument("--port", type=int, default=8000, help="port for --serve (default 8000)")


def baseline_leaderboard(spec_id: str, say: Any, workdir: Path) -> list[dict[str, Any]]:
    """Return one row per baseline of ``spec_id``: built, validated and evaluated locally."""
    from baselines import for_kind
    from dataperf.challenges import get_challenge
    from dataperf.evaluator import evaluate, load_data, single_threaded
    from dataperf.submission import write_submission

    spec = get_challenge(spec_id)
    data = load_data(spec)
    rows: list[dict[str, Any]] = []
    for base in for_kind(spec.kind):
        say(f"{spec.id}: baseline {base.name}: building")
        with single_threaded():
            table = base.build(spec, data, 0)
        path = write_submission(table, workdir / f"{spec.id}-{base.name}.parquet", spec.id)
        say(f"{spec.id}: baseline {base.name}: evaluating")
        result = evaluate(spec, path, data=data)
        rows.append(
            {
                "baseline": base.name,
                "score": result.mean,
                "ci95": result.ci95,
                "tasks": result.task_means,
                "path": str(path),
                "wall_s": result.provenance.wall_time_s,
            }
        )
    rows.sort(key=lambda r: float(r["score"]), reverse=spec.metric.direction == "max")
    return rows


@command(
    "quickstart",
    "prepare every challenge, run every baseline, evaluate, fill the leaderboard, print tables",
    "  dataperf quickstart\n  dataperf quickstart vision-selection --json\n  dataperf quickstart --serve --port 8000",
)
@arguments(_args)
def run(args: argparse.Namespace) -> int:
    """Run the main job and print one leaderboard table per challenge."""
    from dataperf.challenges import challenges, get_challenge
    from dataperf.cli.output import Progress, table
    from dataperf.data.prepare import prepare
    from dataperf.kinds import kind_of
    from dataperf.paths import home

    say = Progress(True)
    names = args.challenges or challenges().names()
    boards = {}
    for name in names:
        prepare(get_challenge(name), progress=say)
    with tempfile.TemporaryDirectory(prefix="dataperf-quickstart-") as tmp:
        for name in names:
            boards[name] = baseline_leaderboard(name, say, Path(tmp))
    if not args.no_db:
        fill_database(names, say)
    if args.json:
        print_json(boards)
    else:
        for name, rows in boards.items():
            spec = get_challenge(name)
            better = "higher" if spec.metric.direction == "max" else "lower"
            print(f"\n{spec.id} v{spec.version} — {spec.metric.name}, {better} is better")
            print(f"score: {kind_of(spec).local_meaning(spec)}")
            tasks = [t.name for t in spec.tasks]
            body = [
                [i + 1, r["baseline"], r["score"], _ci(r["ci95"]), *[r["tasks"][t] for t in tasks]]
                for i, r in enumerate(rows)
            ]
            print(table(["rank", "baseline", "score", "95% CI", *tasks], body))
        print(f"\ndata and database under {home()}")
    if args.serve:
        serve(args.port, say)
    return 0


def _ci(ci: tuple[float, float] | None) -> str:
    return f"[{ci[0]:.4f}, {ci[1]:.4f}]" if ci else "-"


def fill_database(names: list[str], say: Any) -> None:
    """Fill the embedded leaderboard database with every baseline (training and test sets)."""
    try:
        from leaderboard.jobs.service import fill_from_baselines
        from leaderboard.storage.db import session_factory, upgrade
    except ImportError:
        say("leaderboard database not available in this install; skipped")
        return
    upgrade(None)
    fill_from_baselines(session_factory(None), names, progress=say)


def serve(port: int, say: Any) -> None:
    """Serve the leaderboard on 127.0.0.1 until interrupted."""
    from leaderboard.http.app import serve as serve_app

    say(f"serving the leaderboard on http://127.0.0.1:{port}/ (Ctrl-C to stop)")
    serve_app("127.0.0.1", port)
