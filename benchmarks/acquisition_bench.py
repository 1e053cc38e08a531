"""Bars for text-acquisition: evaluating one purchase plan costs at most 1.5x the floor (the
bare fits and predictions it needs, with the bought rows already in memory), median of several
runs; and the gap between the best and the worst baseline exceeds their 95% intervals.

Run: .venv/bin/python -m benchmarks.acquisition_bench [--runs 5] [--out FILE]
Needs the prepared text-acquisition data (dataperf prepare text-acquisition).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from baselines import for_kind
from dataperf.challenges import get_challenge
from dataperf.evaluator import evaluate, load_data, single_threaded
from dataperf.kinds.acquisition import BUYER, TEST, bought_rows, plan_of
from dataperf.metrics import METRICS
from dataperf.models import build_model
from dataperf.submission import write_submission

CHALLENGE = "text-acquisition"
PLAN = "greedy"
"""The baseline whose plan is timed."""


def main() -> None:
    """Print the baselines' scores and gap, and the evaluation's time against the floor."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--out", type=Path, help="also write the JSON here")
    args = ap.parse_args()
    spec = get_challenge(CHALLENGE)
    data = load_data(spec)
    out: dict[str, Any] = {"challenge": CHALLENGE, "runs": args.runs, "baselines": {}}
    with tempfile.TemporaryDirectory() as tmp:
        paths = {}
        for base in for_kind(spec.kind):
            with single_threaded():
                table = base.build(spec, data, 0)
            paths[base.name] = write_submission(table, Path(tmp) / f"{base.name}.parquet", spec.id)
            r = evaluate(spec, paths[base.name], data=data)
            out["baselines"][base.name] = {
                "score": r.mean,
                "ci95": list(r.ci95) if r.ci95 else None,
                "metric": r.extra["metric"],
                "cost": r.extra["cost"],
                "plan": r.extra["plan"],
            }
        scores = out["baselines"]
        best = max(scores, key=lambda n: scores[n]["score"])
        worst = min(scores, key=lambda n: scores[n]["score"])
        widths = {n: s["ci95"][1] - s["ci95"][0] for n, s in scores.items()}
        gap = scores[best]["score"] - scores[worst]["score"]
        out["gap"] = {
            "best": best,
            "worst": worst,
            "gap": gap,
            "widest_interval": max(widths.values()),
            "intervals_apart": scores[best]["ci95"][0] > scores[worst]["ci95"][1],
            "ok": gap > max(widths[best], widths[worst]) and scores[best]["ci95"][0] > scores[worst]["ci95"][1],
        }

        path = paths[PLAN]
        evaluate(spec, path, data=data)  # warm the sha256 stamp cache and imports, as on a server
        sub_plan = plan_of(spec, pd.read_parquet(path))
        buyer, test = data.split(BUYER), data.split(TEST)
        x_test = np.asarray(test.x)
        rows = {}
        for seed in spec.seeds:
            xb, yb = bought_rows(spec, data, sub_plan, seed)
            rows[seed] = (np.concatenate([np.asarray(buyer.x), xb]), np.concatenate([buyer.public_labels, yb]))
        model = build_model(spec.model.name, dict(spec.model.params))
        metric = METRICS.get(spec.metric.name)

        def floor() -> list[float]:
            with single_threaded():
                return [
                    metric(test.labels, model.fit(x, y, seed).predict(x_test), len(spec.classes))
                    for seed, (x, y) in rows.items()
                ]

        def full() -> float:
            return evaluate(spec, path, data=data).mean

        # interleaved, so a change in the machine's load hits both alike; CPU time beside wall
        # time, since other processes on a shared machine stretch wall time only
        runs: dict[str, dict[str, list[float]]] = {
            "evaluate": {"wall": [], "cpu": []},
            "floor": {"wall": [], "cpu": []},
        }
        for _ in range(args.runs):
            for name, fn in (("floor", floor), ("evaluate", full)):
                c0, t0 = time.process_time(), time.perf_counter()
                fn()
                runs[name]["wall"].append(time.perf_counter() - t0)
                runs[name]["cpu"].append(time.process_time() - c0)
    med = {n: {k: statistics.median(v) for k, v in r.items()} for n, r in runs.items()}
    out["timing"] = {
        "plan": PLAN,
        "rows_bought": int(sum(sub_plan.values())),
        "evaluate_s": med["evaluate"]["wall"],
        "floor_s": med["floor"]["wall"],
        "ratio": med["evaluate"]["wall"] / med["floor"]["wall"],
        "evaluate_cpu_s": med["evaluate"]["cpu"],
        "floor_cpu_s": med["floor"]["cpu"],
        "cpu_ratio": med["evaluate"]["cpu"] / med["floor"]["cpu"],
        "ok": med["evaluate"]["wall"] / med["floor"]["wall"] <= 1.5,
        "runs_s": runs,
    }
    text = json.dumps(out, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
