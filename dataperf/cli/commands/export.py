"""``dataperf export``: write a challenge's public bundle as a folder a participant can be sent."""

from __future__ import annotations

from pathlib import Path

import click

from dataperf.cli.base import command as make_command
from dataperf.cli.base import json_option


@make_command(
    "export",
    "Write a challenge's public bundle and its spec as a folder a participant can be sent",
    help="The bundle holds the features, public labels, examples, the labelled dev split and the "
    "Croissant record; the ground truth and the hidden split are never exported.",
    examples=[
        "dataperf export digits-selection --public -o digits-bundle",
        "DATAPERF_HOME=digits-bundle dataperf --challenges digits-bundle/challenges evaluate digits-selection mine.csv",
    ],
)
@click.argument("challenge")
@click.option("--public", is_flag=True, help="The public bundle (the only one that is exported; required)")
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True, help="Folder to write (created)")
@json_option()
def command(challenge: str, public: bool, output: Path, as_json: bool) -> int:
    """Export the public bundle of one prepared challenge."""
    from dataperf.challenges import get_challenge
    from dataperf.cli.output import print_json
    from dataperf.data.bundles import export_public

    if not public:
        raise click.UsageError("Missing option '--public' (only the public bundle is exported).")
    spec = get_challenge(challenge)
    out = export_public(spec, output)
    files = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    if as_json:
        print_json({"challenge": spec.id, "version": spec.version, "folder": str(out), "files": files})
    else:
        print(f"{spec.id} v{spec.version}: public bundle in {out} ({len(files)} files)")
    return 0
