"""The docker runner turns every way a container run ends into a Result or a worded error.

These drive :meth:`DockerRunner._collect` with real sandbox outcomes from the evaluator image
(a snippet stands in for ``dataperf evaluate``), so the mapping is tested end to end without
prepared data. Parity of scores with the local runner is tested where the evaluator runs.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from dataperf.contract import Provenance, Result
from dataperf.errors import DataError, RunnerError, SubmissionError
from dataperf.runners.docker import DockerRunner, Limits, SandboxOutcome, _in_name, run_sandboxed

LIMITS = Limits(memory="128m", pids=64, timeout=4)


def result_dict() -> dict[str, Any]:
    """Return a small valid result, as the in-container CLI would write it."""
    prov = Provenance("c", 1, "s", "d", "u", "1.0.0", {"numpy": "2"}, [0, 1], "local", 0.5)
    res = Result("c", 1, "k", "acc", "max", {"t": {0: 0.1, 1: 0.30000000000000004}}, {"t": 0.2}, 0.2, None, {}, prov)
    return res.to_dict()


def run(image: str, client: Any, code: str) -> SandboxOutcome:
    """Run ``code`` as the evaluator would run, under LIMITS."""
    return run_sandboxed(image, ["-c", code], entrypoint=["python"], limits=LIMITS, docker_client=client)


def collect(outcome: SandboxOutcome) -> Result:
    """Collect ``outcome`` as the runner does, removing its out folder after."""
    try:
        return DockerRunner()._collect(outcome, LIMITS, "/in/sub.csv", "/host/sub.csv")
    finally:
        shutil.rmtree(outcome.out_dir, ignore_errors=True)


def test_result_round_trips_with_image_digest(cpu_image: str, docker_client: Any) -> None:
    code = f"import json; json.dump({result_dict()!r}, open('/out/result.json', 'w'))"
    res = collect(run(cpu_image, docker_client, code))
    assert res.scores == {"t": {0: 0.1, 1: 0.30000000000000004}}
    assert res.provenance.runner == "docker"
    assert res.provenance.image_digest == docker_client.images.get(cpu_image).id
    assert str(res.provenance.image_digest).startswith("sha256:")


def test_violations_become_submission_error(cpu_image: str, docker_client: Any) -> None:
    err = {
        "error": "rejected",
        "violations": [{"file": "/in/sub.csv", "row": 3, "field": "id", "message": "dup"}],
    }
    code = f"import json, sys; json.dump({err!r}, open('/out/error.json', 'w')); sys.exit(2)"
    with pytest.raises(SubmissionError) as e:
        collect(run(cpu_image, docker_client, code))
    assert [str(v) for v in e.value.violations] == ["/host/sub.csv, row 3, field 'id': dup"]


@pytest.mark.parametrize(
    "code,status,words",
    [
        (
            "import sys; print('unknown challenge x', file=sys.stderr); sys.exit(2)",
            "invalid",
            "unknown challenge x",
        ),
        ("raise SystemExit(5)", "crashed", "crashed (exit code 5)"),
        ("pass", "crashed", "without writing /out/result.json"),
        ("open('/out/result.json', 'w').write('[1]')", "crashed", "unreadable result.json"),
        ("open('/out/result.json', 'w').write('{}')", "crashed", "malformed result.json"),
        ("import time; time.sleep(60)", "timeout", "wall-time limit of 4 s"),
        ("x = []\nwhile True: x.append(bytearray(8 << 20))", "oom", "out of memory (limit 128m)"),
    ],
)
def test_failures_have_distinct_statuses(
    cpu_image: str, docker_client: Any, code: str, status: str, words: str
) -> None:
    with pytest.raises(RunnerError) as e:
        collect(run(cpu_image, docker_client, code))
    assert e.value.status == status
    assert words in str(e.value)


def test_missing_image_is_a_clear_error(docker_client: Any) -> None:
    with pytest.raises(RunnerError, match=r"not built; run docker/build\.sh"):
        run_sandboxed("dataperf/no-such-image:0", ["true"], docker_client=docker_client)


def test_in_name_is_safe() -> None:
    assert _in_name(Path("/x/selection.csv")) == "selection.csv"
    assert _in_name(Path("/x/..evil name.csv")) == "submission.csv"
    assert _in_name(Path("/x/a b:c.tar.gz")) == "submission.tar.gz"
    assert _in_name(Path("/x/.hidden")) == "submission"
    assert _in_name(Path("/x/...parquet")) == "submission.parquet"  # Path.suffixes is [] here
    assert _in_name(Path("/x/..\\..\\x.CSV")) == "submission.CSV"


def test_missing_data_is_a_data_error_before_any_container(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, docker_client: Any
) -> None:
    monkeypatch.setenv("DATAPERF_HOME", str(tmp_path / "empty-home"))
    sub = tmp_path / "s.csv"
    sub.write_text("task,id,label\nshirt,1,1\n")
    before = docker_client.containers.list(all=True)
    with pytest.raises(DataError, match="dataperf prepare vision-selection"):
        DockerRunner(docker_client=docker_client).evaluate("vision-selection", sub)
    assert docker_client.containers.list(all=True) == before
