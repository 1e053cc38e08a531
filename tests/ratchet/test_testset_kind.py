"""The ``test-set`` kind and the vision-testset challenge."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from dataperf.challenges import get_challenge, load_spec, parse_spec, with_pair
from dataperf.errors import SpecError
from dataperf.evaluator import evaluate
from tests.ratchet.ratchet_helpers import baseline_file

ROOT = Path(__file__).resolve().parents[2]


def test_vision_testset_is_the_dual_of_vision_selection() -> None:
    sel = load_spec(ROOT / "challenges" / "vision-selection.yaml")
    tst = load_spec(ROOT / "challenges" / "vision-testset.yaml")
    assert tst.kind == "test-set" and tst.pair == sel.id
    assert tst.data == sel.data and tst.model == sel.model and tst.seeds == sel.seeds
    assert [t.name for t in tst.tasks] == [t.name for t in sel.tasks]
    assert [t.positive for t in tst.tasks] == [t.positive for t in sel.tasks]


def test_spec_rules(tmp_path: Path) -> None:
    import yaml

    path = ROOT / "challenges" / "vision-testset.yaml"
    doc = with_pair(yaml.safe_load(path.read_text()), path)
    doc["options"]["top_k"] = 0
    doc["options"]["nonsense"] = 1
    with pytest.raises(SpecError) as err:
        parse_spec(doc, "x.yaml")
    text = str(err.value)
    assert "options.top_k: Input should be greater than or equal to 1" in text
    assert "options.nonsense: unknown key" in text
    del doc["pair"]
    doc["options"] = {}
    with pytest.raises(SpecError, match="pair is required"):
        parse_spec(doc, "x.yaml")


def test_a_pair_is_declared_not_copied(tmp_path: Path) -> None:
    import yaml

    shutil.copy(ROOT / "challenges" / "vision-selection.yaml", tmp_path)
    doc = yaml.safe_load((ROOT / "challenges" / "vision-testset.yaml").read_text())
    (tmp_path / "vision-testset.yaml").write_text(yaml.safe_dump(doc | {"seeds": [0]}))
    with pytest.raises(SpecError, match=r"seeds must not be set: a spec with a pair takes data, classes"):
        load_spec(tmp_path / "vision-testset.yaml")
    (tmp_path / "vision-testset.yaml").write_text(yaml.safe_dump(doc | {"pair": "vision-selectoin"}))
    with pytest.raises(SpecError, match="pair: no challenge 'vision-selectoin'"):
        load_spec(tmp_path / "vision-testset.yaml")
    (tmp_path / "vision-testset.yaml").write_text(yaml.safe_dump(doc | {"pair": "vision-testset"}))
    with pytest.raises(SpecError, match="'vision-testset' is a dual itself"):
        load_spec(tmp_path / "vision-testset.yaml")
    shutil.copy(ROOT / "challenges" / "vision-cleaning.yaml", tmp_path)
    (tmp_path / "vision-testset.yaml").write_text(yaml.safe_dump(doc | {"pair": "vision-cleaning"}))
    with pytest.raises(SpecError, match="'vision-cleaning' is a 'cleaning' challenge, which trains no models"):
        load_spec(tmp_path / "vision-testset.yaml")


def test_standalone_evaluation_scores_every_task_and_seed(tiny_env: Path, tmp_path: Path) -> None:
    spec = get_challenge("tiny-testset")
    result = evaluate(spec, baseline_file("tiny-testset", "test-set", "hard", 0, tmp_path))
    assert result.direction == spec.metric.direction == "max" and set(result.scores) == {t.name for t in spec.tasks}
    assert all(set(per) == set(spec.seeds) for per in result.scores.values())
    assert result.counters["fits"] == len(spec.tasks) * len(spec.seeds)
