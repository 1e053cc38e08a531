"""The boards' cache stamp changes when a submission finishes, without counting the done ones."""

from __future__ import annotations

from sqlalchemy import select, update

from leaderboard.boards.cache import stamp
from leaderboard.jobs.service import _finish
from leaderboard.storage.db import session_factory
from leaderboard.storage.server_tables import DoneCount
from leaderboard.storage.tables import Submission
from tests.server.test_fair_queue import _submit, _team


def test_a_submission_finishing_changes_the_stamp_once(db_url: str) -> None:
    sessions = session_factory(db_url)
    sid, other = _submit(db_url, _team(db_url, "a"), 2)
    with sessions() as s:
        before = stamp(s)
    _finish(sessions, sid, status="done", result={}, error=None)
    with sessions() as s:
        after = stamp(s)
        assert s.execute(select(DoneCount.n)).scalar_one() == 1
    assert after != before
    _finish(sessions, sid, status="done", result={}, error=None)  # already done: nothing changes
    _finish(sessions, other, status="rejected", result={}, error="bad")  # not shown on a board
    with sessions() as s:
        assert stamp(s) == after
        assert s.execute(select(DoneCount.n)).scalar_one() == 1


def test_the_migration_counts_the_submissions_already_done(tmp_path: object) -> None:
    """Revision 0009 starts the count at the number of done submissions."""
    from alembic import command

    from leaderboard.storage.db import alembic_config, upgrade

    url = f"sqlite:///{tmp_path}/c.db"
    command.upgrade(alembic_config(url), "0008_queue_turns")
    ids = _submit(url, _team(url, "a"), 3)
    with session_factory(url).begin() as s:
        s.execute(update(Submission).where(Submission.id.in_(ids[:2])).values(status="done"))
    upgrade(url)
    sessions = session_factory(url)
    with sessions() as s:
        assert s.execute(select(DoneCount.n)).scalar_one() == 2
    _finish(sessions, ids[2], status="done", result={}, error=None)
    with sessions() as s:
        assert s.execute(select(DoneCount.n)).scalar_one() == 3
