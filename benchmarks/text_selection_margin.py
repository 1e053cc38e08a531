"""How much selection matters on text-selection: each training-set baseline's score over
baseline seeds, against random, for the shipped spec or variants of its noise and budget.

    python benchmarks/text_selection_margin.py [--temperature T] [--budget B] [--seeds N]

Prints per baseline the mean over baseline seeds and its 95% t-interval half-width, and
whether the best baseline's interval lies above random's.
"""

from __future__ import annotations

import argparse
import math
import tempfile
from pathlib import Path

import numpy as np
from scipy import stats

from baselines import for_kind
from dataperf.challenges import get_challenge
from dataperf.contract import ChallengeSpec
from dataperf.data.prepare import prepare
from dataperf.data.prepared import PreparedData
from dataperf.evaluator import evaluate, single_threaded
from dataperf.submission import write_submission


def variant(spec: ChallengeSpec, temperature: float | None, budget: int | None) -> ChallengeSpec:
    """Return ``spec`` with another noise temperature and budget (unchanged where None)."""
    data = spec.data
    if temperature is not None and data.noise is not None:
        data = data.model_copy(update={"noise": data.noise.model_copy(update={"temperature": temperature})})
    return spec.model_copy(update={"data": data, "budget": budget if budget is not None else spec.budget})


def main() -> None:
    """Run every baseline over the seeds and print the comparison with random."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--temperature", type=float)
    ap.add_argument("--budget", type=int)
    ap.add_argument("--seeds", type=int, default=5)
    args = ap.parse_args()
    spec = variant(get_challenge("text-selection"), args.temperature, args.budget)
    with tempfile.TemporaryDirectory() as tmp:
        data = PreparedData(spec, prepare(spec, root=Path(tmp) / "data"))
        pool = data.split("pool")
        print(f"pool public labels wrong: {(pool.public_labels != pool.labels).mean():.3f}, budget {spec.budget}")
        means: dict[str, tuple[float, float]] = {}
        for base in for_kind(spec.kind):
            got = []
            for seed in range(args.seeds):
                with single_threaded():
                    table = base.build(spec, data, seed)
                path = write_submission(table, Path(tmp) / f"{base.name}-{seed}.parquet", spec.id)
                got.append(evaluate(spec, path, data=data).mean)
            arr = np.asarray(got)
            half = stats.t.ppf(0.975, len(arr) - 1) * arr.std(ddof=1) / math.sqrt(len(arr))
            means[base.name] = (float(arr.mean()), float(half))
            print(f"{base.name:10s} {arr.mean():.4f} ± {half:.4f}  {np.round(arr, 4).tolist()}")
    best = max((n for n in means if n not in ("random", "balanced")), key=lambda n: means[n][0])
    (bm, bh), (rm, rh) = means[best], means["random"]
    print(f"best {best}: {bm:.4f} - random {rm:.4f} = {bm - rm:+.4f}; intervals apart: {bm - bh > rm + rh}")


if __name__ == "__main__":
    main()
