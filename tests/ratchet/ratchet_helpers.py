"""Shared helpers of the ratchet tests (imported by the test modules)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from baselines import get_baseline
from dataperf.challenges import get_challenge
from dataperf.evaluator import load_data
from dataperf.submission import write_submission


def baseline_file(challenge: str, kind: str, name: str, seed: int, folder: Path, suffix: str = ".parquet") -> Path:
    """Write baseline ``name``'s submission for ``challenge`` and return its path."""
    spec = get_challenge(challenge)
    table = get_baseline(kind, name).build(spec, load_data(spec), seed)
    return write_submission(table, folder / f"{challenge}-{name}-{seed}{suffix}", challenge)


def baseline_table(challenge: str, kind: str, name: str, seed: int) -> pd.DataFrame:
    """Return baseline ``name``'s submission table for ``challenge``."""
    spec = get_challenge(challenge)
    return get_baseline(kind, name).build(spec, load_data(spec), seed)


def count(sessions: sessionmaker[Session], model: type) -> int:
    """Return the number of rows of ``model``'s table."""
    with sessions() as s:
        return int(s.execute(select(func.count()).select_from(model)).scalar_one())
