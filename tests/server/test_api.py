"""The JSON API: every endpoint, every refusal, and that a refusal stores and charges nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from leaderboard.http.api.deps import Settings
from leaderboard.jobs import auth
from leaderboard.storage.db import session_factory
from leaderboard.storage.server_tables import Job, QuotaCharge
from leaderboard.storage.tables import Submission

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture()
def make_client(db_url: str) -> Any:
    """Return a factory of test clients for the app on the test database."""
    from fastapi.testclient import TestClient

    from leaderboard.http.app import create_app

    def make(**settings: Any) -> TestClient:
        return TestClient(create_app(Settings(db_url=db_url, **settings)))

    return make


def team(db_url: str, name: str, limit: int | None = None) -> dict[str, str]:
    """Create a team and return its auth header."""
    with session_factory(db_url).begin() as s:
        _, token = auth.create_team(s, name, limit)
    return {"Authorization": f"Bearer {token}"}


def upload(client: Any, challenge: str, path: Path, headers: dict[str, str], name: str | None = None) -> Any:
    """POST ``path`` as a submission."""
    return client.post(
        f"/api/challenges/{challenge}/submissions",
        params={"filename": name or path.name},
        content=path.read_bytes(),
        headers=headers,
    )


def stored(db_url: str, home: Path) -> tuple[int, int, int, int]:
    """Return (submissions, jobs, charges, stored files): what a refusal must not change."""
    with session_factory(db_url)() as s:
        subs = s.execute(select(func.count()).select_from(Submission)).scalar_one()
        jobs = s.execute(select(func.count()).select_from(Job)).scalar_one()
        charges = s.execute(select(func.count()).select_from(QuotaCharge)).scalar_one()
    store = home / "submissions"
    nfiles = sum(1 for p in store.rglob("*") if p.is_file()) if store.exists() else 0
    leftovers = home / "uploads"
    nfiles += sum(1 for p in leftovers.rglob("*") if p.is_file()) if leftovers.exists() else 0
    return subs, jobs, charges, nfiles


def work(db_url: str) -> int:
    """Run a worker until the queue is empty."""
    from leaderboard.jobs.worker import run_worker

    return run_worker(db_url, once=True, say=lambda _m: None)


def test_challenges_and_openapi(make_client: Any) -> None:
    c = make_client()
    names = [x["id"] for x in c.get("/api/challenges").json()["challenges"]]
    assert names == ["tiny-selection", "tiny-testset"]
    one = c.get("/api/challenges/tiny-selection").json()
    assert one["published"] is False and one["tasks"] == ["shirt", "sneaker"]
    assert c.get("/api/health").json() == {"status": "ok"}
    schema = c.get("/api/openapi.json").json()
    for path in (
        "/api/challenges/{challenge_id}/submissions",
        "/api/submissions/{submission_id}/log",
        "/api/challenges/{challenge_id}/matrix",
        "/api/quota",
    ):
        assert path in schema["paths"]
    r = c.get("/api/challenges/tiny-selectoin")
    assert r.status_code == 404 and "did you mean" in r.json()["error"].lower()


def test_leaderboard_answers_pages_of_rows(make_client: Any, db_url: str, files: Any) -> None:
    from leaderboard.http.api.challenges import DEFAULT_ROWS, MAX_ROWS

    c = make_client()
    h = team(db_url, "ada")
    for p in files.train[:2]:
        assert upload(c, "tiny-selection", p, h).status_code == 202
    assert work(db_url) == 2
    url = "/api/challenges/tiny-selection/leaderboard"
    whole = c.get(url).json()
    assert (whole["total"], whole["offset"], whole["limit"]) == (2, 0, DEFAULT_ROWS) and len(whole["rows"]) == 2
    second = c.get(url, params={"offset": 1, "limit": 1}).json()
    assert second["rows"] == whole["rows"][1:] and second["rows"][0]["rank"] == 2 and second["total"] == 2
    assert c.get(url, params={"offset": 5}).json()["rows"] == []
    for bad in ({"limit": 0}, {"limit": MAX_ROWS + 1}, {"offset": -1}):
        assert c.get(url, params=bad).status_code == 422, bad
    csv_rows = c.get(url, params={"format": "csv", "limit": 1}).text.splitlines()
    assert len(csv_rows) == 1 + 2  # the CSV export holds every row


def test_submit_work_and_read_everything(make_client: Any, db_url: str, files: Any) -> None:
    c = make_client()
    h = team(db_url, "ada")
    for p in files.train[:2]:
        r = upload(c, "tiny-selection", p, h)
        assert r.status_code == 202, r.text
    first = r.json()
    assert (
        first["queue_position"] == 2 and first["quota"]["used"] == 2 and first["quota"]["reset_at"].endswith("+00:00")
    )
    st = c.get(f"/api/submissions/{first['submission']}", headers=h).json()
    assert st["status"] == "queued" and st["queue_position"] == 2 and "log" in st
    assert work(db_url) == 2
    r = upload(c, "tiny-testset", files.test_hard, h)
    assert r.status_code == 202
    assert work(db_url) == 1
    st = c.get(f"/api/submissions/{first['submission']}", headers=h).json()
    assert st["status"] == "done" and st["queue_position"] is None and st["job_state"] == "done"
    assert "leased by" in st["log"] and "done in" in st["log"]
    prov = st["provenance"]
    assert prov["evaluator_version"] and prov["data_sha256"] and prov["submission_sha256"] == st["sha256"]
    board = c.get("/api/challenges/tiny-selection/leaderboard").json()
    assert [r["submission"] for r in board["rows"]] and board["published"] is False
    csv_text = c.get("/api/challenges/tiny-selection/leaderboard.csv").text
    assert csv_text.splitlines()[0].startswith("rank,team")
    assert c.get("/api/challenges/tiny-selection/leaderboard", params={"format": "csv"}).text == csv_text
    m = c.get("/api/challenges/tiny-selection/matrix").json()
    assert m["ratchet"] and m["hidden_columns"] == 1 and len(m["train"]) == 2
    hist = c.get("/api/challenges/tiny-selection/history").json()
    assert hist["events"][0]["kind"] == "init"
    assert c.get("/api/challenges/tiny-testset/leaderboard").json()["rows"][0]["team"] == "ada"
    mine = c.get("/api/submissions", headers=h).json()
    assert [s["submission"] for s in mine["submissions"]] == [3, 2, 1]
    assert c.get("/api/submissions/1/log", headers=h).json()["status"] == "done"
    assert c.get("/api/submissions/1/file", headers=h).content == files.train[0].read_bytes()
    me = c.get("/api/me", headers=h).json()
    assert me["team"] == "ada" and me["quota"]["used"] == 3
    assert c.get("/api/quota", headers=h).json()["remaining"] == 7


def test_hidden_test_set_never_shown(make_client: Any, db_url: str, files: Any) -> None:
    """S0's per-cell scores never appear; the shown score switches to the whole suite on publish."""
    from leaderboard.jobs.admin import set_published
    from leaderboard.storage.tables import Cell, Dataset

    c = make_client()
    h = team(db_url, "ada")
    for p in files.train:
        upload(c, "tiny-selection", p, h)
    work(db_url)
    upload(c, "tiny-testset", files.test_hard, h)
    work(db_url)
    with session_factory(db_url)() as s:
        s0 = s.execute(select(Dataset.digest).where(Dataset.origin == "organizer")).scalar_one()
        hidden = {round(v, 12) for v in s.execute(select(Cell.mean).where(Cell.test_sha256 == s0)).scalars()}
    texts = []
    for url in (
        "/api/challenges/tiny-selection/leaderboard",
        "/api/challenges/tiny-selection/matrix",
        "/api/challenges/tiny-selection/history",
        "/api/challenges/tiny-testset/leaderboard",
        "/api/submissions/1",
        "/challenges/tiny-selection",
    ):
        texts.append(c.get(url, headers=h).text)
    blob = "\n".join(texts)
    assert s0 not in blob
    for v in hidden:
        assert repr(v)[:10] not in blob
    before = c.get("/api/challenges/tiny-selection/leaderboard").json()
    with session_factory(db_url).begin() as s:
        set_published(s, "tiny-selection", True)
    after = c.get("/api/challenges/tiny-selection/leaderboard").json()
    assert after["published"] and "hidden" in after["scope"] and not before["published"]
    assert all(r["score"] is not None for r in after["rows"])
    assert s0 not in c.get("/api/challenges/tiny-selection/matrix").text


