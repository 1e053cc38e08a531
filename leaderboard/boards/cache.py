"""A small in-process cache of computed views, keyed by a cheap database stamp.

The stamp changes whenever anything a leaderboard shows can change (a new or finished
submission, a new cell, a suite or ratchet change, a publication), so a cached view is never
stale; computing the stamp costs a few index lookups (the finished submissions are counted by
:class:`~leaderboard.storage.server_tables.DoneCount` as they finish, not on each request).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from leaderboard.storage.server_tables import ChallengeSetting, DoneCount
from leaderboard.storage.tables import Cell, RatchetEvent, Submission, SuiteMember

T = TypeVar("T")


def stamp(session: Session) -> tuple[Any, ...]:
    """Return a value that changes whenever any shown view can change."""
    q = select(
        select(func.max(Submission.id)).scalar_subquery(),
        select(DoneCount.n).where(DoneCount.id == 1).scalar_subquery(),
        select(func.max(Cell.id)).scalar_subquery(),
        select(func.max(RatchetEvent.id)).scalar_subquery(),
        select(func.count()).select_from(SuiteMember).scalar_subquery(),
        select(func.count())
        .select_from(ChallengeSetting)
        .where(ChallengeSetting.published.is_(True))
        .scalar_subquery(),
    )
    return tuple(session.execute(q).one())


class ViewCache:
    """Least-recently-used views, each valid for one stamp; one build per key at a time
    (concurrent requests for a view being built wait for it instead of building it again).

    Memory is bounded: at most ``size`` views are kept, and a key's build lock lives only while
    someone builds or waits for that key (a flood of distinct keys leaves nothing behind)."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._items: OrderedDict[tuple[Any, ...], tuple[tuple[Any, ...], Any]] = OrderedDict()
        self._lock = threading.Lock()
        self._building: dict[tuple[Any, ...], tuple[threading.Lock, int]] = {}

    def pending(self) -> int:
        """Return how many keys have a build lock now (those being built or waited for)."""
        with self._lock:
            return len(self._building)

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def _lookup(self, key: tuple[Any, ...], current: tuple[Any, ...]) -> tuple[bool, Any]:
        with self._lock:
            hit = self._items.get(key)
            if hit is not None and hit[0] == current:
                self._items.move_to_end(key)
                return True, hit[1]
            return False, None

    def get(self, key: tuple[Any, ...], current: tuple[Any, ...], build: Callable[[], T]) -> T:
        """Return the view cached under ``key`` for stamp ``current``, building it if needed."""
        found, value = self._lookup(key, current)
        if found:
            return value  # type: ignore[no-any-return]
        with self._lock:
            gate, users = self._building.get(key, (threading.Lock(), 0))
            self._building[key] = (gate, users + 1)
        try:
            with gate:
                found, value = self._lookup(key, current)
                if found:
                    return value  # type: ignore[no-any-return]
                value = build()
                with self._lock:
                    self._items[key] = (current, value)
                    self._items.move_to_end(key)
                    while len(self._items) > self.size:
                        self._items.popitem(last=False)
            return value  # type: ignore[no-any-return]
        finally:
            with self._lock:
                gate, users = self._building[key]
                if users <= 1:
                    del self._building[key]
                else:
                    self._building[key] = (gate, users - 1)
