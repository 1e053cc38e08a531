"""The one evaluator: ``evaluate(challenge, submission) -> Result``, pure and deterministic."""

from __future__ import annotations

import functools
import importlib.metadata
import math
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np

from dataperf.challenges import spec_sha256
from dataperf.contract import ChallengeSpec, Counters, ParsedSubmission, Provenance, Result
from dataperf.data.prepared import PreparedData
from dataperf.errors import ChangedFileError, DataError, SubmissionError
from dataperf.hashing import sha256_file
from dataperf.kinds import KINDS
from dataperf.paths import data_dir
from dataperf.submission import read_leniently
from dataperf.version import EVALUATOR_VERSION

PACKAGES = ("numpy", "scipy", "scikit-learn", "pandas", "pyarrow", "torch")


def single_threaded() -> Any:
    """Return a context in which BLAS and OpenMP use one thread.

    Fixed-model fits are small: one thread is faster than several competing for cores, and
    the summation order (so every bit of a score) no longer depends on the machine's cores.
    """
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1)


def package_versions() -> dict[str, str]:
    """Return the versions of Python and of every package a score can depend on (looked up
    once per process: a lookup scans every folder on the import path)."""
    return dict(_package_versions())


@functools.cache
def _package_versions() -> dict[str, str]:
    out = {"python": platform.python_version(), "dataperf-evaluator": EVALUATOR_VERSION}
    for name in PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return out


def load_data(spec: ChallengeSpec, folder: Path | None = None, *, public: bool = False) -> PreparedData:
    """Return the verified prepared data of ``spec`` (raises DataError if missing or changed).

    The private bundle when the data home holds it (the server's, or one built from a public
    source), else the public bundle (what a participant downloaded); ``public``: the public
    bundle even where the private one is present (score as a participant would)."""
    folder = folder or data_dir(spec.id, spec.version)
    if public or not (folder / "croissant.json").exists():
        from dataperf.data.bundles import PUBLIC_DIR

        if (folder / PUBLIC_DIR / "croissant.json").exists():
            return PreparedData(spec, folder / PUBLIC_DIR)
    return PreparedData(spec, folder)


def validate(
    spec: ChallengeSpec, path: Path, data: PreparedData | None = None, *, sha256: str | None = None
) -> ParsedSubmission:
    """Return the parsed submission if it meets every invariant; else raise SubmissionError
    listing all violations (those of the file's cells and challenge mark, and the kind's on
    every row that read well). With ``sha256``, a file whose content no longer has that sha256
    raises ChangedFileError before anything is parsed."""
    if sha256 is not None and path.is_file():
        actual = sha256_file(path)
        if actual != sha256:
            raise ChangedFileError(str(path), sha256, actual)
    kind = KINDS.get(spec.kind)
    sub, violations = read_leniently(path, kind.columns, spec.id)
    if len(sub.table):  # the rows that read well are checked too: every violation at once
        if violations and data is None:
            try:
                data = load_data(spec)
            except DataError:  # the file's own problems are refused as before
                raise SubmissionError(violations) from None
        violations = violations + kind.check(spec, data or load_data(spec), sub)
    if violations:
        raise SubmissionError(violations)
    return sub


def confidence_interval(values: list[float]) -> tuple[float, float] | None:
    """Return the 95% Student-t interval of the mean of ``values`` (None for fewer than 2)."""
    if len(values) < 2:
        return None
    from scipy.stats import t

    arr = np.asarray(values, dtype=np.float64)
    half = float(t.ppf(0.975, len(arr) - 1) * arr.std(ddof=1) / math.sqrt(len(arr)))
    m = float(arr.mean())
    return (m - half, m + half)


def summarize(
    scores: dict[str, dict[int, float]], seeds: list[int]
) -> tuple[dict[str, float], float, tuple[float, float] | None]:
    """Return per-task means, the overall mean (over tasks) and its 95% CI over seeds."""
    means = task_means(scores, seeds)
    per_seed = [float(np.mean([scores[t][s] for t in scores])) for s in seeds]
    return means, overall_mean(means), confidence_interval(per_seed)


def task_means(scores: dict[str, dict[int, float]], seeds: list[int]) -> dict[str, float]:
    """Return each task's mean over seeds."""
    return {t: float(np.mean([per[s] for s in seeds])) for t, per in scores.items()}


def overall_mean(means: dict[str, float]) -> float:
    """Return a result's score: the mean over tasks of :func:`task_means`."""
    return float(np.mean(list(means.values())))


def evaluate(
    spec: ChallengeSpec,
    path: Path,
    *,
    data: PreparedData | None = None,
    runner: str = "local",
    sha256: str | None = None,
) -> Result:
    """Validate and score the submission at ``path`` and return its :class:`Result`.

    Raises SubmissionError (invalid submission, nothing scored), DataError (prepared data
    missing or changed), ChangedFileError (``sha256`` given and the file's differs) or SpecError.
    """
    start = time.perf_counter()
    data = data or load_data(spec)
    sub = validate(spec, path, data, sha256=sha256)
    counters = Counters()
    with single_threaded():
        scores, extra = KINDS.get(spec.kind).score_in_full(spec, data, sub, counters)
    task_means, mean, ci = summarize(scores, spec.seeds)
    if extra.get("ci95") is not None:  # a kind's own interval (its rules say what it covers)
        ci = (float(extra["ci95"][0]), float(extra["ci95"][1]))
    wall = time.perf_counter() - start
    return Result(
        challenge=spec.id,
        version=spec.version,
        kind=spec.kind,
        metric=spec.metric.name,
        direction=spec.metric.direction,
        scores=scores,
        task_means=task_means,
        mean=mean,
        ci95=ci,
        counters=counters.as_dict(),
        provenance=Provenance(
            challenge=spec.id,
            challenge_version=spec.version,
            spec_sha256=spec_sha256(spec),
            data_sha256=data.sha256,
            submission_sha256=sub.sha256,
            evaluator_version=EVALUATOR_VERSION,
            packages=package_versions(),
            seeds=list(spec.seeds),
            runner=runner,
            wall_time_s=round(wall, 6),
            data_bundle=None if data.bundle == "private" else data.bundle,
        ),
        extra=extra,
    )
