"""Standings recomputed from cached cells: a 500 x 20 matrix (10,000 cells), median of runs.

The bar: under a second on this 2-core machine (the ratchet recomputes the standings after
every step). Prints JSON: the median, every run, and the ratio to the bar.
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from benchmarks._util import median_time
from leaderboard.arithmetic.standings import compute


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--train", type=int, default=500)
    ap.add_argument("--test", type=int, default=20)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    train = [f"t{i}" for i in range(args.train)]
    test = [f"s{j}" for j in range(args.test)]
    values = rng.random((args.train, args.test))
    cells = [(t, s, float(v)) for t, row in zip(train, values, strict=True) for s, v in zip(test, row, strict=True)]
    median, runs, st = median_time(lambda: compute(train, test, test, cells, k=10), args.runs)
    assert len(st.rank) == args.train
    bar = 1.0
    print(
        json.dumps(
            {
                "cells": len(cells),
                "median_s": round(median, 4),
                "runs_s": [round(r, 4) for r in runs],
                "bar_s": bar,
                "ratio_to_bar": round(median / bar, 4),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
