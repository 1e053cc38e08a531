"""The ratchet on real (tiny) data, on SQLite and PostgreSQL: costs, exactness, decisions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import select

from dataperf.challenges import get_challenge
from dataperf.evaluator import evaluate
from leaderboard.arithmetic.types import RatchetCounters
from leaderboard.boards.boards import board
from leaderboard.boards.visibility import Visibility
from leaderboard.ratchet.cells import bank_for, dataset_table
from leaderboard.ratchet.problem import Problem
from leaderboard.ratchet.steps import Ratchet
from leaderboard.storage.tables import Cell, Dataset, FittedModel, RatchetEvent
from tests.ratchet.ratchet_helpers import baseline_file, baseline_table, count

TRAIN, TEST = "tiny-selection", "tiny-testset"


def _ratchet(sessions, version: str | None = None) -> Ratchet:  # type: ignore[no-untyped-def]
    return Ratchet(sessions, Problem.load(TRAIN, version))


def test_costs_of_new_training_set_new_test_set_and_resubmission(sessions) -> None:  # type: ignore[no-untyped-def]
    r = _ratchet(sessions)
    tasks, seeds = len(r.p.tasks), len(r.p.seeds)
    first = r.add_training_set(baseline_table(TRAIN, "training-set", "random", 0))
    assert first.counters.fits == tasks * seeds
    assert first.counters.predictions == tasks * seeds * 1  # the suite is S0 alone
    assert first.counters.cells_computed == 1 and not first.duplicate
    r.add_training_set(baseline_table(TRAIN, "training-set", "balanced", 0))
    step = r.add_test_set(baseline_table(TEST, "test-set", "random", 0), organizer=True)
    assert step.counters.fits == 0 and step.counters.predictions == 0
    assert step.counters.batched_passes == 1 and step.counters.cells_computed == 2
    assert step.accepted and len(step.suite) == 2
    third = r.add_training_set(baseline_table(TRAIN, "training-set", "random", 1))
    assert third.counters.fits == tasks * seeds and third.counters.predictions == tasks * seeds * 2
    again = r.add_training_set(baseline_table(TRAIN, "training-set", "random", 1))
    assert again.duplicate and again.counters.fits == 0 and again.counters.predictions == 0
    assert again.counters.cells_computed == 0 and again.counters.cells_reused == 2
    assert count(sessions, Cell) == 3 * 2 and count(sessions, FittedModel) == 3 * tasks * seeds


def test_batched_scoring_equals_one_by_one(sessions) -> None:  # type: ignore[no-untyped-def]
    r = _ratchet(sessions)
    for name, seed in [("random", 0), ("random", 1), ("balanced", 0), ("kcenter", 0)]:
        r.add_training_set(baseline_table(TRAIN, "training-set", name, seed))
    rows = r.p.test_rows(baseline_table(TEST, "test-set", "hard", 0))
    with sessions() as s:
        bank = bank_for(s, r.p)
        batched = bank.score(r.p, rows, RatchetCounters()).as_dict()
        trains = {d.digest: d for d in s.execute(select(Dataset).where(Dataset.role == "train")).scalars()}
    assert len(batched) == 4
    for digest, ds in trains.items():
        models = {(t, seed): bank.models[(digest, t, seed)] for t in r.p.task_names for seed in r.p.seeds}
        one = r.p.score_one(models, rows, RatchetCounters())
        assert one == batched[digest]  # bit for bit
        refit = r.p.fit(r.p.train_rows(dataset_table(ds)), RatchetCounters())
        assert r.p.score_one(refit, rows, RatchetCounters()) == one


def test_cell_equals_the_evaluator_on_the_same_rows(sessions, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    r = _ratchet(sessions)
    path = baseline_file(TRAIN, "training-set", "balanced", 3, tmp_path)
    table = pd.read_parquet(path)
    r.add_training_set(table)
    whole_test = pd.DataFrame(
        {
            "task": np.repeat(r.p.task_names, len(r.p.data.split("test").ids)),
            "id": np.tile(r.p.data.split("test").ids, len(r.p.tasks)),
        }
    )
    step = r.add_test_set(whole_test, organizer=True)
    with sessions() as s:
        cell = s.execute(select(Cell).where(Cell.test_sha256 == step.digest)).scalar_one()
    result = evaluate(get_challenge(TRAIN), path)
    assert cell.mean == result.mean
    assert cell.scores == {t: {str(k): v for k, v in per.items()} for t, per in result.scores.items()}
    assert cell.provenance["evaluator_version"] and cell.provenance["data_sha256"] == result.provenance.data_sha256


def _chosen_test_set(p: Problem, easy: bool) -> pd.DataFrame:
    """Rows far on the right side of a model's boundary (easy), or on the wrong side (hard),
    chosen with the ground truth."""
    from baselines.testset import own_scores
    from dataperf.kinds.test_set import task_truth

    spec = get_challenge(TEST)
    pool = p.data.split("test")
    parts = []
    for i, task in enumerate(spec.tasks):
        margin = (
            own_scores(spec, p.data, i, 0) * np.where(task_truth(task, pool.labels) == 1, 1, -1) * (1 if easy else -1)
        )
        truth = task_truth(task, pool.labels)
        pos = np.flatnonzero(truth == 1)
        neg = np.flatnonzero(truth == 0)
        pick = np.concatenate([pos[np.argsort(-margin[pos])][:20], neg[np.argsort(-margin[neg])][:40]])
        parts.append(pd.DataFrame({"task": task.name, "id": np.sort(pool.ids[pick])}))
    return pd.concat(parts, ignore_index=True)


def test_hard_test_set_is_accepted_easy_one_is_not_and_steps_are_recorded(sessions) -> None:  # type: ignore[no-untyped-def]
    r = _ratchet(sessions)
    for name in ("random", "balanced", "crossval"):
        r.add_training_set(baseline_table(TRAIN, "training-set", name, 0))
    easy = r.add_test_set(_chosen_test_set(r.p, easy=True))
    hard = r.add_test_set(_chosen_test_set(r.p, easy=False))
    assert easy.accepted is False and "difficulty" in easy.reason
    assert hard.accepted is True and hard.difficulty is not None, hard.reason
    assert len(hard.suite) == 2 and hard.suite[1] == hard.digest
    with sessions() as s:
        kinds = [e.kind for e in s.execute(select(RatchetEvent).order_by(RatchetEvent.id)).scalars()]
        shown = board(s, TRAIN, Visibility.ORGANIZER)
    assert kinds[0] == "init" and "top-k" in kinds and kinds.count("accept") == 1
    scores = [row["score"] for row in shown["rows"]]
    assert scores == sorted(scores, reverse=True) and all(row["complete"] for row in shown["rows"])


def test_evaluator_bump_marks_stale_and_rescore_diffs(sessions) -> None:  # type: ignore[no-untyped-def]
    from leaderboard.boards.diffs import rescore
    from leaderboard.jobs.service import ensure_challenge, ensure_team
    from leaderboard.storage.tables import Submission

    r = _ratchet(sessions)
    steps = [r.add_training_set(baseline_table(TRAIN, "training-set", n, 0)) for n in ("random", "balanced")]
    with sessions.begin() as s:
        ensure_challenge(s, get_challenge(TRAIN))
        team = ensure_team(s, "t")
        for st in steps:
            s.add(
                Submission(
                    challenge=TRAIN,
                    challenge_version=1,
                    kind="training-set",
                    team_id=team.id,
                    sha256="0" * 64,
                    filename="f",
                    path="/nonexistent",
                    status="done",
                    dataset_id=st.dataset_id,
                    content_sha256=st.digest,
                )
            )
    with sessions() as s:
        assert board(s, TRAIN, Visibility.ORGANIZER, "9.9.9")["stale"] is True
    diffs = rescore(sessions, evaluator_version="9.9.9", challenge_ids=[TRAIN])
    with sessions() as s:
        fresh = s.execute(select(Cell).where(Cell.evaluator_version == "9.9.9")).scalars().all()
        after = board(s, TRAIN, Visibility.ORGANIZER, "9.9.9")
    assert len(fresh) == 2 and after["stale"] is False
    # the model and data are unchanged, so the scores are too; the diff reports only changes
    assert diffs == []
    assert rescore(sessions, evaluator_version="9.9.9", challenge_ids=[TRAIN]) == []
