"""A challenge's version bump: the old version's board stays readable (read model, JSON API,
CSV, pages) beside the new one, the new board starts from its own submissions, and nothing is
deleted."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select

from leaderboard.storage.db import session_factory
from leaderboard.storage.tables import Submission
from tests.databases import BACKENDS

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

SOLO = "tiny-solo"
"""A training-set challenge outside any ratchet (no challenge names it as its pair)."""


def write_solo(folder: Path, version: int, seeds: list[int]) -> None:
    """Write the solo challenge's spec (tiny-selection's recipe under another id) at ``version``."""
    from tests.server.conftest import CHALLENGES

    doc = yaml.safe_load((CHALLENGES / "tiny-selection.yaml").read_text())
    doc |= {"id": SOLO, "version": version, "title": f"Tiny solo v{version}", "seeds": seeds}
    path = folder / f"{SOLO}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    later = path.stat().st_mtime + version  # the registry notices the rewrite by its stamp
    os.utime(path, (later, later))


@pytest.fixture()
def solo(home: Path, server_data: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Add the solo challenge at version 1 (its prepared data: tiny-selection's, shared)."""
    from tests.server.conftest import CHALLENGES

    folder = home.parent / "solo-challenges"
    folder.mkdir()
    write_solo(folder, 1, [0, 1])
    monkeypatch.setenv("DATAPERF_CHALLENGES", os.pathsep.join([str(CHALLENGES), str(folder)]))
    for v in (1, 2):
        link = server_data / SOLO / f"v{v}"
        if not link.exists():
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(server_data / "tiny-selection" / "v1")
    return folder


def solo_file(home: Path, name: str, seed: int) -> Path:
    """Write a baseline's submission for the current solo spec."""
    from baselines import for_kind
    from dataperf.challenges import get_challenge
    from dataperf.evaluator import load_data
    from dataperf.submission import write_submission

    spec = get_challenge(SOLO)
    b = for_kind(spec.kind)[0]
    return write_submission(b.build(spec, load_data(spec), seed), home.parent / "files" / name, spec.id)


def submit(db_url: str, path: Path, team: str = "ada") -> dict[str, Any]:
    """Validate, store and score ``path`` in this process."""
    from leaderboard.jobs.service import ingest_local

    return ingest_local(session_factory(db_url), SOLO, path, team)


@pytest.fixture()
def bumped(db_url: str, home: Path, solo: Path) -> dict[str, Any]:
    """One submission scored on version 1, the bump to version 2 (other seeds), one on version 2."""
    first = submit(db_url, solo_file(home, "v1.csv", 0))
    write_solo(solo, 2, [2, 3])
    second = submit(db_url, solo_file(home, "v2.csv", 1))
    assert first["status"] == "done" and second["status"] == "done"
    return {"v1": first["submission"], "v2": second["submission"]}


def test_the_new_board_has_only_its_own_version_and_the_old_stays_readable(db_url: str, bumped: dict[str, Any]) -> None:
    from leaderboard.boards import boards
    from leaderboard.boards.visibility import for_participants

    with session_factory(db_url)() as s:
        view = for_participants(s, SOLO)
        now = boards.board(s, SOLO, view)
        old = boards.board(s, SOLO, view, version=1)
        assert boards.board(s, SOLO, view, version=2)["rows"] == now["rows"]
        with pytest.raises(LookupError, match="no version 7"):
            boards.board(s, SOLO, view, version=7)
        versions = boards.versions(s, SOLO)
        kept = s.execute(select(func.count()).select_from(Submission)).scalar_one()
        v1 = s.get(Submission, bumped["v1"])
        assert v1 is not None
        v1_score = v1.result["mean"] if v1.result else None
    assert [r["submission"] for r in now["rows"]] == [bumped["v2"]]
    assert now["version"] == 2 and now["current"] is True and now["title"] == "Tiny solo v2"
    assert [r["submission"] for r in old["rows"]] == [bumped["v1"]]
    assert old["rows"][0]["score"] == v1_score and v1_score is not None
    assert old["version"] == 1 and old["current"] is False and old["title"] == "Tiny solo v1"
    assert old["superseded_by"] == 2 and old["superseded_at"]
    assert [v["version"] for v in versions] == [2, 1] and versions[0]["current"] and not versions[1]["current"]
    assert kept == 2  # no submission is deleted


