"""A test set's difficulty cannot be moved by its class mix: filler rows the models get right
never make it look harder (vision-testset's ``balanced-error``, on the tiny ratchet)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy import select

from dataperf.kinds.test_set import EVAL_SPLIT, task_truth
from dataperf.metrics import METRICS
from leaderboard.ratchet.cells import bank_for
from leaderboard.ratchet.problem import Problem
from leaderboard.ratchet.steps import Ratchet
from tests.ratchet.ratchet_helpers import baseline_table

TRAIN = "tiny-selection"


def _wrong(r: Ratchet, top: list[str]) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per task: the evaluation pool's ids, truth and how many top-k models get each row wrong."""
    pool = r.p.data.split(EVAL_SPLIT)
    with r.sessions() as s:
        bank = bank_for(s, r.p)
    out = {}
    for task in r.p.tasks:
        truth = task_truth(task, pool.labels)
        x = np.asarray(pool.x, dtype=np.float64)
        wrong = sum(
            (bank.models[(d, task.name, seed)].predict(x) != truth).astype(np.int64) for d in top for seed in r.p.seeds
        )
        out[task.name] = (pool.ids, truth, wrong)
    return out


def _table(picks: dict[str, np.ndarray]) -> pd.DataFrame:
    tasks = np.concatenate([[t] * len(ids) for t, ids in picks.items()])
    return pd.DataFrame({"task": tasks, "id": np.concatenate(list(picks.values()))})


def test_filler_rows_the_models_get_right_never_make_a_set_harder(sessions) -> None:  # type: ignore[no-untyped-def]
    r = Ratchet(sessions, Problem.load(TRAIN))
    assert r.p.measure is METRICS.get("balanced-error")
    for name, seed in [("random", 0), ("random", 1), ("balanced", 0)]:
        r.add_training_set(baseline_table(TRAIN, "training-set", name, seed))
    with sessions() as s:
        top = r.standings(s).top_k
    assert len(top) == r.p.top_k
    need, budget = 3, 60
    trap, more_filler, hard = {}, {}, {}
    for task, (ids, truth, wrong) in _wrong(r, top).items():
        # The trap: the positives the models miss most, then easy negatives every model gets right.
        pos = np.flatnonzero(truth == 1)
        missed = pos[np.argsort(-wrong[pos], kind="stable")][:need]
        easy = np.flatnonzero((truth == 0) & (wrong == 0))
        trap[task] = np.concatenate([ids[missed], ids[easy[: budget - need]]])
        more_filler[task] = np.concatenate([ids[missed], ids[easy[:need]]])
        # Row for row wrong: the rows of each class the models get wrong most often.
        neg = np.flatnonzero(truth == 0)
        hardest_neg = neg[np.argsort(-wrong[neg], kind="stable")][: budget - need]
        hard[task] = np.concatenate([ids[missed], ids[hardest_neg]])
    trap_step = r.add_test_set(_table(trap))
    small_step = r.add_test_set(_table(more_filler))
    hard_step = r.add_test_set(_table(hard))
    assert trap_step.difficulty is not None and hard_step.difficulty is not None
    # Rows the models get right do not move the measure: 57 fillers or 3, the same difficulty.
    assert small_step.difficulty == trap_step.difficulty
    # The measure is the mean over the top-k models of one minus the mean per-class recall.
    pool = r.p.data.split(EVAL_SPLIT)
    with sessions() as s:
        bank = bank_for(s, r.p)
    by_hand = []
    for task in r.p.tasks:
        chosen = pool.positions(trap[task.name])
        truth = task_truth(task, pool.labels[chosen])
        x = np.asarray(pool.x[chosen], dtype=np.float64)
        for d in top:
            for seed in r.p.seeds:
                hit = bank.models[(d, task.name, seed)].predict(x) == truth
                by_hand.append(1.0 - (hit[truth == 1].mean() + hit[truth == 0].mean()) / 2)
    assert abs(trap_step.difficulty - float(np.mean(by_hand))) < 1e-12
    # Under the old rule (one minus F1) the trap looked at least as hard as the set the models
    # get wrong row for row; now the set the models get wrong ranks harder.
    f1 = METRICS.get("f1")
    old_trap = []
    for task in r.p.tasks:
        chosen = pool.positions(trap[task.name])
        truth = task_truth(task, pool.labels[chosen])
        x = np.asarray(pool.x[chosen], dtype=np.float64)
        old_trap += [1 - f1(truth, bank.models[(d, task.name, s)].predict(x), 2) for d in top for s in r.p.seeds]
    assert float(np.mean(old_trap)) > trap_step.difficulty
    assert hard_step.difficulty > trap_step.difficulty
    with sessions() as s:
        st = r.standings(s)
    assert st.difficulty[hard_step.digest] == hard_step.difficulty


def test_rescore_shows_the_difficulty_change_from_cells_without_hardness(sessions) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import update

    from leaderboard.boards.diffs import rescore
    from leaderboard.ratchet import live
    from leaderboard.storage.tables import Cell
    from tests.ratchet.test_hits import _submit

    old = Ratchet(sessions, Problem.load(TRAIN, "0.9.0"))
    for name in ("random", "balanced"):
        old.add_training_set(baseline_table(TRAIN, "training-set", name, 0))
    steps = [old.add_test_set(baseline_table("tiny-testset", "test-set", n, 0)) for n in ("hard", "random")]
    with sessions.begin() as s:  # cells of an evaluator that did not measure hardness
        s.execute(update(Cell).values(hardness=None, hardness_mean=None, hits=None))
    live.forget()  # cells are never rewritten in place: held standings assume so
    _submit(sessions, steps, "tiny-testset", "test-set")
    with sessions() as s:
        st_old = old.standings(s)
        legacy = {st.digest: st_old.difficulty[st.digest] for st in steps}
        cells = {(c.train_sha256, c.test_sha256): c.mean for c in s.execute(select(Cell)).scalars()}
    for st in steps:  # such cells keep their rule: one minus the mean F1 over the top-k
        want = 1.0 - float(np.mean([cells[(t, st.digest)] for t in st_old.top_k]))
        assert abs(legacy[st.digest] - want) < 1e-12
    diffs = rescore(sessions, evaluator_version="1.1.0", challenge_ids=["tiny-testset"])
    new = Ratchet(sessions, Problem.load(TRAIN, "1.1.0"))
    with sessions() as s:
        now = new.standings(s).difficulty
    assert diffs and diffs[0]["before_version"] == "0.9.0" and diffs[0]["after_version"] == "1.1.0"
    changed = {c["submission"]: c for c in diffs[0]["changes"]}
    assert changed, diffs
    for c in changed.values():
        assert c["before"]["score"] != c["after"]["score"]
        assert c["after"]["score"] in {now[st.digest] for st in steps}
        assert c["before"]["score"] in set(legacy.values())
