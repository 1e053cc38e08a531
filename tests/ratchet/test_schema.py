"""The schema: migrations equal the models on both databases; storage never pickles."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from dataperf.models import Constant, Linear
from leaderboard.storage.base import Base
from leaderboard.storage.blobs import canonical_digest, decode_fitted, decode_rows, encode_fitted, encode_rows
from leaderboard.storage.db import current_revisions, engine, upgrade


def test_migrations_match_models(db_url: str) -> None:
    import importlib

    import leaderboard.storage.tables  # noqa: F401

    try:
        importlib.import_module("leaderboard.storage.server_tables")  # its tables are migrated too
    except ModuleNotFoundError:
        pass
    with engine(db_url).connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata) == []
    assert current_revisions(db_url)
    upgrade(db_url)  # a second upgrade is a no-op


def test_first_revision_id() -> None:
    from alembic.script import ScriptDirectory

    from leaderboard.storage.db import alembic_config

    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert script.get_revision("0001_ratchet").down_revision is None


def test_fitted_models_round_trip_bit_exact_without_pickle() -> None:
    rng = np.random.default_rng(0)
    lin = Linear(w=rng.normal(size=(8, 1)), b=rng.normal(size=1), classes=np.array([0, 1]))
    form, blob = encode_fitted(lin)
    back = decode_fitted(form, blob)
    assert isinstance(back, Linear) and form == "linear"
    assert back.w.tobytes() == lin.w.tobytes() and back.b.tobytes() == lin.b.tobytes()
    with np.load(io.BytesIO(blob), allow_pickle=False) as z:  # readable with pickling disabled
        assert sorted(z.files) == ["b", "classes", "w"]
    assert decode_fitted(*encode_fitted(Constant(3))) == Constant(3)
    with pytest.raises(TypeError, match="only linear and constant"):
        encode_fitted(object())  # type: ignore[arg-type]


def test_canonical_digest_ignores_order_and_keeps_rows() -> None:
    t = pd.DataFrame({"task": ["b", "a", "a"], "id": [5, 9, 2], "label": [1, 0, 1]})
    shuffled = t.iloc[[2, 0, 1]].reset_index(drop=True)
    assert canonical_digest("p", "train", t) == canonical_digest("p", "train", shuffled)
    assert canonical_digest("p", "train", t) != canonical_digest("p", "test", t)
    assert canonical_digest("p", "train", t) != canonical_digest("q", "train", t)
    back = decode_rows(encode_rows(t, ["a", "b"]))
    assert back.to_dict("list") == {"task": ["a", "a", "b"], "id": [2, 9, 5], "label": [1, 0, 1]}


def test_sqlite_finds_one_training_sets_cells_by_its_index(tmp_path: Path) -> None:
    """A SQLite database filled without statistics (a copy, a bulk load) gets them when a
    connection opens, so one training set's cells, and one test set's, are found by an index on
    that set, not by scanning every cell of the problem's version."""
    from sqlalchemy import insert, text

    from leaderboard.storage.tables import Cell
    from tests.databases import migrated

    url = migrated("sqlite", tmp_path / "stats.db")
    rows = [
        {"problem": "p@1", "train_sha256": f"{t:064x}", "test_sha256": f"{u:064x}", "evaluator_version": "1"}
        | {"scores": {}, "mean": 0.5, "provenance": {}}
        for t in range(60)
        for u in range(50)
    ]
    with engine(url).begin() as conn:
        conn.execute(insert(Cell), rows)
        conn.execute(text("DROP TABLE IF EXISTS sqlite_stat1"))
    engine(url).dispose()
    with engine(url).connect() as conn:
        plans = []
        for col, digest in (("train_sha256", f"{7:064x}"), ("test_sha256", f"{3:064x}")):
            query = (
                "EXPLAIN QUERY PLAN SELECT train_sha256, test_sha256 FROM cells"
                f" WHERE problem = :p AND evaluator_version = :v AND {col} = :d"
            )
            plan = conn.execute(text(query), {"p": "p@1", "v": "1", "d": digest}).all()
            plans.append(" ".join(str(r[-1]) for r in plan))
    assert "train_sha256=?" in plans[0], plans[0]
    assert "test_sha256=?" in plans[1], plans[1]
