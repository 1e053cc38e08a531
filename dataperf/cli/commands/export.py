"""``dataperf export``: write a challenge's public bundle as a folder a participant can be sent."""

from __future__ import annotations

import argparse
from pathlib import Path

from dataperf.cli import arguments, command
from dataperf.cli.output import print_json


def _args(p: argparse.ArgumentParser) -> None:
    p.add_argument("challenge", help="challenge id")
    p.add_argument(
        "--public", action="store_true", required=True, help="the public bundle (the only one that is exported)"
    )
    p.add_argument("-o", "--output", type=Path, required=True, help="folder to write (created)")
    p.add_argument("--json", action="store_true", help="print JSON")


@command(
    "export",
    "write a challenge's public bundle (features, public labels, examples, dev split, Croissant) "
    "and its spec as a folder; the ground truth and the hidden split are never exported",
    "  dataperf export digits-selection --public -o digits-bundle\n"
    "  DATAPERF_HOME=digits-bundle dataperf --challenges digits-bundle/challenges evaluate digits-selection mine.csv",
)
@arguments(_args)
def run(args: argparse.Namespace) -> int:
    """Export the public bundle of one prepared challenge."""
    from dataperf.challenges import get_challenge
    from dataperf.data.bundles import export_public

    spec = get_challenge(args.challenge)
    out = export_public(spec, args.output)
    files = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    if args.json:
        print_json({"challenge": spec.id, "version": spec.version, "folder": str(out), "files": files})
    else:
        print(f"{spec.id} v{spec.version}: public bundle in {out} ({len(files)} files)")
    return 0
