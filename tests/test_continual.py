"""The continual kind: its formulas on a hand-computed matrix, its rules (every violation at
once, named by stage, row and column; exit 2 from the CLI), determinism, its result extras
(the R matrix, the measures with intervals) on the board and in ``dataperf evaluate``, and the
data recipe's domains."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from baselines import get_baseline
from dataperf.challenges import challenges, get_challenge, parse_spec
from dataperf.contract import ChallengeSpec
from dataperf.data.prepared import PreparedData
from dataperf.errors import SpecError, SubmissionError
from dataperf.evaluator import evaluate, single_threaded, validate
from dataperf.forgetting import measures
from dataperf.kinds import kind_of
from dataperf.kinds.continual import options_of, pool_split
from dataperf.submission import write_submission
from dataperf.testing import world_env

CHALLENGE = "speech-continual"


@pytest.fixture()
def tiny(tiny_data: dict[str, tuple[ChallengeSpec, PreparedData]]) -> tuple[ChallengeSpec, PreparedData]:
    return tiny_data[CHALLENGE]


def test_measures_match_a_hand_computed_matrix() -> None:
    r = np.array([[0.9, 0.2, 0.1], [0.6, 0.8, 0.3], [0.5, 0.7, 0.9]])
    got = measures(r, initial=np.array([0.1, 0.1, 0.1]), joint=np.array([0.9, 0.85, 0.95]))
    assert got == pytest.approx(
        {
            "acc": (0.5 + 0.7 + 0.9) / 3,
            "bwt": ((0.5 - 0.9) + (0.7 - 0.8)) / 2,
            "fwt": ((0.2 - 0.1) + (0.3 - 0.1)) / 2,
            "forgetting": ((0.9 - 0.5) + (0.8 - 0.7)) / 2,
            "intransigence": ((0.9 - 0.9) + (0.85 - 0.8) + (0.95 - 0.9)) / 3,
        },
        abs=1e-12,
    )
    # forgetting takes the best earlier row, even one before the stage was trained
    late = measures(np.array([[0.3, 0.9], [0.2, 0.6]]), np.zeros(2), np.zeros(2))
    assert late["forgetting"] == pytest.approx(0.3 - 0.2) and late["bwt"] == pytest.approx(0.2 - 0.3)
    with pytest.raises(ValueError, match="square"):
        measures(np.ones((2, 3)), np.zeros(2), np.zeros(2))


def _stages(spec: ChallengeSpec) -> list[str]:
    return options_of(spec).stages


def _good(spec: ChallengeSpec, data: PreparedData) -> pd.DataFrame:
    """Return min_new..budget new rows per stage plus one replayed row from the stage before."""
    rows = []
    stages = _stages(spec)
    for k, stage in enumerate(stages):
        rows += [(stage, int(i)) for i in data.split(pool_split(stage)).ids[: spec.budget]]
        if k:
            rows.append((stage, int(data.split(pool_split(stages[k - 1])).ids[0])))
    return pd.DataFrame(rows, columns=["stage", "id"])


def test_every_violation_at_once_by_stage_row_and_column(
    tiny: tuple[ChallengeSpec, PreparedData], tmp_path: Path
) -> None:
    spec, data = tiny
    s1, s2, s3, s4 = _stages(spec)
    opts = options_of(spec)
    validate(spec, write_submission(_good(spec, data), tmp_path / "ok.csv", spec.id), data)
    pool = {s: data.split(pool_split(s)).ids for s in (s1, s2, s3, s4)}
    rows = [(s1, int(i)) for i in pool[s1][: spec.budget]]
    rows.append((s1, int(pool[s3][0])))  # row 41: a later stage's pool in an earlier stage
    rows.append(("voice9", int(pool[s1][0])))  # row 42: unknown stage
    rows.append((s2, 10**9))  # row 43: in no pool
    rows += [(s2, int(i)) for i in pool[s2][: spec.budget + 1]]  # over the budget
    rows.append((s2, int(pool[s2][0])))  # a duplicate within the stage
    rows += [(s3, int(i)) for i in pool[s3][: opts.min_new]]
    rows += [(s3, int(i)) for i in pool[s1][: opts.replay + 1]]  # over the replay budget
    # s4: no rows at all
    table = pd.DataFrame(rows, columns=["stage", "id"])
    with pytest.raises(SubmissionError) as info:
        validate(spec, write_submission(table, tmp_path / "bad.csv", spec.id), data)
    text = "\n".join(str(v) for v in info.value.violations)
    n1 = spec.budget
    assert f"bad.csv, row {n1 + 1}, field 'id': id {int(pool[s3][0])} is from the pool of stage '{s3}', " in text
    assert f"which comes after stage '{s1}'" in text
    assert f"bad.csv, row {n1 + 2}, field 'stage': unknown stage 'voice9'" in text and "did you mean" in text
    assert f"bad.csv, row {n1 + 3}, field 'id': id 1000000000 is in no stage's pool" in text
    dup_row = n1 + 3 + spec.budget + 2
    assert f"bad.csv, row {dup_row}, field 'id': duplicate stage+id: same as row {n1 + 4}" in text
    assert (
        f"field 'stage': stage '{s2}' has {spec.budget + 2} rows of its own pool; the budget is {spec.budget}" in text
    )
    assert f"stage '{s3}' replays {opts.replay + 1} rows of earlier stages' pools; at most {opts.replay}" in text
    assert f"stage '{s4}' has no rows" in text
    assert len(info.value.violations) == 7


def test_too_few_new_rows_is_refused(tiny: tuple[ChallengeSpec, PreparedData], tmp_path: Path) -> None:
    spec, data = tiny
    opts = options_of(spec)
    table = _good(spec, data)
    last = _stages(spec)[-1]
    keep = table[table["stage"] != last]
    few = pd.DataFrame({"stage": last, "id": data.split(pool_split(last)).ids[: opts.min_new - 1]})
    with pytest.raises(SubmissionError, match=f"stage '{last}' has {opts.min_new - 1} rows of its own pool; it needs"):
        validate(spec, write_submission(pd.concat([keep, few]), tmp_path / "few.parquet", spec.id), data)


def test_cli_validate_exits_2_naming_stage_row_and_column(
    tiny: tuple[ChallengeSpec, PreparedData], tmp_path: Path
) -> None:
    spec, data = tiny
    env = world_env(spec, data.folder, tmp_path)
    table = _good(spec, data)
    table.loc[0, "stage"] = _stages(spec)[-1] + "x"
    path = write_submission(table, tmp_path / "bad.csv", spec.id)
    proc = subprocess.run(
        [sys.executable, "-m", "dataperf.cli", "validate", spec.id, str(path), "--json"],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    found = json.loads(proc.stdout)["violations"]
    assert {"file": "bad.csv", "row": 1, "field": "stage"} == {k: found[0][k] for k in ("file", "row", "field")}
    assert "unknown stage" in found[0]["message"]


def _evaluate(spec: ChallengeSpec, data: PreparedData, table: pd.DataFrame, path: Path) -> Any:
    return evaluate(spec, write_submission(table, path, spec.id), data=data)


def test_deterministic_and_file_order_free(tiny: tuple[ChallengeSpec, PreparedData], tmp_path: Path) -> None:
    spec, data = tiny
    with single_threaded():
        table = get_baseline(spec.kind, "replay").build(spec, data, 0)
    first = _evaluate(spec, data, table, tmp_path / "a.parquet")
    again = _evaluate(spec, data, table, tmp_path / "a.parquet")
    shuffled = _evaluate(spec, data, table.sample(frac=1.0, random_state=3), tmp_path / "b.csv")
    assert first.same_scores(again) and first.same_scores(shuffled)
    assert first.extra == again.extra == shuffled.extra


def test_extras_hold_the_matrix_and_measures(tiny: tuple[ChallengeSpec, PreparedData], tmp_path: Path) -> None:
    spec, data = tiny
    with single_threaded():
        table = get_baseline(spec.kind, "random").build(spec, data, 0)
    result = _evaluate(spec, data, table, tmp_path / "r.parquet")
    t = len(_stages(spec))
    extra = result.extra
    assert extra["stages"] == _stages(spec)
    assert np.asarray(extra["R"]).shape == (t, t)
    assert sorted(extra["per_seed"]) == sorted(str(s) for s in spec.seeds)
    for seed in spec.seeds:
        per = extra["per_seed"][str(seed)]
        r = np.asarray(per["R"])
        assert result.scores["acc"][seed] == per["acc"] == pytest.approx(r[-1].mean(), abs=0)
        assert per == per | measures(r, np.asarray(per["initial"]), np.asarray(per["joint"]))
    assert np.asarray(extra["R"]) == pytest.approx(np.mean([extra["per_seed"][str(s)]["R"] for s in spec.seeds], 0))
    for name in ("bwt", "fwt", "forgetting", "intransigence"):
        values = [extra["per_seed"][str(s)][name] for s in spec.seeds]
        lo, hi = extra[f"{name}_ci95"]
        assert extra[name] == pytest.approx(np.mean(values))
        assert lo <= extra[name] <= hi
    layout = kind_of(spec).board(spec, False)
    assert [c.label for c in layout.columns][:1] == ["ACC"]
    assert {c.key for c in layout.columns} - {"score", "ci95"} <= set(extra)
    # a result survives JSON (the docker runner and the server store it so) with its extras
    from dataperf.contract import Result

    assert Result.from_dict(json.loads(result.to_json())).extra == extra


def test_evaluate_prints_the_matrix(tiny: tuple[ChallengeSpec, PreparedData], tmp_path: Path) -> None:
    spec, data = tiny
    env = world_env(spec, data.folder, tmp_path)
    with single_threaded():
        table = get_baseline(spec.kind, "balanced").build(spec, data, 0)
    path = write_submission(table, tmp_path / "sub.parquet", spec.id)
    proc = subprocess.run(
        [sys.executable, "-m", "dataperf.cli", "evaluate", spec.id, str(path)],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "R[i, j]: accuracy on stage j's test split after training stage i" in out
    header = next(line for line in out.splitlines() if line.startswith("after stage"))
    assert [c.strip() for c in header.split("|")[1:]] == _stages(spec)
    for label in ("BWT", "FWT", "Forgetting", "Intransigence"):
        assert any(line.startswith(label) for line in out.splitlines()), label


def test_board_rows_copy_the_layout_columns_from_extra() -> None:
    from types import SimpleNamespace

    from leaderboard.boards.boards import _plain_row

    sub = SimpleNamespace(
        id=7,
        team="t",
        is_baseline=False,
        label="x",
        filename="x.parquet",
        created_at=None,
        result={"mean": 0.8, "ci95": [0.7, 0.9], "provenance": {}, "extra": {"bwt": -0.2, "fwt": 0.1}},
    )
    row = _plain_row(sub, ["score", "ci95", "bwt", "fwt", "forgetting"])
    assert (row["score"], row["ci95"], row["bwt"], row["fwt"], row["forgetting"]) == (0.8, [0.7, 0.9], -0.2, 0.1, None)


def test_domains_are_additive_and_checked() -> None:
    spec = get_challenge(CHALLENGE)
    for name in challenges().names():
        other = challenges().get(name)
        if other.data.domains is None:
            dumped = json.dumps(other.model_dump(mode="json"))
            assert '"domain' not in dumped, name
    doc = spec.model_dump(mode="json")
    assert doc["data"]["domains"] == {"method": "style-clusters", "count": 6, "max_rows": 20000}
    assert parse_spec(doc, "dumped") == spec
    no_groups = json.loads(json.dumps(doc))
    del no_groups["data"]["domains"]
    with pytest.raises(SpecError, match=r"domain needs data\.domains"):
        parse_spec(no_groups, "no-groups.yaml")
    too_far = json.loads(json.dumps(doc))
    too_far["data"]["splits"]["pool-voice1"]["domain"] = 6
    with pytest.raises(SpecError, match=r"domain must be below data.domains.count \(6\), got 6"):
        parse_spec(too_far, "too-far.yaml")
    missing = json.loads(json.dumps(doc))
    del missing["data"]["splits"]["test-voice2"]
    with pytest.raises(SpecError, match=r"data\.splits lacks 'test-voice2'"):
        parse_spec(missing, "missing.yaml")


def test_tiny_stages_are_disjoint_domains(tiny: tuple[ChallengeSpec, PreparedData]) -> None:
    spec, data = tiny
    seen: set[int] = set()
    for stage in _stages(spec):
        for split in (pool_split(stage), f"test-{stage}"):
            ids = set(data.split(split).ids.tolist())
            assert not ids & seen
            seen |= ids
