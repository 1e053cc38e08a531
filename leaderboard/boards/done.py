"""The done submissions of a challenge version, held by this process and caught up on each look.

Reading every done submission of a board (100,000 at a popular challenge's deadline) costs more
than a page may take. :func:`done` keeps them per (database, challenge, version) and each look
reads only those that may have finished since the last: every submission not finished then had
an id at least as high as the lowest unfinished id seen then, so the look reads the done ones
from that id on. A fingerprint of the done set (count and sum of ids) is checked on every
look; a submission that left the done set (or anything else the catch-up could miss) makes it
read them all again.
"""

from __future__ import annotations

import threading
import time
from array import array
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from leaderboard.ratchet import live
from leaderboard.storage.server_tables import DoneCount
from leaderboard.storage.tables import Submission, Team

_UNFINISHED = ("received", "queued", "running")


@dataclass(frozen=True)
class Done:
    """Done submissions, oldest first, and their ids and set ids as arrays (-1: no set)."""

    rows: list[Any]
    ids: np.ndarray
    datasets: np.ndarray


@dataclass
class _Done:
    rows: dict[int, Any] = field(default_factory=dict)
    low: int = 0
    """Every submission unfinished at the last look has an id at least this."""
    total: int = 0
    """The sum of the held ids (the fingerprint's second half)."""
    listed: Done | None = None
    marks: tuple[Any, ...] = ()
    """The count of finished submissions and the highest submission id at the last look."""
    checked_at: float = 0.0
    """When the done set's fingerprint was last compared."""
    order: list[Any] = field(default_factory=list)
    """The held rows by id (appended while new ids are higher than every held one)."""
    ids: array[int] = field(default_factory=lambda: array("q"))
    sets: array[int] = field(default_factory=lambda: array("q"))

    def rebuild(self) -> None:
        self.order = [self.rows[i] for i in sorted(self.rows)]
        self.ids = array("q", (r.id for r in self.order))
        self.sets = array("q", (r.dataset_id or -1 for r in self.order))

    def append(self, row: Any) -> None:
        if self.ids and row.id < self.ids[-1]:
            self.rows[row.id] = row
            self.rebuild()
            return
        self.rows[row.id] = row
        self.order.append(row)
        self.ids.append(row.id)
        self.sets.append(row.dataset_id or -1)


_HELD: dict[tuple[str, str, int], _Done] = {}
_LOCK = threading.Lock()


def forget() -> None:
    """Drop every held list (the next look reads everything again)."""
    with _LOCK:
        _HELD.clear()


def shown_query(challenge: str, version: int, *extra: Any) -> Any:
    """Return the query of the done submissions of ``challenge``'s version ``version``: the
    columns a board shows (``extra``: more)."""
    return (
        select(
            Submission.id,
            Submission.label,
            Submission.filename,
            Submission.created_at,
            Submission.dataset_id,
            *extra,
            Team.name.label("team"),
            Team.is_baseline,
        )
        .join(Team, Team.id == Submission.team_id)
        .where(
            Submission.challenge == challenge,
            Submission.challenge_version == version,
            Submission.status == "done",
        )
    )


def _mine(challenge: str, version: int) -> Any:
    return (Submission.challenge == challenge, Submission.challenge_version == version)


def done(session: Session, challenge: str, version: int) -> Done:
    """Return the done submissions of ``challenge``'s version ``version`` (the columns a ratchet
    board shows: no stored result, which a rescore may rewrite), oldest first; the list must not
    be changed."""
    key = (str(session.get_bind().engine.url), challenge, version)
    live.also_forget(forget)
    mine = _mine(challenge, version)
    with _LOCK:
        held = _HELD.setdefault(key, _Done())
        marks = tuple(
            session.execute(
                select(
                    select(DoneCount.n).where(DoneCount.id == 1).scalar_subquery(),
                    select(func.max(Submission.id)).scalar_subquery(),
                )
            ).one()
        )
        check = time.monotonic() - held.checked_at >= live.FULL_EVERY or held.listed is None
        if marks == held.marks and not check:  # nothing finished and nothing new since the last look
            return held.listed  # type: ignore[return-value]
        low = session.execute(select(func.min(Submission.id)).where(*mine, Submission.status.in_(_UNFINISHED)))
        new_low = low.scalar()
        q = shown_query(challenge, version)
        for row in session.execute(q.where(Submission.id >= held.low)).all():
            if row.id not in held.rows:
                held.append(row)
                held.total += row.id
                held.listed = None
        if check:
            n, total = session.execute(
                select(func.count(), func.sum(Submission.id)).where(*mine, Submission.status == "done")
            ).one()
            if int(n) != len(held.rows) or int(total or 0) != held.total:
                held.rows = {row.id: row for row in session.execute(q).all()}
                held.total = sum(held.rows)
                held.rebuild()
                held.listed = None
            held.checked_at = time.monotonic()
        held.marks = marks
        held.low = int(new_low) if new_low is not None else int(marks[1] or 0) + 1
        if held.listed is None:  # copies: later looks append to what is held
            ids = np.frombuffer(held.ids, dtype=np.int64).copy() if held.ids else np.zeros(0, dtype=np.int64)
            sets = np.frombuffer(held.sets, dtype=np.int64).copy() if held.sets else np.zeros(0, dtype=np.int64)
            held.listed = Done(list(held.order), ids, sets)
        return held.listed
