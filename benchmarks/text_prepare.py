"""Time ``dataperf prepare`` of the text-selection challenge: cold (no embedding cache) and
cached (the MiniLM vectors already in the data home's cache), median of 3 runs each.

Run: .venv/bin/python -m benchmarks.text_prepare [--runs 3]

Each run is a fresh ``dataperf prepare --force`` process (imports, reading the corpus,
embedding, noise, Parquet and Croissant), so the times are what a user waits. A cold run
gets an empty data home of its own; cached runs share one whose cache a cold run filled.
Also checks that every run wrote the same data sha256.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHALLENGE = "text-selection"


def _child_cpu() -> float:
    use = resource.getrusage(resource.RUSAGE_CHILDREN)
    return use.ru_utime + use.ru_stime


def run_prepare(home: Path) -> tuple[float, float, str]:
    """Return (wall seconds, CPU seconds, data sha256 prefix) of one ``dataperf prepare --force``
    in ``home`` (CPU time shows the work itself on a machine shared with other jobs)."""
    env = {**os.environ, "DATAPERF_HOME": str(home)}
    cmd = [sys.executable, "-m", "dataperf.cli", "prepare", "--force", CHALLENGE]
    cpu0, t0 = _child_cpu(), time.perf_counter()
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
    took, cpu = time.perf_counter() - t0, _child_cpu() - cpu0
    found = re.search(r"data sha256 ([0-9a-f]+)", out)
    return took, cpu, found.group(1) if found else "?"


def main() -> None:
    """Print the median cold and cached prepare times and their ratio."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    cold, cached, digests = [], [], set()
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.runs):
            took, cpu, digest = run_prepare(Path(tmp) / f"cold{i}")
            cold.append(took)
            digests.add(digest)
            print(f"cold run {i + 1}: {took:.1f} s wall, {cpu:.1f} s CPU", flush=True)
        for i in range(args.runs):
            took, cpu, digest = run_prepare(Path(tmp) / "cold0")
            cached.append(took)
            digests.add(digest)
            print(f"cached run {i + 1}: {took:.1f} s wall, {cpu:.1f} s CPU", flush=True)
    c, w = statistics.median(cold), statistics.median(cached)
    print(f"prepare {CHALLENGE}: cold {c:.1f} s, cached {w:.1f} s (median of {args.runs}); cold/cached {c / w:.1f}x")
    print("same bytes in every run" if len(digests) == 1 else f"DIFFERENT data in runs: {sorted(digests)}")
    if len(digests) != 1:
        sys.exit(1)


if __name__ == "__main__":
    main()
