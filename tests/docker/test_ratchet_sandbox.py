"""Ratchet submissions under ``dataperf worker --runner docker``: the upload is read only inside
the container, the host scores the canonical table it sends back, and every record names the
runner that really read the file.

The worker runs in this process, watched by an audit hook that records every ``open`` of the
stored upload. The same jobs run through the local runner as the control: there the hook must
see the worker open the file (so the hook works), and every number must equal docker's, bit
for bit. The tiny challenges are :mod:`tests.tiny_ratchet`'s (vision-selection and
vision-testset, shrunk).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import select

from dataperf.challenges import get_challenge
from dataperf.errors import SubmissionError
from dataperf.hashing import sha256_file
from dataperf.runners.docker import DockerRunner
from dataperf.runners.local import LocalRunner
from leaderboard.jobs import queue
from leaderboard.jobs.service import StoredFileError, add_queued, ensure_challenge, ensure_team, process_submission
from leaderboard.jobs.worker import run_worker
from leaderboard.storage.blobs import store_file
from leaderboard.storage.db import session_factory
from leaderboard.storage.server_tables import Job
from leaderboard.storage.tables import Cell, Submission
from tests import tiny_ratchet
from tests.databases import migrated
from tests.ratchet.ratchet_helpers import baseline_file

tiny_root = tiny_ratchet.tiny_root  # the folder's fixtures
tiny_env = tiny_ratchet.tiny_env

TRAIN, TEST = "tiny-selection", "tiny-testset"
_WATCHED: set[str] = set()
_OPENED: list[str] = []


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event == "open" and _WATCHED and isinstance(args[0], str | bytes | os.PathLike):
        name = os.path.abspath(os.fsdecode(args[0]))
        if name in _WATCHED:
            _OPENED.append(name)


sys.addaudithook(_audit)  # hooks cannot be removed; it records only while _WATCHED is set


@contextmanager
def watch_opens(*paths: Path) -> Iterator[list[str]]:
    """Record every ``open`` of ``paths`` (as given and resolved) made by this process."""
    _OPENED.clear()
    _WATCHED.update({os.path.abspath(p) for p in paths} | {str(p.resolve()) for p in paths})
    try:
        yield _OPENED
    finally:
        _WATCHED.clear()


def _files(folder: Path) -> list[Path]:
    """A vision-selection-like training set (Parquet) and a vision-testset-like test set (CSV)."""
    return [
        baseline_file(TRAIN, "training-set", "random", 0, folder),
        baseline_file(TEST, "test-set", "random", 0, folder, ".csv"),
    ]


def _queue_jobs(sessions: Any, files: list[Path]) -> list[tuple[int, Path]]:
    out = []
    for challenge, path in zip((TRAIN, TEST), files, strict=True):
        sha, stored = store_file(path)
        with sessions.begin() as s:
            spec = get_challenge(challenge)
            ensure_challenge(s, spec)
            team = ensure_team(s, "ada")
            sub = add_queued(s, spec, team.id, path.name, sha, stored)
            queue.enqueue(s, sub.id)
            out.append((sub.id, stored))
    return out


def _run(runner: str, folder: Path, files: list[Path]) -> dict[str, Any]:
    url = migrated("sqlite", folder / f"{runner}.db")
    sessions = session_factory(url)
    jobs = _queue_jobs(sessions, files)
    said: list[str] = []
    with watch_opens(*[stored for _, stored in jobs]) as opened:
        assert run_worker(url, runner=runner, once=True, say=said.append) == 2
        opened = list(opened)
    with sessions() as s:
        subs = [s.get(Submission, sid) for sid, _ in jobs]
        logs = [j.log for j in s.execute(select(Job).order_by(Job.id)).scalars()]
        cells = sorted(
            (c.train_sha256, c.test_sha256, c.mean, repr(c.scores)) for c in s.execute(select(Cell)).scalars()
        )
    assert [sub.status for sub in subs if sub is not None] == ["done", "done"], [sub.error for sub in subs if sub]
    return {"opened": opened, "results": [sub.result for sub in subs if sub], "logs": logs, "cells": cells}


def test_worker_never_opens_a_ratchet_upload_and_scores_equal_local(
    tiny_env: Path, tmp_path: Path, cpu_image: str, docker_client: Any
) -> None:
    files = _files(tmp_path)
    local = _run("local", tmp_path, files)
    boxed = _run("docker", tmp_path, files)
    digest = docker_client.images.get(cpu_image).id

    assert local["opened"], "the control: the local runner reads the upload in the worker process"
    assert boxed["opened"] == []  # docker: not one open of either upload by the worker
    for res in boxed["results"]:
        prov = res["provenance"]
        assert prov["runner"] == "docker" and prov["image_digest"] == digest and digest.startswith("sha256:")
    for res in local["results"]:
        assert res["provenance"]["runner"] == "local" and res["provenance"]["image_digest"] is None
    for log in boxed["logs"]:
        assert "evaluating with runner 'docker'" in log and f"with runner 'docker' (image {digest})" in log
    # The same canonical rows, so the same ratchet: every cell and every decision, bit for bit.
    assert boxed["cells"] == local["cells"] and len(local["cells"]) >= 2
    for here, there in zip(local["results"], boxed["results"], strict=True):
        assert there["ratchet"] == here["ratchet"]
        assert there["submission_sha256"] == here["submission_sha256"] == there["provenance"]["submission_sha256"]
    train_step = boxed["results"][0]["ratchet"]
    assert 0.0 < train_step["score"] <= 1.0 and 0.0 <= boxed["results"][1]["ratchet"]["difficulty"] <= 1.0


@pytest.mark.parametrize("challenge,kind", [(TRAIN, "training-set"), (TEST, "test-set")])
def test_docker_parse_equals_local_and_refuses_alike(
    tiny_env: Path, tmp_path: Path, cpu_image: str, docker_client: Any, challenge: str, kind: str
) -> None:
    path = baseline_file(challenge, kind, "random", 0, tmp_path)
    sha = sha256_file(path)
    runner = DockerRunner(docker_client=docker_client)
    with watch_opens(path) as opened:
        boxed = runner.parse(challenge, path, sha256=sha)
        seen = list(opened)
    here = LocalRunner().parse(challenge, path)
    assert seen == []
    assert (boxed.runner, boxed.image_digest) == ("docker", docker_client.images.get(cpu_image).id)
    assert boxed.sha256 == here.sha256 == sha
    pd.testing.assert_frame_equal(boxed.table, here.table, check_exact=True)

    bad = tmp_path / "bad.csv"
    rows = {"task": ["shirt", "nope", "shirt"], "id": [-1, -1, 10**9], "label": [1, 7, 0]}
    pd.DataFrame({c: rows[c] for c in here.table.columns}).to_csv(bad, index=False)
    with pytest.raises(SubmissionError) as local_refusal:
        LocalRunner().parse(challenge, bad)
    with pytest.raises(SubmissionError) as boxed_refusal:
        runner.parse(challenge, bad)
    assert [str(v) for v in boxed_refusal.value.violations] == [str(v) for v in local_refusal.value.violations]
    assert len(local_refusal.value.violations) > 2


def test_a_changed_upload_is_found_in_the_container_and_fails_not_rejects(
    tiny_env: Path, tmp_path: Path, cpu_image: str
) -> None:
    url = migrated("sqlite", tmp_path / "changed.db")
    sessions = session_factory(url)
    source = baseline_file(TRAIN, "training-set", "random", 1, tmp_path)
    stored = tmp_path / "store" / source.name
    stored.parent.mkdir()
    stored.write_bytes(source.read_bytes()[:-7])  # the storage lost its tail
    with sessions.begin() as s:
        spec = get_challenge(TRAIN)
        ensure_challenge(s, spec)
        sid = add_queued(s, spec, ensure_team(s, "ada").id, source.name, sha256_file(source), stored).id
    with watch_opens(stored) as opened, pytest.raises(StoredFileError, match="not the recorded"):
        process_submission(sessions, sid, "docker")
    assert list(opened) == []
    with sessions() as s:
        row = s.get(Submission, sid)
        assert row is not None and row.status == "failed" and row.result is None
