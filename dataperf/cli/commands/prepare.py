"""``dataperf prepare``: build a challenge's data files from installed packages."""

from __future__ import annotations

import click

from dataperf.cli.base import command as make_command
from dataperf.cli.base import json_option


@make_command(
    "prepare",
    "Build challenge data (Parquet + Croissant) deterministically from offline packages",
    help="Without CHALLENGE, every challenge is prepared. Prepared data is reused unless --force; "
    "the commands that need data prepare it themselves, so this is only needed ahead of time.",
    examples=[
        "dataperf prepare vision-selection",
        "dataperf prepare --verify",
        "DATAPERF_HOME=/data/dataperf dataperf prepare --force speech-selection",
    ],
)
@click.argument("challenges", nargs=-1, metavar="[CHALLENGE]...")
@click.option("--force", is_flag=True, help="Rebuild even if prepared data exists")
@click.option("--verify", is_flag=True, help="Re-hash every file against its Croissant record")
@json_option()
def command(challenges: tuple[str, ...], force: bool, verify: bool, as_json: bool) -> int:
    """Prepare (or verify) each requested challenge and print where its data lives."""
    from dataperf.challenges import challenges as registry
    from dataperf.challenges import get_challenge
    from dataperf.cli.output import print_json, progress
    from dataperf.data.prepare import prepare
    from dataperf.data.prepared import PreparedData

    names = list(challenges) or registry().names()
    out = []
    with progress(not as_json) as say:
        say.steps(len(names))
        for name in names:
            spec = get_challenge(name)
            folder = prepare(spec, force=force, progress=say)
            data = PreparedData(spec, folder, verify=False)
            if verify:
                (folder / ".sha256-cache.json").unlink(missing_ok=True)
                data.verify()
            out.append(
                {"challenge": spec.id, "version": spec.version, "folder": str(folder), "data_sha256": data.sha256}
            )
            say.advance()
            if not as_json:
                print(f"{spec.id} v{spec.version}: {folder} (data sha256 {data.sha256[:16]}...)")
    if as_json:
        print_json(out)
    return 0
