"""How much selection matters on text-selection: each training-set baseline's score over
baseline seeds, against random, for the shipped spec or variants of its noise and budget.

    python benchmarks/text_selection_margin.py [--temperature T] [--fit-share F] [--budget B] [--seeds N]

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


def variant(
    spec: ChallengeSpec, temperature: float | None, fit_share: float | None, budget: int | None
) -> ChallengeSpec:
    """Return ``spec`` with another noise temperature, fit share and budget (unchanged where None)."""
    data = spec.data
    if data.noise is not None:
        change = {k: v for k, v in (("temperature", temperature), ("fit_share", fit_share)) if v is not None}
        data = data.model_copy(update={"noise": data.noise.model_copy(update=change)})
    return spec.model_copy(update={"data": data, "budget": budget if budget is not None else spec.budget})


def main() -> None:
    """Run every baseline over the seeds and print the comparison with random."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--temperature", type=float)
    ap.add_argument("--fit-share", type=float)
    ap.add_argument("--budget", type=int)
    ap.add_argument("--seeds", type=int, default=5)
    args = ap.parse_args()
    spec = variant(get_challenge("text-selection"), args.temperature, args.fit_share, args.budget)
    with tempfile.TemporaryDirectory() as tmp:
        data = PreparedData(spec, prepare(spec, root=Path(tmp) / "data"))
        pool = data.split("pool")
        wrong = pool.public_labels != pool.labels
        per_class = [round(float(wrong[pool.labels == c].mean()), 2) for c in range(len(spec.classes))]
        print(f"pool public labels wrong: {wrong.mean():.3f} (per class {per_class}), budget {spec.budget}")
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
