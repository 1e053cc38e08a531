"""Standings kept up to date incrementally: each process holds a problem's cell matrix and reads
only the sets and cells written since its last look.

Every ratchet step needs the standings (the score and rank of a new training set, the difficulty
of a new test set, the top-k). Recomputing them from every cached cell reads the whole problem
back: about 6 s at 10,000 training sets x 200 suite members (``benchmarks/rescore_scale.py``).
:func:`standings` instead keeps, per problem and evaluator version, the matrices of
:func:`leaderboard.arithmetic.standings.matrices` in memory and adds the rows written since
(ids above the last seen), then ranks with the same arithmetic, so it returns exactly what
:func:`leaderboard.ratchet.steps.load_standings` would.

Sets and cells are never updated or deleted, so what this process holds is always a subset of
what is committed. Ids are not committed in order (two workers' transactions can commit out of
order), so each look also counts the problem's sets and cells; a count above what is held (a
row with a lower id committed late) or a highest id below the last seen (the database was
replaced) makes it read everything again, as a from-scratch load would. The ratchet's own looks
count every cell; the boards' (:mod:`leaderboard.boards.held`, a :class:`Held` subclass that
keeps more per cell) count the last :data:`TAIL` ids on each look and every cell every
:data:`FULL_EVERY` seconds (see :class:`Store`).
"""

from __future__ import annotations

import bisect
import threading
import time
from array import array
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from leaderboard.arithmetic.standings import Standings, from_matrices, hardness
from leaderboard.ratchet import cells as cells_repo
from leaderboard.storage.tables import Cell, Dataset

T = TypeVar("T")
CHUNK = 20_000
"""Cells read and taken at a time."""


