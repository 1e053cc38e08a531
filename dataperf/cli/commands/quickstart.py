"""``dataperf quickstart``: the main job, end to end on the embedded defaults."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from dataperf.cli.base import command as make_command
from dataperf.cli.base import json_option

Say = Callable[[str], None]

LOCAL = {
    "public": "local score (what 'dataperf evaluate' gives, with the public bundle)",
    "private": "local score (with the private bundle: the public one cannot score this challenge; "
    "'dataperf evaluate --hidden' gives it)",
}
RATCHET = "the server's score, in the data ratchet"
HIDDEN = "the server's score, with the private bundle (hidden labels)"


def baseline_leaderboard(spec_id: str, say: Any, workdir: Path) -> list[dict[str, Any]]:
    """Return one row per baseline of ``spec_id``: built, validated and evaluated locally as a
    participant would (the public bundle; the split is the kind's :meth:`local_meaning`)."""
    from baselines import for_kind
    from dataperf.challenges import get_challenge
    from dataperf.cli.data import prepared
    from dataperf.errors import DataError
    from dataperf.evaluator import evaluate, single_threaded
    from dataperf.submission import write_submission

    spec = get_challenge(spec_id)
    data = prepared(spec, say)
    public = prepared(spec, say, public=True)
    scorer = public  # as a participant scores; the private bundle where the public one cannot score
    rows: list[dict[str, Any]] = []
    for base in for_kind(spec.kind):
        say(f"{spec.id}: baseline {base.name}: building")
        with single_threaded():
            table = base.build(spec, data, 0)
        path = write_submission(table, workdir / f"{spec.id}-{base.name}.parquet", spec.id)
        say(f"{spec.id}: baseline {base.name}: evaluating")
        try:
            result = evaluate(spec, path, data=scorer)
        except DataError:  # its score needs labels only the server holds
            if scorer is data:
                raise
            scorer = data
            result = evaluate(spec, path, data=scorer)
        rows.append(
            {
                "baseline": base.name,
                "score": result.mean,
                "bundle": scorer.bundle,
                "ci95": result.ci95,
                "tasks": result.task_means,
                "path": str(path),
                "wall_s": result.provenance.wall_time_s,
            }
        )
        if hasattr(say, "advance"):
            say.advance()
    rows.sort(key=lambda r: float(r["score"]), reverse=spec.metric.direction == "max")
    return rows


@make_command(
    "quickstart",
    "Prepare every challenge, run every baseline, evaluate, fill the leaderboard, print tables",
    help="Each table names what its scores are: the local score a participant gets from "
    "'dataperf evaluate' (the public bundle's dev split) and, when the leaderboard database is "
    "filled, the leaderboard's score (over the ratchet's test suite for a ratchet challenge).",
    examples=[
        "dataperf quickstart",
        "dataperf quickstart vision-selection --json",
        "dataperf quickstart --serve --port 8000",
    ],
)
@click.argument("challenges", nargs=-1, metavar="[CHALLENGE]...")
@json_option("Print the leaderboards as JSON")
@click.option("--no-db", is_flag=True, help="Do not fill the embedded leaderboard database")
@click.option("--serve", "then_serve", is_flag=True, help="Then serve the leaderboard on 127.0.0.1")
@click.option("--port", type=int, default=8000, show_default=True, help="Port for --serve")
def command(challenges: tuple[str, ...], as_json: bool, no_db: bool, then_serve: bool, port: int) -> int:
    """Run the main job and print, per challenge, the baselines' local and leaderboard scores."""
    from baselines import for_kind
    from dataperf.challenges import challenges as registry
    from dataperf.challenges import get_challenge
    from dataperf.cli.output import print_json, progress
    from dataperf.data.prepare import prepare
    from dataperf.paths import home

    names = list(challenges) or registry().names()
    boards: dict[str, list[dict[str, Any]]] = {}
    filled: dict[str, list[dict[str, Any]]] = {}
    with progress() as say:
        say.steps(len(names))
        for name in names:
            prepare(get_challenge(name), progress=say)
            say.advance()
        say.steps(sum(len(for_kind(get_challenge(n).kind)) for n in names))
        with tempfile.TemporaryDirectory(prefix="dataperf-quickstart-") as tmp:
            for name in names:
                boards[name] = baseline_leaderboard(name, say, Path(tmp))
        if not no_db:
            for res in fill_database(names, say):
                filled.setdefault(res["challenge"], []).append(res)
    if as_json:
        print_json(boards)
    else:
        for name, rows in boards.items():
            _print_challenge(get_challenge(name), rows, filled.get(name, []))
        print(f"\ndata and database under {home()}")
    if then_serve:
        serve(port, say)
    return 0


def _print_challenge(spec: Any, rows: list[dict[str, Any]], filled: list[dict[str, Any]]) -> None:
    """Print one challenge's tables, each saying which split (or suite) its scores are on."""
    from dataperf.cli.output import table
    from dataperf.kinds import kind_of

    better = "higher" if spec.metric.direction == "max" else "lower"
    print(f"\n{spec.id} v{spec.version} — {spec.metric.name}, {better} is better")
    print(f"{LOCAL[rows[0]['bundle'] if rows else 'public']}: {kind_of(spec).local_meaning(spec)}")
    tasks = [t.name for t in spec.tasks]
    body = [
        [i + 1, r["baseline"], r["score"], _ci(r["ci95"]), *[r["tasks"][t] for t in tasks]] for i, r in enumerate(rows)
    ]
    print(table(["rank", "baseline", "local score", "95% CI", *tasks], body))
    if filled:
        ratchet = any("ratchet" in (r.get("result") or {}) for r in filled)
        meaning = kind_of(spec).board(spec, ratchet).meaning
        where = RATCHET if ratchet else HIDDEN
        print(f"\nleaderboard ({where}): {meaning}; see 'dataperf leaderboard {spec.id}'")
        board = [[str(r.get("team") or "").removeprefix("baseline/"), r["status"], r["message"]] for r in filled]
        print(table(["baseline", "status", "leaderboard, as it was submitted"], board))


def _ci(ci: tuple[float, float] | None) -> str:
    return f"[{ci[0]:.4f}, {ci[1]:.4f}]" if ci else "-"


def fill_database(names: list[str], say: Say) -> list[dict[str, Any]]:
    """Fill the embedded leaderboard database with every baseline (training and test sets);
    return one summary per submission (none when the server extra is missing)."""
    try:
        from leaderboard.jobs.service import fill_from_baselines
        from leaderboard.storage.db import session_factory, upgrade
    except ImportError:
        say("leaderboard database not available in this install; skipped")
        return []
    upgrade(None)
    return fill_from_baselines(session_factory(None), names, progress=lambda m: say(f"leaderboard: {m}"))


def serve(port: int, say: Say) -> None:
    """Serve the leaderboard on 127.0.0.1 until interrupted."""
    from leaderboard.http.app import serve as serve_app

    say(f"serving the leaderboard on http://127.0.0.1:{port}/ (Ctrl-C to stop)")
    serve_app("127.0.0.1", port)
