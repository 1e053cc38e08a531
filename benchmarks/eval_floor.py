"""Bar: evaluating a 1,000-row-per-task vision-selection submission costs at most 1.5x the bare
fixed-model fits + predictions on the same rows already in memory (the floor).

Run: .venv/bin/python -m benchmarks.eval_floor [--runs 5]
Needs the prepared vision-selection data (dataperf prepare vision-selection).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np

from baselines import get_baseline
from benchmarks._util import median_time
from dataperf.challenges import get_challenge
from dataperf.evaluator import evaluate, load_data, single_threaded
from dataperf.metrics import METRICS
from dataperf.models import build_model
from dataperf.submission import write_submission


def main() -> None:
    """Print the median evaluation time, the median floor time and their ratio."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    # measured at the reference's shape: 1,000 rows per task (vision-selection's own budget is smaller)
    spec = get_challenge("vision-selection").model_copy(update={"budget": 1000})
    data = load_data(spec)
    table = get_baseline(spec.kind, "balanced").build(spec, data, 0)
    assert all(n == 1000 for n in table["task"].value_counts()), "expects full 1,000-row budgets"
    with tempfile.TemporaryDirectory() as tmp:
        path = write_submission(table, Path(tmp) / "sub.parquet", spec.id)
        evaluate(spec, path)  # warm the sha256 stamp cache and imports, as on a server

        pool, test = data.split("pool"), data.split("test")
        x_test = np.asarray(test.x)
        model = build_model(spec.model.name, dict(spec.model.params))
        metric = METRICS.get(spec.metric.name)
        rows = {t.name: table[table["task"] == t.name] for t in spec.tasks}
        xs = {n: pool.rows(r["id"].to_numpy()) for n, r in rows.items()}
        ys = {n: r["label"].to_numpy() for n, r in rows.items()}

        def floor() -> list[float]:
            out = []
            with single_threaded():
                for t in spec.tasks:
                    truth = (test.labels == t.positive).astype(np.int64)
                    for seed in spec.seeds:
                        out.append(metric(truth, model.fit(xs[t.name], ys[t.name], seed).predict(x_test), 2))
            return out

        f_med, f_runs, floor_scores = median_time(floor, args.runs)
        e_med, e_runs, result = median_time(lambda: evaluate(spec, path), args.runs)
    same = [result.scores[t.name][s] for t in spec.tasks for s in spec.seeds] == floor_scores
    print(
        json.dumps(
            {
                "bench": "eval_floor",
                "runs": args.runs,
                "floor_median_s": round(f_med, 4),
                "evaluate_median_s": round(e_med, 4),
                "ratio": round(e_med / f_med, 3),
                "bar": 1.5,
                "floor_runs_s": [round(t, 4) for t in f_runs],
                "evaluate_runs_s": [round(t, 4) for t in e_runs],
                "same_scores_as_floor": same,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
