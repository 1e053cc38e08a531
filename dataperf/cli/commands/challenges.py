"""``dataperf challenges``: list the challenges, or show one."""

from __future__ import annotations

import click

from dataperf.cli.base import command as make_command
from dataperf.cli.base import json_option
from dataperf.cli.output import print_json
from dataperf.errors import InputError


@make_command(
    "challenges",
    "List the challenges, or show one's tasks, budget, model, metric and submission schema",
    help="'dataperf challenges check FILE' checks a spec file and its data files, reporting every problem at once.",
    examples=[
        "dataperf challenges",
        "dataperf challenges vision-selection --json",
        "dataperf challenges vision-selection --rules",
        "dataperf challenges check my-challenge.yaml",
    ],
)
@click.argument("challenge", required=False)
@click.argument("file", required=False)
@click.option(
    "--rules",
    is_flag=True,
    help="Print the challenge's complete scoring rules, generated from its spec, kind and model",
)
@json_option()
def command(challenge: str | None, file: str | None, rules: bool, as_json: bool) -> int:
    """Print the registry of challenges, or one challenge in full."""
    from dataperf.challenges import challenges, get_challenge
    from dataperf.cli.output import table
    from dataperf.kinds import KINDS

    if challenge == "check" and file:
        return _check(file, as_json)
    if file:
        raise InputError(f"unexpected argument {file!r}: only 'dataperf challenges check FILE' takes a file")
    if rules and not challenge:
        raise InputError("--rules needs a challenge id: 'dataperf challenges ID --rules'")
    if challenge:
        spec = get_challenge(challenge)
        if rules:
            from dataperf.rules import render_text

            print(render_text(spec))
            return 0
        kind = KINDS.get(spec.kind)
        doc = spec.model_dump(mode="json")
        doc["submission_columns"] = [{"name": c.name, "dtype": c.dtype, "doc": c.doc} for c in kind.columns]
        overview = kind.overview(spec)
        if overview:
            doc["overview"] = overview
        if as_json:
            print_json(doc)
            return 0
        print(f"{spec.id} v{spec.version} ({spec.kind}): {spec.title}\n\n{spec.description.strip()}\n")
        rows = [
            (t.name, spec.task_budget(t), t.positive if t.positive is None else spec.classes[t.positive])
            for t in spec.tasks
        ]
        print(table(["task", "budget", "positive class"], rows))
        print(f"\nmodel: {spec.model.name} {dict(spec.model.params)}")
        print(f"metric: {spec.metric.name} ({'higher' if spec.metric.direction == 'max' else 'lower'} is better)")
        print(f"seeds: {spec.seeds}")
        print("submission columns: " + ", ".join(f"{c.name} ({c.dtype}: {c.doc})" for c in kind.columns))
        print("formats: .parquet, .csv, .json")
        for extra in overview.get("tables", []):
            print(f"\n{extra['title']}")
            print(table(extra["columns"], extra["rows"]))
        for line in overview.get("notes", []):
            print(line)
        return 0
    reg = challenges()
    specs = [reg.get(n) for n in reg.names()]
    if as_json:
        print_json([{"id": s.id, "version": s.version, "kind": s.kind, "title": s.title} for s in specs])
        return 0
    print(table(["id", "version", "kind", "title"], [(s.id, s.version, s.kind, s.title) for s in specs]))
    return 0


def _check(file: str, as_json: bool) -> int:
    """Check a spec file and its data; print what participants will see (exit 2 if refused)."""
    from pathlib import Path

    from dataperf.cli.output import table
    from dataperf.spec_check import check_challenge_file

    report = check_challenge_file(Path(file))
    if as_json:
        print_json(report.to_dict())
        return 0
    print(f"{report.file}: ok: {report.id} v{report.version} ({report.kind}), data from {report.source}")
    print(f"classes: {', '.join(report.classes)}")
    print(table(["task", "budget", "positive class"], [(t["name"], t["budget"], t["positive"]) for t in report.tasks]))
    rows = [
        (s.name, s.rows, s.features, "(recipe)" if s.public_labels is None else f"{s.public_labels} of {s.rows}")
        for s in report.splits
    ]
    print("\nwhat participants see, per split (features and public labels; the ground truth stays on the server):")
    print(table(["split", "rows", "features", "public labels"], rows))
    return 0
