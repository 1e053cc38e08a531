"""The ``test-set`` kind and the vision-testset challenge."""

from __future__ import annotations

from pathlib import Path

import pytest

from dataperf.challenges import get_challenge, load_spec, parse_spec
from dataperf.errors import SpecError
from dataperf.evaluator import evaluate
from tests.ratchet.ratchet_helpers import baseline_file

ROOT = Path(__file__).resolve().parents[2]


def test_vision_testset_is_the_dual_of_vision_selection() -> None:
    sel = load_spec(ROOT / "challenges" / "vision-selection.yaml")
    tst = load_spec(ROOT / "challenges" / "vision-testset.yaml")
    assert tst.kind == "test-set" and tst.options["pairs_with"] == sel.id
    assert tst.data == sel.data and tst.model == sel.model and tst.seeds == sel.seeds
    assert [t.name for t in tst.tasks] == [t.name for t in sel.tasks]
    assert [t.positive for t in tst.tasks] == [t.positive for t in sel.tasks]


def test_spec_rules() -> None:
    import yaml

    doc = yaml.safe_load((ROOT / "challenges" / "vision-testset.yaml").read_text())
    del doc["options"]["pairs_with"]
    doc["options"]["top_k"] = 0
    doc["options"]["nonsense"] = 1
    with pytest.raises(SpecError) as err:
        parse_spec(doc, "x.yaml")
    text = str(err.value)
    assert "pairs_with is required" in text and "top_k must be positive" in text and "unknown key 'nonsense'" in text


def test_standalone_evaluation_scores_every_task_and_seed(tiny_env: Path, tmp_path: Path) -> None:
    spec = get_challenge("tiny-testset")
    result = evaluate(spec, baseline_file("tiny-testset", "test-set", "hard", 0, tmp_path))
    assert result.direction == "min" and set(result.scores) == {t.name for t in spec.tasks}
    assert all(set(per) == set(spec.seeds) for per in result.scores.values())
    assert result.counters["fits"] == len(spec.tasks) * len(spec.seeds)