def test_refusals_store_nothing(make_client: Any, db_url: str, home: Path, files: Any) -> None:
    c = make_client(max_upload_bytes=8_000)
    ada, bob = team(db_url, "ada", limit=1), team(db_url, "bob")
    small = files.train[0] if files.train[0].stat().st_size <= 8_000 else None
    path = files.test_hard
    assert path.stat().st_size <= 8_000
    base = stored(db_url, home)
    cases = [
        (upload(c, "tiny-testset", path, {}), 401, "no_token"),
        (upload(c, "tiny-testset", path, {"Authorization": "Bearer dp_nope"}), 401, "bad_token"),
        (upload(c, "tiny-selection", files.invalid, ada), 422, "invalid_submission"),
        (upload(c, "tiny-testset", path, ada, name="x.exe"), 422, "bad_filename"),
        (upload(c, "no-such", path, ada), 404, "not_found"),
        (
            upload(c, "tiny-selection", files.train[1], ada)
            if small is None
            else c.post(
                "/api/challenges/tiny-selection/submissions",
                params={"filename": "big.csv"},
                content=b"x" * 9_000,
                headers=ada,
            ),
            413,
            "too_large",
        ),
    ]
    for r, status, code in cases:
        assert r.status_code == status, r.text
        assert r.json()["code"] == code and r.json()["error"]
    assert stored(db_url, home) == base
    bad = cases[2][0].json()
    assert len(bad["violations"]) >= 2 and all("row" in v for v in bad["violations"])
    assert upload(c, "tiny-testset", path, ada).status_code == 202
    after_one = stored(db_url, home)
    r = upload(c, "tiny-testset", files.test_random, ada)
    assert r.status_code == 429 and r.json()["code"] == "over_quota"
    assert "resets at" in r.json()["error"] and r.json()["quota"]["reset_at"]
    assert stored(db_url, home) == after_one
    r = c.get("/api/submissions/1/log", headers=bob)
    assert r.status_code == 403 and r.json()["code"] == "wrong_team"
    assert c.get("/api/submissions/1/file", headers=bob).status_code == 403
    assert c.get("/api/submissions/1/log").status_code == 401
    assert "log" not in c.get("/api/submissions/1", headers=bob).json()
    assert c.get("/api/submissions/99", headers=ada).status_code == 404
    assert c.get("/api/quota").status_code == 401


