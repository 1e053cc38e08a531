"""The cleaning evaluator gives exactly the reference procedure's scores, with fewer fits."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from baselines import for_kind
from benchmarks.cleaning_reference import reference_fraction
from dataperf.challenges import challenges
from dataperf.contract import ChallengeSpec
from dataperf.data.prepared import PreparedData
from dataperf.evaluator import evaluate, single_threaded
from dataperf.kinds.cleaning import options_of
from dataperf.models import build_model
from dataperf.submission import write_submission

pytestmark = pytest.mark.slow  # the reference procedure retrains after every fix

CLEANING = [n for n in challenges().names() if challenges().get(n).kind == "cleaning"]


@pytest.mark.parametrize("challenge", CLEANING)
@pytest.mark.parametrize("stride", [1, 3])
def test_matches_reference(
    challenge: str, stride: int, tiny_data: dict[str, tuple[ChallengeSpec, PreparedData]], tmp_path: Path
) -> None:
    spec, data = tiny_data[challenge]
    spec = spec.model_copy(update={"options": options_of(spec).model_copy(update={"stride": stride})})
    train, test = data.split("train"), data.split("test")
    model = build_model(spec.model.name, dict(spec.model.params))
    for base in for_kind("cleaning"):
        with single_threaded():
            table = base.build(spec, data, 0)
        path = write_submission(table, tmp_path / f"{base.name}.parquet", spec.id)
        result = evaluate(spec, path, data=data)
        order = train.positions(table.sort_values("rank")["id"].to_numpy())
        for seed in spec.seeds:
            with single_threaded():
                expected, ref_fits = reference_fraction(
                    model,
                    np.asarray(train.x),
                    train.public_labels,
                    train.labels,
                    order,
                    np.asarray(test.x),
                    test.labels,
                    seed=seed,
                    stride=stride,
                    target=options_of(spec).target,
                )
            assert result.scores[spec.tasks[0].name][seed] == expected, base.name
            assert result.counters["fits"] <= ref_fits * len(spec.seeds)
