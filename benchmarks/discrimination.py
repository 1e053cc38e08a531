"""Do the training-set and cleaning challenges tell their baselines apart?

Each baseline of each challenge is built with several builder seeds (the seed a baseline takes:
its random draws, its tie breaks) and scored by the evaluator; a challenge *discriminates* when
its best baseline beats ``random`` by more than the spread across builder seeds: the gap between
their means exceeds the sum of their standard deviations over the builder seeds.

Run: .venv/bin/python -m benchmarks.discrimination [--seeds 5] [--challenge ID ...] [--out FILE]
Needs the challenges' prepared data (dataperf prepare ID). Prints JSON; with ``--out`` also
writes it there.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path
from typing import Any

from baselines import for_kind
from dataperf.challenges import challenges, get_challenge
from dataperf.contract import ChallengeSpec
from dataperf.evaluator import evaluate, load_data, single_threaded
from dataperf.submission import write_submission

KINDS = ("training-set", "cleaning")
"""The kinds whose submissions are data chosen by an algorithm with a builder seed."""


def measure(spec: ChallengeSpec, seeds: int, folder: Path) -> dict[str, Any]:
    """Return, per baseline of ``spec``, its score per builder seed, their mean and spread, and
    whether the best baseline beats random beyond the spread."""
    data = load_data(spec)
    per: dict[str, list[float]] = {}
    for base in for_kind(spec.kind):
        per[base.name] = []
        for seed in range(seeds):
            with single_threaded():
                table = base.build(spec, data, seed)
            path = write_submission(table, folder / f"{spec.id}-{base.name}-{seed}.parquet", spec.id)
            per[base.name].append(evaluate(spec, path, data=data).mean)
    sign = 1.0 if spec.metric.direction == "max" else -1.0
    summary = {
        name: {
            "scores": vals,
            "mean": statistics.fmean(vals),
            "sd": statistics.stdev(vals) if len(vals) > 1 else 0.0,
        }
        for name, vals in per.items()
    }
    others = [n for n in summary if n != "random"]
    best = max(others, key=lambda n: sign * summary[n]["mean"]) if others else None
    verdict: dict[str, Any] = {"best": best}
    if best is not None and "random" in summary:
        gap = sign * (summary[best]["mean"] - summary["random"]["mean"])
        spread = summary[best]["sd"] + summary["random"]["sd"]
        verdict |= {"gap": gap, "spread": spread, "discriminates": gap > spread}
        verdict["beats_random_beyond_spread"] = sorted(
            n
            for n in others
            if sign * (summary[n]["mean"] - summary["random"]["mean"]) > summary[n]["sd"] + summary["random"]["sd"]
        )
    return {"version": spec.version, "metric": spec.metric.name, "baselines": summary, **verdict}


def main() -> None:
    """Print (and with ``--out`` write) the discrimination report of each chosen challenge."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seeds", type=int, default=5, help="builder seeds per baseline (default: 5)")
    ap.add_argument("--challenge", action="append", metavar="ID", help="only this challenge (repeatable)")
    ap.add_argument("--out", type=Path, help="also write the JSON report here")
    args = ap.parse_args()
    ids = args.challenge or [n for n in challenges() if get_challenge(n).kind in KINDS]
    report: dict[str, Any] = {"builder_seeds": args.seeds, "challenges": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for cid in ids:
            report["challenges"][cid] = measure(get_challenge(cid), args.seeds, Path(tmp))
            print(json.dumps({cid: report["challenges"][cid]}), flush=True)
    if args.out:
        args.out.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
