"""``dataperf challenges``: list the challenges, or show one."""

from __future__ import annotations

import argparse

from dataperf.cli import arguments, command
from dataperf.cli.output import print_json
from dataperf.errors import InputError


def _args(p: argparse.ArgumentParser) -> None:
    p.add_argument("challenge", nargs="?", help="show this challenge in full (or 'check': check FILE)")
    p.add_argument("file", nargs="?", help="with 'check': the spec file (YAML) to check, with its data files")
    p.add_argument("--json", action="store_true", help="print JSON")


@command(
    "challenges",
    "list the challenges, or show one's tasks, budget, model, metric and submission schema",
    "  dataperf challenges\n  dataperf challenges vision-selection --json\n"
    "  dataperf challenges check my-challenge.yaml   # the spec and its data files, every problem at once",
)
@arguments(_args)
def run(args: argparse.Namespace) -> int:
    """Print the registry of challenges, or one challenge in full."""
    from dataperf.challenges import challenges, get_challenge
    from dataperf.cli.output import table
    from dataperf.kinds import KINDS

    if args.challenge == "check" and args.file:
        return _check(args)
    if args.file:
        raise InputError(f"unexpected argument {args.file!r}: only 'dataperf challenges check FILE' takes a file")
    if args.challenge:
        spec = get_challenge(args.challenge)
        kind = KINDS.get(spec.kind)
        doc = spec.model_dump(mode="json")
        doc["submission_columns"] = [{"name": c.name, "dtype": c.dtype, "doc": c.doc} for c in kind.columns]
        overview = kind.overview(spec)
        if overview:
            doc["overview"] = overview
        if args.json:
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
    if args.json:
        print_json([{"id": s.id, "version": s.version, "kind": s.kind, "title": s.title} for s in specs])
        return 0
    print(table(["id", "version", "kind", "title"], [(s.id, s.version, s.kind, s.title) for s in specs]))
    return 0


def _check(args: argparse.Namespace) -> int:
    """Check a spec file and its data; print what participants will see (exit 2 if refused)."""
    from pathlib import Path

    from dataperf.cli.output import table
    from dataperf.spec_check import check_challenge_file

    report = check_challenge_file(Path(args.file))
    if args.json:
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
