"""Organizers host their own challenges: data from files, extra spec folders, the check command."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dataperf.cli import main
from dataperf.hashing import sha256_file
from tests.hosting_data import write_digits_challenge


@pytest.fixture
def organizer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder holding the digits challenge, the built-in specs beside it, a private home."""
    monkeypatch.setenv("DATAPERF_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("DATAPERF_CHALLENGES", raising=False)
    monkeypatch.delenv("DATAPERF_BUILTIN_CHALLENGES", raising=False)
    return write_digits_challenge(tmp_path / "mine").parent


def test_check_prints_what_participants_see(organizer: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["challenges", "check", str(organizer / "digits-selection.yaml"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["id"] == "digits-selection" and report["source"] == "files"
    seen = {s["name"]: (s["rows"], s["features"], s["public_labels"]) for s in report["splits"]}
    assert seen == {
        "pool": (1000, 64, 1000),
        "dev": (400, 64, 400),
        "test": (200, 64, 0),
        "test-hidden": (197, 64, 0),
    }


def _spoil(folder: Path) -> None:
    pool = pd.read_parquet(folder / "pool.parquet")
    pool.loc[3, "id"] = pool.loc[2, "id"]  # a duplicate id (row 4)
    pool.loc[5, "px10"] = np.nan  # a non-finite feature (row 6)
    pool.loc[7, "label"] = 12  # a label outside the classes (row 8)
    pool.to_parquet(folder / "pool.parquet", index=False)
    dev = pd.read_csv(folder / "dev.csv")
    dev = dev[dev["label"] != 9]  # class 9 absent from the dev split
    dev.loc[dev.index[0], "id"] = np.nan  # a missing id (row 1)
    dev.to_csv(folder / "dev.csv", index=False)


def test_check_reports_every_violation_with_file_row_and_column(
    organizer: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _spoil(organizer)
    assert main(["challenges", "check", str(organizer / "digits-selection.yaml")]) == 2
    err = capsys.readouterr().err
    pool, dev = organizer / "pool.parquet", organizer / "dev.csv"
    assert f"{pool}, row 4, field 'id': id" in err and "is repeated (first at" in err
    assert f"{pool}, row 6: non-finite feature" in err
    assert f"{pool}, row 8, field 'label': label 12 is not a class index 0..9" in err
    assert f"{dev}, row 1, field 'id': id is missing" in err
    assert f"{dev}, field 'label': dev split 'dev' has no row of class 9 (9)" in err


def test_a_refused_prepare_stores_nothing(organizer: Path, tmp_path: Path) -> None:
    _spoil(organizer)
    assert main(["--challenges", str(organizer), "prepare", "digits-selection"]) == 2
    data = tmp_path / "home" / "data"
    assert not data.exists() or not any(data.rglob("*.parquet"))


def test_missing_file_and_bad_key_name_the_file_and_the_key(
    organizer: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (organizer / "hidden.parquet").unlink()
    assert main(["challenges", "check", str(organizer / "digits-selection.yaml")]) == 2
    assert f"{organizer / 'hidden.parquet'}: file not found" in capsys.readouterr().err
    spec = organizer / "digits-selection.yaml"
    spec.write_text(spec.read_text().replace("files: {pool:", "files: {pool: pool.txt, x:"))
    assert main(["challenges", "check", str(spec)]) == 2
    assert "data.files.pool must be a .parquet, .csv or Croissant .json file" in capsys.readouterr().err


def test_files_challenge_prepares_the_same_bytes_and_scores(organizer: Path, tmp_path: Path) -> None:
    from dataperf.challenges import get_challenge
    from dataperf.data.prepare import prepare
    from dataperf.data.prepared import PreparedData

    assert main(["--challenges", str(organizer), "prepare", "digits-selection"]) == 0
    import os

    os.environ["DATAPERF_CHALLENGES"] = str(organizer)
    try:
        spec = get_challenge("digits-selection")
        first = PreparedData(spec, prepare(spec))
        again = PreparedData(spec, prepare(spec, root=tmp_path / "again"))
    finally:
        del os.environ["DATAPERF_CHALLENGES"]
    assert first.sha256 == again.sha256
    pool = first.split("pool")
    assert first.dim == 64 and len(pool.ids) == 1000 and (np.diff(pool.ids) > 0).all()
    assert (first.split("test-hidden").public_labels == -1).all()
    assert (first.split("test").public_labels == -1).all()
    assert (first.split("dev").public_labels == first.split("dev").labels).all()
    truth = pd.read_parquet(organizer / "pool.parquet").sort_values("id")
    assert (pool.labels == truth["label"].to_numpy()).all()
    assert np.array_equal(np.asarray(pool.x), truth[[f"px{i}" for i in range(64)]].to_numpy(np.float32))
    out = tmp_path / "sub.parquet"
    args = ["--challenges", str(organizer)]
    assert main([*args, "baseline", "digits-selection", "crossval", "-o", str(out)]) == 0
    hidden = ["evaluate", "digits-selection", str(out), "--hidden", "--output", str(tmp_path / "r.json")]
    assert main([*args, *hidden]) == 0  # the private bundle's sha256: the server's data
    result = json.loads((tmp_path / "r.json").read_text())
    assert result["mean"] > 0.5 and result["provenance"]["data_sha256"] == first.sha256


def test_a_croissant_file_stands_in_for_a_table(organizer: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from dataperf.data.croissant import write_croissant

    sha = sha256_file(organizer / "hidden.parquet")
    meta = organizer / "hidden.json"
    write_croissant(
        meta, name="hidden", version=1, description="d", licence="BSD-3-Clause", citation="c",
        recipe={}, files={"hidden.parquet": sha}, splits=["hidden"],
    )  # fmt: skip
    doc = json.loads(meta.read_text())
    # map the record set's fields: id, label, then the 64 pixel columns as features
    fields = doc["recordSet"][0]["field"][:2]
    for i in range(64):
        fields.append(
            {"name": f"px{i}", "source": {"fileObject": {"@id": "hidden.parquet"}, "extract": {"column": f"px{i}"}}}
        )
    doc["recordSet"][0]["field"] = fields
    meta.write_text(json.dumps(doc))
    spec = organizer / "digits-selection.yaml"
    spec.write_text(spec.read_text().replace("test-hidden: hidden.parquet", "test-hidden: hidden.json"))
    assert main(["challenges", "check", str(spec), "--json"]) == 0
    seen = {s["name"]: s["rows"] for s in json.loads(capsys.readouterr().out)["splits"]}
    assert seen["test-hidden"] == 197
    table = pd.read_parquet(organizer / "hidden.parquet")
    table.loc[0, "px3"] += 1.0
    table.to_parquet(organizer / "hidden.parquet", index=False)
    assert main(["challenges", "check", str(spec)]) == 2
    err = capsys.readouterr().err
    assert f"{organizer / 'hidden.parquet'}: sha256 is" in err and f"its Croissant record ({meta}) says {sha}" in err


def test_challenge_folders_add_up_and_a_duplicate_id_names_both_files(
    organizer: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from dataperf.challenges import challenges, spec_path
    from dataperf.paths import builtin_challenges_dir

    monkeypatch.setenv("DATAPERF_CHALLENGES", str(organizer))
    names = challenges().names()
    assert "digits-selection" in names and "vision-selection" in names
    assert spec_path("digits-selection") == (organizer / "digits-selection.yaml").resolve()
    monkeypatch.setenv("DATAPERF_BUILTIN_CHALLENGES", "0")
    assert challenges().names() == ["digits-selection"]
    monkeypatch.delenv("DATAPERF_BUILTIN_CHALLENGES")
    twin = tmp_path / "twin"
    twin.mkdir()
    shutil.copy(builtin_challenges_dir() / "speech-selection.yaml", twin)
    assert main(["--challenges", str(twin), "challenges"]) == 2
    err = capsys.readouterr().err
    assert "challenge 'speech-selection' is defined twice" in err
    assert str(builtin_challenges_dir().resolve() / "speech-selection.yaml") in err
    assert str(twin.resolve() / "speech-selection.yaml") in err


@pytest.mark.parametrize(
    "model",
    [
        "{name: logreg, params: {C: 1.0, max_iter: 200}}",
        "{name: svc-lr-vote, params: {C: 1.0, lr_C: 1.0, max_iter: 200}}",
    ],
)
def test_any_training_set_challenge_gets_a_ratchet_with_its_dual(organizer: Path, tmp_path: Path, model: str) -> None:
    """A test-set dual of the organizer's own challenge: the matrix, the suite and the ratchet
    steps follow with no code written for the pair, whatever the fixed model (a model with no
    weights to store is fitted again from its training set's rows when a test set arrives)."""
    import os

    from leaderboard.ratchet import cells

    spec_file = organizer / "digits-selection.yaml"
    spec_file.write_text(spec_file.read_text().replace("  name: logreg\n  params: {C: 1.0, max_iter: 200}\n", ""))
    spec_file.write_text(spec_file.read_text().replace("model:\n", f"model: {model}\n"))
    cells.forget_banks()

    from dataperf.challenges import get_challenge
    from dataperf.data.prepare import prepare
    from leaderboard.boards.boards import matrix, suite
    from leaderboard.boards.visibility import Visibility
    from leaderboard.jobs.service import fill_from_baselines
    from leaderboard.storage.db import session_factory
    from tests.databases import migrated
    from tests.hosting_data import write_digits_dual

    write_digits_dual(organizer)
    os.environ["DATAPERF_CHALLENGES"] = str(organizer)
    try:
        for name in ("digits-selection", "digits-testset"):
            prepare(get_challenge(name))
        sessions = session_factory(migrated("sqlite", tmp_path / "db.sqlite"))
        done = fill_from_baselines(sessions, ["digits-selection", "digits-testset"])
        assert {(r["challenge"], r["status"]) for r in done} == {
            ("digits-selection", "done"),
            ("digits-testset", "done"),
        }
        steps = [r["result"]["ratchet"] for r in done if r["challenge"] == "digits-testset"]
        assert steps and all(s["difficulty"] is not None and s["accepted"] in (True, False) for s in steps)
        with sessions() as s:
            grid = matrix(s, "digits-testset", Visibility.ORGANIZER)
            members = suite(s, "digits-selection", Visibility.ORGANIZER)
        assert grid["ratchet"] and len(grid["train"]) == 4 and len(grid["test"]) >= 1
        assert len(members) >= 1
    finally:
        del os.environ["DATAPERF_CHALLENGES"]


def test_a_participant_scores_the_exported_public_bundle_on_its_dev_split(
    organizer: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--challenges", str(organizer)]
    assert main([*args, "prepare", "digits-selection"]) == 0
    bundle = tmp_path / "bundle"
    assert main([*args, "export", "digits-selection", "--public", "-o", str(bundle)]) == 0
    files = sorted(str(p.relative_to(bundle)) for p in bundle.rglob("*") if p.is_file())
    assert "challenges/digits-selection.yaml" in files
    assert not [f for f in files if "test-hidden" in f or f.endswith(".csv") or "hidden.parquet" in f]
    capsys.readouterr()
    # the participant: only the exported folder, not the organizer's files or data home
    monkeypatch.setenv("DATAPERF_HOME", str(bundle))
    theirs = ["--challenges", str(bundle / "challenges")]
    sub, result = tmp_path / "mine.csv", tmp_path / "result.json"
    assert main([*theirs, "baseline", "digits-selection", "crossval", "-o", str(sub)]) == 0
    assert main([*theirs, "evaluate", "digits-selection", str(sub), "--output", str(result)]) == 0
    assert "scored with the public bundle: on the public dev split" in capsys.readouterr().out
    doc = json.loads(result.read_text())
    assert doc["provenance"]["data_bundle"] == "public" and doc["mean"] > 0.5
    # the scoring split's labels are not in the bundle: the participant scored on the dev split
    public_test = pd.read_parquet(next(bundle.rglob("public/test.parquet")))
    assert len(public_test) == 200 and (public_test["public_label"] == -1).all()
    # the organizer's private bundle scores on the 'test' split, as the server does
    monkeypatch.setenv("DATAPERF_HOME", str(tmp_path / "home"))
    assert main([*args, "evaluate", "digits-selection", str(sub), "--hidden", "--output", str(result)]) == 0
    full = json.loads(result.read_text())
    assert "data_bundle" not in full["provenance"] and full["mean"] > 0.5
    assert full["mean"] != doc["mean"]  # 200 test rows against 400 dev rows
