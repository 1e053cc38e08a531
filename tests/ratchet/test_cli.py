"""The CLI commands of the ratchet: db, submit --local, leaderboard, ratchet, rescore."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dataperf.cli import main
from tests.ratchet.ratchet_helpers import baseline_file

TRAIN, TEST = "tiny-selection", "tiny-testset"


def test_cli_end_to_end(tiny_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = ["--db", f"sqlite:///{tmp_path / 'cli.db'}"]
    assert main(["db", "upgrade", *db]) == 0
    train = baseline_file(TRAIN, "training-set", "balanced", 0, tmp_path)
    assert main(["submit", "--local", TRAIN, str(train), "--team", "ada", *db]) == 0
    assert (
        main(
            [
                "submit",
                "--local",
                TEST,
                str(baseline_file(TEST, "test-set", "random", 0, tmp_path)),
                "--team",
                "ada",
                *db,
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert main(["submit", "--local", TRAIN, str(train), "--team", "ada", "--json", *db]) == 0
    assert json.loads(capsys.readouterr().out)["duplicate"] is True
    assert main(["leaderboard", TRAIN, "--json", *db]) == 0
    board = json.loads(capsys.readouterr().out)
    assert [r["team"] for r in board["rows"]] == ["ada"] and 0.0 < board["rows"][0]["score"] <= 1.0
    assert main(["leaderboard", TEST, "--csv", *db]) == 0
    assert capsys.readouterr().out.startswith("rank,team,label,baseline,difficulty,in_suite")
    assert main(["ratchet", TEST, "--json", *db]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["problem"] == TRAIN and doc["history"][0]["kind"] == "init" and len(doc["matrix"]["train"]) == 1
    assert main(["rescore", "-q", *db]) == 0
    assert "no leaderboard changed" in capsys.readouterr().out


def test_cli_refusals(tiny_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = ["--db", f"sqlite:///{tmp_path / 'cli.db'}"]
    train = baseline_file(TRAIN, "training-set", "balanced", 0, tmp_path)
    assert main(["submit", TRAIN, str(train), "--team", "ada"]) == 2
    assert "server" in capsys.readouterr().err  # remote submission needs a configured server
    bad = tmp_path / "bad.csv"
    bad.write_text("task,id,label\nshirt,1,7\n")
    assert main(["submit", "--local", TRAIN, str(bad), "--team", "ada", *db]) == 2
    assert "violation" in capsys.readouterr().err
    assert main(["ratchet", "tiny-plain", *db]) == 2
