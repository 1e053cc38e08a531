"""Bad submissions and bad specs: a clear message naming file, row and field; nothing stored."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dataperf.challenges import load_spec, parse_spec
from dataperf.contract import ChallengeSpec
from dataperf.data.prepared import PreparedData
from dataperf.errors import RegistryError, SpecError, SubmissionError
from dataperf.evaluator import validate
from dataperf.registry import Registry
from dataperf.submission import write_submission
from dataperf.testing import world_env

CHALLENGES_DIR = Path(__file__).resolve().parent.parent / "challenges"


@pytest.fixture()
def vision(tiny_data: dict[str, tuple[ChallengeSpec, PreparedData]]) -> tuple[ChallengeSpec, PreparedData]:
    return tiny_data["vision-selection"]


def _good(spec: ChallengeSpec, data: PreparedData) -> pd.DataFrame:
    pool = data.split("pool")
    rows = [(t.name, int(pool.ids[i]), i % 2) for t in spec.tasks for i in range(10)]
    return pd.DataFrame(rows, columns=["task", "id", "label"])


def _violations(spec: ChallengeSpec, data: PreparedData, path: Path) -> list[str]:
    with pytest.raises(SubmissionError) as info:
        validate(spec, path, data)
    return [str(v) for v in info.value.violations]


def test_good_submission_passes(vision: tuple[ChallengeSpec, PreparedData], tmp_path: Path) -> None:
    spec, data = vision
    path = write_submission(_good(spec, data), tmp_path / "ok.csv", spec.id)
    assert len(validate(spec, path, data).table) == 10 * len(spec.tasks)


def test_all_violations_reported_at_once_with_rows(vision: tuple[ChallengeSpec, PreparedData], tmp_path: Path) -> None:
    spec, data = vision
    df = _good(spec, data)
    df.loc[0, "id"] = 10**9  # not in the pool
    df.loc[1, "label"] = 7  # outside {0, 1}
    df.loc[2, "task"] = "shirts"  # unknown task, close to 'shirt'
    df.loc[3] = df.loc[4]  # duplicate of row 5
    msgs = _violations(spec, data, write_submission(df, tmp_path / "bad.csv", spec.id))
    text = "\n".join(msgs)
    assert "bad.csv, row 1, field 'id': id 1000000000 is not in the candidate pool" in text
    assert "bad.csv, row 2, field 'label': label 7 is not a label of task" in text
    assert "row 3, field 'task': unknown task 'shirts'" in text and "did you mean 'shirt'" in text
    assert "field 'id': duplicate task+id: same as row 4" in text


def test_over_budget_and_missing_task(vision: tuple[ChallengeSpec, PreparedData], tmp_path: Path) -> None:
    spec, data = vision
    pool = data.split("pool")
    first = spec.tasks[0]
    n = spec.task_budget(first) + 1
    df = pd.DataFrame({"task": first.name, "id": pool.ids[:n], "label": 0})
    text = "\n".join(_violations(spec, data, write_submission(df, tmp_path / "b.parquet", spec.id)))
    assert f"task '{first.name}' has {n} rows; its budget is {n - 1}" in text
    for t in spec.tasks[1:]:
        assert f"task '{t.name}' has no rows" in text


def test_wrong_columns_and_dtypes(vision: tuple[ChallengeSpec, PreparedData], tmp_path: Path) -> None:
    spec, data = vision
    path = tmp_path / "cols.csv"
    path.write_text("task,ident,label\nshirt,1,0\n")
    text = "\n".join(_violations(spec, data, path))
    assert "field 'id': required column is missing" in text and "field 'ident': unknown column" in text
    path = tmp_path / "types.csv"
    path.write_text("task,id,label\nshirt,12.5,0\nshirt,abc,1\nshirt,3,yes\n")
    text = "\n".join(_violations(spec, data, path))
    assert "row 1, field 'id': must be an integer, got '12.5'" in text
    assert "row 2, field 'id': must be an integer, got 'abc'" in text
    assert "row 3, field 'label': must be an integer, got 'yes'" in text


def test_nan_and_inf(vision: tuple[ChallengeSpec, PreparedData], tmp_path: Path) -> None:
    spec, data = vision
    df = pd.DataFrame({"task": ["shirt", "shirt"], "id": [np.nan, np.inf], "label": [0.0, 1.0]})
    path = tmp_path / "nan.parquet"
    df.to_parquet(path)
    text = "\n".join(_violations(spec, data, path))
    assert "row 1, field 'id': must be an integer, got nan" in text
    assert "row 2, field 'id': must be an integer, got inf" in text


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("empty.csv", b"", "is empty"),
        ("header.csv", b"task,id,label\n", "has no rows"),
        ("trunc.json", b'{"challenge": "vision-selection", "rows": [{"task": "shirt"', "is not valid JSON"),
        ("trunc.parquet", b"PAR1\x00\x00garbage", "not a readable Parquet file"),
        ("sub.xlsx", b"whatever", "unknown format '.xlsx'"),
        ("obj.json", b'{"rows": [1, 2]}', "each row must be a JSON object"),
        ("bad.csv", b'task,id,label\n"shirt,1,0\n', "is not valid CSV"),
    ],
)
def test_malformed_files(
    vision: tuple[ChallengeSpec, PreparedData], tmp_path: Path, name: str, content: bytes, expected: str
) -> None:
    spec, data = vision
    path = tmp_path / name
    path.write_bytes(content)
    text = "\n".join(_violations(spec, data, path))
    assert name in text and expected in text


def test_truncated_real_parquet(vision: tuple[ChallengeSpec, PreparedData], tmp_path: Path) -> None:
    spec, data = vision
    good = write_submission(_good(spec, data), tmp_path / "good.parquet", spec.id).read_bytes()
    path = tmp_path / "cut.parquet"
    path.write_bytes(good[: len(good) // 2])
    assert "not a readable Parquet file" in "\n".join(_violations(spec, data, path))


def test_file_for_another_challenge(tiny_data: dict[str, tuple[ChallengeSpec, PreparedData]], tmp_path: Path) -> None:
    spec, data = tiny_data["vision-selection"]
    path = write_submission(_good(spec, data), tmp_path / "x.json", "speech-selection")
    text = "\n".join(_violations(spec, data, path))
    assert "this file is for challenge 'speech-selection', not 'vision-selection'" in text
    cspec, cdata = tiny_data["vision-cleaning"]
    text = "\n".join(_violations(cspec, cdata, write_submission(_good(spec, data), tmp_path / "y.csv", "x")))
    assert "field 'rank': required column is missing" in text


def test_cleaning_ranking_must_be_complete(
    tiny_data: dict[str, tuple[ChallengeSpec, PreparedData]], tmp_path: Path
) -> None:
    spec, data = tiny_data["vision-cleaning"]
    ids = data.split("train").ids
    df = pd.DataFrame({"rank": [1, 1, 0], "id": [ids[0], ids[1], ids[0]]})
    text = "\n".join(_violations(spec, data, write_submission(df, tmp_path / "r.csv", spec.id)))
    assert "row 2, field 'rank': duplicate rank: same as row 1" in text
    assert "row 3, field 'rank': rank 0 is outside" in text
    assert "row 3, field 'id': duplicate id: same as row 1" in text
    assert f"must list every one of the {len(ids)} training rows once; it has 3 rows" in text


def _spec_doc() -> dict[str, object]:
    import yaml

    doc = yaml.safe_load((CHALLENGES_DIR / "vision-selection.yaml").read_text())
    assert isinstance(doc, dict)
    return doc


def test_spec_unknown_key_and_missing_version() -> None:
    doc = _spec_doc()
    doc["colour"] = "blue"
    del doc["version"]
    doc["tasks"][0]["budgte"] = 3  # type: ignore[index]
    with pytest.raises(SpecError) as info:
        parse_spec(doc, "x.yaml")
    text = str(info.value)
    assert "x.yaml: invalid challenge spec" in text
    assert "colour: unknown key" in text
    assert "version: required key is missing" in text
    assert "tasks[0].budgte: unknown key" in text


def test_spec_bad_values() -> None:
    doc = _spec_doc()
    doc["version"] = "1"
    doc["seeds"] = [1, 1]
    with pytest.raises(SpecError) as info:
        parse_spec(doc, "x.yaml")
    assert "version: Input should be a valid integer (got '1')" in str(info.value)
    doc["version"] = 1
    with pytest.raises(SpecError, match="seeds must be unique"):
        parse_spec(doc, "x.yaml")
    doc["seeds"] = [1]
    doc["kind"] = "training-sets"
    with pytest.raises(SpecError, match="Did you mean 'training-set'"):
        parse_spec(doc, "x.yaml")


def test_spec_yaml_is_safe_loaded(tmp_path: Path) -> None:
    path = tmp_path / "evil.yaml"
    path.write_text("!!python/object/apply:os.system ['echo hacked']\n")
    with pytest.raises(SpecError, match="not valid YAML"):
        load_spec(path)


def test_registry_duplicates_and_suggestions() -> None:
    reg: Registry[int] = Registry("widget")
    reg.add("alpha", 1)
    with pytest.raises(RegistryError, match="registered twice"):
        reg.add("alpha", 2)
    with pytest.raises(RegistryError, match="Did you mean 'alpha'"):
        reg.get("alpah")


def test_cli_rejects_with_exit_2_and_no_traceback(vision: tuple[ChallengeSpec, PreparedData], tmp_path: Path) -> None:
    spec, data = vision
    env = world_env(spec, data.folder, tmp_path)
    path = tmp_path / "bad.csv"
    ids = data.split("pool").ids
    path.write_text(f"task,id,label\nshirt,{ids[0]},0\nshirt,-5,0\nshirt,{ids[1]},7\n")
    proc = subprocess.run(
        [sys.executable, "-m", "dataperf.cli", "validate", spec.id, str(path), "--json"],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["type"] == "SubmissionError"
    rows = {(v["row"], v["field"]) for v in doc["violations"]}
    assert (2, "id") in rows, doc["violations"]  # -5 is not a pool id: data row 2, column id
    assert (3, "label") in rows, doc["violations"]  # 7 is outside {0, 1}: data row 3, column label
    assert "bad.csv, row 2, field 'id'" in proc.stderr


def test_cli_prepares_missing_data_itself_and_a_changed_file_fails_with_exit_1(tmp_path: Path) -> None:
    import os

    from dataperf.challenges import challenges
    from dataperf.testing import tiny_spec, write_challenges

    spec = tiny_spec(challenges().get("speech-selection"))
    home = tmp_path / "home"
    env = {
        **os.environ,
        "DATAPERF_CHALLENGES": str(write_challenges([spec], tmp_path / "challenges")),
        "DATAPERF_BUILTIN_CHALLENGES": "0",
        "DATAPERF_HOME": str(home),
    }
    path = tmp_path / "mine.csv"
    path.write_text(f"task,id,label\n{spec.tasks[0].name},-1,0\n")
    cmd = [sys.executable, "-m", "dataperf.cli", "validate", spec.id, str(path)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    # no prepared data: validate prepares it (saying so), then refuses the file for its own problems
    assert proc.returncode == 2, proc.stderr
    assert "no prepared data in the data home yet: preparing it" in proc.stderr
    assert (home / "data" / spec.id / f"v{spec.version}" / "croissant.json").is_file()
    assert "mine.csv, row 1, field 'id'" in proc.stderr  # the violation table: where, then what
    cmd.append("--json")
    # a prepared file changed since: not the input's fault, exit 1, nothing prepared over it
    pool = home / "data" / spec.id / f"v{spec.version}" / "pool.parquet"
    pool.write_bytes(pool.read_bytes() + b"changed")
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert f"run 'dataperf prepare {spec.id} --force'" in proc.stderr
    assert json.loads(proc.stdout)["type"] == "DataError"


def test_cli_lists_violations_as_json(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("")
    proc = subprocess.run(
        [sys.executable, "-m", "dataperf.cli", "validate", "vision-selection", str(path), "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    doc = json.loads(proc.stdout)
    assert doc["violations"] == [{"file": "empty.csv", "row": None, "field": None, "message": "is empty"}]
    assert (
        "Traceback" not in proc.stderr and "\nempty.csv | is empty\n" in proc.stderr
    )  # the violation table: where | problem
