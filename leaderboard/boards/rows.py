"""A ratchet training-set board's rows, ranked in whole-array operations and built when read.

A board of 100,000 submissions is one sort of two integer arrays; a page reads the 50 rows it
shows, and only those become dictionaries (:class:`TrainRows`). Reading every row (the CSV
export) builds them all.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any, overload

import numpy as np

from leaderboard.boards.done import Done
from leaderboard.boards.held import Snapshot


def base(row: Any) -> dict[str, Any]:
    """Return the columns every board row starts with, from a done submission's shown columns."""
    return {
        "submission": row.id,
        "team": row.team,
        "label": row.label or row.filename,
        "baseline": bool(row.is_baseline),
        "submitted_at": row.created_at.isoformat() if row.created_at else None,
    }


def _num(v: float) -> float | None:
    return None if math.isnan(v) else float(v)


class TrainRows(Sequence[dict[str, Any]]):
    """The rows of a training-set board, best first: one per done submission with a set."""

    def __init__(self, subs: Done, snap: Snapshot, other: dict[int, str]) -> None:
        """Rank ``subs`` (done submissions, oldest first) by their set's rank in ``snap``
        (``other``: the digests of sets outside the problem, which rank last), ties by id."""
        self._snap = snap
        sets = subs.datasets
        inside = (sets >= 0) & (sets < len(snap.train_of))
        idx = np.full(len(sets), -1, dtype=np.int64)
        idx[inside] = snap.train_of[sets[inside]]
        outside = np.fromiter((int(d) in other for d in sets[idx < 0]), dtype=bool, count=int((idx < 0).sum()))
        keep = idx >= 0
        keep[np.flatnonzero(idx < 0)[outside]] = True
        kept = np.flatnonzero(keep)
        idx, ids = idx[kept], subs.ids[kept]
        known = idx >= 0
        rank = np.full(len(kept), 10**9, dtype=np.int64)
        rank[known] = snap.rank[idx[known]]
        order = np.lexsort((ids, rank))
        self._rows = subs.rows
        self._at = kept[order]
        """Board position -> position in ``subs``."""
        self._idx = idx[order]
        self._ids = ids[order]
        self._by_id = np.argsort(self._ids, kind="stable")
        self._other = other
        # p_next: the set's own against the next set with a tier, on the last of its submissions;
        # 0.5 between submissions of one set (the same rows: no draw tells them apart).
        same_next = np.zeros(len(self._idx), dtype=bool)
        if len(self._idx) > 1:
            same_next[:-1] = (self._idx[:-1] == self._idx[1:]) & (self._idx[:-1] >= 0)
        self._same_next = same_next

    def _find(self, submission: int) -> int | None:
        at = int(np.searchsorted(self._ids[self._by_id], submission))
        if at < len(self._by_id) and self._ids[self._by_id[at]] == submission:
            return int(self._by_id[at])
        return None

    def __len__(self) -> int:
        return len(self._at)

    def _row(self, n: int) -> dict[str, Any]:
        sub, i, snap = self._rows[self._at[n]], int(self._idx[n]), self._snap
        if i < 0:
            out = base(sub) | {"digest": self._other[sub.dataset_id], "score": None, "ci95": None, "worst": None}
            return out | {"complete": False, "top_k": False, "tier": None, "p_next": None, "rank": n + 1}
        lo, hi = snap.ci[i]
        tier = int(snap.tier[i]) or None
        p = 0.5 if self._same_next[n] else _num(snap.p_next[i])
        return base(sub) | {
            "digest": snap.train[i],
            "score": _num(snap.score[i]),
            "ci95": None if math.isnan(lo) else [float(lo), float(hi)],
            "worst": _num(snap.worst[i]),
            "complete": bool(snap.complete[i]),
            "top_k": bool(snap.top[i]),
            "tier": tier,
            "p_next": p if tier is not None else None,
            "rank": n + 1,
        }

    @overload
    def __getitem__(self, at: int) -> dict[str, Any]: ...

    @overload
    def __getitem__(self, at: slice) -> list[dict[str, Any]]: ...

    def __getitem__(self, at: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(at, slice):
            return [self._row(n) for n in range(*at.indices(len(self)))]
        if at < 0:
            at += len(self)
        if not 0 <= at < len(self):
            raise IndexError(at)
        return self._row(at)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return (self._row(n) for n in range(len(self)))

    def find(self, submission: int) -> dict[str, Any] | None:
        """Return the row of ``submission`` (None when it is not on the board)."""
        n = self._find(submission)
        return None if n is None else self._row(n)

    def best_of(self, team: str) -> dict[str, Any] | None:
        """Return the best row of ``team`` that is not a baseline (None: it has none)."""
        for n, at in enumerate(self._at):
            row = self._rows[at]
            if row.team == team and not row.is_baseline:
                return self._row(n)
        return None

    def baselines(self) -> list[dict[str, Any]]:
        """Return the baselines' rows, best first."""
        return [self._row(n) for n, at in enumerate(self._at) if self._rows[at].is_baseline]

    def task_means(self, submissions: list[int]) -> dict[int, dict[str, float]]:
        """Return each listed submission's shown per-task scores (those with one)."""
        out = {}
        for sid in submissions:
            n = self._find(sid)
            if n is None or self._idx[n] < 0:
                continue
            means = self._snap.task_means[self._idx[n]]
            if not np.isnan(means).all():
                out[sid] = {t: float(v) for t, v in zip(self._snap.tasks, means, strict=True) if not np.isnan(v)}
        return out
