"""The HTTP API's contract: the served schema is valid OpenAPI, equal to the committed snapshot,
declares every answer, and the server answers as declared (ids, headers, bodies, uploads).

Refresh the snapshot after a deliberate change of the contract (and bump ``API_VERSION`` in
``leaderboard/http/openapi.py`` when a client could notice it)::

    DATAPERF_UPDATE_SNAPSHOT=1 .venv/bin/python -m pytest tests/server/test_contract.py -k snapshot
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from leaderboard.http.api.deps import Settings
from leaderboard.http.api.models.common import Error
from leaderboard.http.openapi import API_VERSION
from tests.databases import migrated
from tests.server.test_api import stored, team, upload

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

SNAPSHOT = Path(__file__).with_name("openapi.snapshot.json")
UPDATE = "DATAPERF_UPDATE_SNAPSHOT"


@pytest.fixture()
def db(home: Path) -> str:
    """Return a migrated SQLite database in the test's home."""
    return migrated("sqlite", home / "server.db", pg_suffix="_contract")


@pytest.fixture()
def client(db: str) -> Any:
    """Return a test client of the app on ``db``."""
    from fastapi.testclient import TestClient

    from leaderboard.http.app import create_app

    # many requests from one test client: the rate limits scaled out of the way (they are
    # tested in tests/server/test_hardening.py)
    return TestClient(create_app(Settings(db_url=db).with_rates_scaled(1000)))


def operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """Return (method, path, operation) for every operation of ``schema``."""
    return [(m, p, op) for p, item in schema["paths"].items() for m, op in item.items()]


def test_schema_is_the_committed_snapshot(client: Any) -> None:
    """Any change of the contract is deliberate: it shows as a change of the snapshot."""
    served = client.get("/api/openapi.json").json()
    text = json.dumps(served, indent=1, sort_keys=True) + "\n"
    if os.environ.get(UPDATE):
        SNAPSHOT.write_text(text)
    assert served["info"]["version"] == API_VERSION
    assert SNAPSHOT.exists(), f"no snapshot: run with {UPDATE}=1 to write {SNAPSHOT.name}"
    assert json.loads(SNAPSHOT.read_text()) == served, (
        f"the served schema differs from {SNAPSHOT.name}: if the change is meant, bump API_VERSION when "
        f"clients could notice it and rerun with {UPDATE}=1"
    )


def test_schema_is_valid_and_declares_every_answer(client: Any) -> None:
    from openapi_spec_validator import validate

    from dataperf.kinds import KINDS
    from leaderboard.storage.tables import STATUSES

    schema = client.get("/api/openapi.json").json()
    validate(schema)
    assert schema["openapi"].startswith("3.1") and "x-dataperf-enum" not in json.dumps(schema)
    ops = operations(schema)
    assert len(ops) >= 14 and len({op["operationId"] for _, _, op in ops}) == len(ops)  # one id per operation
    named = schema["components"]["schemas"]
    assert named["ChallengeId"]["enum"] == ["tiny-selection", "tiny-testset"]
    assert named["ChallengeKind"]["enum"] == list(KINDS.names())
    assert named["SubmissionStatus"]["enum"] == list(STATUSES)
    assert named["Direction"]["enum"] == ["max", "min"]
    assert named["Submission"]["properties"]["status"]["$ref"] == "#/components/schemas/SubmissionStatus"
    assert named["Board"]["properties"]["kind"]["$ref"] == "#/components/schemas/ChallengeKind"
    assert schema["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schema["components"]["securitySchemes"]["bearer"]["description"],
    }
    error_ref = {"$ref": "#/components/schemas/Error"}
    for method, path, op in ops:
        for status, answer in op["responses"].items():
            assert "default" != status
            if status.startswith("4"):
                assert answer["content"]["application/json"]["schema"] == error_ref, (method, path, status)
            elif status.startswith("2") and "application/json" in answer.get("content", {}):
                ok = answer["content"]["application/json"]["schema"]
                assert "$ref" in ok, (method, path)
                assert named[ok["$ref"].rsplit("/", 1)[1]].get("additionalProperties") is not True, (method, path)
    by_id = {op["operationId"]: op for _, _, op in ops}
    assert by_id["submit"]["security"] == [{"bearer": []}]
    assert by_id["get_submission"]["security"] == [{"bearer": []}, {}]
    assert "security" not in by_id["get_leaderboard"]
    assert set(by_id["submit"]["requestBody"]["content"]) == {"application/octet-stream", "multipart/form-data"}
    assert by_id["submit"]["requestBody"]["required"] is True
    name = next(p for p in by_id["submit"]["parameters"] if p["name"] == "filename")
    assert name["required"] and name["schema"]["pattern"] and name["schema"]["maxLength"] == 200
    assert set(by_id["submit"]["responses"]) == {"202", "401", "404", "413", "422", "429", "503", "507"}
    assert by_id["submit"]["responses"]["429"]["headers"]["Retry-After"]["required"] is True
    assert by_id["submit"]["responses"]["503"]["headers"]["Retry-After"]["required"] is True
    assert set(by_id["get_leaderboard_csv"]["responses"]["200"]["content"]) == {"text/csv"}
    assert by_id["get_submission_file"]["responses"]["200"]["content"]["application/octet-stream"]["schema"] == {
        "type": "string",
        "format": "binary",
    }
    assert set(by_id["get_submission_log"]["responses"]) == {
        "200",
        "401",
        "403",
        "404",
        "429",
    }  # 429: token checks are rate-limited


