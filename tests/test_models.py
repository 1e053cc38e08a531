"""Fixed models: parameter checking, determinism, and the torch model on the CPU path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from baselines import get_baseline
from dataperf.contract import ChallengeSpec, ModelSpec
from dataperf.data.prepared import PreparedData
from dataperf.errors import RegistryError, SpecError
from dataperf.evaluator import evaluate
from dataperf.models import Constant, Linear, TorchLinear, build_model
from dataperf.submission import write_submission


def test_unknown_and_mistyped_params() -> None:
    with pytest.raises(SpecError, match="model 'logreg' has no parameter 'alpha'"):
        build_model("logreg", {"alpha": 1.0})
    with pytest.raises(SpecError, match="The 'max_iter' parameter of model 'logreg' must be a int"):
        build_model("logreg", {"max_iter": "lots"})
    with pytest.raises(RegistryError, match="Did you mean 'logreg'"):
        build_model("logregg", {})
    assert build_model("logreg", {"C": 2}).C == 2.0  # an int where a float is expected is fine


def test_single_class_gives_constant() -> None:
    x = np.zeros((4, 3), dtype=np.float32)
    for name in ("logreg", "svc-lr-vote", "torch-linear"):
        fitted = build_model(name, {}).fit(x, np.ones(4, dtype=np.int64), 0)
        assert isinstance(fitted, Constant) and fitted.predict(x).tolist() == [1, 1, 1, 1]


def test_torch_linear_matches_its_own_weights_and_is_deterministic() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((200, 5)).astype(np.float32)
    y = (x[:, 0] + 0.3 * x[:, 1] > 0).astype(np.int64)
    model = TorchLinear(device="cpu", epochs=100)
    a, b = model.fit(x, y, 0), model.fit(x, y, 0)
    assert isinstance(a, Linear) and isinstance(b, Linear)
    assert np.array_equal(a.w, b.w) and np.array_equal(a.b, b.b)
    assert (a.predict(x) == y).mean() > 0.9
    assert model.resolved_device() == "cpu"
    with pytest.raises(SpecError, match="'device' parameter"):
        TorchLinear(device="tpu").resolved_device()


def test_torch_model_works_in_any_training_set_challenge(
    tiny_data: dict[str, tuple[ChallengeSpec, PreparedData]], tmp_path: Path
) -> None:
    spec, data = tiny_data["vision-selection"]
    spec = spec.model_copy(update={"model": ModelSpec(name="torch-linear", params={"epochs": 50, "device": "auto"})})
    table = get_baseline(spec.kind, "balanced").build(spec, data, 0)
    path = write_submission(table, tmp_path / "s.parquet", spec.id)
    first, second = evaluate(spec, path, data=data), evaluate(spec, path, data=data)
    assert first.same_scores(second)
    assert 0.0 <= first.mean <= 1.0
