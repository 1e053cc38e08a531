"""The continual kind: one evaluation against its floor, time against the number of stages,
and the baselines' ACC and BWT with their 95% intervals on speech-continual.

- floor: the bare schedule of one evaluation (every stage's training, the joint references,
  every prediction) with the rows already in memory; bar: evaluation / floor <= 1.5 (medians).
- stages: the same challenge cut or extended to 2, 3, ... 6 stages (the recipe's six style
  clusters; smaller splits so the smallest cluster fits), the random-replay baseline's
  evaluation time (median).
- baselines: ACC and BWT of every baseline with their intervals over seeds; the check is that
  the newest-only baseline's BWT interval lies below 0 and that the best baseline's ACC
  interval lies above the newest-only one's.

Run: .venv/bin/python -m benchmarks.continual_bench [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections.abc import Callable
from pathlib import Path

from baselines import for_kind, get_baseline
from benchmarks._util import median_time
from dataperf.challenges import get_challenge
from dataperf.contract import ChallengeSpec, Counters
from dataperf.data.prepare import prepare
from dataperf.data.prepared import PreparedData
from dataperf.evaluator import evaluate, single_threaded
from dataperf.kinds.continual import (
    StageRun,
    _model,
    heldout_split,
    options_of,
    pool_split,
    reference_rows,
    stage_rows,
)
from dataperf.submission import read_submission, write_submission

CHALLENGE = "speech-continual"
DOMAIN_ORDER = (0, 2, 3, 4, 1, 5)
"""The style clusters in stage order when the challenge is extended (the challenge's four first)."""


def floor_fn(spec: ChallengeSpec, data: PreparedData, path: Path) -> Callable[[], None]:
    """Return a function doing one evaluation's bare work on rows already in memory."""
    from dataperf.kinds import kind_of

    sub = read_submission(path, kind_of(spec).columns, spec.id)
    train, joint = stage_rows(spec, data, sub.table), reference_rows(spec, data)
    stages = options_of(spec).stages
    tests = [data.split(heldout_split(s)) for s in stages]
    x_tests = [tests[k].x.astype("float64") for k in range(len(stages))]
    y_tests = [t.labels for t in tests]
    model = _model(spec)

    def run() -> None:
        with single_threaded():
            r = StageRun(model, len(spec.classes), x_tests, y_tests, Counters())
            for seed in spec.seeds:
                r.measure(train, joint, seed)

    return run


def with_stages(spec: ChallengeSpec, n: int) -> ChallengeSpec:
    """Return ``spec`` with its first ``n`` style clusters as stages (pools 260, tests 120)."""
    names = [f"voice{k + 1}" for k in range(n)]
    base = next(iter(spec.data.splits.values()))
    splits = {}
    for name, dom in zip(names, DOMAIN_ORDER, strict=False):
        splits[pool_split(name)] = base.model_copy(update={"size": 260, "domain": dom})
        splits[heldout_split(name)] = base.model_copy(update={"size": 120, "domain": dom})
    data = spec.data.model_copy(update={"splits": splits})
    opts = options_of(spec).model_copy(update={"stages": names})
    return spec.model_copy(update={"id": f"{spec.id}-{n}", "data": data, "options": opts})


def main() -> None:
    """Print the floor ratio, the time per number of stages and the baselines' measures as JSON."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--max-stages", type=int, default=6)
    args = ap.parse_args()
    spec = get_challenge(CHALLENGE)
    out: dict[str, object] = {"challenge": CHALLENGE, "runs": args.runs}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        data = PreparedData(spec, prepare(spec, root=root / spec.id))
        with single_threaded():
            table = get_baseline(spec.kind, "replay").build(spec, data, 0)
        path = write_submission(table, root / "replay.parquet", spec.id)
        evaluate(spec, path, data=data)  # warm up: imports, first torch calls, page cache
        t_eval, evals, _ = median_time(lambda: evaluate(spec, path, data=data), args.runs)
        t_floor, floors, _ = median_time(floor_fn(spec, data, path), args.runs)
        out["evaluation_s"] = round(t_eval, 4)
        out["floor_s"] = round(t_floor, 4)
        out["ratio"] = round(t_eval / t_floor, 3)
        out["bar_ratio_at_most"] = 1.5
        out["evaluation_runs_s"] = [round(t, 4) for t in evals]
        out["floor_runs_s"] = [round(t, 4) for t in floors]

        scaling = {}
        for n in range(2, args.max_stages + 1):
            small = with_stages(spec, n)
            sdata = PreparedData(small, prepare(small, root=root / small.id))
            with single_threaded():
                stable = get_baseline(small.kind, "replay").build(small, sdata, 0)
            spath = write_submission(stable, root / f"replay-{n}.parquet", small.id)
            t, _, _ = median_time(lambda s=small, p=spath, d=sdata: evaluate(s, p, data=d), max(1, args.runs // 2))
            scaling[str(n)] = round(t, 4)
        out["seconds_by_stages"] = scaling

        measured = {}
        for base in for_kind(spec.kind):
            with single_threaded():
                btable = base.build(spec, data, 0)
            res = evaluate(spec, write_submission(btable, root / f"{base.name}.parquet", spec.id), data=data)
            measured[base.name] = {
                "acc": res.mean,
                "acc_ci95": list(res.ci95) if res.ci95 else None,
                "bwt": res.extra["bwt"],
                "bwt_ci95": res.extra["bwt_ci95"],
                "forgetting": res.extra["forgetting"],
                "intransigence": res.extra["intransigence"],
            }
        out["baselines"] = measured
        naive = measured["random"]
        best = max(measured, key=lambda n: measured[n]["acc"])
        out["check"] = {
            "naive_bwt_below_zero_beyond_interval": naive["bwt_ci95"][1] < 0,
            "best": best,
            "best_beats_naive_acc_beyond_intervals": measured[best]["acc_ci95"][0] > naive["acc_ci95"][1],
        }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
