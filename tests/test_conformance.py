"""Every registered challenge and baseline: load -> prepare (tiny) -> baseline -> validate -> evaluate."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from baselines import BASELINES, for_kind
from dataperf.challenges import challenges
from dataperf.contract import ChallengeSpec
from dataperf.data.prepared import PreparedData
from dataperf.evaluator import evaluate, single_threaded, validate
from dataperf.kinds import KINDS
from dataperf.submission import read_submission, write_submission

CASES = [(name, base.name) for name in challenges().names() for base in for_kind(challenges().get(name).kind)]


def test_every_challenge_has_baselines() -> None:
    for name in challenges().names():
        kind = challenges().get(name).kind
        names = {b.name for b in for_kind(kind)}
        assert {"random", "balanced"} <= names, f"{name} ({kind}) lacks random/balanced baselines"


def test_every_kind_is_used_and_baselines_registered() -> None:
    used = {challenges().get(n).kind for n in challenges().names()}
    assert used <= set(KINDS.names())
    for key in BASELINES.names():
        assert BASELINES.get(key).kinds[0] in KINDS, f"baseline {key} serves an unregistered kind"


@pytest.mark.parametrize(("challenge", "baseline"), CASES)
@pytest.mark.parametrize("fmt", [".parquet", ".csv", ".json"])
def test_conformance(
    challenge: str,
    baseline: str,
    fmt: str,
    tiny_data: dict[str, tuple[ChallengeSpec, PreparedData]],
    tmp_path: Path,
) -> None:
    spec, data = tiny_data[challenge]
    base = next(b for b in for_kind(spec.kind) if b.name == baseline)
    with single_threaded():
        table = base.build(spec, data, 0)
    path = write_submission(table, tmp_path / f"sub{fmt}", spec.id)
    sub = validate(spec, path, data)
    assert len(sub.table) == len(table)
    columns = [c.name for c in KINDS.get(spec.kind).columns]
    assert list(read_submission(path, KINDS.get(spec.kind).columns, spec.id).table.columns) == columns
    result = evaluate(spec, path, data=data)
    assert result.scores and set(result.scores) <= {t.name for t in spec.tasks}
    for per_seed in result.scores.values():
        assert sorted(per_seed) == sorted(spec.seeds)
        assert all(math.isfinite(v) for v in per_seed.values())
    assert result.provenance.data_sha256 == data.sha256
    assert result.provenance.submission_sha256 == sub.sha256
    again = evaluate(spec, path, data=data)
    assert again.same_scores(result), "the evaluator must be deterministic bit for bit"
