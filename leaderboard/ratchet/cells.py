"""Reading and writing the ratchet's cached work: sets, fitted models, cells, the suite.

Every write is an idempotent insert on a unique key, so concurrent writers never duplicate a
row and a retried step never fails on what an earlier try already wrote.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dataperf.models import Fitted
from dataperf.version import EVALUATOR_VERSION
from leaderboard.arithmetic.bank import Bank
from leaderboard.arithmetic.types import CellValue, RatchetCounters
from leaderboard.ratchet.problem import Problem, scores_to_json
from leaderboard.storage.blobs import canonical_digest, decode_fitted, decode_rows, encode_fitted, encode_rows
from leaderboard.storage.db import insert_ignore, insert_ignore_one
from leaderboard.storage.tables import Cell, Dataset, EvaluatorVersion, FittedModel, SuiteMember, utcnow


def effective_version(session: Session, problem: str, current: str | None = None) -> str:
    """Return ``current`` (default: this evaluator's) if the problem has cells at it, else the
    newest version that has cells (or ``current`` when there are none at all)."""
    current = current or EVALUATOR_VERSION

    def has(version: str) -> bool:  # one index lookup, not a count
        q = select(Cell.id).where(Cell.problem == problem, Cell.evaluator_version == version).limit(1)
        return session.execute(q).first() is not None

    if has(current):
        return current
    order = select(EvaluatorVersion.version).order_by(EvaluatorVersion.created_at.desc())
    for v in session.execute(order).scalars():
        if has(v):
            return str(v)
    q = select(Cell.evaluator_version).where(Cell.problem == problem).distinct()
    have = set(session.execute(q).scalars())
    if not have:
        return current
    order = select(EvaluatorVersion.version).order_by(EvaluatorVersion.created_at.desc())
    for v in session.execute(order).scalars():
        if v in have:
            return str(v)
    return str(max(have))


def ensure_dataset(
    session: Session, p: Problem, role: str, table: pd.DataFrame, origin: str = "submission"
) -> tuple[Dataset, bool]:
    """Return (the stored set with ``table``'s canonical content, whether this call stored it)."""
    digest = canonical_digest(p.challenge, role, table)
    row = {
        "problem": p.id,
        "role": role,
        "digest": digest,
        "n_rows": len(table),
        "payload": encode_rows(table, p.task_names),
        "origin": origin,
        "created_at": utcnow(),
    }
    created = insert_ignore_one(session, Dataset.__table__, row, ["problem", "digest"])  # type: ignore[arg-type]
    found = select(Dataset).where(Dataset.problem == p.id, Dataset.digest == digest)
    return session.execute(found).scalar_one(), created


def dataset_table(ds: Dataset) -> pd.DataFrame:
    """Return a stored set's rows."""
    return decode_rows(ds.payload)


def ensure_version(session: Session, version: str, packages: dict[str, str]) -> None:
    """Record that ``version`` of the evaluator has written scores."""
    row = {"version": version, "packages": packages, "created_at": utcnow()}
    insert_ignore_one(session, EvaluatorVersion.__table__, row, ["version"])  # type: ignore[arg-type]


def suite_digests(session: Session, problem: str) -> list[str]:
    """Return the active suite's test-set digests, in the order they joined."""
    q = select(SuiteMember.test_sha256).where(SuiteMember.problem == problem).order_by(SuiteMember.id)
    return list(session.execute(q).scalars())


def cell_keys(
    session: Session, p: Problem, train: Iterable[str] | None = None, test: Iterable[str] | None = None
) -> set[tuple[str, str]]:
    """Return the (train, test) digest pairs that have a cell at ``p``'s evaluator version."""
    q = select(Cell.train_sha256, Cell.test_sha256).where(
        Cell.problem == p.id, Cell.evaluator_version == p.evaluator_version
    )
    if train is not None:
        q = q.where(Cell.train_sha256.in_(list(train)))
    if test is not None:
        q = q.where(Cell.test_sha256.in_(list(test)))
    return {(a, b) for a, b in session.execute(q)}


def write_cells(
    session: Session, p: Problem, cells: Mapping[tuple[str, str], CellValue], path: str, wall_s: float
) -> None:
    """Insert cells (each whole: every task and seed in one row, the metric and the hardness),
    skipping existing keys."""
    prov = p.provenance(path, wall_s / max(len(cells), 1))
    now = utcnow()
    rows: list[dict[str, Any]] = [
        {
            "problem": p.id,
            "train_sha256": t,
            "test_sha256": s,
            "evaluator_version": p.evaluator_version,
            "scores": scores_to_json(scores),
            "mean": p.cell_mean(scores),
            "hardness": None if hard is None else scores_to_json(hard),
            "hardness_mean": None if hard is None else p.hardness(p.cell_mean(hard)),
            "hits": hits,
            "provenance": prov,
            "created_at": now,
        }
        for (t, s), (scores, hard, hits) in cells.items()
    ]
    keys = ["problem", "train_sha256", "test_sha256", "evaluator_version"]
    insert_ignore(session, Cell.__table__, rows, keys)  # type: ignore[arg-type]


def load_models(session: Session, p: Problem, digest: str) -> dict[tuple[str, int], Fitted] | None:
    """Return the cached models of training set ``digest`` (None unless every task and seed is cached)."""
    q = select(FittedModel.task, FittedModel.seed, FittedModel.form, FittedModel.weights).where(
        FittedModel.problem == p.id,
        FittedModel.train_sha256 == digest,
        FittedModel.evaluator_version == p.evaluator_version,
    )
    rows = list(session.execute(q))
    refits = _refitted(session, p, {digest for _, _, form, _ in rows if form == REFIT})
    models = {(task, seed): _decode(form, blob, refits, digest, task, seed) for task, seed, form, blob in rows}
    return models if len(models) == len(p.tasks) * len(p.seeds) else None


REFIT = "refit"
"""The form of a fitted model that has no weights to store (any model but a linear or a constant
one): it is fitted again from its training set's stored rows when needed (the same rows, seed
and evaluator version give the same model), once per process."""

_REFITS: dict[tuple[str, str, str], dict[tuple[str, int], Fitted]] = {}


def _refitted(session: Session, p: Problem, digests: set[str]) -> dict[str, dict[tuple[str, int], Fitted]]:
    """Return, for each training-set digest, its models fitted again from its stored rows."""
    out = {}
    for digest in sorted(digests):
        key = (str(session.get_bind().engine.url), p.evaluator_version, f"{p.id} {digest}")
        if key not in _REFITS:
            found = select(Dataset).where(Dataset.problem == p.id, Dataset.digest == digest)
            ds = session.execute(found).scalar_one()
            _REFITS[key] = p.fit(p.train_rows(dataset_table(ds)), RatchetCounters())
        out[digest] = _REFITS[key]
    return out


def _decode(
    form: str, blob: bytes, refits: dict[str, dict[tuple[str, int], Fitted]], digest: str, task: str, seed: int
) -> Fitted:
    return refits[digest][(task, seed)] if form == REFIT else decode_fitted(form, blob)


def store_models(session: Session, p: Problem, digest: str, models: dict[tuple[str, int], Fitted]) -> None:
    """Insert a training set's fitted models (every task and seed, in the caller's transaction)."""
    now = utcnow()
    rows = []
    for (task, seed), model in models.items():
        try:
            form, blob = encode_fitted(model)
        except TypeError:  # no weights to store without pickle: fitted again when needed
            form, blob = REFIT, b""
        rows.append(
            {
                "problem": p.id,
                "train_sha256": digest,
                "evaluator_version": p.evaluator_version,
                "task": task,
                "seed": seed,
                "form": form,
                "weights": blob,
                "created_at": now,
            }
        )
    keys = ["problem", "train_sha256", "evaluator_version", "task", "seed"]
    insert_ignore(session, FittedModel.__table__, rows, keys)  # type: ignore[arg-type]


_BANKS: dict[tuple[str, str, str], Bank] = {}


def bank_for(session: Session, p: Problem) -> Bank:
    """Return the in-memory bank of ``p``'s cached models, refreshed with rows added since
    (by any process) the last call; the first call loads every model once."""
    key = (str(session.get_bind().engine.url), p.id, p.evaluator_version)
    bank = _BANKS.setdefault(key, Bank(p.id, p.evaluator_version))
    count = session.execute(
        select(func.count())
        .select_from(FittedModel)
        .where(FittedModel.problem == p.id, FittedModel.evaluator_version == p.evaluator_version)
    ).scalar_one()
    if count < len(bank.models):  # the database was recreated under the same URL
        bank = _BANKS[key] = Bank(p.id, p.evaluator_version)
    q = (
        select(
            FittedModel.id,
            FittedModel.train_sha256,
            FittedModel.task,
            FittedModel.seed,
            FittedModel.form,
            FittedModel.weights,
        )
        .where(
            FittedModel.problem == p.id,
            FittedModel.evaluator_version == p.evaluator_version,
            FittedModel.id > bank.last_id,
        )
        .order_by(FittedModel.id)
    )
    found = list(session.execute(q))
    refits = _refitted(session, p, {digest for _, digest, _, _, form, _ in found if form == REFIT})
    for mid, digest, task, seed, form, blob in found:
        bank.add(digest, task, seed, _decode(form, blob, refits, digest, task, seed))
        bank.last_id = max(bank.last_id, mid)
    return bank


def forget_banks() -> None:
    """Drop every in-memory bank, refitted model and held standings matrix (tests; after a
    database is recreated)."""
    from leaderboard.ratchet import live

    _BANKS.clear()
    _REFITS.clear()
    live.forget()


def score_new_test_set(session: Session, p: Problem, digest: str, rows: Any, counters: RatchetCounters) -> int:
    """Compute the cells of test set ``digest`` against every cached model lacking one, in one
    batched pass; write them; return how many were computed."""
    bank = bank_for(session, p)
    have = {t for t, _ in cell_keys(session, p, test=[digest])}
    missing = [d for d in bank.digests() if d not in have]
    counters.cells_reused += len(have)
    if not missing:
        return 0
    start = time.perf_counter()
    batch = bank.score(p, rows, counters, only=missing, also=p.measure, hits=True)
    hard, hits = batch.measures(), batch.packed_hits()
    found = {(d, digest): (sc, hard[d], hits[d]) for d, sc in batch.items()}
    write_cells(session, p, found, "batched", time.perf_counter() - start)
    counters.cells_computed += len(found)
    return len(found)
