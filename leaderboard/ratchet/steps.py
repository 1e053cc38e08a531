"""The data ratchet: training sets scored against the best test sets, test sets against the
models trained on the best training sets (DESIGN.md, "The data ratchet").

Costs (counted in :class:`~leaderboard.ratchet.problem.RatchetCounters`, returned with every step):

- a new training set: one fit per task and seed, one prediction per task, seed and suite member;
- a new test set: no fit, one batched pass scoring every cached model;
- content seen before: nothing (every cell already exists); the step says ``duplicate``.

Decisions (accepting a test set, moving the top-k) happen in a short transaction that first
updates the problem's row, which serializes them across processes on SQLite and PostgreSQL;
evaluation work happens outside it. Each suite or top-k change is recorded as a ratchet event.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from leaderboard.arithmetic.standings import Standings, best_of, compute
from leaderboard.arithmetic.types import RatchetCounters
from leaderboard.ratchet import cells, live
from leaderboard.ratchet.problem import Problem
from leaderboard.storage.db import insert_ignore_one
from leaderboard.storage.tables import Cell, Dataset, ProblemRow, RatchetEvent, SuiteMember, utcnow


@dataclass
class Step:
    """What one ratchet step did and decided."""

    role: str
    digest: str
    dataset_id: int
    counters: RatchetCounters = field(default_factory=RatchetCounters)
    duplicate: bool = False
    accepted: bool | None = None
    reason: str = ""
    score: float | None = None
    worst: float | None = None
    difficulty: float | None = None
    bar: float | None = None
    rank: int | None = None
    top_k: list[str] = field(default_factory=list)
    suite: list[str] = field(default_factory=list)
    events: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Return the step as a JSON-ready dict."""
        out = dict(self.__dict__)
        out["counters"] = self.counters.as_dict()
        return out


def lock(session: Session, problem: str) -> None:
    """Take the problem's write lock for the rest of the transaction (a row update: PostgreSQL
    locks the row, SQLite takes its write lock)."""
    session.execute(update(ProblemRow).where(ProblemRow.id == problem).values(updated_at=utcnow()))


def load_standings(session: Session, problem: str, version: str, k: int, direction: str = "max") -> Standings:
    """Return the standings of ``problem`` from the cells of evaluator ``version`` (top-``k``)."""
    sets = session.execute(
        select(Dataset.digest, Dataset.role).where(Dataset.problem == problem).order_by(Dataset.id)
    ).all()
    train = [d for d, r in sets if r == "train"]
    test = [d for d, r in sets if r == "test"]
    q = select(Cell.train_sha256, Cell.test_sha256, Cell.mean, Cell.hardness_mean).where(
        Cell.problem == problem, Cell.evaluator_version == version
    )
    values = [(a, b, v, hm) for a, b, v, hm in session.execute(q)]
    return compute(train, test, cells.suite_digests(session, problem), values, k, direction)