def test_answers_match_the_declaration(client: Any, db: str, files: Any) -> None:
    """Ids out of range are 404 (API and page), 405 names the allowed methods, over quota says
    when to retry, bad parameters are 422, and every refusal is the declared error model."""
    h = team(db, "ada", limit=1)
    refusals = []
    for url in (
        "/api/submissions/9223372036854775808",
        "/api/submissions/99999999999999999999999/log",
        "/api/submissions/0",
        "/api/submissions/-3/file",
        "/api/submissions/abc",
        "/api/submissions/9223372036854775807",
    ):
        r = client.get(url, headers=h)
        assert r.status_code == 404 and r.json()["code"] == "not_found", (url, r.text)
        refusals.append(r)
    page = client.get("/submissions/9223372036854775808")
    assert page.status_code == 404 and "<html" in page.text.lower()
    r = client.delete("/api/challenges")
    assert r.status_code == 405 and r.headers["allow"] == "GET" and r.json()["code"] == "method_not_allowed"
    refusals.append(r)
    r = client.put("/api/challenges/tiny-selection/submissions", headers=h)
    assert r.status_code == 405 and r.headers["allow"] == "POST"
    for url in (
        "/api/challenges/tiny-selection/matrix?limit=0",
        "/api/challenges/tiny-selection/matrix?limit=501",
        "/api/challenges/tiny-selection/leaderboard?format=xml",
        "/api/submissions?limit=x",
    ):
        r = client.get(url, headers=h)
        assert r.status_code == 422 and r.json()["code"] == "bad_request", (url, r.text)
        refusals.append(r)
    assert upload(client, "tiny-testset", files.test_hard, h).status_code == 202
    r = upload(client, "tiny-testset", files.test_random, h)
    assert r.status_code == 429 and r.json()["code"] == "over_quota"
    wait = int(r.headers["retry-after"])
    assert 0 < wait <= 86_400
    refusals.append(r)
    for name in ("", "dir/a.csv", "a.exe", ".csv"):
        r = client.post("/api/challenges/tiny-testset/submissions", params={"filename": name}, content=b"x", headers=h)
        assert r.status_code == 422 and r.json()["code"] == "bad_filename", name
        refusals.append(r)
    for r in refusals:
        Error.model_validate(r.json())


def test_multipart_upload_is_streamed_under_the_limit(db: str, home: Path, files: Any) -> None:
    from fastapi.testclient import TestClient

    from leaderboard.http.app import create_app

    client = TestClient(create_app(Settings(db_url=db, max_upload_bytes=8_000)))
    h = team(db, "ada")
    path = files.test_hard
    assert path.stat().st_size <= 8_000
    base = stored(db, home)
    url = "/api/challenges/tiny-testset/submissions"
    cases = [
        (client.post(url, params={"filename": "a.csv"}, files={"other": ("a.csv", b"x")}, headers=h), 422, "bad_form"),
        (
            client.post(url, params={"filename": "a.csv"}, files={"file": ("a.csv", b"x" * 9_000)}, headers=h),
            413,
            "too_large",
        ),
        (
            client.post(
                url,
                params={"filename": "a.csv"},
                content=b"--b\r\nContent-Disposition: form-data; name=file\r\n\r\nabc",
                headers=h | {"Content-Type": "multipart/form-data; boundary=b"},
            ),
            422,
            "bad_form",
        ),
        (
            client.post(url, params={"filename": "a.csv"}, files={"file": ("a.csv", b"")}, headers=h),
            422,
            "empty_upload",
        ),
    ]
    for r, status, code in cases:
        assert r.status_code == status and r.json()["code"] == code, r.text
    assert stored(db, home) == base
    form = client.post(
        url,
        params={"filename": path.name},
        files={"note": ("n.txt", b"ignored"), "file": ("whatever.bin", path.read_bytes())},
        headers=h,
    )
    assert form.status_code == 202, form.text
    raw = upload(client, "tiny-testset", path, h)
    assert raw.json()["duplicate"] and raw.json()["submission"] == form.json()["submission"]
    sid = form.json()["submission"]
    assert client.get(f"/api/submissions/{sid}/file", headers=h).content == path.read_bytes()
    assert client.get(f"/api/submissions/{sid}", headers=h).json()["filename"] == path.name
