"""Hostile submission files: refused with a clear SubmissionError, alike by the local validator
and through the docker runner, and nothing outside the container changes.

Each file is a few KB to a few tens of MB on disk but would expand to gigabytes (a Parquet
file of millions of rows or of one long string repeated on every row, thousands of columns,
a CSV header of millions of columns, millions of JSON objects) or nests past the parser's
limits. Names with ``../`` and odd characters are mounted under a safe name and scored. After
each run the tiny world's spec folder and data home, a sentinel folder and the submission's
own folder are exactly as before (names, sizes, mtimes), and no container is left behind.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from baselines import get_baseline
from dataperf.challenges import get_challenge
from dataperf.errors import RegistryError, SubmissionError
from dataperf.evaluator import evaluate, load_data
from dataperf.runners.docker import DockerRunner
from dataperf.submission import MAX_COLUMNS, MAX_ROWS, write_submission

CHALLENGE = "vision-selection"
MARK = {b"dataperf.challenge": CHALLENGE.encode()}


def rows_bomb(path: Path) -> None:
    """1.5x MAX_ROWS rows of one repeated row: a few KB of Parquet."""
    n = MAX_ROWS * 3 // 2
    table = pa.table({"task": pa.array(["shirt"] * n), "id": pa.array([1] * n), "label": pa.array([1] * n)})
    pq.write_table(table.replace_schema_metadata(MARK), path, compression="zstd")


def string_bomb(path: Path) -> None:
    """1.9M rows whose task is one 1,000-character string, dictionary-encoded: ~200 KB of
    Parquet whose metadata sizes count only the encoded bytes, expanding to ~1.9 GB."""
    n = 1_900_000
    task = pa.DictionaryArray.from_arrays(pa.array([0] * n, type=pa.int32()), pa.array(["x" * 1000]))
    table = pa.table({"task": task, "id": pa.array([1] * n), "label": pa.array([1] * n)})
    pq.write_table(table.replace_schema_metadata(MARK), path, compression="zstd")


def columns_bomb(path: Path) -> None:
    """Far more columns than any schema has."""
    table = pa.table({f"c{i}": pa.array([0] * 10) for i in range(MAX_COLUMNS * 20)})
    pq.write_table(table.replace_schema_metadata(MARK), path)


def nested_bomb(path: Path) -> None:
    """A list column: each row a list of a million zeros (RLE-encoded to almost nothing)."""
    values = pa.array([0] * 1_000_000)
    lists = pa.ListArray.from_arrays(pa.array([0, 1_000_000]), values)
    table = pa.table({"task": pa.array(["shirt"]), "id": lists, "label": pa.array([1])})
    pq.write_table(table.replace_schema_metadata(MARK), path, compression="zstd")


def csv_rows(path: Path) -> None:
    """1.5x MAX_ROWS CSV rows."""
    with open(path, "w") as fh:
        fh.write("task,id,label\n")
        fh.write("shirt,1,1\n" * (MAX_ROWS * 3 // 2))


def csv_header(path: Path) -> None:
    """A header of two million columns (a few MB of commas)."""
    path.write_text(",".join(f"c{i}" for i in range(2_000_000)) + "\n" + "," * 2_000_000 + "\n")


def json_objects(path: Path) -> None:
    """Three million empty JSON objects (6 MB of text, gigabytes of dicts)."""
    path.write_text("[" + ",".join(["{}"] * (MAX_ROWS * 3 // 2)) + "]")


def json_deep(path: Path) -> None:
    """Arrays nested 200,000 deep: past the JSON parser's recursion limit."""
    path.write_text("[" * 200_000 + "]" * 200_000)


BOMBS: list[tuple[str, Callable[[Path], None], str]] = [
    ("rows.parquet", rows_bomb, f"rows; at most {MAX_ROWS} are accepted"),
    ("strings.parquet", string_bomb, "unpacks to more than"),
    ("columns.parquet", columns_bomb, f"columns; at most {MAX_COLUMNS} are accepted"),
    ("nested.parquet", nested_bomb, "has a nested column"),
    ("rows.csv", csv_rows, f"has more than {MAX_ROWS} rows"),
    ("header.csv", csv_header, "header row longer than"),
    ("objects.json", json_objects, f"holds more than {MAX_ROWS} rows"),
    ("deep.json", json_deep, "nested too deeply"),
]


def snapshot(*roots: Path) -> dict[str, tuple[int, int, int]]:
    """Return every path under ``roots`` with its mode, size and mtime (ns)."""
    out = {}
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            for name in [*dirnames, *filenames, "."]:
                p = Path(dirpath) / name
                st = p.lstat()
                out[str(p)] = (st.st_mode, st.st_size, st.st_mtime_ns)
    return out


