"""Local submission into the database: store, score, reject, deduplicate, recover."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import update

from baselines import for_kind
from dataperf.errors import SubmissionError
from leaderboard.jobs.service import fill_from_baselines, ingest_local, process_submission, recover_stale
from leaderboard.storage.blobs import submissions_dir
from leaderboard.storage.tables import Challenge, Dataset, Submission, Team, utcnow
from tests.ratchet.ratchet_helpers import baseline_file, count

TRAIN, TEST = "tiny-selection", "tiny-testset"


def _stored_files() -> list[Path]:
    root = submissions_dir()
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_ingest_scores_and_identical_content_costs_nothing(sessions, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = baseline_file(TRAIN, "training-set", "random", 0, tmp_path)
    out = ingest_local(sessions, TRAIN, path, "ada")
    assert out["status"] == "done" and not out["duplicate"] and out["counters"]["fits"] > 0
    same_as_csv = tmp_path / "again.csv"
    pd.read_parquet(path).assign(challenge=TRAIN).to_csv(same_as_csv, index=False)
    again = ingest_local(sessions, TRAIN, same_as_csv, "ada")
    assert again["duplicate"] and again["submission"] == out["submission"] and set(again["counters"].values()) == {0}
    other_team = ingest_local(sessions, TRAIN, same_as_csv, "bob")
    assert (
        other_team["duplicate"] and other_team["counters"]["fits"] == 0 and "nothing computed" in other_team["message"]
    )
    assert count(sessions, Submission) == 2 and count(sessions, Dataset) == 2  # S0 and the one training set


def _bad_files(tmp_path: Path) -> list[tuple[str, Path]]:
    good = pd.read_parquet(baseline_file(TEST, "test-set", "random", 0, tmp_path))
    outside = good.copy()
    outside.loc[0, "id"] = 10**9
    unbalanced = good[good["task"] != "coat"]
    few = pd.concat([unbalanced, pd.DataFrame({"task": ["coat"] * 3, "id": good[good["task"] == "coat"]["id"][:3]})])
    files = [
        ("is not in the evaluation pool", outside),
        ("has no rows", unbalanced),
        ("every class needs", few),
    ]
    out = []
    for i, (_, t) in enumerate(files):
        p = tmp_path / f"bad{i}.csv"
        t.assign(challenge=TEST).to_csv(p, index=False)
        out.append((files[i][0], p))
    junk = tmp_path / "junk.csv"
    junk.write_text("task,id\nshirt,notanumber\n")
    out.append(("must be an integer", junk))
    return out


def test_bad_input_stores_nothing(sessions, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    before = _stored_files()
    for message, path in _bad_files(tmp_path):
        with pytest.raises(SubmissionError, match=message):
            ingest_local(sessions, TEST, path, "mallory")
    for model in (Submission, Team, Challenge, Dataset):
        assert count(sessions, model) == 0, model.__tablename__
    assert _stored_files() == before


def test_test_set_submission_and_non_ratchet_challenge(sessions, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ingest_local(sessions, TRAIN, baseline_file(TRAIN, "training-set", "balanced", 0, tmp_path), "ada")
    out = ingest_local(sessions, TEST, baseline_file(TEST, "test-set", "random", 0, tmp_path), "ada")
    step = out["result"]["ratchet"]
    assert out["status"] == "done" and step["counters"]["fits"] == 0 and step["counters"]["batched_passes"] == 1
    assert step["accepted"] in (True, False) and step["difficulty"] is not None
    plain = ingest_local(
        sessions, "tiny-plain", baseline_file("tiny-plain", "training-set", "random", 0, tmp_path), "ada"
    )
    assert plain["status"] == "done" and plain["result"]["provenance"]["runner"] == "local"


def test_processing_is_idempotent_and_stale_running_rows_recover(sessions, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = ingest_local(sessions, TRAIN, baseline_file(TRAIN, "training-set", "random", 0, tmp_path), "ada")
    sid = out["submission"]
    process_submission(sessions, sid)  # already done: untouched
    with sessions.begin() as s:
        s.execute(
            update(Submission)
            .where(Submission.id == sid)
            .values(status="running", updated_at=utcnow() - timedelta(hours=2))
        )
    assert recover_stale(sessions, older_than_s=3600) == [sid]
    process_submission(sessions, sid)
    with sessions() as s:
        row = s.get(Submission, sid)
        assert row is not None and row.status == "done" and row.attempts == 2
        assert row.result is not None and row.result["duplicate"] is True


@pytest.mark.slow  # every baseline of two challenges, twice
def test_fill_from_baselines_is_idempotent(sessions) -> None:  # type: ignore[no-untyped-def]
    first = fill_from_baselines(sessions, [TEST, TRAIN])
    kinds = {(r["challenge"], r["status"]) for r in first}
    assert kinds == {(TRAIN, "done"), (TEST, "done")}
    assert len(first) == len(for_kind("training-set")) + len(for_kind("test-set"))
    second = fill_from_baselines(sessions, [TRAIN, TEST])
    assert all(r["duplicate"] for r in second) and count(sessions, Submission) == len(first)


def _queued(sessions, challenge: str, sha: str, path: Path) -> int:  # type: ignore[no-untyped-def]
    from dataperf.challenges import get_challenge
    from leaderboard.jobs.service import add_queued, ensure_challenge, ensure_team

    with sessions.begin() as s:
        ensure_challenge(s, get_challenge(challenge))
        team = ensure_team(s, "ada")
        return int(add_queued(s, get_challenge(challenge), team.id, path.name, sha, path).id)


@pytest.mark.parametrize("challenge", [TRAIN, "tiny-plain"])
def test_a_missing_or_altered_stored_file_fails_retryably_not_rejected(  # type: ignore[no-untyped-def]
    sessions, tmp_path: Path, challenge: str
) -> None:
    from dataperf.hashing import sha256_file
    from leaderboard.jobs.service import StoredFileError

    source = baseline_file(challenge, "training-set", "random", 0, tmp_path)
    sha = sha256_file(source)
    stored = tmp_path / "store" / source.name  # where the platform put it; then lost it
    sid = _queued(sessions, challenge, sha, stored)
    with pytest.raises(StoredFileError, match="is missing"):
        process_submission(sessions, sid)
    with sessions() as s:
        row = s.get(Submission, sid)
        assert row is not None and row.status == "failed" and "platform failure" in (row.error or "")
        assert row.result is None  # no violations: nothing is the participant's fault
    assert count(sessions, Dataset) == 0  # nothing evaluated
    stored.parent.mkdir()
    stored.write_bytes(source.read_bytes()[:-7])  # truncated by the storage: not the submission
    with pytest.raises(StoredFileError, match="not the recorded"):
        process_submission(sessions, sid)
    with sessions() as s:
        assert s.get(Submission, sid).status == "failed"  # type: ignore[union-attr]
    stored.write_bytes(source.read_bytes())  # restored: the retry succeeds
    process_submission(sessions, sid)
    with sessions() as s:
        row = s.get(Submission, sid)
        assert row is not None and row.status == "done" and row.attempts == 3 and row.error is None
