"""CPU vs CUDA parity of the torch fixed model, on real vision-selection rows.

Step 1 (here, with the prepared data): ``python -m benchmarks.gpu_parity export OUT.npz``
writes the balanced baseline's training rows per task and the test split.
Step 2 (on a GPU machine; needs only numpy and torch): ``python -m benchmarks.gpu_parity run
OUT.npz`` fits ``torch-linear`` on the CPU and on CUDA for every task and seed and prints the
largest weight difference, prediction agreement, both F1 scores and the fit times.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np


def export(path: Path) -> None:
    """Write the rows the parity run needs (no labels beyond what the evaluation uses)."""
    from baselines import get_baseline
    from dataperf.challenges import get_challenge
    from dataperf.evaluator import load_data

    spec = get_challenge("vision-selection")
    data = load_data(spec)
    table = get_baseline(spec.kind, "balanced").build(spec, data, 0)
    pool, test = data.split("pool"), data.split("test")
    arrays: dict[str, np.ndarray] = {"x_test": np.asarray(test.x), "y_test": test.labels}
    for t in spec.tasks:
        rows = table[table["task"] == t.name]
        arrays[f"x_{t.positive}"] = pool.rows(rows["id"].to_numpy())
        arrays[f"y_{t.positive}"] = rows["label"].to_numpy()
    np.savez(path, **arrays)


def run(path: Path, seeds: int = 5) -> dict[str, object]:
    """Fit on both devices and return the comparison."""
    import torch

    from dataperf.metrics import f1
    from dataperf.models import TorchLinear

    with np.load(path, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    positives = sorted(int(k[2:]) for k in arrays if k.startswith("x_") and k != "x_test")
    rows = []
    for device in ("cpu", "cuda"):
        model = TorchLinear(device=device, subsample=0.9)
        if device == "cuda" and not torch.cuda.is_available():
            continue
        model.fit(arrays[f"x_{positives[0]}"], arrays[f"y_{positives[0]}"], 0)  # warm-up (CUDA context)
        for pos in positives:
            truth = (arrays["y_test"] == pos).astype(np.int64)
            for seed in range(seeds):
                t0 = time.perf_counter()
                fitted = model.fit(arrays[f"x_{pos}"], arrays[f"y_{pos}"], seed)
                dt = time.perf_counter() - t0
                pred = fitted.predict(arrays["x_test"])
                rows.append((device, pos, seed, fitted, pred, f1(truth, pred, 2), dt))
    cpu = {(r[1], r[2]): r for r in rows if r[0] == "cpu"}
    gpu = {(r[1], r[2]): r for r in rows if r[0] == "cuda"}
    out: dict[str, object] = {
        "torch": torch.__version__,
        "cuda_available": torch.cuda.is_available(),
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "fits_per_device": len(cpu),
        "cpu_fit_s_median": float(np.median([r[6] for r in cpu.values()])),
    }
    if gpu:
        out.update(
            {
                "gpu_fit_s_median": float(np.median([r[6] for r in gpu.values()])),
                "max_abs_weight_diff": max(float(np.abs(cpu[k][3].w - gpu[k][3].w).max()) for k in cpu),
                "max_abs_intercept_diff": max(float(np.abs(cpu[k][3].b - gpu[k][3].b).max()) for k in cpu),
                "prediction_disagreements": sum(int((cpu[k][4] != gpu[k][4]).sum()) for k in cpu),
                "max_abs_f1_diff": max(abs(cpu[k][5] - gpu[k][5]) for k in cpu),
                "f1_cpu_mean": float(np.mean([r[5] for r in cpu.values()])),
                "f1_gpu_mean": float(np.mean([r[5] for r in gpu.values()])),
            }
        )
    return out


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("export", "run"):
        sys.exit("usage: python -m benchmarks.gpu_parity export|run FILE.npz")
    if sys.argv[1] == "export":
        export(Path(sys.argv[2]))
    else:
        print(json.dumps(run(Path(sys.argv[2])), indent=2))