def test_oversize_refused_before_body_is_read(make_client: Any, db_url: str, home: Path) -> None:
    """A declared length over the limit is refused without reading (no temporary file)."""
    c = make_client(max_upload_bytes=1_000)
    h = team(db_url, "ada")
    read = []

    def body() -> Any:
        read.append(1)
        yield b"x" * 2_000

    r = c.post(
        "/api/challenges/tiny-testset/submissions",
        params={"filename": "a.csv"},
        content=body(),
        headers=h | {"Content-Length": "2000"},
    )
    assert r.status_code == 413 and "at most 1000 bytes" in r.json()["error"]
    assert not (home / "uploads").exists() or not any((home / "uploads").iterdir())


def test_duplicate_is_not_charged(make_client: Any, db_url: str, files: Any) -> None:
    c = make_client()
    h = team(db_url, "ada")
    one = upload(c, "tiny-testset", files.test_hard, h).json()
    two = upload(c, "tiny-testset", files.test_hard, h, name="again.csv").json()
    assert two["duplicate"] and two["submission"] == one["submission"] and two["quota"]["used"] == 1


def test_platform_failure_is_refunded_and_logged(
    make_client: Any, db_url: str, files: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A job whose evaluation keeps failing fails after max_attempts, keeps its log, costs nothing."""
    from leaderboard.ratchet import steps

    c = make_client(max_attempts=2)
    h = team(db_url, "ada")
    sid = upload(c, "tiny-testset", files.test_hard, h).json()["submission"]

    def broken(*_a: Any, **_k: Any) -> None:
        raise OSError("disk on fire")

    monkeypatch.setattr(steps.Ratchet, "add_test_set", broken)  # a fault of the platform, not the file
    work(db_url)
    st = c.get(f"/api/submissions/{sid}", headers=h).json()
    assert st["status"] == "failed" and st["job_state"] == "failed" and st["attempts"] == 2
    assert "attempt 1/2 failed" in st["log"] and "disk on fire" in st["log"] and "not charged" in st["log"]
    assert c.get("/api/quota", headers=h).json()["used"] == 0


def test_html_is_escaped(make_client: Any, db_url: str, files: Any) -> None:
    c = make_client()
    h = team(db_url, "<script>alert(1)</script>")
    upload(c, "tiny-selection", files.train[0], h, name="<img src=x onerror=alert(2)>.csv")
    work(db_url)
    for url in ("/challenges/tiny-selection", "/submissions/1", "/"):
        page = c.get(url).text
        assert "<script>alert(1)</script>" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in c.get("/challenges/tiny-selection").text
    assert "&lt;img src=x onerror=alert(2)&gt;.csv" in c.get("/submissions/1").text


def login_form(c: Any) -> dict[str, str]:
    """Open the login page (which sets the pre-login cookie) and return its form's CSRF field."""
    import re

    page = c.get("/login").text
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    assert found, page
    return {"csrf": found.group(1)}


SAME_SITE = {"Origin": "http://testserver"}


def test_pages_and_login_cookie(make_client: Any, db_url: str, files: Any) -> None:
    c = make_client()
    h = team(db_url, "ada")
    token = h["Authorization"].split()[1]
    upload(c, "tiny-selection", files.train[0], h)
    assert "tiny-selection" in c.get("/").text
    page = c.get("/challenges/tiny-selection").text
    assert 'id="heatmap"' in page and "/static/plotly.min.js" in page and "http" not in page.split("<main>")[0]
    js = c.get("/static/plotly.min.js")
    assert js.status_code == 200 and "plotly" in js.text[:2000].lower() and len(js.content) > 1_000_000
    assert c.get("/static/style.css").status_code == 200
    assert "log in" in c.get("/submissions/1").text.lower()
    form = login_form(c)
    assert c.post("/login", data={"token": "dp_wrong"} | form, headers=SAME_SITE).status_code == 401
    r = c.post("/login", data={"token": token} | form, headers=SAME_SITE, follow_redirects=False)
    assert r.status_code == 303 and "httponly" in r.headers["set-cookie"].lower()
    assert token not in r.headers["set-cookie"] and "samesite=strict" in r.headers["set-cookie"].lower()
    assert "position 1 in the queue" in c.get("/submissions/1").text
    assert 'id="log"' in c.get("/submissions/1").text
    assert c.get("/nope").status_code == 404
