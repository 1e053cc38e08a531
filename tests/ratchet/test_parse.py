"""Reading a submission into its canonical table: the runners' ``parse`` operation, the JSON
document a sandbox sends it back as, and the strict reader of that document."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from dataperf.canonical import from_doc, read_doc, to_doc, write_doc
from dataperf.challenges import get_challenge
from dataperf.cli import main
from dataperf.errors import ChangedFileError, SubmissionError
from dataperf.evaluator import validate
from dataperf.hashing import sha256_file
from dataperf.runners.local import LocalRunner
from tests.ratchet.ratchet_helpers import baseline_file

CASES = [("tiny-selection", "training-set", "random"), ("tiny-testset", "test-set", "random")]


@pytest.mark.parametrize("challenge,kind,baseline", CASES)
def test_local_parse_is_the_validated_table(
    tiny_env: Path, tmp_path: Path, challenge: str, kind: str, baseline: str
) -> None:
    path = baseline_file(challenge, kind, baseline, 0, tmp_path, ".csv")
    spec = get_challenge(challenge)

    got = LocalRunner().parse(challenge, path, sha256=sha256_file(path))

    assert (got.challenge, got.version, got.kind, got.runner, got.image_digest) == (
        spec.id,
        spec.version,
        kind,
        "local",
        None,
    )
    assert got.sha256 == sha256_file(path)
    pd.testing.assert_frame_equal(got.table, validate(spec, path).table, check_exact=True)


@pytest.mark.parametrize("challenge,kind,baseline", CASES)
def test_canonical_document_round_trips_exactly(
    tiny_env: Path, tmp_path: Path, challenge: str, kind: str, baseline: str
) -> None:
    spec = get_challenge(challenge)
    sub = validate(spec, baseline_file(challenge, kind, baseline, 0, tmp_path))
    out = tmp_path / "table.json"
    write_doc(out, spec, sub.table, sub.sha256)

    back = from_doc(spec, read_doc(out), runner="docker", image_digest="sha256:" + "0" * 64)

    assert back.sha256 == sub.sha256 and back.runner == "docker"
    pd.testing.assert_frame_equal(back.table, sub.table, check_exact=True)
    assert [str(t) for t in back.table.dtypes] == [str(t) for t in sub.table.dtypes]


def _spoiled(doc: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    def edit(**changes: Any) -> dict[str, Any]:
        return {**doc, **changes}

    cols = doc["columns"]
    return [
        ("keys", edit(extra=1)),
        ("format", edit(format="pickle")),
        ("challenge", edit(challenge="tiny-plain")),
        ("version", edit(version=True)),
        ("sha256", edit(sha256="ab" * 31)),
        ("rows", edit(rows=0)),
        ("expected a list of 2", edit(rows=2)),
        ("in that order", edit(columns=dict(reversed(list(cols.items()))))),
        ("columns", edit(columns={k: v for k, v in list(cols.items())[:-1]})),
        ("is not a valid int", edit(columns={**cols, "id": [*cols["id"][:-1], 1.5]})),
        ("is not a valid int", edit(columns={**cols, "id": [*cols["id"][:-1], True]})),
        ("is not a valid int", edit(columns={**cols, "id": [*cols["id"][:-1], 2**63]})),
        ("is not a valid str", edit(columns={**cols, "task": [*cols["task"][:-1], ""]})),
        ("is not a valid str", edit(columns={**cols, "task": [*cols["task"][:-1], 7]})),
        ("not an object", [doc]),  # type: ignore[list-item]
    ]


def test_from_doc_refuses_anything_but_the_exact_shape(tiny_env: Path, tmp_path: Path) -> None:
    spec = get_challenge("tiny-selection")
    sub = validate(spec, baseline_file("tiny-selection", "training-set", "random", 0, tmp_path))
    doc = to_doc(spec, sub.table, sub.sha256)
    from_doc(spec, doc, runner="local")  # the unspoiled document is accepted
    for words, bad in _spoiled(doc):
        with pytest.raises(ValueError, match=words):
            from_doc(spec, bad, runner="local")


@pytest.mark.parametrize(
    "text,words",
    [
        ('{"a": NaN}', "NaN"),
        ('{"a": Infinity}', "Infinity"),
        ('{"a": 1, "a": 2}', "repeats the key 'a'"),
    ],
)
def test_read_doc_refuses_non_json_numbers_and_repeated_keys(tmp_path: Path, text: str, words: str) -> None:
    path = tmp_path / "table.json"
    path.write_text(text)
    with pytest.raises(ValueError, match=words):
        read_doc(path)


def test_a_changed_file_is_refused_before_it_is_parsed(tiny_env: Path, tmp_path: Path) -> None:
    path = tmp_path / "junk.csv"
    path.write_text("not,a\nsubmission,at all\n")
    with pytest.raises(SubmissionError, match="submission rejected"):
        LocalRunner().parse("tiny-selection", path)
    with pytest.raises(ChangedFileError, match="not the recorded " + "0" * 64) as e:
        LocalRunner().parse("tiny-selection", path, sha256="0" * 64)
    assert e.value.actual == sha256_file(path)
    with pytest.raises(ChangedFileError):
        LocalRunner().evaluate("tiny-selection", path, sha256="0" * 64)


def test_cli_validate_writes_the_canonical_table_or_error_json(
    tiny_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = get_challenge("tiny-testset")
    path = baseline_file(spec.id, "test-set", "random", 0, tmp_path)
    out = tmp_path / "out" / "table.json"
    out.parent.mkdir()
    assert main(["validate", spec.id, str(path), "--json", "--output", str(out), "--sha256", sha256_file(path)]) == 0
    assert json.loads(capsys.readouterr().out)["runner"] == "local"
    pd.testing.assert_frame_equal(
        from_doc(spec, read_doc(out), runner="local").table, validate(spec, path).table, check_exact=True
    )
    # a stored file that changed is the storage's fault, not the input's: exit 1 (with error.json)
    assert main(["validate", spec.id, str(path), "--output", str(out), "--sha256", "f" * 64]) == 1
    err = json.loads((out.parent / "error.json").read_text())
    assert err["type"] == "ChangedFileError" and err["expected_sha256"] == "f" * 64
    assert err["actual_sha256"] == sha256_file(path)
