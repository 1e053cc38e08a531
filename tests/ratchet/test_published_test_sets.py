"""Test sets accepted into the suite are published as datasets of their own (rows, provenance,
Croissant), downloadable from the challenge's page, and not before the organizer publishes."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pyarrow.parquet as pq
from fastapi.testclient import TestClient
from sqlalchemy import select

from dataperf.submission import write_submission
from leaderboard.boards.test_sets import accepted_sets, published_archive, published_sets
from leaderboard.http.api.deps import Settings
from leaderboard.http.app import create_app
from leaderboard.jobs.admin import set_published
from leaderboard.jobs.service import ingest_local
from leaderboard.ratchet.problem import Problem
from leaderboard.storage.tables import Submission
from tests.ratchet.ratchet_helpers import baseline_file
from tests.ratchet.test_ratchet import _chosen_test_set
from tests.test_croissant import check_croissant

TRAIN, TEST = "tiny-selection", "tiny-testset"


def test_accepted_test_sets_are_published_only_after_the_organizer_publishes(  # type: ignore[no-untyped-def]
    sessions, db_url: str, tmp_path: Path
) -> None:
    for name in ("random", "balanced", "crossval"):
        ingest_local(sessions, TRAIN, baseline_file(TRAIN, "training-set", name, 0, tmp_path), "ada")
    hard = write_submission(_chosen_test_set(Problem.load(TRAIN), easy=False), tmp_path / "hard.parquet", TEST)
    ingest_local(sessions, TEST, hard, "grace")
    with sessions() as s:
        found = accepted_sets(s, TEST)
        assert found, "no test set was accepted: the published-set checks below need one"
        assert accepted_sets(s, TRAIN) == []  # training sets are never published as test sets
        assert published_sets(s, TEST) == [] and published_archive(s, TEST, found[0].digest) is None
    client = TestClient(create_app(Settings(db_url=db_url)))
    url = f"/challenges/{TEST}/test-sets/{found[0].digest[:16]}.zip"
    assert client.get(url).status_code == 404
    assert "Published test sets" not in client.get(f"/challenges/{TEST}").text

    with sessions.begin() as s:
        set_published(s, TEST, True)
    first = found[0]
    with sessions() as s:
        sub = s.execute(select(Submission).where(Submission.id == first.submission_id)).scalar_one()
    assert first.team == "grace" and first.submission_sha256 == sub.sha256 and first.step is not None
    page = client.get(f"/challenges/{TEST}").text
    assert "Published test sets" in page and url in page
    got = client.get(url)
    assert got.status_code == 200 and got.headers["content-type"] == "application/zip"
    assert client.get(url).content == got.content  # the same set, the same bytes
    folder = tmp_path / "download"
    zipfile.ZipFile(io.BytesIO(got.content)).extractall(folder)
    (inner,) = list(folder.iterdir())
    assert sorted(p.name for p in inner.iterdir()) == ["croissant.json", "provenance.json", "rows.parquet"]
    rows = pq.read_table(inner / "rows.parquet").to_pandas()
    assert len(rows) == first.rows and set(rows["label"]) <= {0, 1}
    prov = json.loads((inner / "provenance.json").read_text())
    assert (prov["team"], prov["submission_sha256"], prov["step"]) == ("grace", sub.sha256, first.step)
    check_croissant(inner / "croissant.json")
    meta = json.loads((inner / "croissant.json").read_text())
    assert sub.sha256 in meta["description"] and f"step {first.step}" in meta["description"]