def test_the_api_and_csv_serve_each_version(db_url: str, bumped: dict[str, Any]) -> None:
    from fastapi.testclient import TestClient

    from leaderboard.http.api.deps import Settings
    from leaderboard.http.app import create_app

    c = TestClient(create_app(Settings(db_url=db_url)))
    now = c.get(f"/api/challenges/{SOLO}/leaderboard").json()
    old = c.get(f"/api/challenges/{SOLO}/leaderboard", params={"version": 1}).json()
    assert [r["submission"] for r in now["rows"]] == [bumped["v2"]] and now["version"] == 2
    assert [r["submission"] for r in old["rows"]] == [bumped["v1"]] and old["version"] == 1
    missing = c.get(f"/api/challenges/{SOLO}/leaderboard", params={"version": 7})
    assert missing.status_code == 404 and "no version 7" in missing.json()["error"]
    csv_old = c.get(f"/api/challenges/{SOLO}/leaderboard.csv", params={"version": 1}).text
    csv_now = c.get(f"/api/challenges/{SOLO}/leaderboard", params={"format": "csv"}).text
    assert len(csv_old.strip().splitlines()) == 2 and csv_old != csv_now
    assert str(bumped["v1"]) in csv_old.splitlines()[1]
    one = c.get(f"/api/challenges/{SOLO}").json()
    assert one["version"] == 2
    assert [(v["version"], v["current"]) for v in one["versions"]] == [(2, True), (1, False)]
    assert one["versions"][1]["leaderboard"] == f"/api/challenges/{SOLO}/leaderboard?version=1"


def test_the_pages_link_and_show_the_old_version_read_only(db_url: str, bumped: dict[str, Any]) -> None:
    from fastapi.testclient import TestClient

    from leaderboard.http.api.deps import Settings
    from leaderboard.http.app import create_app

    c = TestClient(create_app(Settings(db_url=db_url)))
    now = c.get(f"/challenges/{SOLO}")
    assert now.status_code == 200
    assert "Earlier versions" in now.text and f'href="/challenges/{SOLO}?version=1"' in now.text
    assert f"/submissions/{bumped['v2']}" in now.text and f'/submissions/{bumped["v1"]}"' not in now.text
    old = c.get(f"/challenges/{SOLO}", params={"version": 1})
    assert old.status_code == 200
    assert "version 1, superseded by version 2 on" in old.text and "submissions are closed" in old.text
    assert f"/submissions/{bumped['v1']}" in old.text and "Tiny solo v1" in old.text
    assert c.get(f"/challenges/{SOLO}", params={"version": 7}).status_code == 404


def test_a_submission_queued_before_the_bump_is_refused_as_stale_and_not_charged(
    db_url: str, home: Path, solo: Path
) -> None:
    from fastapi.testclient import TestClient

    from leaderboard.http.api.deps import Settings
    from leaderboard.http.app import create_app
    from leaderboard.storage.server_tables import QuotaCharge
    from tests.server.test_api import team, upload, work

    c = TestClient(create_app(Settings(db_url=db_url)))
    ada = team(db_url, "ada", limit=5)
    queued = upload(c, SOLO, solo_file(home, "early.csv", 0), ada)
    assert queued.status_code in (200, 201, 202), queued.text
    sid = queued.json()["submission"]
    assert queued.json()["quota"]["used"] == 1
    write_solo(solo, 2, [2, 3])  # the bump lands while the submission waits in the queue
    work(db_url)
    with session_factory(db_url)() as s:
        sub = s.get(Submission, sid)
        assert sub is not None
        status, error, made_for = sub.status, sub.error or "", sub.challenge_version
        charge = s.execute(select(QuotaCharge).where(QuotaCharge.submission_id == sid)).scalar_one()
    assert status == "rejected" and made_for == 1
    assert "stale: made against version 1 of 'tiny-solo', which is now at version 2" in error
    assert charge.refunded_at is not None
    assert c.get("/api/quota", headers=ada).json()["used"] == 0
    assert c.get(f"/api/challenges/{SOLO}/leaderboard").json()["rows"] == []


