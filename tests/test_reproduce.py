"""``dataperf reproduce``: every baseline's result of every challenge re-scores bit for bit, and a
difference in a score, the spec, or the submission is named (exit 1); an unusable result is exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from baselines import for_kind
from dataperf import testing
from dataperf.challenges import challenges
from dataperf.cli.commands.reproduce import command
from dataperf.contract import ChallengeSpec
from dataperf.data.prepare import prepare
from dataperf.data.prepared import PreparedData
from dataperf.evaluator import evaluate, single_threaded
from dataperf.submission import write_submission

BUILTIN = challenges()
IDS = BUILTIN.names()


def _world(cid: str, root: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[ChallengeSpec, PreparedData]:
    """Make the command line see the tiny version of ``cid`` (and its pair) and its prepared data;
    return the spec as the registry loads it, and the data."""
    spec = BUILTIN.get(cid)
    tiny = [testing.tiny_spec(spec)]
    if spec.pair is not None:
        tiny.insert(0, testing.tiny_spec(BUILTIN.get(spec.pair)))
    folder = testing.write_challenges(tiny, root / "challenges")
    monkeypatch.setenv("DATAPERF_CHALLENGES", str(folder))
    monkeypatch.setenv("DATAPERF_BUILTIN_CHALLENGES", "0")
    monkeypatch.setenv("DATAPERF_HOME", str(root / "home"))
    loaded = challenges(folder)
    small = loaded.get(cid)
    home = root / "home" / "data"
    if small.pair is not None:  # a dual shares its pair's data recipe: share the folder
        pair = loaded.get(small.pair)
        target = home / small.id / f"v{small.version}"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(prepare(pair, root=home / pair.id / f"v{pair.version}"))
        return small, PreparedData(small, target)
    return small, PreparedData(small, prepare(small, root=home / small.id / f"v{small.version}"))


def _scored(spec: ChallengeSpec, data: PreparedData, name: str, folder: Path) -> Path:
    """Write baseline ``name``'s submission and its result into ``folder``; return the result file."""
    build = {b.name: b.build for b in for_kind(spec.kind)}[name]
    folder.mkdir(parents=True)
    with single_threaded():
        table = build(spec, data, 0)
    sub = folder / f"{name}.parquet"
    write_submission(table, sub, spec.id)
    out = folder / "result.json"
    out.write_text(evaluate(spec, sub, data=data).to_json() + "\n")
    return out


@pytest.mark.parametrize("cid", IDS)
def test_every_baseline_reproduces_bit_for_bit(cid: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec, data = _world(cid, tmp_path, monkeypatch)
    names = [b.name for b in for_kind(spec.kind)]
    assert names
    for name in names:
        result = _scored(spec, data, name, tmp_path / "runs" / name)
        out = CliRunner().invoke(command, [str(result)])
        assert out.exit_code == 0, (name, out.output)
        assert "reproduced bit for bit" in out.output


def test_differences_are_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec, data = _world("vision-selection", tmp_path, monkeypatch)
    result = _scored(spec, data, "random", tmp_path / "run")
    doc = json.loads(result.read_text())
    task = spec.tasks[0].name
    seed = str(spec.seeds[-1])

    nudged = json.loads(json.dumps(doc))
    value = nudged["scores"][task][seed]
    nudged["scores"][task][seed] = value + abs(value) * 2**-52 + 5e-324  # the next float up
    (tmp_path / "run" / "nudged.json").write_text(json.dumps(nudged))
    out = CliRunner().invoke(command, [str(tmp_path / "run" / "nudged.json")])
    assert out.exit_code == 1 and f"NOT reproduced: scores.{task}.{seed}: recorded" in out.output

    other = json.loads(json.dumps(doc))
    other["provenance"]["spec_sha256"] = "0" * 64
    (tmp_path / "run" / "other-spec.json").write_text(json.dumps(other))
    out = CliRunner().invoke(command, [str(tmp_path / "run" / "other-spec.json")])
    assert out.exit_code == 1 and "spec sha256: recorded 000" in out.output

    wrong = tmp_path / "wrong.csv"
    wrong.write_text("task,id,label\n")
    out = CliRunner().invoke(command, [str(result), "--submission", str(wrong)])
    assert out.exit_code == 1 and "submission sha256: recorded" in out.output

    out = CliRunner().invoke(command, [str(result), "--json"])
    assert out.exit_code == 0 and json.loads(out.output)["matched"] is True


def test_unusable_input_is_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "result.json"
    bad.write_text("{not json")
    out = CliRunner().invoke(command, [str(bad)])
    assert out.exit_code == 2 and "result.json: not JSON" in out.output
    bad.write_text(json.dumps({"scores": {}}))
    out = CliRunner().invoke(command, [str(bad)])
    assert out.exit_code == 2 and "not a dataperf result" in out.output
    out = CliRunner().invoke(command, [str(tmp_path / "missing.json")])
    assert out.exit_code == 2 and "cannot read" in out.output


@pytest.mark.slow
@pytest.mark.parametrize("cid", ["vision-selection", "speech-selection", "vision-testset", "text-acquisition"])
def test_real_baselines_reproduce(cid: str, tmp_path: Path) -> None:
    """The real challenges (the fast ones), on their real prepared data."""
    spec = BUILTIN.get(cid)
    data = PreparedData(spec, prepare(spec))
    for b in for_kind(spec.kind):
        result = _scored(spec, data, b.name, tmp_path / b.name)
        out = CliRunner().invoke(command, [str(result)])
        assert out.exit_code == 0, (b.name, out.output)
