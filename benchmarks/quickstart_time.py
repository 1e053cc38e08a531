"""Bar: the quickstart (prepare every challenge, every baseline, evaluate, fill the database)
finishes in under 10 minutes on a 2-core machine, starting from an empty data home.

Run: .venv/bin/python -m benchmarks.quickstart_time [--runs 1]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time


def main() -> None:
    """Time ``dataperf quickstart`` in a fresh data home, ``--runs`` times."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=1)
    args = ap.parse_args()
    times = []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="dataperf-qs-") as home:
            env = {**os.environ, "DATAPERF_HOME": home}
            env.pop("DATAPERF_DB", None)
            t0 = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "dataperf.cli", "quickstart"], env=env, check=True, stdout=subprocess.DEVNULL
            )
            times.append(time.perf_counter() - t0)
    print(
        json.dumps(
            {
                "bench": "quickstart_time",
                "runs_s": [round(t, 1) for t in times],
                "median_s": round(statistics.median(times), 1),
                "bar_s": 600,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
