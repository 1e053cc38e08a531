"""The done submissions a board holds follow every finish, also those out of id order."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from leaderboard.boards.done import done, forget
from leaderboard.jobs.service import _finish
from leaderboard.ratchet import live
from leaderboard.storage.db import session_factory
from leaderboard.storage.tables import Submission
from tests.server.test_fair_queue import _submit, _team


def _fresh(db_url: str) -> list[int]:
    with session_factory(db_url)() as s:
        q = select(Submission.id).where(Submission.status == "done").order_by(Submission.id)
        return list(s.execute(q).scalars())


def test_finishes_in_any_order_are_all_held(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    forget()
    sessions = session_factory(db_url)
    team = _team(db_url, "a")
    ids = _submit(db_url, team, 4)
    seen = []
    for n, sid in enumerate([ids[2], ids[0], None, ids[3], ids[1]]):
        if sid is None:  # a later submission, done at once
            ids += _submit(db_url, team, 1)
            sid = ids[-1]
        _finish(sessions, sid, status="done", result={}, error=None)
        with sessions() as s:
            held = done(s, "tiny-selection", 1)
        assert [r.id for r in held.rows] == list(held.ids) == _fresh(db_url), n
        seen.append(len(held.rows))
    assert seen == [1, 2, 3, 4, 5]
    # A done submission rewritten behind the server's back (an operator's repair) is noticed by
    # the periodic check of the done set (here at once).
    with sessions.begin() as s:
        s.execute(update(Submission).where(Submission.id == ids[0]).values(status="failed"))
    monkeypatch.setattr(live, "FULL_EVERY", 0.0)
    with sessions() as s:
        assert [r.id for r in done(s, "tiny-selection", 1).rows] == _fresh(db_url)
