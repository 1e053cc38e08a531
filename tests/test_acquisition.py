"""The acquisition kind: exact prices and budget, every violation of a purchase plan at once
(exit 2 from the CLI), the documented row draw and score formula, determinism, the market
summary (``market.json`` and ``dataperf challenges``), and the recipe's class mix and flips."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from baselines import get_baseline
from dataperf.challenges import challenges, parse_spec
from dataperf.contract import ChallengeSpec
from dataperf.data.prepare import mix_counts
from dataperf.data.prepared import PreparedData
from dataperf.errors import SpecError, SubmissionError
from dataperf.evaluator import evaluate, validate
from dataperf.kinds import kind_of
from dataperf.kinds.acquisition import Price, bought_rows, market, options_of, plan_cost, seller_split, stock
from dataperf.submission import write_submission
from dataperf.testing import to_document, world_env

CHALLENGE = "text-acquisition"


@pytest.fixture()
def tiny(tiny_data: dict[str, tuple[ChallengeSpec, PreparedData]]) -> tuple[ChallengeSpec, PreparedData]:
    return tiny_data[CHALLENGE]


def _plan(rows: dict[str, int]) -> pd.DataFrame:
    return pd.DataFrame({"seller": list(rows), "count": list(rows.values())})


def _violations(spec: ChallengeSpec, data: PreparedData, path: Path) -> str:
    with pytest.raises(SubmissionError) as info:
        validate(spec, path, data)
    return "\n".join(str(v) for v in info.value.violations)


def test_prices_are_exact() -> None:
    linear = Price(per_row=4)
    assert [linear.cost(n) for n in (0, 1, 10)] == [0, 4, 40]
    tiered = Price(per_row=6, fee=50, discounts=[{"after": 100, "per_row": 3}, {"after": 150, "per_row": 1}])
    assert tiered.cost(0) == 0  # no fee for buying nothing
    assert tiered.cost(1) == 56
    assert tiered.cost(100) == 50 + 600
    assert tiered.cost(101) == 50 + 600 + 3
    assert tiered.cost(200) == 50 + 600 + 50 * 3 + 50 * 1
    for money in (0, 55, 56, 650, 653, 999):
        n = tiered.most_rows(money, 1000)
        assert tiered.cost(n) <= money < tiered.cost(n + 1)
    assert tiered.most_rows(10**6, 120) == 120  # never beyond the stock
    with pytest.raises(ValueError, match="strictly increasing"):
        Price(per_row=2, discounts=[{"after": 10, "per_row": 1}, {"after": 10, "per_row": 1}])


def test_plan_at_budget_passes_and_one_unit_over_is_refused(
    tiny: tuple[ChallengeSpec, PreparedData], tmp_path: Path
) -> None:
    spec, data = tiny
    assert spec.budget == 150 and stock(spec)["bulk"] == 60
    exact = {"fans": 44, "bulk": 58, "critics": 1}  # 88 + 58 + 4
    over = {"fans": 44, "bulk": 59, "critics": 1}
    assert plan_cost(spec, exact) == spec.budget and plan_cost(spec, over) == spec.budget + 1
    assert len(validate(spec, write_submission(_plan(exact), tmp_path / "ok.csv", spec.id), data).table) == 3
    text = _violations(spec, data, write_submission(_plan(over), tmp_path / "over.csv", spec.id))
    assert text == "over.csv, field 'count': the plan costs 151; the budget is 150 (over by 1)"


def test_every_violation_at_once(tiny: tuple[ChallengeSpec, PreparedData], tmp_path: Path) -> None:
    spec, data = tiny
    path = tmp_path / "bad.csv"
    path.write_text(
        "seller,count,challenge\n"
        "bulkk,3,text-selection\n"  # unknown seller, close to 'bulk'
        "fans,-3,text-selection\n"  # negative
        "critics,2.5,text-selection\n"  # fractional
        "bulk,61,text-selection\n"  # above the 60 rows it holds
        "curated,20,text-selection\n"  # 200 units: with bulk's 61, over the budget
        "bulk,1,text-selection\n"  # named twice
    )
    text = _violations(spec, data, path)
    assert "bad.csv, field 'challenge': this file is for challenge 'text-selection', not 'text-acquisition'" in text
    assert "bad.csv, row 1, field 'seller': unknown seller 'bulkk'" in text and "did you mean 'bulk'?" in text
    assert "bad.csv, row 2, field 'count': count must be 0 or more, got -3" in text
    assert "bad.csv, row 3, field 'count': must be an integer, got '2.5'" in text
    assert "bad.csv, row 4, field 'count': seller 'bulk' holds 60 rows; got count 61" in text
    assert "bad.csv, row 6, field 'seller': duplicate seller: same as row 4" in text
    assert "the plan costs 261; the budget is 150 (over by 111)" in text  # every named count priced


def test_cli_refuses_with_exit_2(tiny: tuple[ChallengeSpec, PreparedData], tmp_path: Path) -> None:
    spec, data = tiny
    env = world_env(spec, data.folder, tmp_path)
    path = write_submission(_plan({"curated": 20, "nobody": 1}), tmp_path / "p.json", spec.id)
    proc = subprocess.run(
        [sys.executable, "-m", "dataperf.cli", "validate", spec.id, str(path), "--json"],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    fields = {(v["row"], v["field"]) for v in json.loads(proc.stdout)["violations"]}
    assert fields == {(None, "count"), (2, "seller")}


def test_score_is_the_documented_formula(tiny: tuple[ChallengeSpec, PreparedData], tmp_path: Path) -> None:
    spec, data = tiny
    plan = {"critics": 10, "newsroom": 5, "curated": 3}
    result = evaluate(spec, write_submission(_plan(plan), tmp_path / "p.parquet", spec.id), data=data)
    w = options_of(spec).score
    cost = 40 + 30 + 30
    assert result.extra["cost"] == cost and result.extra["unspent"] == spec.budget - cost
    assert result.extra["plan"] == {s: plan.get(s, 0) for s in options_of(spec).sellers}
    for seed, score in result.scores["buy"].items():
        metric = result.extra["metric_per_seed"][str(seed)]
        assert score == w.metric * metric + w.unspent * (spec.budget - cost) / spec.budget
    # the bought rows are the documented draw: per seller k, default_rng([seed, k])
    x, y = bought_rows(spec, data, result.extra["plan"], 1)
    k = list(options_of(spec).sellers).index("critics")
    split = data.split(seller_split("critics"))
    pos = np.sort(np.random.default_rng([1, k]).choice(len(split.ids), size=10, replace=False))
    assert np.array_equal(x[:10], split.rows(split.ids[pos])) and np.array_equal(y[:10], split.public_labels[pos])
    assert len(x) == 18
    layout = kind_of(spec).board(spec, ratchet=False)
    assert {"score", "ci95", "metric", "cost", "unspent"} == {c.key for c in layout.columns}


def test_same_plan_same_scores_bit_for_bit(tiny: tuple[ChallengeSpec, PreparedData], tmp_path: Path) -> None:
    spec, data = tiny
    table = get_baseline("acquisition", "greedy").build(spec, data, 0)
    a = evaluate(spec, write_submission(table, tmp_path / "a.csv", spec.id), data=data)
    b = evaluate(spec, write_submission(table, tmp_path / "b.json", spec.id), data=data)
    assert a.scores == b.scores and a.extra["metric_per_seed"] == b.extra["metric_per_seed"]
    # seeds draw different rows from a seller, so they differ (the interval means something)
    plan = {"bulk": 30}
    assert not np.array_equal(bought_rows(spec, data, plan, 0)[0], bought_rows(spec, data, plan, 1)[0])


def test_market_summary(tiny: tuple[ChallengeSpec, PreparedData], tmp_path: Path) -> None:
    spec, data = tiny
    assert "market.json" in data.file_hashes  # hashed and checked like every prepared file
    doc = market(data)
    opts = options_of(spec)
    assert [s["name"] for s in doc["sellers"]] == list(opts.sellers)
    assert doc["budget"] == spec.budget and len(doc["projection"]["components"]) == opts.summary.dims
    for s in doc["sellers"]:
        split = data.split(seller_split(s["name"]))
        assert s["rows"] == len(split.ids)
        shares = np.bincount(split.public_labels, minlength=len(spec.classes)) / len(split.ids)
        assert s["label_share"] == [round(float(v), 4) for v in shares]
        assert all(sum(h) == s["rows"] for h in s["histograms"])
        assert len(s["samples"]) == min(opts.summary.samples, s["rows"])
        for row in s["samples"]:
            assert row["label"] == int(split.public_labels[split.positions(np.array([row["id"]]))[0]])
        assert sum(t["rows"] for t in s["label_stats"]) == s["rows"]
    env = world_env(spec, data.folder, tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "dataperf.cli", "challenges", spec.id, "--json"],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    shown = json.loads(proc.stdout)["overview"]
    assert shown["market"] == doc
    assert [r[0] for r in shown["tables"][0]["rows"]] == list(opts.sellers)
    text = subprocess.run(
        [sys.executable, "-m", "dataperf.cli", "challenges", spec.id], capture_output=True, text=True, env=env
    ).stdout
    assert "fee 50 + 3/row, 1/row after 200" in text and "0.98 x accuracy + 0.02 x (budget - cost) / budget" in text


def test_recipe_mix_and_flip(tiny: tuple[ChallengeSpec, PreparedData]) -> None:
    spec, data = tiny
    assert mix_counts([1, 9, 0, 0], 60).tolist() == [6, 54, 0, 0]
    assert mix_counts([1, 1, 1], 10).tolist() == [4, 3, 3]  # the remainder goes to the lower class
    for name, sp in spec.data.splits.items():
        split = data.split(name)
        assert sp.mix is not None
        assert np.bincount(split.labels, minlength=len(spec.classes)).tolist() == mix_counts(sp.mix, sp.size).tolist()
        wrong = int((split.labels != split.public_labels).sum())
        assert wrong == round((sp.flip or 0.0) * sp.size), name
        # flips stay within a domain: reviews (0, 1) and speeches (2, 3)
        assert np.array_equal(split.labels // 2, split.public_labels // 2)
    # unset, the new fields stay out of the dumps (existing specs' hashes do not move)
    plain = challenges().get("text-selection").data.model_dump()
    assert all("mix" not in s and "flip" not in s for s in plain["splits"].values())


def test_spec_errors() -> None:
    doc = to_document(challenges().get(CHALLENGE))
    doc["data"]["splits"]["seller-ghost"] = {"source_split": "all", "size": 10}
    del doc["data"]["splits"]["seller-bulk"]
    with pytest.raises(SpecError) as info:
        parse_spec(doc, "market.yaml")
    assert "data.splits lacks 'seller-bulk'" in str(info.value)
    assert "data.splits has 'seller-ghost' but options.sellers has no 'ghost'" in str(info.value)
    doc = to_document(challenges().get(CHALLENGE))
    doc["data"]["splits"]["test"]["mix"] = [1, -1, 0, 0]
    with pytest.raises(SpecError, match="non-negative weights"):
        parse_spec(doc, "market.yaml")
