"""Time and peak memory of reading the worst refused upload of each format at the default size
limit (:func:`benchmarks.attack.worst_uploads`), the way the server reads an upload
(:func:`dataperf.submission.read_submission`), each case in a fresh process.

Reports, per case: file size, the refusal's first line, the median wall time of the read and
the process's peak resident memory above what it held once its imports were done (median of
``--runs``). ``--repo`` reads with another checkout's code (to compare two versions).

    .venv/bin/python -m benchmarks.upload_memory [--runs 3] [--repo /path/to/checkout]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.attack import worst_uploads

REPO = Path(__file__).resolve().parents[1]
READ = """
import json, resource, sys, time
from pathlib import Path
from dataperf.contract import Column
from dataperf.errors import SubmissionError
from dataperf.submission import read_submission
cols = (Column("task", "str", "task"), Column("id", "int", "row id"), Column("label", "int", "label"))
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
try:
    read_submission(Path(sys.argv[1]), cols, "tiny-selection")
    first = "accepted"
except SubmissionError as e:
    first = str(e).splitlines()[1].strip() if len(str(e).splitlines()) > 1 else str(e)
wall = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"wall_s": wall, "peak_growth_mb": (peak - base) / 1024, "peak_mb": peak / 1024, "answer": first}))
"""


def measure(path: Path, repo: Path) -> dict[str, object]:
    """Read ``path`` once in a fresh process with ``repo``'s code; return its report."""
    env = dict(os.environ) | {"PYTHONPATH": str(repo)}
    out = subprocess.run([sys.executable, "-c", READ, str(path)], env=env, check=True, capture_output=True, text=True)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    """Measure every case and print the JSON report."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3, help="reads of each file (median)")
    ap.add_argument("--repo", type=Path, default=REPO, help="checkout whose reader is measured")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="dataperf-upload-memory-"))
    try:
        report = {}
        for name, path in worst_uploads(tmp).items():
            runs = [measure(path, args.repo) for _ in range(args.runs)]
            report[name] = {
                "bytes": path.stat().st_size,
                "answer": runs[-1]["answer"],
                "median_s": round(statistics.median(float(r["wall_s"]) for r in runs), 3),  # type: ignore[arg-type]
                "peak_growth_mb": round(statistics.median(float(r["peak_growth_mb"]) for r in runs), 1),  # type: ignore[arg-type]
                "peak_mb": round(max(float(r["peak_mb"]) for r in runs), 1),  # type: ignore[arg-type]
            }
        print(json.dumps({"repo": str(args.repo), "runs": args.runs, "cases": report}, indent=2))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
