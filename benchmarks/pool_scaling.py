"""Bar: with a synthetic 1,000,000 x 256 float32 pool (about 1 GB), evaluating a submission
reads only what it needs: peak RSS under 600 MB, and at least 10x faster than reading the
whole pool with pandas first (the same fits and predictions), measured in the same run.

Each measurement runs in a fresh subprocess so that peak RSS is its own.
Run: .venv/bin/python -m benchmarks.pool_scaling [--rows 1000000] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from dataperf.challenges import parse_spec
from dataperf.contract import ChallengeSpec

DIM = 256
CHUNK = 100_000


def synthetic_doc(rows: int) -> dict[str, Any]:
    """Return the YAML document of a training-set spec over a synthetic pool of ``rows`` rows."""
    return {
        "id": "synthetic-pool",
        "version": 1,
        "kind": "training-set",
        "title": "synthetic pool",
        "description": "benchmark only",
        "licence": "CC0-1.0",
        "data": {
            "source": "synthetic",
            "embedding": {"method": "identity", "dim": DIM},
            "splits": {
                "pool": {"source_split": "train", "size": rows},
                "test": {"source_split": "test", "size": 5000},
            },
        },
        "classes": [str(i) for i in range(10)],
        "tasks": [{"name": f"t{c}", "positive": c} for c in (1, 4, 7)],
        "model": {"name": "logreg", "params": {"C": 1.0, "max_iter": 200}},
        "metric": {"name": "f1", "direction": "max"},
        "seeds": [0],
        "budget": 1000,
    }


def synthetic_spec(rows: int) -> ChallengeSpec:
    """Return a training-set spec over a synthetic pool of ``rows`` rows (3 one-vs-rest tasks)."""
    return parse_spec(synthetic_doc(rows), "synthetic pool")


def build(folder: Path, rows: int) -> None:
    """Write the synthetic pool in the prepared layout (Parquet + .f32 + Croissant)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from dataperf.data.croissant import write_croissant
    from dataperf.data.prepare import _write_split
    from dataperf.hashing import hash_folder

    rng = np.random.default_rng(0)
    centers = rng.standard_normal((10, DIM)).astype(np.float32)
    folder.mkdir(parents=True, exist_ok=True)
    writer = None
    with open(folder / "pool.f32", "wb") as raw:
        for start in range(0, rows, CHUNK):
            n = min(CHUNK, rows - start)
            y = rng.integers(0, 10, n)
            x = (centers[y] + 2.0 * rng.standard_normal((n, DIM))).astype(np.float32)
            x.tofile(raw)
            t = pa.table(
                {
                    "id": pa.array(np.arange(start, start + n), type=pa.int64()),
                    "embedding": pa.FixedSizeListArray.from_arrays(pa.array(x.reshape(-1)), DIM),
                    "label": pa.array(y.astype(np.int16)),
                    "public_label": pa.array(y.astype(np.int16)),
                    "split": pa.array(["pool"] * n),
                }
            )
            writer = writer or pq.ParquetWriter(folder / "pool.parquet", t.schema, compression="zstd")
            writer.write_table(t)
    assert writer is not None
    writer.close()
    yt = rng.integers(0, 10, 5000)
    xt = (centers[yt] + 2.0 * rng.standard_normal((5000, DIM))).astype(np.float32)
    _write_split(folder, "test", np.arange(rows, rows + 5000), xt, yt, yt)
    pq.write_table(
        pa.table({"task": pa.array([], pa.string()), "id": pa.array([], pa.int64())}), folder / "examples.parquet"
    )
    files = hash_folder(folder)  # as preparation does: the digests seed the stamp cache
    write_croissant(
        folder / "croissant.json",
        name="synthetic-pool",
        version=1,
        description="synthetic",
        licence="CC0-1.0",
        citation="-",
        recipe={"synthetic": True},
        files=files,
        splits=["pool", "test"],
    )


