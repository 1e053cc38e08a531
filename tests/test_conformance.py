"""Every registered challenge and baseline: load -> prepare (tiny) -> baseline -> validate -> evaluate."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from baselines import BASELINES, for_kind
from dataperf import testing
from dataperf.challenges import challenges
from dataperf.contract import ChallengeSpec
from dataperf.data.prepared import PreparedData
from dataperf.kinds import KINDS


def test_every_challenge_has_baselines() -> None:
    for name in challenges().names():
        kind = challenges().get(name).kind
        names = {b.name for b in for_kind(kind)}
        assert {"random", "balanced"} <= names, f"{name} ({kind}) lacks random/balanced baselines"


def test_every_kind_is_used_and_baselines_registered() -> None:
    used = {challenges().get(n).kind for n in challenges().names()}
    assert used == set(KINDS.names()), f"kinds no shipped challenge uses: {set(KINDS.names()) - used}"
    for key in BASELINES.names():
        kinds = BASELINES.get(key).kinds
        assert kinds and all(k in KINDS for k in kinds), f"baseline {key} serves an unregistered kind: {kinds}"
    for kind in KINDS.names():
        assert for_kind(kind), f"kind {kind} has no baseline"


@pytest.mark.parametrize("challenge", challenges().names())
def test_conformance(challenge: str, tmp_path: Path) -> None:
    """Every challenge and every baseline of its kind, in every format, through the public kit."""
    spec = challenges().get(challenge)
    builders = {b.name: b.build for b in for_kind(spec.kind)}
    report = testing.check_kind(spec, tmp_path, builders)
    assert report.submissions == len(builders) * len(testing.FORMATS)
    assert report.checks == ["declarations", "build-validate-evaluate", "determinism", "refusal", "diff"]


def test_the_kit_reports_a_broken_kind(tmp_path: Path) -> None:
    """check_kind fails, naming the problem, when a builder breaks the kind's rules."""
    spec = challenges().get("vision-selection")

    def over_budget(spec: ChallengeSpec, data: PreparedData, seed: int) -> pd.DataFrame:
        pool = data.split("pool")
        return pd.DataFrame({"task": spec.tasks[0].name, "id": pool.ids[: testing.TINY_BUDGET + 1], "label": 0})

    said = r"(?s)over-budget \(\.parquet\): refused: .*task 'shirt' has 41 rows; its budget is 40"
    with pytest.raises(testing.ConformanceError, match=said):
        testing.check_kind(spec, tmp_path, {"over-budget": over_budget}, formats=(".parquet",))
