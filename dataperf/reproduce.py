"""Re-score a saved result bit for bit: ``reproduce(result_file, submission) -> Reproduction``.

A result (written by ``dataperf evaluate --output``, or the status document of a submission
downloaded from the server, whose ``result`` holds one) records the challenge id and version,
the spec's sha256, the prepared data's sha256, the submission's sha256, the evaluator version
and, when it ran in a container, the image digest. Reproducing checks each of them against
what is here, re-runs the evaluation (in this process, or with ``runner="docker"`` in the
recorded image), and compares every score, mean and interval by their bits; the first
difference is named (``scores.shirt.3: recorded 0.81..., got 0.80...``).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dataperf.contract import Result
from dataperf.errors import InputError

IGNORED = ("runner", "wall_time_s", "packages", "image_digest")
"""Provenance that may differ between two runs of the same evaluation (where and how long it
ran; package versions are reported apart, as notes)."""


@dataclass(frozen=True)
class Reproduction:
    """The outcome of reproducing one result."""

    recorded: Result
    again: Result | None
    """The new result (None when a recorded input differs, so nothing was re-run)."""
    difference: str | None
    """The first difference, or None when the scores match bit for bit."""
    notes: list[str] = field(default_factory=list)
    """What differs without moving a score here (package versions of the recording machine)."""

    @property
    def matched(self) -> bool:
        """Return whether the result was reproduced bit for bit."""
        return self.difference is None

    def to_dict(self) -> dict[str, Any]:
        """Return the outcome as JSON-ready data."""
        return {
            "matched": self.matched,
            "difference": self.difference,
            "notes": self.notes,
            "challenge": self.recorded.challenge,
            "version": self.recorded.version,
            "mean": self.recorded.mean,
            "mean_again": None if self.again is None else self.again.mean,
        }


def read_result(path: Path) -> Result:
    """Return the result saved in ``path`` (a result, or a submission status holding one in
    ``result``); raise InputError naming the file and what is wrong."""
    try:
        doc = json.loads(path.read_text())
    except OSError as e:
        raise InputError(f"{path}: cannot read ({e.strerror})") from None
    except json.JSONDecodeError as e:
        raise InputError(f"{path}: not JSON ({e.msg} at line {e.lineno})") from None
    if isinstance(doc, dict) and isinstance(doc.get("result"), dict):
        doc = doc["result"]
    if not isinstance(doc, dict) or "scores" not in doc or "provenance" not in doc:
        raise InputError(f"{path}: not a dataperf result (expected the keys 'scores' and 'provenance')")
    try:
        return Result.from_dict(doc)
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise InputError(f"{path}: not a complete dataperf result ({type(e).__name__}: {e})") from None


def _bits(x: float) -> str:
    return "nan" if math.isnan(x) else float(x).hex()


def first_difference(recorded: Any, again: Any, where: str = "") -> str | None:
    """Return where ``recorded`` and ``again`` (JSON-ready data) first differ, with both values;
    None when they are equal (floats compared by their bits, NaN equal to NaN)."""
    here = where or "(top level)"
    said = f"{here}: recorded {recorded!r}, got {again!r}"
    if isinstance(recorded, dict) and isinstance(again, dict):
        for key in recorded:
            at = f"{where}.{key}" if where else str(key)
            if key not in again:
                return f"{at}: recorded {recorded[key]!r}, missing now"
            found = first_difference(recorded[key], again[key], at)
            if found:
                return found
        extra = [k for k in again if k not in recorded]
        return f"{where}.{extra[0]}".lstrip(".") + ": not recorded, present now" if extra else None
    if isinstance(recorded, list) and isinstance(again, list):
        if len(recorded) != len(again):
            return f"{here}: recorded {len(recorded)} items, got {len(again)}"
        for i, (a, b) in enumerate(zip(recorded, again, strict=True)):
            found = first_difference(a, b, f"{where}[{i}]")
            if found:
                return found
        return None
    if isinstance(recorded, float) or isinstance(again, float):
        numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (recorded, again))
        return None if numbers and _bits(float(recorded)) == _bits(float(again)) else said
    return None if type(recorded) is type(again) and recorded == again else said


def comparable(result: Result) -> dict[str, Any]:
    """Return what of ``result`` must be the same bit for bit when it is reproduced."""
    d = result.to_dict()
    d["provenance"] = {k: v for k, v in d["provenance"].items() if k not in IGNORED}
    return d


def _inputs(result: Result, submission: Path) -> tuple[Any, Any, str | None]:
    """Return (spec, data, first input that differs from the recorded one)."""
    from dataperf.challenges import get_challenge, spec_sha256
    from dataperf.evaluator import load_data
    from dataperf.hashing import sha256_file
    from dataperf.version import EVALUATOR_VERSION

    p = result.provenance
    spec = get_challenge(result.challenge)
    if spec.version != result.version:
        return spec, None, f"challenge version: recorded {result.version}, the spec here is version {spec.version}"
    if spec_sha256(spec) != p.spec_sha256:
        return spec, None, f"spec sha256: recorded {p.spec_sha256}, the spec here hashes to {spec_sha256(spec)}"
    if p.evaluator_version != EVALUATOR_VERSION:
        return spec, None, f"evaluator version: recorded {p.evaluator_version}, this evaluator is {EVALUATOR_VERSION}"
    data = load_data(spec, public=p.data_bundle == "public")
    if data.sha256 != p.data_sha256:
        return spec, data, f"data sha256: recorded {p.data_sha256}, the prepared data here is {data.sha256}"
    if not submission.is_file():
        raise InputError(f"{submission}: no such submission file")
    got = sha256_file(submission)
    if got != p.submission_sha256:
        return spec, data, f"submission sha256: recorded {p.submission_sha256}, {submission.name} is {got}"
    return spec, data, None


def find_submission(result: Result, folder: Path) -> Path:
    """Return the file in ``folder`` whose sha256 is the result's submission's; InputError if none."""
    from dataperf.hashing import sha256_file

    want = result.provenance.submission_sha256
    for path in sorted(folder.iterdir()):
        if path.is_file() and path.suffix.lower() in (".parquet", ".csv", ".json") and sha256_file(path) == want:
            return path
    raise InputError(f"{folder}: no submission file with sha256 {want} (name it with --submission)")


def reproduce(result_file: Path, submission: Path | None = None, *, runner: str = "local") -> Reproduction:
    """Re-score the result saved in ``result_file`` on ``submission`` (default: the file beside
    it whose sha256 the result records) and compare.

    ``runner``: ``local`` (this process) or ``docker`` (the recorded image digest when the
    result has one, else this evaluator's image). Raises InputError for a result or submission
    that cannot be read, DataError when the challenge's data are not prepared here.
    """
    from dataperf.evaluator import evaluate, package_versions

    recorded = read_result(result_file)
    if submission is None:
        submission = find_submission(recorded, result_file.parent)
    spec, data, differs = _inputs(recorded, submission)
    notes = []
    here = package_versions()
    for name, version in sorted(recorded.provenance.packages.items()):
        if here.get(name) != version:
            notes.append(f"package {name}: recorded {version}, here {here.get(name)}")
    if differs is not None or data is None:
        return Reproduction(recorded, None, differs or "no prepared data", notes)
    if runner == "local":
        again = evaluate(spec, submission, data=data, runner="local")
    elif runner == "docker":
        from dataperf.runners.docker import DockerRunner

        again = DockerRunner(image=recorded.provenance.image_digest).evaluate(spec.id, submission)
    else:
        raise InputError(f"runner must be 'local' or 'docker', got {runner!r}")
    return Reproduction(recorded, again, first_difference(comparable(recorded), comparable(again)), notes)
