"""Bar: 20 separate vision-selection submissions, each evaluated by the docker runner in a
container of its own, cost at most 1.5x the same 20 evaluated by the local runner, in the same
run; the median per-container overhead (container start to exit, minus the evaluation's own
wall time) is reported in seconds.

Each evaluation is one fresh ``python -m dataperf.cli evaluate vision-selection FILE --hidden --runner
{local,docker} --json`` process, as a worker or a participant would run it, so both sides pay
the same host start-up; the docker side adds the container. The submissions are full-budget
(1,000 rows per task) files of the balanced and random baselines, seeds 0-9 each; the two
runners alternate per submission so that drift on the machine hits both alike.

Second part, in one long-lived process as a worker runs (``--runs`` submissions, default 9):
each submission is evaluated by the local runner, the cold docker runner (a container created
per run) and the warm one (``docker-warm``: a pre-started container from a pool, one per run),
interleaved, with ``--gap`` seconds between arrivals so the pool refills as it would between a
worker's jobs. Reported: the median per-job overhead of each docker runner over the local
runner (job wall minus local job wall, same submission); the goal for warm is at most 0.3 s.

Run: .venv/bin/python -m benchmarks.docker_overhead [--count 20] [--runs 9] [--gap 3]
     [--skip-cli] [--output results.json]
Needs the prepared vision-selection data in $DATAPERF_HOME (prepared here when missing), a
running dockerd (scripts/start-dockerd) and the CPU image (docker/build.sh).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from baselines import get_baseline
from dataperf.challenges import get_challenge
from dataperf.data.prepare import prepare
from dataperf.evaluator import load_data
from dataperf.paths import data_dir
from dataperf.submission import write_submission

CHALLENGE = "vision-selection"
BAR = 1.5


def evaluate_in_subprocess(path: Path, runner: str) -> tuple[float, dict[str, Any]]:
    """Return (seconds from process start to exit, the result JSON) of one CLI evaluation."""
    cmd = [
        sys.executable,
        "-m",
        "dataperf.cli",
        "evaluate",
        CHALLENGE,
        str(path),
        "--hidden",
        "--runner",
        runner,
        "--json",
    ]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=os.environ.copy(), check=False)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{runner} evaluation of {path.name} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return wall, json.loads(proc.stdout)


WARM_GOAL_S = 0.3


def in_process(files: list[Path], runs: int, gap: float) -> dict[str, Any]:
    """Return the per-job walls of local, cold docker and warm docker runs in this process."""
    from dataperf.runners.docker import DockerRunner
    from dataperf.runners.docker_pool import WarmDockerRunner, close_pools
    from dataperf.runners.local import LocalRunner

    runners = {"local": LocalRunner(), "cold": DockerRunner(), "warm": WarmDockerRunner()}
    walls: dict[str, list[float]] = {name: [] for name in runners}
    try:
        for r in runners.values():  # untimed: caches, image layers, the pool's first fill
            r.evaluate(CHALLENGE, files[0])
        time.sleep(gap)
        for i in range(runs):
            path = files[i % len(files)]
            scores = []
            for name, r in runners.items():
                t0 = time.perf_counter()
                res = r.evaluate(CHALLENGE, path)
                walls[name].append(time.perf_counter() - t0)
                scores.append(res.scores)
                time.sleep(gap)
            if any(sc != scores[0] for sc in scores):
                raise SystemExit(f"{path.name}: the runners' scores differ")
    finally:
        close_pools()
    over = {name: [w - loc for w, loc in zip(walls[name], walls["local"], strict=True)] for name in ("cold", "warm")}
    return {
        "runs": runs,
        "gap_s": gap,
        "local_job_median_s": round(statistics.median(walls["local"]), 3),
        "cold_job_median_s": round(statistics.median(walls["cold"]), 3),
        "warm_job_median_s": round(statistics.median(walls["warm"]), 3),
        "cold_overhead_median_s": round(statistics.median(over["cold"]), 3),
        "warm_overhead_median_s": round(statistics.median(over["warm"]), 3),
        "warm_goal_s": WARM_GOAL_S,
        "warm_pass": statistics.median(over["warm"]) <= WARM_GOAL_S,
        "walls_s": {name: [round(w, 3) for w in ws] for name, ws in walls.items()},
    }


def main() -> None:
    """Print the medians, the total ratio docker/local and the per-container overhead as JSON."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=20, help="number of submissions (default 20)")
    ap.add_argument("--runs", type=int, default=9, help="submissions of the in-process comparison (default 9)")
    ap.add_argument("--gap", type=float, default=3.0, help="seconds between arrivals in-process (default 3)")
    ap.add_argument("--skip-cli", action="store_true", help="only the in-process comparison")
    ap.add_argument("--output", type=Path, help="also write the JSON here")
    args = ap.parse_args()

    spec = get_challenge(CHALLENGE)
    if not (data_dir(spec.id, spec.version) / "croissant.json").exists():
        print(f"preparing {CHALLENGE} (missing in {data_dir(spec.id, spec.version)})", file=sys.stderr)
        prepare(spec)
    data = load_data(spec)  # verifies, and so brings the sha256 stamp cache up to date
    names = ["balanced", "random"]
    with tempfile.TemporaryDirectory(prefix="docker-overhead-") as tmp:
        files = []
        for i in range(args.count):
            name, seed = names[i % 2], i // 2
            table = get_baseline(spec.kind, name).build(spec, data, seed)
            assert len(table) == spec.budget * len(spec.tasks), "expects full budgets"
            files.append(write_submission(table, Path(tmp) / f"{name}-{seed}.parquet", spec.id))

        warm = in_process(files, args.runs, args.gap)
        if args.skip_cli:
            text = json.dumps({"benchmark": "docker_overhead", "challenge": CHALLENGE, "in_process": warm}, indent=2)
            if args.output:
                args.output.write_text(text + "\n")
            print(text)
            return
        # One untimed run of each warms the page cache, the image layers and the engine.
        evaluate_in_subprocess(files[0], "local")
        evaluate_in_subprocess(files[0], "docker")

        local_s, docker_s, overhead_s, container_s, eval_in_container_s, local_eval_s = [], [], [], [], [], []
        for path in files:
            t_local, r_local = evaluate_in_subprocess(path, "local")
            t_docker, r_docker = evaluate_in_subprocess(path, "docker")
            if r_docker["scores"] != r_local["scores"] or r_docker["mean"] != r_local["mean"]:
                raise SystemExit(f"{path.name}: docker and local scores differ")
            local_s.append(t_local)
            local_eval_s.append(float(r_local["provenance"]["wall_time_s"]))
            docker_s.append(t_docker)
            inside = float(r_docker["provenance"]["wall_time_s"])
            container = float(r_docker["extra"]["container_wall_s"])
            container_s.append(container)
            eval_in_container_s.append(inside)
            overhead_s.append(container - inside)

    ratio = sum(docker_s) / sum(local_s)
    report = {
        "benchmark": "docker_overhead",
        "challenge": CHALLENGE,
        "submissions": len(files),
        "image_digest": r_docker["provenance"]["image_digest"],
        "local_median_s": round(statistics.median(local_s), 3),
        "docker_median_s": round(statistics.median(docker_s), 3),
        "local_total_s": round(sum(local_s), 3),
        "docker_total_s": round(sum(docker_s), 3),
        "ratio_docker_over_local": round(ratio, 3),
        "bar": BAR,
        "pass": ratio <= BAR,
        "per_container_overhead_median_s": round(statistics.median(overhead_s), 3),
        "container_start_to_exit_median_s": round(statistics.median(container_s), 3),
        "evaluation_in_container_median_s": round(statistics.median(eval_in_container_s), 3),
        "evaluation_local_median_s": round(statistics.median(local_eval_s), 3),
        "local_process_overhead_median_s": round(
            statistics.median(t - e for t, e in zip(local_s, local_eval_s, strict=True)), 3
        ),
        "local_s": [round(t, 3) for t in local_s],
        "docker_s": [round(t, 3) for t in docker_s],
        "overhead_s": [round(t, 3) for t in overhead_s],
        "in_process": warm,
    }
    text = json.dumps(report, indent=2)
    if args.output:
        args.output.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
