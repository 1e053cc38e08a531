"""The embedded SQLite database under more writes than it can take: a request whose write waits
out the busy timeout is answered 503 ``database_busy`` with Retry-After (never 500), stores and
charges nothing, and goes through when sent again."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from leaderboard.storage.db import session_factory
from leaderboard.storage.server_tables import QuotaCharge
from leaderboard.storage.tables import Submission
from tests.databases import migrated
from tests.server.test_api import team, upload

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_an_upload_that_finds_sqlite_locked_is_a_503_and_stores_nothing(
    home: Path, files: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fastapi.testclient import TestClient

    from leaderboard.http.api.deps import Settings
    from leaderboard.http.app import BUSY_RETRY_AFTER_S, create_app
    from leaderboard.storage import base

    monkeypatch.setattr(base, "BUSY_TIMEOUT_S", 0.2)
    db_url = migrated("sqlite", home / "server.db")
    headers = team(db_url, "ada")
    client = TestClient(create_app(Settings(db_url=db_url)))
    holder = sqlite3.connect(home / "server.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process's long write
    try:
        r = upload(client, "tiny-selection", files.train[0], headers)
        assert r.status_code == 503, r.text
        assert r.json()["code"] == "database_busy" and "send it again" in r.json()["error"]
        assert r.headers["Retry-After"] == str(BUSY_RETRY_AFTER_S)
        page = client.get("/challenges/tiny-selection")  # a page that writes nothing still reads
        assert page.status_code == 200
        form = client.post(  # the browser's form: its token check writes, so it waits too
            "/challenges/tiny-selection/submit",
            headers=headers | {"Origin": "http://testserver"},
            files={"file": ("a.csv", files.train[0].read_bytes())},
        )
        assert form.status_code == 503 and form.headers["Retry-After"] == str(BUSY_RETRY_AFTER_S)
        assert "text/html" in form.headers["content-type"] and "send it again" in form.text
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    sessions = session_factory(db_url)

    def stored() -> tuple[int, int]:
        with sessions() as s:
            subs = s.execute(select(func.count()).select_from(Submission)).scalar_one()
            return int(subs), int(s.execute(select(func.count()).select_from(QuotaCharge)).scalar_one())

    assert stored() == (0, 0)
    again = upload(client, "tiny-selection", files.train[0], headers)
    assert again.status_code == 202, again.text
    assert stored() == (1, 1)


def test_the_client_waits_out_a_busy_database_and_sends_again(
    home: Path, files: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fastapi.testclient import TestClient

    from dataperf.client import Client, Login, ServerError
    from leaderboard.http.api.deps import Settings
    from leaderboard.http.app import create_app
    from leaderboard.storage import base

    monkeypatch.setattr(base, "BUSY_TIMEOUT_S", 0.2)
    db_url = migrated("sqlite", home / "server.db")
    token = team(db_url, "ada")["Authorization"].removeprefix("Bearer ")
    client = Client(Login("http://testserver", token))
    client.http = TestClient(create_app(Settings(db_url=db_url)), headers={"Authorization": f"Bearer {token}"})
    holder = sqlite3.connect(home / "server.db", isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(ServerError) as refused:
            client.submit("tiny-selection", files.train[0], busy_retries=0)
        assert refused.value.status == 503 and refused.value.retry_after == 2.0
        assert refused.value.exit_code == 1  # the platform's failure, not the participant's
        release = threading.Timer(1.0, lambda: holder.execute("ROLLBACK"))
        release.start()
        answer = client.submit("tiny-selection", files.train[0])  # waits 2 s, then goes through
        release.join()
    finally:
        holder.close()
    assert answer["status"] == "queued" and not answer["duplicate"]
