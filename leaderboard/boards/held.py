"""A ratchet problem's board data, held by this process and brought up to date as scores land.

A board used to be rebuilt from every cell after each change: at 10,000 training sets and a
suite of 200 that is 2,000,000 cells with their per-seed scores and per-row correctness, seconds
of work for each new score. :class:`BoardData` holds instead, per problem and evaluator version,
what every view of the board is computed from, and adds only the sets and cells written since
its last look (the reading, and the re-reading when rows commit late, are
:mod:`leaderboard.ratchet.live`'s):

- the cell matrix and the hardness matrix (the standings' arithmetic,
  :func:`leaderboard.arithmetic.standings.from_matrices`);
- per cell, its per-seed score (the mean over tasks) and its per-task score (the mean over
  seeds), for the confidence intervals and the per-task columns;
- per training set, its totals on every bootstrap draw (:mod:`leaderboard.boards.tiers`), one
  set over every public test set and one over the suite, added a cell at a time as its hits are
  read. A test set that joins the suite after its cells were read has its column read again
  once (suite members are never removed).

:func:`snapshot` then computes one view's standings, intervals, per-task scores and tiers in
whole-array operations and returns them as a :class:`Snapshot` of fresh arrays, which later
cells cannot change. Memory, per problem: ``(2 + seeds + tasks) x 8`` bytes a cell and
``2 x 4 x 1,000`` bytes a training set, and a quarter more as room to grow (measured by
``benchmarks/board_scale.py``).
"""

from __future__ import annotations

import base64
import json
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Text, cast, select
from sqlalchemy.orm import Session

from dataperf.kinds.test_set import options_of
from leaderboard.arithmetic.standings import ranked
from leaderboard.boards import tiers
from leaderboard.boards.versions import version_of
from leaderboard.boards.visibility import Visibility
from leaderboard.ratchet import live
from leaderboard.ratchet.cells import effective_version, suite_digests
from leaderboard.ratchet.problem import dual_of, problem_key
from leaderboard.storage.tables import Cell, Dataset

VIEWS = ("pub", "full")
"""The two sums kept per training set: over every public test set, and over the suite."""
_SUMS = ("seed", "task", "task_n", "scored", "tot", "hit_n")


