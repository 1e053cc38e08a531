"""Test sets accepted into a ratchet suite, published as datasets of their own.

Each accepted test set is a folder: ``rows.parquet`` (task, id, the task's ground-truth label,
the row's embedding), ``provenance.json`` (the team, the submission's sha256, the ratchet step
that accepted it) and ``croissant.json`` describing both with that provenance. Nothing is
published before the organizer publishes the challenge's hidden results (suite membership is
a ratchet decision made with the hidden test set: :mod:`leaderboard.boards.visibility`).
"""

from __future__ import annotations

import io
import json
import tempfile
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dataperf.challenges import get_challenge
from leaderboard.boards.visibility import Visibility, for_participants
from leaderboard.ratchet.problem import dual_of, problem_id_for, problem_key
from leaderboard.storage.tables import Dataset, RatchetEvent, Submission, SuiteMember, Team

ZIP_TIME = (1980, 1, 1, 0, 0, 0)
"""Every archive member's time: the same set gives the same bytes."""


@dataclass(frozen=True)
class AcceptedSet:
    """One test set accepted into a suite, and where it came from."""

    challenge: str
    digest: str
    """sha256 of the set's canonical rows (its identity in the ratchet)."""
    rows: int
    team: str | None
    submission_id: int | None
    submission_sha256: str | None
    """sha256 of the submitted file that first brought these rows."""
    step: int | None
    """The ratchet step (1-based, in the problem's history) that accepted it."""
    accepted_at: str | None
    difficulty: float | None
    """Its difficulty when it joined the suite."""


def accepted_sets(session: Session, challenge: str) -> list[AcceptedSet]:
    """Return the test sets accepted into the suite of ``challenge`` (a challenge whose sets
    test in a ratchet), in the order they joined; the hidden test set is not one of them.
    Every caller decides what may be shown: see :func:`published_sets`."""
    pid = problem_id_for(get_challenge(challenge))
    if pid is None or dual_of(pid).id != challenge:
        return []
    key = problem_key(pid, get_challenge(pid).version)
    members = session.execute(
        select(SuiteMember, Dataset)
        .join(Dataset, Dataset.id == SuiteMember.dataset_id)
        .where(SuiteMember.problem == key, SuiteMember.reason == "accepted")
        .order_by(SuiteMember.id)
    ).all()
    events = session.execute(
        select(RatchetEvent.kind, RatchetEvent.subject_sha256, RatchetEvent.at)
        .where(RatchetEvent.problem == key)
        .order_by(RatchetEvent.id)
    ).all()
    steps: dict[str, tuple[int, str]] = {}
    for i, (kind, subject, when) in enumerate(events, start=1):
        if kind == "accept" and subject is not None and subject not in steps:
            steps[subject] = (i, when.isoformat())
    out = []
    for member, ds in members:
        first = session.execute(
            select(Submission, Team)
            .join(Team, Team.id == Submission.team_id)
            .where(Submission.dataset_id == ds.id)
            .order_by(Submission.id)
            .limit(1)
        ).first()
        step, accepted = steps.get(ds.digest, (None, member.added_at.isoformat()))
        out.append(
            AcceptedSet(
                challenge=challenge,
                digest=ds.digest,
                rows=ds.n_rows,
                team=first[1].name if first else None,
                submission_id=first[0].id if first else None,
                submission_sha256=first[0].sha256 if first else None,
                step=step,
                accepted_at=accepted,
                difficulty=member.difficulty,
            )
        )
    return out


def published_sets(session: Session, challenge: str) -> list[AcceptedSet]:
    """Return :func:`accepted_sets` once the organizer published the challenge; else nothing."""
    if for_participants(session, challenge) is not Visibility.PUBLISHED:
        return []
    return accepted_sets(session, challenge)


def archive_name(found: AcceptedSet) -> str:
    """Return the download's file name (and the folder inside it)."""
    return f"{found.challenge}-test-set-{found.digest[:16]}"


