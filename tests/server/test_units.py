"""Small pieces of the server: confidence intervals, quota days, tokens, migrations, admin."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dataperf.errors import DataPerfError
from leaderboard.jobs import auth, quota
from leaderboard.storage.db import current_revisions, session_factory, upgrade


def test_quota_day_and_reset() -> None:
    now = datetime(2026, 3, 1, 23, 59, tzinfo=UTC)
    assert quota.day_of(now) == "2026-03-01"
    assert quota.reset_time(now).isoformat() == "2026-03-02T00:00:00+00:00"


def test_tokens_are_stored_hashed(db_url: str) -> None:
    from sqlalchemy import select

    from leaderboard.storage.server_tables import ApiToken

    with session_factory(db_url).begin() as s:
        team, token = auth.create_team(s, "ada")
    with session_factory(db_url)() as s:
        stored = s.execute(select(ApiToken.token_sha256)).scalars().all()
        assert stored == [auth.hash_token(token)] and token not in stored
        assert auth.team_for_token(s, token) == auth.Caller(team.id, "ada")
        assert auth.team_for_token(s, token + "x") is None
    with session_factory(db_url).begin() as s:
        assert auth.revoke_tokens(s, team.id) == 1
    with session_factory(db_url)() as s:
        assert auth.team_for_token(s, token) is None


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("", "must be 1 to 100 printable characters"),
        (" ada", "without leading or trailing spaces"),
        ("baseline/x", "reserved for baselines"),
        ("a\nb", "must be 1 to 100 printable characters"),
        ("x" * 101, "must be 1 to 100 printable characters"),
    ],
)
def test_bad_team_names(db_url: str, name: str, words: str) -> None:
    with pytest.raises(DataPerfError, match=words), session_factory(db_url).begin() as s:
        auth.create_team(s, name)


def test_migration_up_down_up(home: object, tmp_path: object) -> None:
    """Every revision downgrades to the one before it, down to the first, and back up to head."""
    from alembic import command
    from alembic.script import ScriptDirectory

    from leaderboard.storage.db import alembic_config

    url = f"sqlite:///{tmp_path}/m.db"
    script = ScriptDirectory.from_config(alembic_config(url))
    chain = [r.revision for r in script.walk_revisions()]  # head first
    assert chain[0] == script.get_current_head() and chain[-1] == "0001_ratchet" and len(chain) >= 11
    upgrade(url)
    assert current_revisions(url) == {chain[0]}
    for below in chain[1:]:
        command.downgrade(alembic_config(url), below)
        assert current_revisions(url) == {below}
    upgrade(url)
    assert current_revisions(url) == {chain[0]}


def test_admin_actions(db_url: str) -> None:
    from leaderboard.boards.visibility import is_published
    from leaderboard.jobs.admin import run_action

    sessions = session_factory(db_url)
    out = run_action(sessions, "create-team", {"name": "ada", "quota": 3})
    assert out["token"].startswith("dp_")
    with pytest.raises(DataPerfError, match="already exists"):
        run_action(sessions, "create-team", {"name": "ada"})
    assert run_action(sessions, "issue-token", {"name": "ada", "revoke": True})["revoked"] == 1
    run_action(sessions, "set-quota", {"name": "ada", "limit": 7})
    with sessions() as s:
        assert quota.state(s, 1).limit == 7
    run_action(sessions, "publish", {"challenge": "tiny-testset"})
    with sessions() as s:
        assert is_published(s, "tiny-selection") and is_published(s, "tiny-testset")
    run_action(sessions, "unpublish", {"challenge": "tiny-testset"})
    with sessions() as s:
        assert not is_published(s, "tiny-selection")
    with pytest.raises(DataPerfError, match="no team"):
        run_action(sessions, "set-quota", {"name": "bob", "limit": 1})