CHILD = r"""
import json, sys, time
from pathlib import Path
import numpy as np
sys.path.insert(0, {repo!r})
from benchmarks.pool_scaling import synthetic_spec
mode, folder, sub, rows = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4])
spec = synthetic_spec(rows)
import pandas, pyarrow.parquet, sklearn.linear_model, dataperf.evaluator  # both modes pay imports before t0
t0 = time.perf_counter()
if mode == "dataperf":
    from dataperf.data.prepared import PreparedData
    from dataperf.evaluator import evaluate
    result = evaluate(spec, sub, data=PreparedData(spec, folder))
    scores = [result.scores[t.name][s] for t in spec.tasks for s in spec.seeds]
else:
    import pandas as pd
    from dataperf.evaluator import single_threaded
    from dataperf.metrics import f1
    from dataperf.models import build_model
    pool = pd.read_parquet(folder / "pool.parquet")
    test = pd.read_parquet(folder / "test.parquet")
    table = pd.read_parquet(sub)
    x_test = np.stack(test["embedding"].to_numpy())
    model = build_model(spec.model.name, dict(spec.model.params))
    scores = []
    with single_threaded():
        for t in spec.tasks:
            rows_ = table[table["task"] == t.name].merge(pool[["id", "embedding"]], on="id")
            x = np.stack(rows_["embedding"].to_numpy()).astype(np.float32)
            truth = (test["label"].to_numpy() == t.positive).astype(np.int64)
            for s in spec.seeds:
                scores.append(f1(truth, model.fit(x, rows_["label"].to_numpy(), s).predict(x_test), 2))
wall = time.perf_counter() - t0
# VmHWM is this process image's own peak (ru_maxrss would carry the parent's over fork+exec)
rss = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM")) / 1024
print(json.dumps({{"wall_s": wall, "peak_rss_mb": rss, "scores": scores}}))
"""


def run_child(mode: str, folder: Path, sub: Path, rows: int) -> dict[str, object]:
    """Run one measurement in a fresh interpreter and return its JSON report."""
    repo = str(Path(__file__).resolve().parent.parent)
    code = CHILD.format(repo=repo)
    out = subprocess.run(
        [sys.executable, "-c", code, mode, str(folder), str(sub), str(rows)], capture_output=True, text=True, check=True
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    """Build the pool, then time dataperf against read-everything-with-pandas, in one run."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    import pandas as pd

    from dataperf.submission import write_submission

    with tempfile.TemporaryDirectory(prefix="dataperf-pool-") as tmp:
        folder = Path(tmp) / "data"
        build(folder, args.rows)
        rng = np.random.default_rng(1)
        parts = []
        for c in (1, 4, 7):
            ids = np.sort(rng.choice(args.rows, 1000, replace=False))
            parts.append(pd.DataFrame({"task": f"t{c}", "id": ids, "label": rng.integers(0, 2, 1000)}))
        sub = write_submission(pd.concat(parts, ignore_index=True), Path(tmp) / "sub.parquet", "synthetic-pool")
        first = run_child("dataperf", folder, sub, args.rows)  # trusts the digests preparation recorded
        ours = [run_child("dataperf", folder, sub, args.rows) for _ in range(args.runs)]
        theirs = [run_child("pandas", folder, sub, args.rows) for _ in range(args.runs)]
    med = {k: statistics.median(float(r[k]) for r in ours) for k in ("wall_s", "peak_rss_mb")}  # type: ignore[arg-type]
    base = {k: statistics.median(float(r[k]) for r in theirs) for k in ("wall_s", "peak_rss_mb")}  # type: ignore[arg-type]
    print(
        json.dumps(
            {
                "bench": "pool_scaling",
                "rows": args.rows,
                "dim": DIM,
                "runs": args.runs,
                "dataperf_first_run": {
                    "wall_s": round(float(first["wall_s"]), 3),
                    "peak_rss_mb": round(float(first["peak_rss_mb"]), 1),
                },  # type: ignore[arg-type]
                "dataperf_median": {k: round(v, 3) for k, v in med.items()},
                "pandas_read_all_median": {k: round(v, 3) for k, v in base.items()},
                "speedup": round(base["wall_s"] / med["wall_s"], 2),
                "bars": {"peak_rss_mb_under": 600, "speedup_at_least": 10},
                "same_scores": ours[0]["scores"] == theirs[0]["scores"],
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
