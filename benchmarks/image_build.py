"""Benchmark: cold versus warm (cached) build time of the evaluator images.

Cold: ``docker/build.sh --no-cache`` (every image layer rebuilt; the wheel cache and, unless
``--base`` is given, the base image are kept). Warm: ``docker/build.sh`` again with nothing
changed. With ``--base`` the base image is also rebuilt from the Debian mirror (FORCE=1).
Prints one JSON object with the wall times in seconds and the image sizes.

    python benchmarks/image_build.py [--gpu] [--base] [--warm-runs 2]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def build(*args: str, env: dict[str, str] | None = None) -> float:
    """Run docker/build.sh with ``args`` and return its wall time in seconds (fail loudly)."""
    t0 = time.perf_counter()
    proc = subprocess.run(
        [str(REPO / "docker" / "build.sh"), *args],
        cwd=REPO,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"docker/build.sh {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return wall


def image_size(tag: str) -> int:
    """Return the size in bytes of the local image ``tag``."""
    out = subprocess.run(
        ["docker", "image", "inspect", "-f", "{{.Size}}", tag], capture_output=True, text=True, check=True
    )
    return int(out.stdout.strip())


def main() -> None:
    """Measure and print cold and warm build times."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gpu", action="store_true", help="also build the GPU image")
    ap.add_argument("--base", action="store_true", help="also rebuild the base image in the cold run")
    ap.add_argument("--warm-runs", type=int, default=2, help="warm builds to time (default 2)")
    args = ap.parse_args()
    flags = ["--gpu"] if args.gpu else []
    cold = build(*flags, "--no-cache", env={"FORCE": "1"} if args.base else None)
    warm = [build(*flags) for _ in range(args.warm_runs)]
    sys.path.insert(0, str(REPO))
    from dataperf.version import EVALUATOR_VERSION

    kinds = ["cpu", "gpu"] if args.gpu else ["cpu"]
    report = {
        "cold_s": round(cold, 1),
        "cold_includes_base": args.base,
        "warm_s": [round(w, 1) for w in warm],
        "warm_median_s": round(sorted(warm)[len(warm) // 2], 1),
        "images_mb": {k: round(image_size(f"dataperf/evaluator-{k}:{EVALUATOR_VERSION}") / 1e6) for k in kinds},
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
