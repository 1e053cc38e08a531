"""The reading front door: every limit is checked on what the parser really produces, and
every malformed file is a clear refusal (never a parser's own exception)."""

from __future__ import annotations

import gzip
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dataperf.contract import Column
from dataperf.errors import MAX_REPORTED, SubmissionError
from dataperf.readers import Limits, read_frame
from dataperf.submission import MAX_COLUMNS, read_submission

COLS = (Column("task", "str", "task"), Column("id", "int", "row id"), Column("label", "int", "label"))


def refusal(path: Path, limits: Limits | None = None) -> SubmissionError:
    with pytest.raises(SubmissionError) as e:
        if limits is None:
            read_submission(path, COLS, "x")
        else:
            read_frame(path, limits)
    return e.value


def test_csv_width_is_the_parsed_width_after_blank_lines(tmp_path: Path) -> None:
    """A blank first line used to hide a 300,000-column header from the width check."""
    path = tmp_path / "wide.csv"
    path.write_bytes(b"\n\r\n" + b",".join(b"c%d" % i for i in range(5_000)) + b"\n" + b"1," * 4_999 + b"1\n")
    e = refusal(path)
    assert len(e.violations) == 1 and "5000 columns; at most 64" in str(e)


def test_csv_header_past_the_limit_is_refused_without_parsing(tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    path.write_bytes(b"\n" + b",".join(b"a" for _ in range(300_000)) + b"\n1\n")
    e = refusal(path)
    assert len(e.violations) == 1 and "header row longer than" in str(e)


def test_csv_rows_wider_than_the_header_are_listed_and_capped(tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    path.write_bytes(b"task,id,label\n" + (b"," * 300 + b"\n") * 3_000)
    e = refusal(path)
    assert len(e.violations) == 101 and "a row has 301 fields, the header has 3" in str(e)
    assert "more malformed rows follow (reading stopped after 100)" in e.violations[-1].message


def test_cr_only_line_endings_are_read(tmp_path: Path) -> None:
    path = tmp_path / "mac.csv"
    path.write_bytes(b"task,id,label\rshirt,1,0\r\rshirt,2,1\r")
    table = read_submission(path, COLS, "x").table
    assert table["id"].tolist() == [1, 2] and table["label"].tolist() == [0, 1]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (gzip.compress(b"task,id,label\nshirt,1,0\n"), "gzip-compressed"),
        (b"PK\x03\x04rest", "ZIP archive"),
        (b"task,id,label\nshirt,1,\xff\n", "not UTF-8"),
        (b"ta\xffsk,id,label\nshirt,1,0\n", "not UTF-8"),
        (b"task,task,label\nshirt,1,0\n", "names this column twice"),
        (b"task,id,label\nshirt,1\n", "a row has 2 fields"),
        (b"\n\n\n", "is empty"),
    ],
)
def test_malformed_csv_is_a_clear_refusal(tmp_path: Path, content: bytes, expected: str) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(content)
    e = refusal(path)
    assert expected in str(e) and "f.csv" in str(e)


def test_violations_are_capped_and_the_rest_counted(tmp_path: Path) -> None:
    path = tmp_path / "many.csv"
    path.write_text("task,id,label\n" + "shirt,x,y\n" * 3_000)
    e = refusal(path)
    assert len(e.violations) == MAX_REPORTED and e.left_out == 6_000 - MAX_REPORTED
    assert "6000 violations" in str(e)


def test_json_keys_are_capped_while_decoding(tmp_path: Path) -> None:
    path = tmp_path / "wide.json"
    path.write_text("[{" + ",".join(f'"k{i}": 1' for i in range(MAX_COLUMNS + 1)) + "}]")
    assert f"{MAX_COLUMNS + 1} keys; at most {MAX_COLUMNS}" in str(refusal(path))


JSON_DOCS = [
    '[{"task": "shirt", "id": 1, "label": 0}, {"id": 2.5, "x": [1, {"a": 1e400}]}, {"task": "shirt", "label": true}]',
    '{"rows": [{"id": 12345678901234567890, "task": null}, {"task": "a", "id": -0.0}], "challenge": "c"}',
    '\ufeff[{"b": "x", "a": 1e5}, {"a": "", "c": {"k": "v"}}]',
    "[]",
]


