"""The command line through click's CliRunner: help and exit statuses, refusals (a table, or
JSON), evaluate's split naming, quickstart's score labels, and diff for every kind."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from baselines import for_kind
from dataperf.challenges import challenges, get_challenge
from dataperf.cli import COMMAND_MODULES, cli, main
from dataperf.evaluator import load_data, single_threaded
from dataperf.kinds import KINDS
from dataperf.submission import write_submission
from tests.cli.conftest import World

SELECTION = "speech-selection"


def run(env: dict[str, str], *args: str) -> Result:
    """Run ``dataperf ARGS`` in process, in ``env``."""
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def baseline_files(env: dict[str, str], challenge: str, folder: Path, count: int = 2) -> list[Path]:
    """Write the first ``count`` baselines of ``challenge`` (seed 0) as CSV files."""
    import os

    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        spec = get_challenge(challenge)
        data = load_data(spec)
        out = []
        for b in for_kind(spec.kind)[:count]:
            with single_threaded():
                table = b.build(spec, data, 0)
            out.append(write_submission(table, folder / f"{challenge}-{b.name}.csv", spec.id))
        return out
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def test_help_lists_the_commands_and_states_exit_statuses_and_completion() -> None:
    done = CliRunner().invoke(cli, ["--help"])
    assert done.exit_code == 0
    for name in COMMAND_MODULES:
        assert f"\n  {name.replace('_', '-')} " in done.output
    assert (
        "0  ok" in done.output and "2  the input was refused" in done.output and "1  any other failure" in done.output
    )
    assert "_DATAPERF_COMPLETE=bash_source dataperf" in done.output


def test_usage_errors_exit_2_and_main_returns_the_status(capsys: pytest.CaptureFixture[str]) -> None:
    assert CliRunner().invoke(cli, ["no-such-command"]).exit_code == 2
    assert CliRunner().invoke(cli, ["evaluate"]).exit_code == 2  # missing arguments
    assert CliRunner().invoke(cli, ["leaderboard", "x", "--view", "everyone"]).exit_code == 2
    assert main(["evaluate", "--no-such-flag", "a", "b"]) == 2
    assert "No such option '--no-such-flag'" in capsys.readouterr().err
    assert main(["challenges", "no-such-challenge"]) == 2  # a refused name: the InputError family
    assert "no-such-challenge" in capsys.readouterr().err
    assert main(["--help"]) == 0


def test_a_refused_file_exits_2_with_the_violation_table(world: World, tmp_path: Path) -> None:
    env = world(SELECTION)
    bad = tmp_path / "bad.csv"
    bad.write_text("task,id,label\nb25,-5,0\nb25,-6,99\n")
    done = run(env, "validate", SELECTION, str(bad))
    assert done.exit_code == 2
    err = done.stderr
    assert err.startswith("dataperf: error: submission rejected:")
    header = err.splitlines()[1]
    assert header.split("|")[0].strip() == "where" and header.split("|")[1].strip() == "problem"
    assert "bad.csv, row 1, field 'id'" in err and "bad.csv, row 2, field 'label'" in err
    assert "\x1b[" not in err  # no colour when not a terminal
    assert done.stdout == ""


def test_json_prints_the_refusal_as_one_document(world: World, tmp_path: Path) -> None:
    env = world(SELECTION)
    bad = tmp_path / "bad.csv"
    bad.write_text("task,id,label\nb25,-5,0\n")
    done = run(env, "validate", SELECTION, str(bad), "--json")
    assert done.exit_code == 2
    doc = json.loads(done.stdout)
    assert doc["type"] == "SubmissionError"
    assert {"file": "bad.csv", "row": 1, "field": "id"}.items() <= doc["violations"][0].items()
    good = baseline_files(env, SELECTION, tmp_path, count=1)[0]
    ok = run(env, "validate", SELECTION, str(good), "--json")
    assert ok.exit_code == 0 and json.loads(ok.stdout)["valid"] is True


def test_evaluate_names_its_split_and_hidden_gives_the_servers_score(world: World, tmp_path: Path) -> None:
    env = world(SELECTION)
    sub = baseline_files(env, SELECTION, tmp_path, count=1)[0]
    public = run(env, "evaluate", SELECTION, str(sub))
    assert public.exit_code == 0, public.output
    assert "split: " in public.stdout and "public bundle, as a participant scores it" in public.stdout
    assert "on the public 'dev' split" in public.stdout
    doc = json.loads(run(env, "evaluate", SELECTION, str(sub), "--json").stdout)
    assert doc["provenance"]["data_bundle"] == "public"
    hidden = run(env, "evaluate", SELECTION, str(sub), "--hidden")
    assert hidden.exit_code == 0, hidden.output
    assert "private bundle (hidden labels), as the server scores it" in hidden.stdout
    server = json.loads(run(env, "evaluate", SELECTION, str(sub), "--hidden", "--json").stdout)
    assert "data_bundle" not in server["provenance"]
    # the former switch still works and says it is the default now
    old = run(env, "evaluate", SELECTION, str(sub), "--public", "--json")
    assert old.exit_code == 0 and "--public is deprecated" in old.stderr
    assert json.loads(old.stdout)["mean"] == doc["mean"]
    # a runner that scores as the server does needs the flag that says so
    refused = run(env, "evaluate", SELECTION, str(sub), "--runner", "docker")
    assert refused.exit_code == 2 and "add --hidden" in refused.stderr


def test_quickstart_names_the_split_or_suite_of_every_score(world: World) -> None:
    env = world("speech-testset")  # with its pair: a ratchet
    done = run(env, "quickstart", "speech-selection", "speech-testset")
    assert done.exit_code == 0, done.output
    out = done.stdout
    assert out.count("local score (what 'dataperf evaluate' gives, with the public bundle)") == 1
    assert "local score (with the private bundle: the public one cannot score this challenge" in out
    assert out.count("leaderboard (the server's score, in the data ratchet): ") == 2
    assert "mean over the suite's test sets" in out and "difficulty over the top-k training sets" in out
    for line in out.splitlines():  # every score column is named for what it is
        if line.startswith("rank "):
            assert "| local score |" in line


KIND_CHALLENGES = {k: next(n for n in challenges().names() if get_challenge(n).kind == k) for k in KINDS.names()}
"""One built-in challenge of each registered kind (the first by name)."""


@pytest.mark.parametrize(
    "challenge",
    [
        pytest.param(c, id=k, marks=[pytest.mark.slow] if c.startswith("text-") else [])
        for k, c in sorted(KIND_CHALLENGES.items())
    ],
)
def test_diff_of_two_baselines_for_every_kind(world: World, tmp_path: Path, challenge: str) -> None:
    env = world(challenge)
    a, b = baseline_files(env, challenge, tmp_path)
    done = run(env, "diff", challenge, str(a), str(b), "--json")
    hidden: tuple[str, ...] = ()
    if done.exit_code == 2:  # this kind's score needs labels only the server holds
        assert "add --hidden" in done.stderr
        hidden = ("--hidden",)
        done = run(env, "diff", challenge, str(a), str(b), "--json", *hidden)
    assert done.exit_code == 0, done.output
    doc = json.loads(done.stdout)
    assert (doc["a"]["name"], doc["b"]["name"]) == (a.name, b.name)
    changes = doc["changes"]
    assert changes["summary"] and changes["tables"]
    for t in changes["tables"]:
        assert t["title"] and all(len(r) == len(t["columns"]) for r in t["rows"])
    scores = doc["scores"]
    for e in [*scores["tasks"].values(), scores["overall"]]:
        assert e["delta"] == pytest.approx(e["b"] - e["a"])
        assert len(e["per_seed"]) == len(scores["seeds"])
    # the same file on both sides: nothing changed, no score change
    same = json.loads(run(env, "diff", challenge, str(a), str(a), "--json", *hidden).stdout)
    assert same["scores"]["overall"]["delta"] == 0.0 and same["scores"]["overall"]["better"] is None
    numbers = [v for v in same["changes"]["summary"].values() if isinstance(v, int)]
    assert numbers and not [
        v
        for k, v in same["changes"]["summary"].items()
        if k in ("added", "removed", "relabelled", "changed", "only_a") and v != 0
    ]
    # the plain rendering prints every table of the kind's diff and the paired interval
    text = run(env, "diff", challenge, str(a), str(b), *hidden).stdout
    for t in changes["tables"]:
        assert t["title"] in text
    assert "score change B - A" in text and "paired 95% CI" in text


def test_diff_refuses_what_is_neither_a_file_nor_an_id(world: World, tmp_path: Path) -> None:
    env = world(SELECTION)
    a = baseline_files(env, SELECTION, tmp_path, count=1)[0]
    done = run(env, "diff", SELECTION, str(a), "no-such-file.csv")
    assert done.exit_code == 2 and "neither a file nor a submission id" in done.stderr


def test_challenges_rules_prints_the_generated_rules_page() -> None:
    """``challenges ID --rules`` prints the rules page rendered from the spec; without an id it is refused."""
    from dataperf.challenges import get_challenge
    from dataperf.rules import render_text

    res = CliRunner().invoke(cli, ["challenges", "vision-selection", "--rules"])
    assert res.exit_code == 0, res.output
    assert res.output.strip() == render_text(get_challenge("vision-selection")).strip()
    res = CliRunner().invoke(cli, ["challenges", "--rules"])
    assert res.exit_code == 2
    assert "--rules needs a challenge id" in res.output
