"""The CLI against a live server: admin, login, submit --wait, status, leaderboard --server, refusals."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from tests.e2e.conftest import Live

pytestmark = [pytest.mark.slow, pytest.mark.live]  # a live server and worker as subprocesses, on a filled database


def _token(live: Live, name: str, *extra: str) -> str:
    out = live.cli("admin", "create-team", name, "--db", live.db, *extra, "--json").stdout
    return str(json.loads(out)["token"])


def _training_file(live: Live, seed: int) -> Path:
    """Write a fresh training set for tiny-selection (random baseline, another seed)."""
    path = live.home.parent / f"picks-{seed}.csv"
    code = (
        "import sys\nfrom pathlib import Path\nfrom baselines import get_baseline\n"
        "from dataperf.challenges import get_challenge\nfrom dataperf.evaluator import load_data\n"
        "from dataperf.submission import write_submission\nspec = get_challenge('tiny-selection')\n"
        f"t = get_baseline(spec.kind, 'random').build(spec, load_data(spec), {seed})\n"
        f"write_submission(t, Path({str(path)!r}), spec.id)\n"
    )
    import subprocess
    import sys

    subprocess.run([sys.executable, "-c", code], env=live.env, check=True, timeout=120)
    return path


def test_submit_wait_status_leaderboard(live: Live) -> None:
    token = _token(live, "cli-team")
    live.cli("login", live.url, "--token", token)
    login = live.home / "login.json"
    assert stat.S_IMODE(login.stat().st_mode) == 0o600 and token in login.read_text()
    path = _training_file(live, 11)
    done = live.cli("submit", "tiny-selection", str(path), "--wait")
    assert "accepted" in done.stderr and "position" in done.stderr and "resets at" in done.stderr
    assert ": done" in done.stdout
    sid = int(done.stdout.split()[1])
    st = live.cli("status", str(sid), "--json", "--log")
    doc = json.loads(st.stdout)
    assert doc["status"] == "done" and "leased by" in doc["log"]
    listing = live.cli("status").stdout
    assert str(sid) in listing
    board = json.loads(live.cli("leaderboard", "tiny-selection", "--server", "--json").stdout)
    assert sid in [r["submission"] for r in board["rows"]]
    text = live.cli("leaderboard", "tiny-selection", "--server", live.url).stdout
    assert "cli-team" in text


def test_refusals_exit_nonzero_with_the_servers_message(live: Live, tmp_path: Path) -> None:
    token = _token(live, "quota-team", "--quota", "1")
    env = live.env | {"DATAPERF_SERVER": live.url, "DATAPERF_TOKEN": token}
    bad = tmp_path / "bad.csv"
    bad.write_text("task,id,label\nshirt,-1,0\n")
    r = Live(live.url, live.db, live.home, env, live.logs).cli("submit", "tiny-selection", str(bad), check=False)
    assert r.returncode == 2 and "is not in the candidate pool" in r.stderr
    first = _training_file(live, 21)
    second = _training_file(live, 22)
    me = Live(live.url, live.db, live.home, env, live.logs)
    assert me.cli("submit", "tiny-selection", str(first)).returncode == 0
    r = me.cli("submit", "tiny-selection", str(second), "--json", check=False)
    assert r.returncode == 2 and "daily quota exhausted" in r.stderr and "resets at" in r.stderr
    assert json.loads(r.stdout)["error"].startswith("server refused (429)")
    nobody = Live(live.url, live.db, live.home, env | {"DATAPERF_TOKEN": "dp_wrong"}, live.logs)
    r = nobody.cli("submit", "tiny-selection", str(second), check=False)
    assert r.returncode == 2 and "unknown or revoked" in r.stderr


def test_diff_of_two_submissions_fetched_from_the_server(live: Live) -> None:
    token = _token(live, "diff-team")
    env = live.env | {"DATAPERF_SERVER": live.url, "DATAPERF_TOKEN": token}
    me = Live(live.url, live.db, live.home, env, live.logs)
    a, b = _training_file(live, 31), _training_file(live, 32)
    ids = [json.loads(me.cli("submit", "tiny-selection", str(p), "--json").stdout)["submission"] for p in (a, b)]
    local = json.loads(me.cli("diff", "tiny-selection", str(a), str(b), "--json").stdout)
    remote = json.loads(me.cli("diff", "tiny-selection", str(ids[0]), str(ids[1]), "--json").stdout)
    assert (remote["a"]["name"], remote["b"]["name"]) == (f"submission {ids[0]}", f"submission {ids[1]}")
    assert (remote["a"]["sha256"], remote["b"]["sha256"]) == (local["a"]["sha256"], local["b"]["sha256"])
    assert remote["changes"] == local["changes"] and remote["scores"] == local["scores"]
    assert remote["changes"]["summary"]["added"] > 0  # two random training sets differ
    other = me.cli("diff", "tiny-selection", str(ids[0]), "999999", check=False)
    assert other.returncode == 2 and "Traceback" not in other.stderr
