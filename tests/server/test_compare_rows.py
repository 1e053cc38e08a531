"""The compare page's row-level part: the kind's diff of the two stored files, shown only when the
viewer's team owns both submissions (or one is a baseline's), never another team's rows."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from leaderboard.boards.compare import row_changes
from leaderboard.storage.db import session_factory
from leaderboard.storage.tables import Team
from tests.server.conftest import Files
from tests.server.test_api import team, upload, work


def _team_id(db_url: str, name: str) -> int:
    with session_factory(db_url)() as s:
        return int(s.scalars(select(Team.id).where(Team.name == name)).one())


def test_rows_are_compared_for_own_pairs_only(db_url: str, files: Files, tmp_path: Path) -> None:
    import pandas as pd
    from fastapi.testclient import TestClient

    from leaderboard.http.api.deps import Settings
    from leaderboard.http.app import create_app

    client = TestClient(create_app(Settings(db_url=db_url)))
    ada, bob = team(db_url, "ada"), team(db_url, "bob")
    first, second = files.train[0], files.train[1]
    a1 = upload(client, "tiny-selection", first, ada).json()["submission"]
    a2 = upload(client, "tiny-selection", second, ada).json()["submission"]
    # bob's file: ada's first with one row's label flipped, so its rows are recognisable
    rows = pd.read_csv(first)
    rows.loc[0, "label"] = 1 - rows.loc[0, "label"]
    secret = tmp_path / "bob.csv"
    rows.to_csv(secret, index=False)
    b1 = upload(client, "tiny-selection", secret, bob).json()["submission"]

    with session_factory(db_url)() as s:
        own = row_changes(s, (a1, a2), _team_id(db_url, "ada"))
        foreign = row_changes(s, (a1, b1), _team_id(db_url, "ada"))
        anonymous = row_changes(s, (a1, a2), None)
    assert "changes" in own and own["changes"]["tables"], own
    assert all(len(r) == len(t["columns"]) for t in own["changes"]["tables"] for r in t["rows"])
    assert "changes" not in foreign and "another team" in foreign["note"]
    assert "changes" not in anonymous and "note" in anonymous

    page = client.get(f"/submissions/{a1}/compare", params={"with": a2}, headers=ada)
    assert page.status_code == 200 and 'class="board diff-rows"' in page.text and 'id="rows-note"' not in page.text
    # bob's submission is not scored, so ada may not even open it: no page shows its rows
    page = client.get(f"/submissions/{a1}/compare", params={"with": b1}, headers=ada)
    assert page.status_code == 404 and 'class="board diff-rows"' not in page.text
    work(db_url)  # scored: now anyone may compare them, and sees why there are no rows, not the rows
    page = client.get(f"/submissions/{a1}/compare", params={"with": a2})
    assert page.status_code == 200 and 'id="rows-note"' in page.text and 'class="board diff-rows"' not in page.text