def write_test_set(session: Session, found: AcceptedSet, folder: Path) -> Path:
    """Write the published folder of ``found`` (rows, provenance, Croissant) into ``folder``."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from dataperf.data.croissant import write_croissant
    from dataperf.hashing import sha256_file
    from leaderboard.ratchet.cells import dataset_table
    from leaderboard.ratchet.problem import Problem

    spec = get_challenge(found.challenge)
    pid = problem_id_for(spec)
    assert pid is not None  # accepted_sets found it in a ratchet
    problem = Problem.load(pid)
    found_set = select(Dataset).where(Dataset.problem == problem.id, Dataset.digest == found.digest)
    ds = session.execute(found_set).scalar_one()
    table = dataset_table(ds)
    per_task = problem.test_rows(table)
    folder.mkdir(parents=True, exist_ok=True)
    tasks, ids, labels, xs = [], [], [], []
    for task in spec.tasks:
        mine = table.loc[table["task"] == task.name, "id"].to_numpy(np.int64)
        x, truth = per_task[task.name]
        tasks += [task.name] * len(mine)
        ids.append(mine)
        labels.append(truth)
        xs.append(x)
    x_all = np.concatenate(xs).astype(np.float32)
    cols = {
        "task": pa.array(tasks, type=pa.string()),
        "id": pa.array(np.concatenate(ids), type=pa.int64()),
        "label": pa.array(np.concatenate(labels).astype(np.int16), type=pa.int16()),
        "embedding": pa.FixedSizeListArray.from_arrays(pa.array(x_all.reshape(-1), type=pa.float32()), x_all.shape[1]),
    }
    pq.write_table(pa.table(cols), folder / "rows.parquet", compression="zstd")
    prov = {**asdict(found), "challenge_version": spec.version, "pair": spec.pair}
    (folder / "provenance.json").write_text(json.dumps(prov, indent=2, sort_keys=True) + "\n")
    who = f"team {found.team}" if found.team else "an unknown team"
    story = (
        f"Test set of challenge {spec.id} v{spec.version} submitted by {who} (submission sha256 "
        f"{found.submission_sha256}), accepted into the ratchet suite at step {found.step} ({found.accepted_at}) "
        f"with difficulty {found.difficulty}; rows digest {found.digest}."
    )
    files = {p.name: sha256_file(p) for p in sorted(folder.iterdir())}
    write_croissant(
        folder / "croissant.json",
        name=archive_name(found),
        version=spec.version,
        description=story,
        licence=spec.licence,
        citation=f"{who}, test set for dataperf challenge {spec.id} v{spec.version}, sha256 {found.digest}",
        recipe={"challenge": spec.id, "provenance": prov},
        files=files,
        splits=[],
        folder=folder,
        date_published=(found.accepted_at or "")[:10] or spec.published,
        rai={
            "data_collection": f"Rows of the evaluation pool of {spec.id} chosen by {who}; " + story,
            "data_collection_type": "Selected from an existing dataset (the challenge's evaluation pool).",
            "data_annotation_protocol": "Labels are the hidden ground truth of the evaluation pool, per task (for "
            "a one-vs-rest task: 1 for its positive class, else 0); the submitter gave no labels.",
            "data_use_cases": "A hard test set for the challenge's fixed model, accepted by the data ratchet.",
            "data_limitations": "Chosen to be hard for the best training sets at the time it was accepted.",
        },
        file_docs={
            "rows.parquet": "The test set: task, id (evaluation-pool row), label (ground truth), embedding.",
            "provenance.json": "Who submitted the set, the submitted file's sha256, the ratchet step accepting it.",
        },
    )
    return folder


def published_archive(session: Session, challenge: str, digest: str) -> tuple[bytes, str] | None:
    """Return (zip of the published folder, file name) of the accepted test set whose digest
    starts with ``digest``; None when there is none, or the challenge is not published yet."""
    found = [s for s in published_sets(session, challenge) if s.digest.startswith(digest) and len(digest) >= 12]
    if len(found) != 1:
        return None
    name = archive_name(found[0])
    raw = io.BytesIO()
    with tempfile.TemporaryDirectory(prefix="dataperf-test-set-") as tmp:
        folder = write_test_set(session, found[0], Path(tmp) / name)
        with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as z:
            for path in sorted(folder.iterdir()):
                info = zipfile.ZipInfo(f"{name}/{path.name}", date_time=ZIP_TIME)
                info.compress_type = zipfile.ZIP_DEFLATED
                z.writestr(info, path.read_bytes())
    return raw.getvalue(), f"{name}.zip"


def as_rows(sets: list[AcceptedSet]) -> list[dict[str, Any]]:
    """Return the sets as JSON-ready rows (for pages)."""
    return [asdict(s) for s in sets]