def test_the_same_file_after_a_bump_is_scored_again_not_a_duplicate(db_url: str, home: Path, solo: Path) -> None:
    path = solo_file(home, "same.csv", 0)
    first = submit(db_url, path)
    write_solo(solo, 2, [2, 3])
    again = submit(db_url, path)
    assert not again["duplicate"] and again["submission"] != first["submission"]
    assert again["status"] == "done"


PAIR = ("tiny-selection", "tiny-testset")


@pytest.fixture()
def pair(home: Path, server_data: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the tiny ratchet pair's specs that a test may bump (the training-set challenge's
    version 2 shares version 1's prepared data)."""
    from tests.server.conftest import CHALLENGES

    folder = home.parent / "pair-challenges"
    folder.mkdir()
    for name in PAIR:
        (folder / f"{name}.yaml").write_text((CHALLENGES / f"{name}.yaml").read_text())
    monkeypatch.setenv("DATAPERF_CHALLENGES", str(folder))
    link = server_data / PAIR[0] / "v2"
    if not link.exists():
        link.symlink_to(server_data / PAIR[0] / "v1")
    return folder


def bump_pair(folder: Path) -> None:
    """Bump the training-set challenge to version 2 with other seeds (a rule that changes scores)."""
    path = folder / f"{PAIR[0]}.yaml"
    doc = yaml.safe_load(path.read_text())
    doc |= {"version": 2, "title": "Tiny selection v2", "seeds": [2, 3]}
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    later = path.stat().st_mtime + 2
    os.utime(path, (later, later))


def test_a_ratchet_bump_keeps_the_old_cells_and_computes_fresh_ones(
    db_url: str, home: Path, pair: Path, files: Any
) -> None:
    from leaderboard.boards import boards
    from leaderboard.boards.visibility import Visibility
    from leaderboard.jobs.service import ingest_local
    from leaderboard.storage.tables import Cell

    sessions = session_factory(db_url)
    train = files.train[0]
    one = ingest_local(sessions, PAIR[0], train, "ada")
    assert one["status"] == "done" and one["counters"]["cells_computed"] > 0
    with sessions() as s:
        v1_cells = sorted((c.problem, c.train_sha256, c.test_sha256, c.mean) for c in s.execute(select(Cell)).scalars())
        v1_board = boards.board(s, PAIR[0], Visibility.ORGANIZER)
    bump_pair(pair)
    two = ingest_local(sessions, PAIR[0], train, "ada")
    assert two["status"] == "done" and not two["duplicate"]
    assert two["counters"]["cells_computed"] > 0 and two["counters"]["cells_reused"] == 0
    with sessions() as s:
        cells = sorted((c.problem, c.train_sha256, c.test_sha256, c.mean) for c in s.execute(select(Cell)).scalars())
        now = boards.board(s, PAIR[0], Visibility.ORGANIZER)
        old = boards.board(s, PAIR[0], Visibility.ORGANIZER, version=1)
        tests_now = boards.board(s, PAIR[1], Visibility.ORGANIZER)
    assert set(v1_cells) <= set(cells) and len(cells) == 2 * len(v1_cells)  # v1's untouched, v2's fresh
    assert {c[0] for c in v1_cells} == {"tiny-selection@v1"}
    assert {c[0] for c in cells} - {c[0] for c in v1_cells} == {"tiny-selection@v2"}
    assert [r["submission"] for r in now["rows"]] == [two["submission"]]
    assert [r["submission"] for r in old["rows"]] == [one["submission"]]
    assert old["rows"][0]["score"] == v1_board["rows"][0]["score"] and old["title"] == v1_board["title"]
    assert now["rows"][0]["score"] != old["rows"][0]["score"]  # other seeds, other models
    assert tests_now["rows"] == []


@pytest.mark.parametrize("backend", BACKENDS)
def test_migration_keys_existing_ratchets_by_the_recorded_version(backend: str, home: Path) -> None:
    from sqlalchemy import text

    from leaderboard.storage.db import engine, upgrade
    from tests.databases import postgres_url

    url = postgres_url("_versions") if backend == "postgresql" else f"sqlite:///{home / 'old.db'}"
    upgrade(url, "0006_rate_limits")
    at = "2026-01-01 00:00:00+00:00"
    rows = [
        "INSERT INTO challenges (id, version, kind, spec_sha256, problem, created_at, updated_at) VALUES "
        f"('tiny-selection', 3, 'training-set', '{'a' * 64}', 'tiny-selection', '{at}', '{at}'), "
        f"('tiny-testset', 1, 'test-set', '{'b' * 64}', 'tiny-selection', '{at}', '{at}')",
        "INSERT INTO problems (id, test_challenge, top_k, updated_at) VALUES "
        f"('tiny-selection', 'tiny-testset', '[]', '{at}')",
        "INSERT INTO datasets (id, problem, role, digest, n_rows, payload, origin, created_at) VALUES "
        f"(1, 'tiny-selection', 'test', '{'c' * 64}', 1, :blob, 'organizer', '{at}')",
        "INSERT INTO suite_members (problem, dataset_id, test_sha256, reason, added_at) VALUES "
        f"('tiny-selection', 1, '{'c' * 64}', 'organizer', '{at}')",
        "INSERT INTO ratchet_events (problem, at, kind, evaluator_version, suite, top_k, scores) VALUES "
        f"('tiny-selection', '{at}', 'init', '1.1.0', '[]', '[]', '{{}}')",
        "INSERT INTO cells (problem, train_sha256, test_sha256, evaluator_version, scores, mean, provenance, "
        f"created_at) VALUES ('tiny-selection', '{'d' * 64}', '{'c' * 64}', '1.1.0', '{{}}', 0.5, '{{}}', '{at}')",
    ]
    with engine(url).begin() as conn:
        for sql in rows:
            conn.execute(text(sql), {"blob": b"x"})
    upgrade(url)
    key = "tiny-selection@v3"
    with engine(url).connect() as conn:
        assert conn.execute(text("SELECT id FROM problems")).scalars().all() == [key]
        for table in ("challenges", "datasets", "suite_members", "ratchet_events", "cells"):
            assert set(conn.execute(text(f"SELECT problem FROM {table}")).scalars()) == {key}, table
    with engine(url).begin() as conn:  # another version's ratchet may hold the same content
        conn.execute(
            text(
                "INSERT INTO datasets (id, problem, role, digest, n_rows, payload, origin, created_at) VALUES "
                f"(2, 'tiny-selection@v4', 'test', '{'c' * 64}', 1, :blob, 'organizer', '{at}')"
            ),
            {"blob": b"x"},
        )


def test_a_rescore_leaves_an_earlier_versions_results_as_they_were_scored(db_url: str, bumped: dict[str, Any]) -> None:
    from leaderboard.boards.diffs import rescore

    sessions = session_factory(db_url)
    with sessions() as s:
        before = {sid: dict(s.get(Submission, sid).result or {}) for sid in bumped.values()}  # type: ignore[union-attr]
    said: list[str] = []
    rescore(sessions, evaluator_version="0.0.1", challenge_ids=[SOLO], progress=said.append)
    with sessions() as s:
        after = {sid: dict(s.get(Submission, sid).result or {}) for sid in bumped.values()}  # type: ignore[union-attr]
    assert f"{SOLO}: re-evaluated 1 submissions" in said  # the current version's only
    assert after[bumped["v1"]] == before[bumped["v1"]]
