"""Fuzzing with hypothesis (a bounded budget): no submission file and no API parameter may
produce a 500 or escape as anything but a clear refusal."""

from __future__ import annotations

import json
import string
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dataperf.contract import Column
from dataperf.errors import SubmissionError
from dataperf.submission import read_submission
from leaderboard.http.api.deps import Settings
from leaderboard.http.limits import Rate
from tests.server.test_api import team

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
COLS = (Column("task", "str", "task"), Column("id", "int", "row id"), Column("label", "int", "label"))
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
CELL = st.one_of(
    st.text(max_size=8),
    st.sampled_from(["shirt", "1", "-1", "1e309", "nan", "0x10", '"', '""', "\r", "\n", "\ufeff", "\u202e", ""]),
)
CSV_TEXT = st.lists(st.lists(CELL, max_size=6), max_size=8).map(
    lambda rows: "\n".join(",".join(r) for r in rows)
) | st.text(alphabet=string.printable + "\u202e\ufeff\x00é", max_size=200)
JSON_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=20,
)


def parse(path: Path) -> None:
    try:
        read_submission(path, COLS, "x")
    except SubmissionError as e:
        assert e.violations and all(v.file == path.name for v in e.violations)


@FUZZ
@given(body=st.binary(max_size=300), suffix=st.sampled_from([".csv", ".json", ".parquet"]))
def test_any_bytes_are_parsed_or_refused(tmp_path: Path, body: bytes, suffix: str) -> None:
    path = tmp_path / f"f{suffix}"
    path.write_bytes(body)
    parse(path)


@FUZZ
@given(text=CSV_TEXT, ending=st.sampled_from(["\n", "\r\n", "\r"]))
def test_csv_text_is_parsed_or_refused(tmp_path: Path, text: str, ending: str) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(("task,id,label" + ending + text.replace("\n", ending)).encode("utf-8", "surrogatepass"))
    parse(path)


@FUZZ
@given(doc=JSON_VALUE | st.lists(st.dictionaries(st.sampled_from(["task", "id", "label", "x"]), JSON_VALUE)))
def test_json_documents_are_parsed_or_refused(tmp_path: Path, doc: Any) -> None:
    path = tmp_path / "f.json"
    path.write_text(json.dumps(doc))
    parse(path)


@FUZZ
@given(
    columns=st.dictionaries(
        st.sampled_from(["task", "id", "label", "extra"]),
        st.sampled_from([[1, 2], ["a", None], [1.5, float("nan")], [True, False], [b"x", b"y"]]),
        min_size=1,
    )
)
def test_parquet_tables_are_parsed_or_refused(tmp_path: Path, columns: dict[str, list[Any]]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "f.parquet"
    pq.write_table(pa.table({k: pa.array(v) for k, v in columns.items()}), path)
    parse(path)


TEXT_PARAM = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_api_parameters_never_give_a_500(db_url: str, files: Any) -> None:
    from fastapi.testclient import TestClient

    from leaderboard.http.app import create_app

    wide = Rate(per_minute=60_000, burst=60_000)  # the fuzz explores inputs, not the rate limits
    limits = {"uploads": wide, "team_uploads": wide, "failed_tokens": wide, "max_refused_per_day": 10**6}
    c = TestClient(create_app(Settings(db_url=db_url, **limits)), raise_server_exceptions=False)
    h = team(db_url, "ada")
    assert (
        c.post(
            "/api/challenges/tiny-selection/submissions",
            params={"filename": "a.csv"},
            content=files.train[0].read_bytes(),
            headers=h,
        ).status_code
        == 202
    )

    @FUZZ
    @given(
        challenge=TEXT_PARAM | st.sampled_from(["tiny-selection", "tiny-testset"]),
        sid=INT64,
        number=INT64 | TEXT_PARAM,
        word=TEXT_PARAM | st.sampled_from(["csv", "json"]),
        name=TEXT_PARAM | st.sampled_from(["a.csv", "é" * 150 + ".csv", "\u202e.csv", "../../x.json", ".csv"]),
        body=st.binary(max_size=200),
    )
    def run(challenge: str, sid: int, number: Any, word: str, name: str, body: bytes) -> None:
        from urllib.parse import quote

        cid = quote(challenge, safe="")
        answers = [
            c.get(f"/api/challenges/{cid}"),
            c.get(f"/api/challenges/{cid}/leaderboard", params={"format": word}),
            c.get(f"/api/challenges/{cid}/matrix", params={"limit": str(number)}),
            c.get(f"/api/challenges/{cid}/history"),
            c.get(f"/api/submissions/{sid}"),
            c.get(f"/api/submissions/{sid}/log", headers=h),
            c.get("/api/submissions", params={"limit": str(number)}, headers=h),
            c.get(f"/challenges/{cid}", params={"page": str(number)}),
            c.get(f"/submissions/{sid}"),
            c.post(f"/api/challenges/{cid}/submissions", params={"filename": name}, content=body, headers=h),
            c.post("/login", data={"token": word, "csrf": name}, headers={"Origin": "http://testserver"}),
        ]
        for r in answers:
            assert r.status_code < 500, (r.request.url, r.status_code, r.text[:300])
            assert "Traceback" not in r.text

    run()
