"""``dataperf diff``: what changed between two submissions to one challenge, and what it did to
the score (the kind says how its submissions differ; :mod:`dataperf.diffing` does the work)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import click

from dataperf.cli.base import command as make_command
from dataperf.cli.base import json_option, server_option


@make_command(
    "diff",
    "Compare two submissions to a challenge: what changed, and the score change over the seeds",
    help="A and B are submission files, or ids of your team's submissions on the server (fetched "
    "with your login). The kind says how to compare: rows added, removed and relabelled per task "
    "with the class balance before and after for a training or test set, rank changes for a "
    "cleaning order, counts per seller for a purchase plan, rows per stage for a continual "
    "challenge. Both are then scored here with the same seeds, and the change B - A is shown per "
    "task with its paired 95% interval over the seeds. Scores are on the public dev split, as "
    "'dataperf evaluate' gives them (--hidden: with the private bundle, as the server scores).",
    examples=[
        "dataperf diff vision-selection random.parquet kcenter.parquet",
        "dataperf diff vision-cleaning ranking-v1.csv ranking-v2.csv --json",
        "dataperf diff vision-selection 41 42 --server http://127.0.0.1:8000",
        "dataperf diff digits-selection mine.csv 42 --no-score",
    ],
)
@click.argument("challenge")
@click.argument("a", metavar="A")
@click.argument("b", metavar="B")
@click.option("--no-score", is_flag=True, help="Only compare the files; do not score them")
@click.option("--hidden", is_flag=True, help="Score with the private bundle (hidden labels), as the server does")
@server_option
@json_option("Print the comparison as JSON")
def command(challenge: str, a: str, b: str, no_score: bool, hidden: bool, server: str | None, as_json: bool) -> int:
    """Compare A and B and print the kind's tables and the paired score change."""
    import tempfile

    from dataperf.challenges import get_challenge
    from dataperf.cli.data import has_private_bundle, prepared, public_or_hint
    from dataperf.cli.output import print_json, progress
    from dataperf.diffing import diff_submissions
    from dataperf.errors import InputError

    spec = get_challenge(challenge)
    with tempfile.TemporaryDirectory(prefix="dataperf-diff-") as tmp, progress(not as_json) as say:
        sides = _fetch([a, b], server, Path(tmp))
        data = prepared(spec, say, public=not hidden)
        if hidden and not has_private_bundle(spec):
            raise InputError(
                f"{spec.id}: --hidden needs the private bundle, and this data home holds only the public one"
            )
        if not no_score:
            say(f"{spec.id}: scoring A and B with seeds {spec.seeds}")
        doc = public_or_hint(spec, lambda: diff_submissions(spec, sides[0], sides[1], data=data, score=not no_score))
    if as_json:
        print_json(doc)
    else:
        print_diff(doc)
    return 0


def _fetch(refs: list[str], server: str | None, folder: Path) -> list[Any]:
    """Return each reference as a :class:`~dataperf.diffing.Side`: an existing file as it is, a
    number as that submission's file downloaded from the server."""
    from dataperf.diffing import Side
    from dataperf.errors import InputError

    out: list[Any] = []
    client = None
    try:
        for ref in refs:
            path = Path(ref)
            if path.is_file():
                out.append(Side(path, path.name))
            elif re.fullmatch(r"[0-9]+", ref):
                if client is None:
                    from dataperf.client import Client, load_login

                    client = Client(load_login(server))
                out.append(Side(client.download(int(ref), folder), f"submission {ref}"))
            else:
                raise InputError(f"{ref!r} is neither a file nor a submission id (a number)")
    finally:
        if client is not None:
            client.close()
    return out


def print_diff(doc: dict[str, Any]) -> None:
    """Print a :func:`~dataperf.diffing.diff_submissions` document as text and tables."""
    from dataperf.cli.output import table

    a, b = doc["a"], doc["b"]
    print(f"{doc['challenge']} v{doc['version']} ({doc['kind']})")
    print(f"A: {a['name']} ({a['rows']} rows, sha256 {a['sha256'][:12]})")
    print(f"B: {b['name']} ({b['rows']} rows, sha256 {b['sha256'][:12]})")
    changes = doc["changes"]
    summary = ", ".join(f"{k.replace('_', ' ')} {_num(v)}" for k, v in changes.get("summary", {}).items())
    if summary:
        print(f"changes: {summary}")
    for t in changes.get("tables", []):
        print(f"\n{t['title']}")
        print(table(t["columns"], t["rows"]) if t["rows"] else "(none)")
    scores = doc.get("scores")
    if not scores:
        return
    better = "higher" if scores["direction"] == "max" else "lower"
    where = "public dev split" if doc["data_bundle"] == "public" else "private bundle (the server's data)"
    print(f"\nscore change B - A: {scores['metric']} ({better} is better), on the {where}, seeds {scores['seeds']}")
    rows = [[t, e["a"], e["b"], e["delta"], _ci(e["ci95"]), _verdict(e["better"])] for t, e in scores["tasks"].items()]
    o = scores["overall"]
    rows.append(["(mean over tasks)", o["a"], o["b"], o["delta"], _ci(o["ci95"]), _verdict(o["better"])])
    print(table(["task", "A", "B", "B - A", "paired 95% CI", "B is"], rows))


def _ci(ci: list[float] | tuple[float, float] | None) -> str:
    return f"[{ci[0]:+.4f}, {ci[1]:+.4f}]" if ci else "-"


def _verdict(better: bool | None) -> str:
    return "not distinguishable" if better is None else "better" if better else "worse"


def _num(v: object) -> str:
    return f"{v:.4f}" if isinstance(v, float) else str(v)