@pytest.mark.parametrize("text", JSON_DOCS)
def test_json_stream_reads_what_the_json_module_reads(tmp_path: Path, text: str) -> None:
    """Column by column, as the rows stream in: the same values (exact integers, numbers with a
    point as floats, a missing key as None), the same columns in the same order."""
    import json

    path = tmp_path / "doc.json"
    path.write_text(text, encoding="utf-8")
    frame, challenge = read_frame(path)
    doc = json.loads(text.removeprefix("\ufeff"))
    rows = doc["rows"] if isinstance(doc, dict) else doc
    keys = sorted({k for r in rows for k in r})
    assert list(frame.columns) == keys
    for k in keys:
        want = [r.get(k) for r in rows]
        got = frame[k].tolist()
        assert [(type(v), repr(v)) for v in got] == [(type(v), repr(v)) for v in want], k
    assert challenge == (doc.get("challenge") if isinstance(doc, dict) else None)


def test_json_rows_share_their_repeated_strings(tmp_path: Path) -> None:
    path = tmp_path / "many.json"
    path.write_text("[" + ",".join(f'{{"task": "shirt", "id": {i}, "label": "0"}}' for i in range(50_000)) + "]")
    frame, _ = read_frame(path)
    assert len(frame) == 50_000 and frame["task"].map(id).nunique() == 1 and frame["label"].map(id).nunique() == 1
    assert frame["id"].tolist() == list(range(50_000))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[" * 5_000 + "]" * 5_000, "is nested too deeply"),
        ('[{"task": "a", "id": NaN}]', "is not valid JSON"),
        ('[{"task": "a"}] [', "is not valid JSON"),
        ('{"rows": {"task": "a"}}', "must hold a list of row objects"),
        ('{"challenge": "c"}', "got keys ['challenge']"),
        ('[{"task": "a"}, ' + ", ".join(f'{{"k{i}": 1}}' for i in range(MAX_COLUMNS + 1)) + "]", "distinct keys"),
        ('[{"task": {' + ", ".join(f'"k{i}": 1' for i in range(MAX_COLUMNS + 1)) + "}}]", "keys; at most"),
    ],
)
def test_json_stream_refusals(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text)
    e = refusal(path)
    assert len(e.violations) == 1 and expected in str(e) and e.violations[0].file == "bad.json"


def test_json_non_object_rows_are_listed_up_to_the_cap(tmp_path: Path) -> None:
    path = tmp_path / "rows.json"
    path.write_text("[" + ", ".join(['{"task": "a", "id": 1, "label": 0}', "1", "[2]", '"x"'] * 60) + "]")
    e = refusal(path, Limits(max_bad_rows=100))
    assert [v.row for v in e.violations] == [i for i in range(1, 241) if i % 4 != 1][:100]
    assert all(v.message == "each row must be a JSON object" for v in e.violations)


def test_parquet_is_measured_decoded_chunk_by_chunk(tmp_path: Path) -> None:
    """One long string repeated on every row: a few KB on disk, dictionary-encoded, far more
    decoded; the reader stops at the limit, counting what it really decoded."""
    path = tmp_path / "bomb.parquet"
    n = 20_000
    table = pa.table({"task": pa.array(["x" * 1_000] * n), "id": pa.array(range(n)), "label": pa.array([0] * n)})
    pq.write_table(table, path, row_group_size=5_000)
    assert path.stat().st_size < 200_000
    e = refusal(path, Limits(max_bytes=5_000_000))
    assert "unpacks to more than 5000000 bytes" in str(e)
    frame, _ = read_frame(path, Limits(max_bytes=50_000_000))
    assert len(frame) == n


def test_rows_with_a_bad_cell_past_the_listing_cap_are_dropped_too(tmp_path: Path) -> None:
    """Only the first bad cells of a column are listed, but no row with a bad cell is kept:
    it would reach the kind's checks as a row of zeros (id 0, label 0)."""
    from dataperf.submission import _BAD_CELLS, read_leniently

    path = tmp_path / "bad.csv"
    path.write_text("task,id,label\n" + "shirt,x,1\n" * (_BAD_CELLS + 50) + "shirt,7,1\n")
    sub, problems = read_leniently(path, COLS, "x")
    assert len(problems) == _BAD_CELLS and all(v.field == "id" for v in problems)
    assert sub.table["id"].tolist() == [7] and sub.rows.tolist() == [_BAD_CELLS + 51]
