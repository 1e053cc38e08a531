"""Comparing two submissions: per-task change and the paired interval over the seeds both have."""

from __future__ import annotations

import pytest

from dataperf.evaluator import confidence_interval
from leaderboard.boards.compare import compare


def _result(scores: dict[str, dict[str, float]]) -> dict[str, object]:
    means = {t: sum(v.values()) / len(v) for t, v in scores.items()}
    return {"scores": scores, "task_means": means, "mean": sum(means.values()) / len(means)}


def test_paired_change_per_task_and_overall() -> None:
    a = _result({"shirt": {"0": 0.5, "1": 0.6, "2": 0.7}, "sneaker": {"0": 0.9, "1": 0.8, "2": 0.85}})
    b = _result({"shirt": {"0": 0.4, "1": 0.55, "2": 0.5}, "sneaker": {"0": 0.9, "1": 0.9, "2": 0.8}})
    out = compare(a, b)
    shirt, sneaker = out["tasks"]
    assert shirt["task"] == "shirt" and shirt["change"] == pytest.approx(0.35 / 3) and shirt["seeds"] == 3
    assert shirt["ci95"] == pytest.approx(list(confidence_interval([0.1, 0.05, 0.2]) or ()))
    assert sneaker["change"] == pytest.approx(-0.05 / 3)
    per_seed = [(0.1 + 0.0) / 2, (0.05 - 0.1) / 2, (0.2 + 0.05) / 2]
    assert out["overall"]["change"] == pytest.approx(0.3 / 6)
    assert out["overall"]["ci95"] == pytest.approx(list(confidence_interval(per_seed) or ()))
    assert out["paired"] is True


def test_only_shared_seeds_are_paired_and_scores_alone_give_no_interval() -> None:
    a = _result({"t": {"0": 0.5, "1": 0.7}})
    b = _result({"t": {"1": 0.6, "2": 0.1}})
    assert compare(a, b)["tasks"][0]["seeds"] == 1 and compare(a, b)["tasks"][0]["ci95"] is None
    plain = compare({"challenge": "x"}, None, 0.8, 0.7)
    assert plain["tasks"] == [] and plain["paired"] is False
    assert plain["overall"]["change"] == pytest.approx(0.1) and plain["overall"]["ci95"] is None
