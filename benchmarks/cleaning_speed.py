"""Bar: on every shipped cleaning challenge, stride-1 scores identical to the reference
procedure (retrain from scratch after every fix, all fixes), in at most 1/5 of its time.

Run: .venv/bin/python -m benchmarks.cleaning_speed [--runs 3]
Needs the prepared cleaning data (dataperf prepare vision-cleaning).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np

from baselines import for_kind
from benchmarks._util import median_time
from benchmarks.cleaning_reference import reference_fraction
from dataperf.challenges import challenges
from dataperf.evaluator import evaluate, load_data, single_threaded
from dataperf.kinds.cleaning import options_of
from dataperf.models import build_model
from dataperf.submission import write_submission


def main() -> None:
    """Print, per cleaning challenge and baseline, both scores, fits and median times."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    report = []
    reg = challenges()
    for name in reg.names():
        spec = reg.get(name)
        if spec.kind != "cleaning":
            continue
        spec = spec.model_copy(update={"options": options_of(spec).model_copy(update={"stride": 1})})
        data = load_data(spec)
        train, test = data.split("train"), data.split("test")
        model = build_model(spec.model.name, dict(spec.model.params))
        x, x_test = np.asarray(train.x), np.asarray(test.x)
        target = options_of(spec).target
        for base in for_kind("cleaning"):
            with single_threaded():
                table = base.build(spec, data, 0)
            with tempfile.TemporaryDirectory() as tmp:
                path = write_submission(table, Path(tmp) / "r.parquet", spec.id)
                ours_s, _, result = median_time(lambda p=path: evaluate(spec, p, data=data), args.runs)
            order = train.positions(table.sort_values("rank")["id"].to_numpy())

            def reference(order: np.ndarray = order) -> list[tuple[float, int]]:
                with single_threaded():
                    return [
                        reference_fraction(
                            model,
                            x,
                            train.public_labels,
                            train.labels,
                            order,
                            x_test,
                            test.labels,
                            seed=s,
                            stride=1,
                            target=target,
                        )
                        for s in spec.seeds
                    ]

            ref_s, _, ref = median_time(reference, args.runs)
            ours = [result.scores[spec.tasks[0].name][s] for s in spec.seeds]
            report.append(
                {
                    "challenge": name,
                    "baseline": base.name,
                    "score": ours,
                    "reference_score": [r[0] for r in ref],
                    "identical": ours == [r[0] for r in ref],
                    "fits": result.counters["fits"],
                    "reference_fits": sum(r[1] for r in ref),
                    "median_s": round(ours_s, 3),
                    "reference_median_s": round(ref_s, 3),
                    "time_ratio": round(ours_s / ref_s, 4),
                }
            )
            print(json.dumps(report[-1]), flush=True)
    print(
        json.dumps(
            {
                "bench": "cleaning_speed",
                "runs": args.runs,
                "bar_time_ratio_at_most": 0.2,
                "worst_time_ratio": max(r["time_ratio"] for r in report),
                "all_identical": all(r["identical"] for r in report),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