class Watch:
    """Snapshots of the tiny world, a sentinel folder and any extra folders, to compare."""

    def __init__(self, world: Any, sentinel: Path, client: Any) -> None:
        self.world, self.sentinel, self.client = world, sentinel, client
        self.roots: tuple[Path, ...] = ()
        self.before: dict[str, tuple[int, int, int]] = {}

    def start(self, *extra: Path) -> Watch:
        """Take the snapshot (of the world, the sentinel and ``extra``) later checks compare to."""
        self.roots = (self.world.specs, self.world.home, self.sentinel, *extra)
        self.before = snapshot(*self.roots)
        return self

    def check(self) -> None:
        """Assert nothing under the snapshot's roots changed and no sandbox container is left."""
        assert snapshot(*self.roots) == self.before
        assert (self.sentinel / "keep.txt").read_text() == "untouched"
        assert self.client.containers.list(all=True, filters={"label": "dataperf.sandbox=1"}) == []


@pytest.fixture
def watch(in_world: Any, tmp_path: Path, docker_client: Any) -> Watch:
    """Return a Watch over the tiny world and a fresh sentinel folder (``tmp_path/subs`` is made
    for the submissions)."""
    sentinel = tmp_path / "sentinel"
    sentinel.mkdir()
    (sentinel / "keep.txt").write_text("untouched")
    (tmp_path / "subs").mkdir()
    load_data(get_challenge(CHALLENGE))  # the stamp cache is up to date, as the runner leaves it
    return Watch(in_world, sentinel, docker_client)


@pytest.mark.parametrize("name,make,words", BOMBS, ids=[b[0] for b in BOMBS])
def test_bomb_is_refused_locally_and_in_docker(
    watch: Watch, cpu_image: str, docker_client: Any, tmp_path: Path, name: str, make: Any, words: str
) -> None:
    path = tmp_path / "subs" / name
    make(path)
    assert path.stat().st_size < 32 << 20
    spec = get_challenge(CHALLENGE)
    with pytest.raises(SubmissionError) as local:
        evaluate(spec, path)
    assert words in str(local.value)

    w = watch.start(path.parent)
    with pytest.raises(SubmissionError) as boxed:
        DockerRunner(docker_client=docker_client).evaluate(CHALLENGE, path)
    assert [str(v) for v in boxed.value.violations] == [str(v) for v in local.value.violations]
    w.check()


@pytest.mark.parametrize(
    "name",
    ["..evil.parquet", "...parquet", "a b;$(touch x)`id`.parquet", "-rf.parquet", "..\\..\\x.parquet"],
)
def test_odd_names_are_mounted_safely_and_scored(
    watch: Watch, cpu_image: str, docker_client: Any, tmp_path: Path, name: str
) -> None:
    spec = get_challenge(CHALLENGE)
    data = load_data(spec)
    deep = tmp_path / "subs" / "a" / "b"
    deep.mkdir(parents=True)
    path = write_submission(get_baseline(spec.kind, "random").build(spec, data, 0), tmp_path / "subs" / name, spec.id)
    via_dots = deep / ".." / ".." / name  # a path with ../ components in it
    local = evaluate(spec, path)
    w = watch.start(tmp_path / "subs")
    boxed = DockerRunner(docker_client=docker_client).evaluate(CHALLENGE, via_dots)
    assert boxed.scores == local.scores
    w.check()
    assert not (tmp_path / "subs" / "x").exists() and not Path("x").exists()


def test_challenge_id_with_dots_is_refused_before_any_container(
    watch: Watch, docker_client: Any, tmp_path: Path
) -> None:
    path = tmp_path / "subs" / "s.csv"
    path.write_text("task,id,label\nshirt,1,1\n")
    w = watch.start(path.parent)
    for bad in ("../vision-selection", "../../etc/passwd", "/etc/passwd", "vision-selection/../x"):
        with pytest.raises(RegistryError, match="unknown challenge"):
            DockerRunner(docker_client=docker_client).evaluate(bad, path)
    w.check()


def test_file_marked_for_a_dotted_challenge_is_refused(
    watch: Watch, cpu_image: str, docker_client: Any, tmp_path: Path
) -> None:
    path = tmp_path / "subs" / "s.parquet"
    table = pa.table({"task": ["shirt"], "id": [1], "label": [1]})
    pq.write_table(table.replace_schema_metadata({b"dataperf.challenge": b"../../etc/passwd"}), path)
    w = watch.start(path.parent)
    with pytest.raises(SubmissionError, match=r"this file is for challenge '\.\./\.\./etc/passwd'"):
        DockerRunner(docker_client=docker_client).evaluate(CHALLENGE, path)
    w.check()