class BoardData(live.Held):
    """One problem's board data at one evaluator version (see the module).

    Per view (``pub``: the public test sets; ``full``: the suite) and training set it keeps
    sums over the view's cells: of the per-seed scores (the mean over tasks) and how many cells
    have them all (``scored``), of the per-task scores (the mean over seeds) and how many cells
    have each (``task_n``), and of the bootstrap totals and how many cells have hits (``hit_n``).
    Both views only grow (public test sets are never removed, nor suite members), so a cell is
    added once to each view it belongs to."""

    def __init__(self, direction: str, seeds: list[str], tasks: list[str]) -> None:
        super().__init__(direction)
        self.seeds, self.tasks = seeds, tasks
        shapes: dict[str, tuple[tuple[int, ...], Any]] = {
            "seed": ((0, len(seeds)), np.float64),
            "task": ((0, len(tasks)), np.float64),
            "task_n": ((0, len(tasks)), np.int64),
            "scored": ((0,), np.int64),
            "tot": ((0, tiers.DRAWS), np.int32),
            "hit_n": ((0,), np.int64),
        }
        for view in VIEWS:
            for name, (shape, dtype) in shapes.items():
                setattr(self, f"{view}_{name}", np.zeros(shape, dtype=dtype))
        self._col_max: dict[int, int] = {}
        """Each column's largest total on a draw: their sum bounds every training set's total."""
        self.hidden: set[int] = set()
        """Test-set indices of the organizer's hidden test sets."""
        self.by_id: dict[int, tuple[str, int]] = {}
        """Dataset id -> (role, index)."""
        self.train_of = np.full(0, -1, dtype=np.int64)
        """Dataset id -> training-set index (-1: not one of the problem's training sets)."""
        self.members: list[str] = []
        """The suite as read at the start of the last look."""
        self.full_cols: set[int] = set()
        """Test-set indices whose cells are in the ``full`` sums."""
        self._backfill: dict[int, int] = {}

    def sums(self, view: str, name: str) -> np.ndarray:
        """Return view ``view``'s sums ``name`` (rows: training sets, with room to grow)."""
        return getattr(self, f"{view}_{name}")  # type: ignore[no-any-return]

    def arrays(self) -> dict[str, tuple[bool, float]]:
        """Return every array grown with the sets (see :meth:`leaderboard.ratchet.live.Held.arrays`)."""
        return super().arrays() | {f"{v}_{n}": (False, 0) for v in VIEWS for n in _SUMS}

    def set_columns(self) -> tuple[Any, ...]:
        """Read each set's origin (the organizer's test sets are hidden)."""
        return (Dataset.origin,)

    def cell_columns(self) -> tuple[Any, ...]:
        """Read each cell's per-seed scores and per-row correctness, as their JSON text (decoded
        a chunk at a time by :meth:`took_cells`: one decoder call per chunk, not two per cell)."""
        return (cast(Cell.scores, Text), cast(Cell.hits, Text))

    def read(self, s: Session, problem: str, version: str) -> None:
        """Read the suite, then the new sets and cells; then the earlier cells of a test set that
        joined the suite since the last look."""
        self.members = suite_digests(s, problem)
        super().read(s, problem, version)
        for j, upto in sorted(self._backfill.items()):
            q = select(Cell.train_sha256, Cell.scores, Cell.hits).where(
                Cell.problem == problem,
                Cell.evaluator_version == version,
                Cell.test_sha256 == self.test[j],
                Cell.id <= upto,
            )
            rows = [(self.ti[t], j, scores, hits) for t, scores, hits in s.execute(q) if t in self.ti]
            self._add(rows, ("full",))
        self._backfill.clear()

    def took_sets(self, rows: list[Any]) -> None:
        """Index the new sets and mark the suite's columns (a member's cells read before it
        joined are read again once, after this look's cells)."""
        top = max((r[0] for r in rows), default=-1)
        if top >= len(self.train_of):
            grown = np.full(max(top + 1, len(self.train_of) * 5 // 4), -1, dtype=np.int64)
            grown[: len(self.train_of)] = self.train_of
            self.train_of = grown
        for sid, digest, role, origin in rows:
            index = self.ti[digest] if role == "train" else self.si[digest]
            self.by_id[sid] = (role, index)
            if role == "train":
                self.train_of[sid] = index
            if role == "test" and origin == "organizer":
                self.hidden.add(index)
        for d in self.members:
            j = self.si.get(d)
            if j is not None and j not in self.full_cols:
                self.full_cols.add(j)
                if self.last_cell:
                    self._backfill[j] = self.last_cell

    def took_cells(self, rows: list[tuple[int, int, Any]]) -> None:
        """Add each new cell to the views it belongs to."""
        scores = _decoded([row[5] for _, _, row in rows])
        hits = _decoded([row[6] for _, _, row in rows])
        self._add([(i, j, sc, h) for (i, j, _), sc, h in zip(rows, scores, hits, strict=True)], None)

    def _views(self, j: int, only: tuple[str, ...] | None) -> tuple[str, ...]:
        if only is not None:
            return only
        return (*(("pub",) if j not in self.hidden else ()), *(("full",) if j in self.full_cols else ()))

    def _add(self, rows: list[tuple[int, int, Any, Any]], only: tuple[str, ...] | None) -> None:
        """Add cells (train index, test index, scores, hits) to the sums of their views (``only``:
        to those views whatever the column): the scores of all at once, the hits a column's
        cells at a time (each test set draws its own bootstrap)."""
        if not rows:
            return
        seeds, tasks = self.seeds, self.tasks
        idx = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        col = np.fromiter((r[1] for r in rows), dtype=np.int64, count=len(rows))
        flat: list[Any] = []  # one array built at the end: far cheaper than filling it cell by cell
        nothing: dict[str, Any] = {}
        for _, _, scores, _ in rows:
            for name in tasks:
                per = (scores or nothing).get(name) or nothing
                flat += [per.get(sd) for sd in seeds]
        vals = np.array(flat, dtype=np.float64).reshape(len(rows), len(tasks), len(seeds))  # None: NaN
        present: np.ndarray = ~np.isnan(vals)
        seed_ok = np.asarray(present.all(axis=(1, 2)))
        seed = vals.mean(axis=1)  # (cells, seeds): the mean over tasks
        task_n = np.asarray(present.any(axis=2))
        with np.errstate(invalid="ignore", divide="ignore"):
            task = np.where(task_n, np.nansum(vals, axis=2) / np.maximum(present.sum(axis=2), 1), 0.0)
        masks = {
            v: np.fromiter((v in self._views(int(j), only) for j in col), dtype=bool, count=len(col)) for v in VIEWS
        }
        for v, mask in masks.items():
            ok = mask & seed_ok
            np.add.at(self.sums(v, "seed"), idx[ok], seed[ok])
            np.add.at(self.sums(v, "scored"), idx[ok], 1)
            np.add.at(self.sums(v, "task"), idx[mask], task[mask])
            np.add.at(self.sums(v, "task_n"), idx[mask], task_n[mask])
        by_col: dict[int, list[int]] = defaultdict(list)
        for n, j in enumerate(col.tolist()):
            if masks["pub"][n] or masks["full"][n]:
                by_col[j].append(n)
        for j, members in by_col.items():
            kept, counts = self._counts([rows[n][3] for n in members])
            if not len(kept):
                continue
            at = idx[members][kept]
            totals = tiers.draw_totals(counts, self.test[j])
            self._col_max[j] = max(self._col_max.get(j, 0), int(totals.max(initial=0)))
            if self.sums("pub", "tot").dtype == np.int32 and sum(self._col_max.values()) >= 2**31:
                for v in VIEWS:  # int32 could overflow
                    setattr(self, f"{v}_tot", self.sums(v, "tot").astype(np.int64))
            for v in self._views(j, only):
                self.sums(v, "tot")[at] += totals
                self.sums(v, "hit_n")[at] += 1

    def _counts(self, hits: list[Any]) -> tuple[np.ndarray, np.ndarray]:
        """Return which of one column's cells have usable hits, and their per-row correct counts
        (``(kept, rows)``; the tasks' rows one after another), unpacked together."""
        n_seeds = len(self.seeds)
        ok = [n for n, h in enumerate(hits) if isinstance(h, dict) and set(h) == set(self.tasks)]
        parts = []
        for task in self.tasks:
            heads, bodies = [], []
            for n in ok:
                head, _, body = str(hits[n][task]).partition(":")
                heads.append(head)
                bodies.append(body)
            if len(set(heads)) > 1 or (heads and not heads[0].isdigit()):
                return self._counts_one_by_one(hits, ok)
            rows = int(heads[0]) if heads else 0
            width = (rows + 7) // 8
            try:
                raw = np.frombuffer(b"".join(base64.b64decode(b, validate=True) for b in bodies), dtype=np.uint8)
                bits = np.unpackbits(raw.reshape(len(ok), n_seeds, width), axis=2, count=rows)
            except ValueError:
                return self._counts_one_by_one(hits, ok)
            parts.append(bits.sum(axis=1, dtype=np.int64))
        if not ok:
            return np.zeros(0, dtype=np.int64), np.zeros((0, 0))
        return np.asarray(ok, dtype=np.int64), np.concatenate(parts, axis=1).astype(np.float64)

    def _counts_one_by_one(self, hits: list[Any], ok: list[int]) -> tuple[np.ndarray, np.ndarray]:
        """The slow path of :meth:`_counts`, for cells whose hits differ in shape or are damaged:
        those that unpack and match the first good one's width are kept."""
        kept: list[int] = []
        counts: list[np.ndarray] = []
        for n in ok:
            try:
                row = tiers.correct_counts(hits[n], len(self.seeds), self.tasks)
            except (ValueError, KeyError):
                continue
            if counts and len(row) != len(counts[0]):
                continue
            kept.append(n)
            counts.append(row)
        if not kept:
            return np.zeros(0, dtype=np.int64), np.zeros((0, 0))
        return np.asarray(kept, dtype=np.int64), np.stack(counts)


_STORE: live.Store[BoardData] = live.store(exact=False)


@dataclass(frozen=True)
class Snapshot:
    """One view of a problem's board, in arrays indexed like ``train`` (fresh copies)."""

    problem: str
    """The storage key of the problem."""
    version: str
    """The evaluator version whose cells it shows."""
    train: list[str]
    """Training-set digests, in arrival order."""
    test_sets: list[str]
    """Every test set's digest, in arrival order."""
    tasks: list[str]
    """The task names, in the order of ``task_means``' columns."""
    ranking: list[str]
    """Training-set digests, best first."""
    top_k: list[str]
    difficulty: dict[str, float | None]
    """Each shown test set's difficulty over the shown top-k."""
    bar: float | None
    by_id: dict[int, tuple[str, int]]
    """Dataset id -> (role, index)."""
    train_of: np.ndarray
    """Dataset id -> training-set index (-1: none; ids past its end: none)."""
    tests: list[str]
    """The test sets whose rows, columns and difficulties may be shown."""
    full_suite: list[str]
    public_suite: list[str]
    score: np.ndarray
    worst: np.ndarray
    complete: np.ndarray
    rank: np.ndarray
    top: np.ndarray
    ci: np.ndarray
    """``(train, 2)``: the 95% interval over seeds of the shown score (NaN: none)."""
    task_means: np.ndarray
    """``(train, tasks)``: the shown per-task scores (NaN: none)."""
    tier: np.ndarray
    """Each training set's tier (0: none)."""
    p_next: np.ndarray
    """P(ordered as shown) against the next training set with a tier (NaN: none)."""
    values: dict[tuple[str, str], float]
    """The cells this view may show of the best training sets asked for (none unless asked)."""


def _decoded(texts: list[str | None]) -> list[Any]:
    """Return the values of JSON ``texts`` (None: None), decoded as one array."""
    return list(json.loads("[" + ",".join("null" if t is None else t for t in texts) + "]"))


def _ci(per_seed: np.ndarray) -> np.ndarray:
    """Return the 95% Student-t interval of each row's mean over seeds (NaN rows: none)."""
    out = np.full((len(per_seed), 2), np.nan)
    n = per_seed.shape[1]
    if n < 2 or not len(per_seed):
        return out
    from scipy.stats import t

    ok = ~np.isnan(per_seed).any(axis=1)
    vals = per_seed[ok]
    half = t.ppf(0.975, n - 1) * vals.std(axis=1, ddof=1) / np.sqrt(n)
    m = vals.mean(axis=1)
    out[ok, 0], out[ok, 1] = m - half, m + half
    return out


def _view(held: BoardData, view: Visibility, k: int, problem: str, version: str, values: int | None) -> Snapshot:
    nt, ns = len(held.train), len(held.test)
    a, h = held.a[:nt, :ns], held.h[:nt, :ns]
    pub_cols = np.asarray([j for j in range(ns) if j not in held.hidden], dtype=np.int64)
    public_tests = [held.test[j] for j in pub_cols]
    members = list(held.members)
    member_cols = np.asarray([held.si[d] for d in members if d in held.si], dtype=np.int64)
    if view.uses_hidden:
        tests = np.arange(ns)
        r = ranked(a, h, member_cols, k, held.direction, members=len(members))
        suite, acc = members, "full"
        worst = r.worst
        if not view.shows_hidden_cells:  # S0's cells never leave the server: the worst of the public members
            wcols = np.asarray([j for j in member_cols if j not in held.hidden], dtype=np.int64)
            worst = ranked(a, h, wcols, 0, held.direction).worst
    else:
        tests = pub_cols
        pa, ph = a[:, pub_cols], h[:, pub_cols]
        r = ranked(pa, ph, np.arange(len(pub_cols)), k, held.direction)
        suite, acc = public_tests, "pub"
        worst = r.worst
    rank = np.empty(nt, dtype=np.int64)
    rank[r.order] = np.arange(1, nt + 1)
    top = np.zeros(nt, dtype=bool)
    top[r.top] = True
    scored = held.sums(acc, "scored")[:nt] == len(suite)
    per_seed = np.where(scored[:, None], held.sums(acc, "seed")[:nt] / max(len(suite), 1), np.nan)
    task_n = held.sums(acc, "task_n")[:nt]
    with np.errstate(invalid="ignore", divide="ignore"):
        task_means = np.where(task_n > 0, held.sums(acc, "task")[:nt] / np.maximum(task_n, 1), np.nan)
    sums, n_have = held.sums(acc, "tot")[:nt], held.sums(acc, "hit_n")[:nt]
    tier = np.zeros(nt, dtype=np.int64)
    p_next = np.full(nt, np.nan)
    if len(suite):
        order = r.order[r.complete[r.order]]
        known = order[n_have[order] == len(suite)]
        if len(known):
            found = tiers.from_probs(tiers.p_from_sums(sums[known], held.direction == "max"), len(known))
            tier[known] = found.tier
            p_next[known] = [np.nan if p is None else p for p in found.p_ordered]
    shown = held.test if view.shows_hidden_cells else public_tests
    cells: dict[tuple[str, str], float] = {}
    if values != 0:
        for i in r.order[:values]:
            for t in shown:
                if not np.isnan(v := a[i, held.si[t]]):
                    cells[(held.train[i], t)] = float(v)
    diff = r.difficulty
    return Snapshot(
        problem=problem,
        version=version,
        train=list(held.train),
        test_sets=list(held.test),
        tasks=list(held.tasks),
        ranking=[held.train[i] for i in r.order],
        top_k=[held.train[i] for i in r.top],
        difficulty={held.test[j]: (None if np.isnan(diff[n]) else float(diff[n])) for n, j in enumerate(tests)},
        bar=r.bar,
        by_id=held.by_id.copy(),
        train_of=held.train_of.copy(),
        tests=list(shown),
        full_suite=members,
        public_suite=public_tests,
        score=r.score,
        worst=worst,
        complete=r.complete,
        rank=rank,
        top=top,
        ci=_ci(per_seed) if len(suite) else np.full((nt, 2), np.nan),
        task_means=np.asarray(task_means, dtype=np.float64),
        tier=tier,
        p_next=p_next,
        values=cells,
    )


def snapshot(
    session: Session,
    challenge: str,
    view: Visibility,
    evaluator_version: str | None = None,
    version: int | None = None,
    values: int | None = 0,
) -> Snapshot:
    """Return problem ``challenge`` (its training-set challenge's id, at that challenge's version
    ``version``, the current one when None) as ``view`` may see it, from the held board data
    brought up to date (``values``: also the cells the view may show of its best ``values``
    training sets, of all when None)."""

    def take(held: BoardData, k: int, problem: str, ev: str) -> Snapshot:
        return _view(held, view, k, problem, ev, values)

    return _use(session, challenge, evaluator_version, version, take)


def public_points(
    session: Session, challenge: str, states: list[tuple[list[str], list[str]]]
) -> list[tuple[float | None, float | None]]:
    """Return the bar and the best complete score of each past ratchet state of problem
    ``challenge`` (at its current version), each given as its training sets and the public test
    sets known then, recomputed from the held public cells with those test sets as the suite
    (what a public view of the ratchet history shows)."""

    def take(held: BoardData, k: int, _problem: str, _ev: str) -> list[tuple[float | None, float | None]]:
        out: list[tuple[float | None, float | None]] = []
        for trains, known in states:
            rows = np.asarray([held.ti.get(d, -1) for d in trains], dtype=np.int64)
            found = (held.si.get(d, -1) for d in known)  # the organizer's column is never public
            cols = np.asarray([-1 if j in held.hidden else j for j in found], dtype=np.int64)
            a = np.full((len(rows), len(cols)), np.nan)
            h = np.full_like(a, np.nan)
            here, there = rows >= 0, cols >= 0
            if here.any() and there.any():
                a[np.ix_(here, there)] = held.a[np.ix_(rows[here], cols[there])]
                h[np.ix_(here, there)] = held.h[np.ix_(rows[here], cols[there])]
            r = ranked(a, h, np.arange(len(cols)), k, held.direction)
            best = r.score[r.complete]
            if not len(best):
                out.append((r.bar, None))
            else:
                out.append((r.bar, float(best.max() if held.direction == "max" else best.min())))
        return out

    return _use(session, challenge, None, None, take)


def _use(session: Session, challenge: str, evaluator_version: str | None, version: int | None, fn: Any) -> Any:
    """Return ``fn(held, k, problem, evaluator version)`` on the held board data of problem
    ``challenge`` at its version ``version``, brought up to date."""
    spec = version_of(session, challenge, version).spec
    problem = problem_key(challenge, spec.version)
    ev = effective_version(session, problem, evaluator_version)
    k = options_of(dual_of(challenge)).top_k
    seeds, tasks = [str(s) for s in spec.seeds], [t.name for t in spec.tasks]

    def make() -> BoardData:
        return BoardData(spec.metric.direction, seeds, tasks)

    def take(held: BoardData) -> Any:
        return fn(held, k, problem, ev)

    return _STORE.use(session, problem, ev, make, take, tag=f"{spec.metric.direction}|{seeds}|{tasks}")
