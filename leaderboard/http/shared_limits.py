"""Rate limits kept in the database, so that every server process of one database (``uvicorn
--workers N``, several hosts) counts against the same limits instead of N times them.

:class:`StoredBuckets` is :class:`~leaderboard.http.limits.Buckets` with its state in the
``rate_buckets`` table: taking a request is one conditional ``UPDATE`` (refill, then take one
if at least one is there), atomic on SQLite and PostgreSQL alike, so two processes never both
take the last request. :class:`StoredLimiter` also counts a team's uploads in progress in the
``upload_slots`` table. Clocks are the hosts' wall clocks (seconds since the epoch).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, case, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from leaderboard.http.limits import Buckets, Limiter, Rate, too_many
from leaderboard.storage.server_tables import RateBucket, UploadSlot

Sessions = sessionmaker[Session]
SLOT_TTL_S = 3600.0
"""An upload slot older than this is not counted (its process died mid-upload)."""
PRUNE_EVERY = 1000
"""Takes between two removals of rows whose bucket is full again (a row equal to no row)."""


class StoredBuckets(Buckets):
    """Token buckets by key for one :class:`Rate`, in the ``rate_buckets`` table under ``name``."""

    def __init__(self, rate: Rate, sessions: Sessions, name: str, clock: Callable[[], float] = time.time) -> None:
        super().__init__(rate, clock=clock)
        self.sessions, self.name = sessions, name
        self._takes = 0

    def _refilled(self, now: float) -> ColumnElement[float]:
        """The bucket's level at ``now`` as an SQL expression (capped at the burst)."""
        level = RateBucket.level + (now - RateBucket.at) * (self.rate.per_minute / 60.0)
        return case((level > float(self.rate.burst), float(self.rate.burst)), else_=level)

    def _wait(self, level: float) -> float:
        per_s = self.rate.per_minute / 60.0
        if level >= 1.0:
            return 0.0
        return (1.0 - level) / per_s if per_s > 0 else 3600.0

    def take(self, key: str) -> float:
        """Take one request from ``key``'s bucket; return 0 when allowed, else the seconds to
        wait for the next one (nothing taken)."""
        key = key[:128]
        for _ in range(3):
            now = self.clock()
            with self.sessions.begin() as s:
                filled = self._refilled(now)
                res = s.execute(
                    update(RateBucket)
                    .where(RateBucket.limit_name == self.name, RateBucket.key == key, filled >= 1.0)
                    .values(level=filled - 1.0, at=now)
                )
                if res.rowcount:  # type: ignore[attr-defined]
                    self._prune(s, now)
                    return 0.0
                row = s.get(RateBucket, (self.name, key))
                if row is not None:
                    per_s = self.rate.per_minute / 60.0
                    wait = self._wait(min(float(self.rate.burst), row.level + (now - row.at) * per_s))
                    if wait > 0:
                        return wait
                    continue  # the row appeared (another process) after the update: take again
            if self.rate.burst < 1:
                return self._wait(0.0)
            try:
                with self.sessions.begin() as s:
                    s.add(RateBucket(limit_name=self.name, key=key, level=float(self.rate.burst) - 1.0, at=now))
                return 0.0
            except IntegrityError:
                continue  # another process made the row first: take from it
        return self._wait(0.0)

    def wait(self, key: str) -> float:
        """Return the seconds until ``key``'s bucket holds a request again (0: it holds one now);
        nothing is taken."""
        now = self.clock()
        with self.sessions() as s:
            row = s.get(RateBucket, (self.name, key[:128]))
        if row is None:
            return 0.0
        return self._wait(min(float(self.rate.burst), row.level + (now - row.at) * self.rate.per_minute / 60.0))

    def _prune(self, s: Session, now: float) -> None:
        """Now and then, remove this limit's rows whose bucket is full again."""
        self._takes += 1
        if self._takes % PRUNE_EVERY or self.rate.per_minute <= 0:
            return
        full_after = self.rate.burst / (self.rate.per_minute / 60.0)
        s.execute(delete(RateBucket).where(RateBucket.limit_name == self.name, RateBucket.at < now - full_after))


@dataclass
class StoredLimiter(Limiter):
    """Every rate limit of the server, kept in the database (see the module's docstring)."""

    sessions: Sessions | None = None
    clock: Callable[[], float] = time.time

    def __post_init__(self) -> None:
        super().__post_init__()
        self._mine: dict[int, list[int]] = {}

    def start_upload(self, team_id: int) -> int | None:
        """Count an upload of ``team_id`` in progress (return its slot), or raise 429 when the
        team has its cap of uploads in progress already."""
        if self.sessions is None:
            return super().start_upload(team_id)
        now = self.clock()
        with self.sessions.begin() as s:
            slot = UploadSlot(team_id=team_id, started=now)
            s.add(slot)
            s.flush()
            slot_id = slot.id
        with self.sessions.begin() as s:
            ahead = s.execute(
                select(func.count())
                .select_from(UploadSlot)
                .where(UploadSlot.team_id == team_id, UploadSlot.started > now - SLOT_TTL_S, UploadSlot.id < slot_id)
            ).scalar_one()
            if ahead >= self.max_concurrent_uploads:
                s.execute(delete(UploadSlot).where(UploadSlot.id == slot_id))
        if ahead >= self.max_concurrent_uploads:
            raise too_many("uploads at once", f"{self.max_concurrent_uploads} per team", 1, code="too_many_uploads")
        with self._lock:
            self._mine.setdefault(team_id, []).append(int(slot_id))
        return int(slot_id)

    def end_upload(self, team_id: int, slot: int | None = None) -> None:
        """Count the upload of ``team_id`` in ``slot`` as finished (and forget stale slots);
        without ``slot``, the latest one this process started for the team."""
        if self.sessions is None:
            return super().end_upload(team_id)
        with self._lock:
            mine = self._mine.get(team_id, [])
            if slot is None and mine:
                slot = mine[-1]
            if slot in mine:
                mine.remove(slot)
            if not mine:
                self._mine.pop(team_id, None)
        if slot is None:
            return None
        with self.sessions.begin() as s:
            s.execute(
                delete(UploadSlot).where((UploadSlot.id == slot) | (UploadSlot.started < self.clock() - SLOT_TTL_S))
            )
        return None
