"""What a hostile participant tried against the server, each now refused cleanly."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from leaderboard.http.api.deps import Settings
from leaderboard.http.limits import Rate
from tests.server.test_api import SAME_SITE, login_form, stored, team, upload, work

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture()
def make_client(db_url: str) -> Any:
    from fastapi.testclient import TestClient

    from leaderboard.http.app import create_app

    def make(**settings: Any) -> TestClient:
        return TestClient(create_app(Settings(db_url=db_url, **settings)))

    return make


def post(c: Any, h: dict[str, str], body: bytes, name: str, challenge: str = "tiny-selection") -> Any:
    return c.post(f"/api/challenges/{challenge}/submissions", params={"filename": name}, content=body, headers=h)


def test_wide_csv_after_a_blank_line_is_one_short_refusal(make_client: Any, db_url: str, home: Path) -> None:
    c = make_client()
    h = team(db_url, "ada")
    base = stored(db_url, home)
    body = b"\n" + b",".join(b"c%d" % i for i in range(20_000)) + b"\n" + b"1\n"
    r = post(c, h, body, "wide.csv")
    assert r.status_code == 422 and len(r.content) < 5_000, r.text[:500]
    assert len(r.json()["violations"]) == 1 and r.json()["violations_left_out"] == 0
    assert stored(db_url, home) == base


@pytest.mark.parametrize(
    ("body", "name"),
    [
        (b"task,id,label\rshirt,1,0\r", "mac.csv"),
        (b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03+I,\xce\xd6\xc9L\xd1\xc9IL", "packed.csv"),
        (b"task,id,label\nshirt,1,\xff\n", "latin.csv"),
    ],
)
def test_malformed_csv_is_a_422_never_a_500(make_client: Any, db_url: str, home: Path, body: bytes, name: str) -> None:
    c = make_client()
    h = team(db_url, "ada")
    base = stored(db_url, home)
    r = post(c, h, body, name)
    assert r.status_code == 422 and r.json()["code"] == "invalid_submission", r.text
    assert name in r.json()["error"] and "upload" + Path(name).suffix not in r.json()["error"]
    assert stored(db_url, home) == base


def test_long_multibyte_and_bidi_names_are_display_names_only(
    make_client: Any, db_url: str, home: Path, files: Any
) -> None:
    c = make_client()
    h = team(db_url, "ada")
    long_name = "é" * 150 + ".csv"  # 300 bytes: too long for a file system as a file name
    r = upload(c, "tiny-selection", files.train[0], h, name=long_name)
    assert r.status_code == 202, r.text
    spoof = "picks\u202egpj.csv"
    r2 = upload(c, "tiny-selection", files.train[1], h, name=spoof)
    assert r2.status_code == 202, r2.text
    work(db_url)
    mine = c.get("/api/submissions", headers=h).json()["submissions"]
    names = {s["filename"] for s in mine}
    assert "é" * 150 + ".csv" in names and "picksgpj.csv" in names
    on_disk = [p.name for p in (home / "submissions").rglob("*") if p.is_file()]
    assert on_disk and all(re.fullmatch(r"[0-9a-f]{64}\.csv", n) for n in on_disk)
    board = c.get("/api/challenges/tiny-selection/leaderboard").text
    csv_text = c.get("/api/challenges/tiny-selection/leaderboard.csv").text
    assert "\u202e" not in board and "\u202e" not in csv_text


def test_other_teams_unscored_submissions_do_not_exist(make_client: Any, db_url: str, files: Any) -> None:
    c = make_client()
    ada, bob = team(db_url, "ada"), team(db_url, "bob")
    queued = upload(c, "tiny-selection", files.train[0], ada).json()["submission"]
    for who in ({}, bob):
        r = c.get(f"/api/submissions/{queued}", headers=who)
        assert r.status_code == 404 and "sha256" not in r.text and "ada" not in r.text
        page = c.get(f"/submissions/{queued}", headers=who)
        assert page.status_code == 404 and files.train[0].name not in page.text
    assert c.get(f"/api/submissions/{queued}", headers=ada).json()["status"] == "queued"
    work(db_url)
    shown = c.get(f"/api/submissions/{queued}").json()
    assert shown["status"] == "done" and shown["team"] == "ada" and "log" not in shown


def test_login_and_logout_refuse_cross_site_posts(make_client: Any, db_url: str) -> None:
    c = make_client()
    token = team(db_url, "ada")["Authorization"].split()[1]
    form = login_form(c)
    evil = {"Origin": "http://evil.example"}
    assert c.post("/login", data={"token": token} | form, headers=evil).status_code == 403
    assert c.post("/login", data={"token": token} | form).status_code == 403  # no Origin at all
    assert c.post("/login", data={"token": token, "csrf": "0" * 64}, headers=SAME_SITE).status_code == 403
    assert "dataperf_session" not in c.cookies
    r = c.post("/login", data={"token": token} | form, headers=SAME_SITE, follow_redirects=False)
    assert r.status_code == 303
    secret = c.cookies["dataperf_session"]
    assert secret != token and token not in r.headers["set-cookie"]
    # the session reads pages but is not an API credential
    assert c.get("/api/quota").status_code == 401
    assert c.get("/api/quota", headers={"Authorization": f"Bearer {secret}"}).status_code == 401
    assert c.post("/logout", headers=evil, data={"csrf": "x"}).status_code == 403
    page = c.get("/").text
    logout_csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    assert logout_csrf and "team <b>ada</b>" in page
    assert c.post("/logout", data={"csrf": logout_csrf.group(1)}, headers=SAME_SITE).status_code == 200
    c.cookies.set("dataperf_session", secret)  # a revoked session is anonymous
    assert "team <b>ada</b>" not in c.get("/").text


def test_session_cookie_is_secure_behind_tls(make_client: Any, db_url: str) -> None:
    from fastapi.testclient import TestClient

    proxied = make_client(trust_proxy=True)
    page = proxied.get("/login", headers={"X-Forwarded-Proto": "https"})
    assert "secure" in page.headers["set-cookie"].lower()
    assert "secure" not in make_client().get("/login").headers["set-cookie"].lower()
    c = TestClient(proxied.app, base_url="https://testserver")
    token = team(db_url, "ada")["Authorization"].split()[1]
    form = login_form(c)
    r = c.post("/login", data={"token": token} | form, headers={"Origin": "https://testserver"}, follow_redirects=False)
    assert r.status_code == 303 and "secure" in r.headers["set-cookie"].lower()


def test_csv_export_neutralises_formulas(make_client: Any, db_url: str, files: Any) -> None:
    c = make_client()
    h = team(db_url, "=HYPERLINK(1)")
    assert upload(c, "tiny-selection", files.train[0], h, name="@SUM(A1).csv").status_code == 202
    work(db_url)
    text = c.get("/api/challenges/tiny-selection/leaderboard.csv").text
    cells = [cell for line in text.splitlines() for cell in line.split(",")]
    assert not any(cell.lstrip('"').startswith(("=", "+", "@", "\t", "\r")) for cell in cells), text
    assert "'=HYPERLINK(1)" in text or "'@SUM(A1).csv" in text


def test_every_response_carries_security_headers(make_client: Any) -> None:
    c = make_client()
    for url in ("/", "/login", "/api/challenges", "/static/style.css", "/nope", "/api/nope"):
        r = c.get(url)
        assert "script-src 'self'" in r.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
        assert r.headers["x-content-type-options"] == "nosniff" and r.headers["x-frame-options"] == "DENY"
        assert r.headers["referrer-policy"]
    page = c.get("/").text + c.get("/login").text
    assert "<script>" not in page and "style=" not in page


def test_wrong_tokens_are_rate_limited(make_client: Any, db_url: str) -> None:
    c = make_client(failed_tokens=Rate(per_minute=1, burst=5))
    h = team(db_url, "ada")
    codes = [c.get("/api/quota", headers={"Authorization": f"Bearer dp_guess{i}"}).status_code for i in range(40)]
    assert codes[:5] == [401] * 5 and set(codes[5:]) == {429}
    r = c.get("/api/quota", headers={"Authorization": "Bearer dp_more"})
    assert int(r.headers["retry-after"]) >= 1 and r.json()["code"] == "rate_limited"
    assert c.get("/api/quota", headers=h).status_code == 429  # even a right token waits now


def test_uploads_are_rate_limited_per_team(make_client: Any, db_url: str, files: Any) -> None:
    c = make_client(team_uploads=Rate(per_minute=1, burst=2))
    h = team(db_url, "ada")
    codes = [upload(c, "tiny-selection", files.invalid, h).status_code for _ in range(4)]
    assert codes == [422, 422, 429, 429]


def test_refused_uploads_have_a_daily_cap_and_stay_free(make_client: Any, db_url: str, files: Any) -> None:
    c = make_client(max_refused_per_day=3)
    h = team(db_url, "ada")
    codes = [upload(c, "tiny-selection", files.invalid, h).status_code for _ in range(5)]
    assert codes == [422, 422, 422, 429, 429]
    r = upload(c, "tiny-selection", files.train[0], h)
    assert r.status_code == 429 and r.json()["code"] == "too_many_refused" and "retry-after" in r.headers
    assert c.get("/api/quota", headers=h).json()["used"] == 0


def test_concurrent_uploads_per_team_are_capped(make_client: Any, db_url: str) -> None:
    app_client = make_client(max_concurrent_uploads=1)
    h = team(db_url, "ada")
    lim = app_client.app.state.dp.limits
    who = app_client.get("/api/me", headers=h).json()["team_id"]
    lim.start_upload(who)  # one upload in progress
    try:
        r = post(app_client, h, b"task,id,label\n", "a.csv")
        assert r.status_code == 429 and r.json()["code"] == "too_many_uploads" and r.headers["retry-after"]
    finally:
        lim.end_upload(who)
    assert post(app_client, h, b"task,id,label\n", "a.csv").status_code == 422


def test_failure_shows_an_error_id_not_a_traceback(
    make_client: Any, db_url: str, files: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from leaderboard.ratchet import steps

    c = make_client(max_attempts=1)
    h = team(db_url, "ada")
    sid = upload(c, "tiny-testset", files.test_hard, h).json()["submission"]

    def broken(*_a: Any, **_k: Any) -> None:
        raise OSError(f"cannot write {files.test_hard.parent}/secret/cells.db")

    monkeypatch.setattr(steps.Ratchet, "add_test_set", broken)
    with caplog.at_level("ERROR", logger="dataperf.jobs"):
        work(db_url)
    st = c.get(f"/api/submissions/{sid}", headers=h).json()
    shown = st["error"] + st["log"]
    assert st["status"] == "failed" and "Traceback" not in shown and str(files.test_hard.parent) not in shown
    eid = re.search(r"error ([0-9a-f]{12})", st["error"])
    assert eid and "OSError" in st["error"] and len(st["error"].splitlines()) <= 2  # the reason, and "not charged"
    assert any(eid.group(1) in r.getMessage() and r.exc_info for r in caplog.records)


def test_view_cache_keeps_no_lock_per_key() -> None:
    from leaderboard.boards.cache import ViewCache

    cache = ViewCache(size=8)
    for n in range(1_000):
        cache.get(("html", n), (1,), lambda n=n: n)
    assert cache.pending() == 0 and len(cache) == 8


def test_many_pages_share_one_cached_view(make_client: Any) -> None:
    c = make_client()
    for n in range(50):
        assert c.get(f"/challenges/tiny-selection?page={n + 2}").status_code == 200
    cache = c.app.state.dp.cache
    assert len(cache) <= 3 and cache.pending() == 0
