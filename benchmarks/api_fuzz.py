"""Benchmark: Schemathesis against a live server, all default checks, over 10,000 cases.

Runs the suite's own fuzz test (``tests/e2e/test_api_clients.py::test_schemathesis_finds_no_failure``:
a filled ``dataperf serve`` and a worker on 127.0.0.1, the real challenge and submission ids
mixed into the inputs) with more examples per operation and phase than the bounded run of the
test suite, and prints its JSON summary: examples, cases, failures, errors, operations, seconds.

    python benchmarks/api_fuzz.py [--examples 600] [--seed 20261130]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEST = "tests/e2e/test_api_clients.py::test_schemathesis_finds_no_failure"


def main() -> int:
    """Run the fuzz test with ``--examples`` and print its summary; exit with its status."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--examples", type=int, default=600, help="examples per operation and phase (default: 600)")
    ap.add_argument("--seed", default="20261130", help="the Schemathesis seed (default: 20261130)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="api-fuzz-") as tmp:
        summary = Path(tmp) / "summary.json"
        env = dict(os.environ) | {
            "DATAPERF_FUZZ_EXAMPLES": str(args.examples),
            "DATAPERF_FUZZ_SEED": str(args.seed),
            "DATAPERF_FUZZ_SUMMARY": str(summary),
            "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        }
        done = subprocess.run([sys.executable, "-m", "pytest", TEST, "-q", "-p", "no:cacheprovider"], cwd=ROOT, env=env)
        if not summary.exists():
            print(json.dumps({"error": "the fuzz run wrote no summary", "exit": done.returncode}))
            return done.returncode or 1
        print(json.dumps(json.loads(summary.read_text()) | {"exit": done.returncode}, indent=2))
        return done.returncode


if __name__ == "__main__":
    raise SystemExit(main())