class Ratchet:
    """The ratchet of one problem over one database."""

    def __init__(self, sessions: sessionmaker[Session], problem: Problem) -> None:
        self.sessions = sessions
        self.p = problem

    def standings(self, s: Session) -> Standings:
        """Return the current standings (from cached cells of this evaluator version), kept up to
        date incrementally in this process (:mod:`leaderboard.ratchet.live`)."""
        return live.standings(s, self.p.id, self.p.evaluator_version, self.p.top_k, self.p.direction)

    def ensure_init(self) -> None:
        """Create the problem's row and put S0, the organizer's hidden test set, in the suite
        (idempotent; the first call records the ``init`` event)."""
        with self.sessions.begin() as s:
            cells.ensure_version(s, self.p.evaluator_version, self.p.provenance("", 0)["packages"])
        with self.sessions() as s:
            if s.get(ProblemRow, self.p.id) is not None:
                return
        with self.sessions.begin() as s:
            row = {
                "id": self.p.id,
                "test_challenge": self.p.test_spec.id,
                "top_k": [],
                "updated_at": utcnow(),
            }
            if not insert_ignore_one(s, ProblemRow.__table__, row, ["id"]):  # type: ignore[arg-type]
                return
            ds, _ = cells.ensure_dataset(s, self.p, "test", self.p.hidden_table(), origin="organizer")
            self._join_suite(s, ds, "organizer", None)
            self._event(s, "init", ds.digest, self.standings(s))

    def add_training_set(self, table: pd.DataFrame) -> Step:
        """Add a validated training set: fit once per task and seed (unless cached), score it on
        every suite member lacking a cell, then update the ranking."""
        self.ensure_init()
        with self.sessions.begin() as s:
            ds, created = cells.ensure_dataset(s, self.p, "train", table)
        step = Step("train", ds.digest, ds.id)
        models = None
        for attempt in range(3):  # a suite member may join while we work; then score it too
            with self.sessions() as s:
                suite = cells.suite_digests(s, self.p.id)
                have = {b for _, b in cells.cell_keys(s, self.p, train=[ds.digest])}
            missing = [d for d in suite if d not in have]
            if attempt == 0:
                step.counters.cells_reused += len(suite) - len(missing)
            if missing:
                # fit on the stored canonical rows: the set, not the file order, decides the score
                models = models or self._models(ds, cells.dataset_table(ds), step.counters)
                self._score_on(ds.digest, models, missing, step.counters)
                continue
            break
        step.duplicate = not created and step.counters.cells_computed == 0 and step.counters.fits == 0
        with self.sessions.begin() as s:
            lock(s, self.p.id)
            st = self.standings(s)
            self._maybe_topk_event(s, st, step)
        self._fill(step, st)
        return step

    def add_test_set(self, table: pd.DataFrame, *, organizer: bool = False) -> Step:
        """Add a validated test set: score it against every cached model in one batched pass,
        then accept it into the suite when it is hard enough (always, for ``organizer``)."""
        self.ensure_init()
        with self.sessions.begin() as s:
            ds, created = cells.ensure_dataset(
                s, self.p, "test", table, origin="organizer" if organizer else "submission"
            )
        step = Step("test", ds.digest, ds.id)
        rows = None
        with self.sessions() as s:
            pending = self._unscored(s, ds.digest)
        if pending:
            rows = self.p.test_rows(table)
            with self.sessions.begin() as s:
                cells.score_new_test_set(s, self.p, ds.digest, rows, step.counters)
        else:
            with self.sessions() as s:
                step.counters.cells_reused += len(cells.cell_keys(s, self.p, test=[ds.digest]))
        with self.sessions.begin() as s:
            lock(s, self.p.id)
            if self._unscored(s, ds.digest):  # training sets that arrived meanwhile
                cells.score_new_test_set(s, self.p, ds.digest, rows or self.p.test_rows(table), step.counters)
            step.duplicate = not created and step.counters.cells_computed == 0
            st = self.standings(s)
            self._decide(s, ds, st, step, organizer)
            st = self.standings(s)
            self._maybe_topk_event(s, st, step)
        self._fill(step, st)
        return step

    def rebuild(self, tests: list[str]) -> RatchetCounters:
        """Compute this evaluator version's models and cells for every stored training set
        against the suite and ``tests`` (after a version bump); record a ``rescore`` event."""
        self.ensure_init()
        counters = RatchetCounters()
        with self.sessions() as s:
            train = list(
                s.execute(select(Dataset).where(Dataset.problem == self.p.id, Dataset.role == "train")).scalars()
            )
            suite = cells.suite_digests(s, self.p.id)
        for ds in train:
            self._models(ds, cells.dataset_table(ds), counters)
        wanted = list(dict.fromkeys(suite + tests))
        with self.sessions() as s:
            sets = self._datasets(s, wanted)
        for digest in wanted:
            rows = self.p.test_rows(cells.dataset_table(sets[digest]))
            with self.sessions.begin() as s:
                cells.score_new_test_set(s, self.p, digest, rows, counters)
        with self.sessions.begin() as s:
            lock(s, self.p.id)
            st = self.standings(s)
            self._event(s, "rescore", None, st)
        return counters

    def _unscored(self, s: Session, digest: str) -> list[str]:
        bank = cells.bank_for(s, self.p)
        have = {t for t, _ in cells.cell_keys(s, self.p, test=[digest])}
        return [d for d in bank.digests() if d not in have]

    def _decide(self, s: Session, ds: Dataset, st: Standings, step: Step, organizer: bool) -> None:
        difficulty = st.difficulty.get(ds.digest)
        step.difficulty, step.bar = difficulty, st.bar
        if ds.digest in st.suite:
            step.accepted, step.reason = True, "already in the suite"
        elif organizer:
            step.accepted, step.reason = True, "added by the organizer"
        elif not st.top_k:
            step.accepted, step.reason = False, "no complete training set yet: difficulty is undefined"
        elif difficulty is None or st.bar is None:
            step.accepted, step.reason = False, "difficulty is undefined (a top-k cell is missing)"
        elif difficulty >= st.bar + self.p.margin:
            step.accepted = True
            step.reason = f"difficulty {difficulty:.4f} >= bar {st.bar:.4f} + margin {self.p.margin}"
        else:
            step.accepted = False
            step.reason = f"difficulty {difficulty:.4f} < bar {st.bar:.4f} + margin {self.p.margin}"
        if step.accepted and ds.digest not in st.suite:
            self._join_suite(s, ds, "organizer" if organizer else "accepted", difficulty)
            self._event(s, "accept", ds.digest, self.standings(s))
            step.events.append("accept")

    def _models(self, ds: Dataset, table: pd.DataFrame, counters: RatchetCounters) -> dict[tuple[str, int], Any]:
        with self.sessions() as s:
            models = cells.load_models(s, self.p, ds.digest)
        if models is None:
            models = self.p.fit(self.p.train_rows(table), counters)
            with self.sessions.begin() as s:
                cells.store_models(s, self.p, ds.digest, models)
        return models

    def _score_on(
        self, digest: str, models: dict[tuple[str, int], Any], tests: list[str], counters: RatchetCounters
    ) -> None:
        with self.sessions() as s:
            tables = {d: cells.dataset_table(ds) for d, ds in self._datasets(s, tests).items()}
        start = time.perf_counter()
        out = {(digest, d): self.p.score_cell(models, self.p.test_rows(t), counters) for d, t in tables.items()}
        with self.sessions.begin() as s:
            cells.write_cells(s, self.p, out, "fit", time.perf_counter() - start)
        counters.cells_computed += len(out)

    def _datasets(self, s: Session, digests: list[str]) -> dict[str, Dataset]:
        rows = s.execute(select(Dataset).where(Dataset.problem == self.p.id, Dataset.digest.in_(digests))).scalars()
        return {d.digest: d for d in rows}

    def _join_suite(self, s: Session, ds: Dataset, reason: str, difficulty: float | None) -> None:
        row = {
            "problem": self.p.id,
            "dataset_id": ds.id,
            "test_sha256": ds.digest,
            "reason": reason,
            "difficulty": difficulty,
            "added_at": utcnow(),
        }
        insert_ignore_one(s, SuiteMember.__table__, row, ["problem", "dataset_id"])  # type: ignore[arg-type]

    def _maybe_topk_event(self, s: Session, st: Standings, step: Step) -> None:
        row = s.get(ProblemRow, self.p.id)
        if row is not None and list(row.top_k) != st.top_k:
            if "accept" not in step.events:
                self._event(s, "top-k", step.digest, st)
                step.events.append("top-k")
            row.top_k = list(st.top_k)

    def _event(self, s: Session, kind: str, subject: str | None, st: Standings) -> None:
        s.add(
            RatchetEvent(
                problem=self.p.id,
                at=utcnow(),
                kind=kind,
                subject_sha256=subject,
                evaluator_version=self.p.evaluator_version,
                suite=list(st.suite),
                top_k=list(st.top_k),
                scores={"train": st.score, "difficulty": {d: st.difficulty.get(d) for d in st.suite}},
                bar=st.bar,
                best_score=best_of(st.score.values(), self.p.direction),
                train_sets=len(st.score),
            )
        )
        row = s.get(ProblemRow, self.p.id)
        if row is not None:
            row.top_k = list(st.top_k)

    def _fill(self, step: Step, st: Standings) -> None:
        step.top_k, step.suite, step.bar = st.top_k, st.suite, st.bar
        if step.role == "train":
            step.score, step.worst, step.rank = (
                st.score.get(step.digest),
                st.worst.get(step.digest),
                st.rank.get(step.digest),
            )
        else:
            step.difficulty = st.difficulty.get(step.digest)
