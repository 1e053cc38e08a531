"""Per-row correctness stored with every cell: the batched pass and the one-by-one loop agree,
and the bits say which rows each seed's model got right."""

from __future__ import annotations

import itertools

import numpy as np
from sqlalchemy import select

from dataperf.hits import unpack_hits
from leaderboard.arithmetic.types import RatchetCounters
from leaderboard.ratchet.cells import bank_for
from leaderboard.ratchet.problem import Problem
from leaderboard.ratchet.steps import Ratchet
from leaderboard.storage.tables import Cell
from tests.ratchet.ratchet_helpers import baseline_table

TRAIN, TEST = "tiny-selection", "tiny-testset"


def test_batched_hits_equal_one_by_one_and_are_stored(sessions) -> None:  # type: ignore[no-untyped-def]
    r = Ratchet(sessions, Problem.load(TRAIN))
    for name, seed in [("random", 0), ("balanced", 0), ("kcenter", 0)]:
        r.add_training_set(baseline_table(TRAIN, "training-set", name, seed))
    table = baseline_table(TEST, "test-set", "hard", 0)
    rows = r.p.test_rows(table)
    with sessions() as s:
        bank = bank_for(s, r.p)
        batch = bank.score(r.p, rows, RatchetCounters(), also=r.p.measure, hits=True)
    packed = batch.packed_hits()
    assert batch.as_dict() == bank.score(r.p, rows, RatchetCounters()).as_dict()
    for digest in batch.digests:
        models = {(t, seed): bank.models[(digest, t, seed)] for t in r.p.task_names for seed in r.p.seeds}
        scores, hard, hits = r.p.score_cell(models, rows, RatchetCounters())
        assert batch.as_dict()[digest] == scores and batch.measures()[digest] == hard
        assert packed[digest] == hits
        for task in r.p.task_names:
            x, truth = rows[task]
            got = unpack_hits(hits[task], len(r.p.seeds))
            want = [models[(task, seed)].predict(x.astype(np.float64)) == truth for seed in r.p.seeds]
            assert np.array_equal(got, np.asarray(want))
    step = r.add_test_set(table)
    with sessions() as s:
        stored = dict(s.execute(select(Cell.train_sha256, Cell.hits).where(Cell.test_sha256 == step.digest)).all())
    assert stored == packed


def _submit(sessions, steps, challenge: str, kind: str) -> None:  # type: ignore[no-untyped-def]
    from dataperf.challenges import get_challenge
    from leaderboard.jobs.service import ensure_challenge, ensure_team
    from leaderboard.storage.tables import Submission

    with sessions.begin() as s:
        ensure_challenge(s, get_challenge(challenge))
        team = ensure_team(s, "t")
        for st in steps:
            s.add(
                Submission(
                    challenge=challenge,
                    challenge_version=get_challenge(challenge).version,
                    kind=kind,
                    team_id=team.id,
                    sha256="0" * 64,
                    filename="f",
                    path="/nonexistent",
                    status="done",
                    dataset_id=st.dataset_id,
                    content_sha256=st.digest,
                )
            )


def test_training_set_board_has_tiers_from_stored_hits(sessions) -> None:  # type: ignore[no-untyped-def]
    from leaderboard.boards.boards import board
    from leaderboard.boards.tiers import CONFIDENCE
    from leaderboard.boards.visibility import Visibility

    r = Ratchet(sessions, Problem.load(TRAIN))
    names = [("random", 0), ("random", 1), ("balanced", 0), ("kcenter", 0), ("crossval", 0)]
    steps = [r.add_training_set(baseline_table(TRAIN, "training-set", n, seed)) for n, seed in names]
    _submit(sessions, steps, TRAIN, "training-set")
    with sessions() as s:
        shown = board(s, TRAIN, Visibility.ORGANIZER)
    assert "tier" in shown["layout"]["table"] and "p_next" in shown["layout"]["table"]
    rows = shown["rows"]
    assert rows[0]["tier"] == 1 and all(isinstance(row["tier"], int) for row in rows)
    for upper, lower in itertools.pairwise(rows):
        assert 0.0 <= upper["p_next"] <= 1.0
        assert lower["tier"] == upper["tier"] + (1 if upper["p_next"] >= CONFIDENCE else 0)
    assert rows[-1]["p_next"] is None
    # The probabilities are the bootstrap's over the rows of S0 the sets share, not a refit.
    assert max(row["tier"] for row in rows) >= 2


def test_board_outside_a_ratchet_takes_tiers_from_the_results_hits(tiny_env, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from types import SimpleNamespace

    from dataperf.challenges import get_challenge
    from dataperf.evaluator import evaluate
    from leaderboard.boards.boards import _plain_hits
    from leaderboard.boards.tiers import assign
    from tests.ratchet.ratchet_helpers import baseline_file

    spec = get_challenge("tiny-plain")
    subs = []
    for i, (name, seed) in enumerate([("crossval", 0), ("random", 0), ("random", 1)]):
        result = evaluate(spec, baseline_file("tiny-plain", "training-set", name, seed, tmp_path)).to_dict()
        hits = result["extra"]["hits"]
        assert set(hits) == {t.name for t in spec.tasks}
        assert unpack_hits(hits[spec.tasks[0].name], len(spec.seeds)).shape[0] == len(spec.seeds)
        subs.append(SimpleNamespace(id=i + 1, result=result))
    per_row = _plain_hits(subs, spec.seeds, spec.tasks)
    assert sorted(per_row) == [1, 2, 3]
    rows = sorted(({"submission": s.id, "score": s.result["mean"]} for s in subs), key=lambda r: -r["score"])
    assign(rows, per_row)
    assert rows[0]["tier"] == 1 and rows[-1]["p_next"] is None
    assert all(0.0 <= r["p_next"] <= 1.0 for r in rows[:-1])
    # a result without hits (an older evaluator's) gets no tier; the others keep theirs
    subs[1].result = {**subs[1].result, "extra": {}}
    rows2 = [dict(r) for r in rows]
    assign(rows2, _plain_hits(subs, spec.seeds, spec.tasks))
    assert [r["tier"] is None for r in rows2] == [r["submission"] == 2 for r in rows2]