class Held:
    """One problem's sets and cells at one evaluator version, as far as this process has read.

    A subclass holds more per set or cell: it names the extra columns it reads
    (:meth:`set_columns`, :meth:`cell_columns`) and takes each batch of new rows
    (:meth:`took_sets`, :meth:`took_cells`); :meth:`grow` makes room in every array it lists in
    :meth:`arrays`."""

    def __init__(self, direction: str) -> None:
        self.direction = direction
        self.train: list[str] = []
        self.test: list[str] = []
        self.ti: dict[str, int] = {}
        self.si: dict[str, int] = {}
        self.a = np.full((0, 0), np.nan)
        self.h = np.full((0, 0), np.nan)
        self.last_set = 0
        self.last_cell = 0
        self.sets = 0
        self.ids = array("q")
        """The held cells' ids, ascending (each look adds only ids above the last)."""
        self.checked_at = time.monotonic()
        """When every cell was last counted."""

    def arrays(self) -> dict[str, tuple[bool, float]]:
        """Return the arrays indexed by training set in their first axis: name -> (whether the
        second axis is the test sets, fill value)."""
        return {"a": (True, np.nan), "h": (True, np.nan)}

    def set_columns(self) -> tuple[Any, ...]:
        """Return the extra columns read with each set."""
        return ()

    def cell_columns(self) -> tuple[Any, ...]:
        """Return the extra columns read with each cell."""
        return ()

    def took_sets(self, rows: list[Any]) -> None:
        """Take the extra columns of new sets (``(id, digest, role, *extra)`` rows)."""

    def took_cells(self, rows: list[tuple[int, int, Any]]) -> None:
        """Take the extra columns of new cells: ``(train index, test index, row)``."""

    def grow(self) -> None:
        """Make room for every known set (capacity grows by a quarter, so growing costs amortized O(1))."""
        rows, cols = self.a.shape
        if rows >= len(self.train) and cols >= len(self.test):
            return
        shape = (max(rows, (len(self.train) * 5) // 4 + 1), max(cols, (len(self.test) * 5) // 4 + 1))
        for name, (by_test, fill) in self.arrays().items():
            old = getattr(self, name)
            size = (shape[0], shape[1], *old.shape[2:]) if by_test else (shape[0], *old.shape[1:])
            new = np.full(size, fill, dtype=old.dtype)
            new[tuple(slice(0, n) for n in old.shape)] = old
            setattr(self, name, new)

    def read(self, s: Session, problem: str, version: str) -> None:
        """Add the sets and cells with ids above those last seen."""
        new_sets = s.execute(
            select(Dataset.id, Dataset.digest, Dataset.role, *self.set_columns())
            .where(Dataset.problem == problem, Dataset.id > self.last_set)
            .order_by(Dataset.id)
        ).all()
        for sid, digest, role, *_ in new_sets:
            names, index = (self.train, self.ti) if role == "train" else (self.test, self.si)
            index[digest] = len(names)
            names.append(digest)
            self.last_set, self.sets = max(self.last_set, sid), self.sets + 1
        self.grow()
        self.took_sets(list(new_sets))
        q = (
            select(Cell.id, Cell.train_sha256, Cell.test_sha256, Cell.mean, Cell.hardness_mean, *self.cell_columns())
            .where(Cell.problem == problem, Cell.evaluator_version == version, Cell.id > self.last_cell)
            .order_by(Cell.id)
            .execution_options(yield_per=CHUNK)
        )
        last = self.last_cell
        # In chunks (a whole problem's rows at once would not fit), on the session's connection:
        # plain rows cost far less than the ORM's at 2,000,000 cells.
        for rows in s.connection().execute(q).partitions():
            taken = []
            for row in rows:
                cid, t, u, mean, hm = row[:5]
                i, j = self.ti.get(t), self.si.get(u)
                if i is None or j is None:
                    # Its set committed after the sets were read: not held, so the counts differ and
                    # the next look reads everything again (a from-scratch load leaves it out too).
                    continue
                last = max(last, cid)
                self.ids.append(cid)
                self.a[i, j] = mean
                self.h[i, j] = hardness((t, u, mean, hm), self.direction)
                taken.append((i, j, row))
            self.took_cells(taken)
        self.last_cell = last


H = TypeVar("H", bound=Held)


class Store(Generic[H]):
    """Held problems of one kind, per (database, problem, evaluator version), with one lock.

    ``exact``: every look counts all of the problem's cells (what a ratchet decision needs);
    else only the last :data:`TAIL` ids, and all of them every :data:`FULL_EVERY` seconds (what
    a board shown to readers can afford at 2,000,000 cells: a row committed very late shows up
    within that time)."""

    def __init__(self, exact: bool = True) -> None:
        self.exact = exact
        self._held: dict[tuple[str, str, str, str], H] = {}
        self._lock = threading.Lock()

    def forget(self) -> None:
        """Drop every held problem (the next look reads everything again)."""
        with self._lock:
            self._held.clear()

    def use(
        self, s: Session, problem: str, version: str, make: Callable[[], H], fn: Callable[[H], T], tag: str = ""
    ) -> T:
        """Bring the held ``problem`` (at evaluator ``version``; ``tag``: what else tells the held
        ones apart) up to date, a fresh one from ``make()`` the first time or when rows committed
        late, and return ``fn(held)``, called under the store's lock."""
        key = (str(s.get_bind().engine.url), problem, version, tag)
        with self._lock:
            held = self._held.get(key)
            if held is None:
                held = self._held[key] = make()
            held.read(s, problem, version)
            if not _consistent(s, held, problem, version, self.exact):
                held = self._held[key] = make()  # a row committed late, or another database
                held.read(s, problem, version)
            return fn(held)


_STORES: list[Store[Any]] = []
_ALSO: list[Callable[[], None]] = []


def also_forget(fn: Callable[[], None]) -> None:
    """Have :func:`forget` also call ``fn`` (another layer's held state; once per ``fn``)."""
    if fn not in _ALSO:
        _ALSO.append(fn)


def store(exact: bool = True) -> Store[Any]:
    """Return a new store (see :class:`Store`), dropped with the others by :func:`forget`."""
    made: Store[Any] = Store(exact)
    _STORES.append(made)
    return made


_STANDINGS: Store[Held] = store()


def forget() -> None:
    """Drop every held problem of every store (the next look reads everything again)."""
    for each in _STORES:
        each.forget()
    for fn in _ALSO:
        fn()


TAIL = 100_000
"""Each look counts the cells among the last this many ids (where a transaction that committed
late put its rows); all of them are counted every :data:`FULL_EVERY` seconds."""
FULL_EVERY = 30.0


def _consistent(s: Session, held: Held, problem: str, version: str, exact: bool) -> bool:
    """Return whether ``held`` has every committed set and cell (see the module and :class:`Store`)."""
    sets = s.execute(select(func.count()).select_from(Dataset).where(Dataset.problem == problem)).scalar_one()
    if int(sets) != held.sets:
        return False
    full = exact or time.monotonic() - held.checked_at >= FULL_EVERY
    low = 0 if full else max(0, held.last_cell - TAIL)
    n, top = s.execute(
        select(func.count(), func.max(Cell.id)).where(
            Cell.problem == problem, Cell.evaluator_version == version, Cell.id > low, Cell.id <= held.last_cell
        )
    ).one()
    if full:
        held.checked_at = time.monotonic()
    mine = len(held.ids) - bisect.bisect_right(held.ids, low)
    return int(n) == mine and int(top or 0) == held.last_cell


def standings(s: Session, problem: str, version: str, k: int, direction: str = "max") -> Standings:
    """Return the standings of ``problem`` from the cells of evaluator ``version`` (top-``k``),
    equal to :func:`leaderboard.ratchet.steps.load_standings`'s, reading only what was written
    since this process last looked (see the module's docstring)."""

    def rank(held: Held) -> Standings:
        suite = cells_repo.suite_digests(s, problem)
        nt, ns = len(held.train), len(held.test)
        return from_matrices(held.train, held.test, suite, held.a[:nt, :ns], held.h[:nt, :ns], k, direction)

    return _STANDINGS.use(s, problem, version, lambda: Held(direction), rank, tag=direction)
