"""The cost of a board's significance tiers: a paired bootstrap over the test rows.

A board of ``--board`` submissions (default 1,000) scored on ``--rows`` shared test rows
(default 5,000, the size of a hidden test split) with ``--seeds`` model seeds: each submission's
per-row correctness is stored packed (one bit per seed and row); building the tiers unpacks it,
averages over seeds and runs :data:`leaderboard.boards.tiers.DRAWS` bootstrap draws. Prints
the median of ``--runs`` runs of each phase, as JSON (the bootstrap draws for one number of rows
are kept between builds, so the first run, listed in ``tiers_runs_s``, also draws them).

Run: .venv/bin/python -m benchmarks.bootstrap_cost [--board 1000] [--rows 5000] [--runs 5]
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from benchmarks._util import median_time, peak_rss_mb
from dataperf.hits import pack_hits, unpack_hits
from leaderboard.boards.tiers import DRAWS, tiers


def main() -> None:
    """Print the median cost of unpacking per-row correctness and of the tiers of one board."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--board", type=int, default=1000)
    ap.add_argument("--rows", type=int, default=5000)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    skill = np.sort(rng.uniform(0.5, 0.95, args.board))[::-1]
    packed = [pack_hits(rng.random((args.seeds, args.rows)) < p) for p in skill]

    def per_row() -> np.ndarray:
        return np.stack([unpack_hits(t, args.seeds).mean(axis=0) for t in packed])

    unpack_s, unpack_all, scores = median_time(per_row, args.runs)
    tiers_s, tiers_all, got = median_time(lambda: tiers(scores), args.runs)
    out = {
        "board": args.board,
        "rows": args.rows,
        "seeds": args.seeds,
        "draws": DRAWS,
        "runs": args.runs,
        "packed_bytes_per_submission": len(packed[0]),
        "unpack_median_s": unpack_s,
        "tiers_median_s": tiers_s,
        "total_median_s": unpack_s + tiers_s,
        "unpack_runs_s": unpack_all,
        "tiers_runs_s": tiers_all,
        "tiers_found": max(got.tier) if got.tier else 0,
        "peak_rss_mb": peak_rss_mb(),
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
