"""Fill a database for the live tests: every baseline of the tiny challenges, then a hard test set
(a few positives among confusable negatives) that joins the suite, so later training sets get
public cells. Usage: ``python fill.py DB_URL HARD_CSV``."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

from dataperf.challenges import challenges, get_challenge
from dataperf.data.prepare import prepare
from dataperf.evaluator import load_data
from dataperf.submission import write_submission
from leaderboard.jobs.service import fill_from_baselines, ingest_local
from leaderboard.storage.db import session_factory, upgrade

CONFUSABLE = {6: (0, 2, 4), 7: (5, 9)}
"""For each task's positive class, the classes its negatives are drawn from."""


def hard_test_set(path: Path) -> Path:
    """Write a test set of 5 positives and 95 confusable negatives per task."""
    spec = get_challenge("tiny-testset")
    split = load_data(spec).split("test")
    ids, labels = np.asarray(split.ids), np.asarray(split.labels)
    rows = []
    for task in spec.tasks:
        pos = ids[labels == task.positive][:5]
        neg = ids[np.isin(labels, CONFUSABLE[int(task.positive or 0)])][:95]
        rows += [(task.name, int(i)) for i in np.concatenate([pos, neg])]
    return write_submission(pd.DataFrame(rows, columns=["task", "id"]), path, spec.id)


def main(url: str, hard: str) -> None:
    """Prepare, fill with baselines, then add the hard test set as the organizer's helper team."""
    reg = challenges()
    for name in reg.names():
        prepare(reg.get(name))
    sessions = session_factory(upgrade(url))
    fill_from_baselines(sessions)
    out = ingest_local(sessions, "tiny-testset", hard_test_set(Path(hard)), "helpers")
    print(out["message"])


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
