"""``dataperf prepare``: build a challenge's data files from installed packages."""

from __future__ import annotations

import argparse

from dataperf.cli import arguments, command
from dataperf.cli.output import print_json


def _args(p: argparse.ArgumentParser) -> None:
    p.add_argument("challenges", nargs="*", metavar="CHALLENGE", help="challenge ids (default: all)")
    p.add_argument("--force", action="store_true", help="rebuild even if prepared data exists")
    p.add_argument("--verify", action="store_true", help="re-hash every file against its Croissant record")
    p.add_argument("--json", action="store_true", help="print JSON")


@command(
    "prepare",
    "build challenge data (Parquet + Croissant) deterministically from offline packages",
    "  dataperf prepare vision-selection\n  dataperf prepare --verify\n"
    "  DATAPERF_HOME=/data/dataperf dataperf prepare --force speech-selection",
)
@arguments(_args)
def run(args: argparse.Namespace) -> int:
    """Prepare (or verify) each requested challenge and print where its data lives."""
    from dataperf.challenges import challenges, get_challenge
    from dataperf.cli.output import Progress
    from dataperf.data.prepare import prepare
    from dataperf.data.prepared import PreparedData

    names = args.challenges or challenges().names()
    say = Progress(not args.json)
    out = []
    for name in names:
        spec = get_challenge(name)
        folder = prepare(spec, force=args.force, progress=say)
        data = PreparedData(spec, folder, verify=False)
        if args.verify:
            (folder / ".sha256-cache.json").unlink(missing_ok=True)
            data.verify()
        out.append({"challenge": spec.id, "version": spec.version, "folder": str(folder), "data_sha256": data.sha256})
        if not args.json:
            print(f"{spec.id} v{spec.version}: {folder} (data sha256 {data.sha256[:16]}...)")
    if args.json:
        print_json(out)
    return 0
