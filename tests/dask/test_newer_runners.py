"""The newer challenges (text-selection, text-acquisition, speech-continual) score bit for bit
the same on the local, docker and Dask runners, for every baseline of their kinds.

Tiny variants of the three registered specs (:func:`tests.docker.conftest.tiny_spec`) are
written to a private spec folder and prepared into a private data home once; the local runner
scores in this process, the docker runner in the evaluator image (the folders mounted), the
Dask runner on a LocalCluster worker process (the spec and the data folder sent with the task).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from baselines import for_kind
from dataperf.challenges import _load_all, challenges, get_challenge
from dataperf.data.prepare import prepare
from dataperf.data.prepared import PreparedData
from dataperf.paths import data_dir
from dataperf.runners.dask import DaskRunner, close_clients
from dataperf.runners.docker import DockerRunner
from dataperf.runners.local import LocalRunner
from dataperf.submission import write_submission
from dataperf.testing import write_challenges
from tests.docker.conftest import cpu_image, docker_client, tiny_spec

pytestmark = [pytest.mark.slow, pytest.mark.docker, pytest.mark.dask]
NEWER = ("text-selection", "text-acquisition", "speech-continual")
WHERE = ("runner", "wall_time_s", "image_digest")
"""The provenance fields that say where and how long, the only ones allowed to differ."""
__all__ = ["cpu_image", "docker_client"]  # the docker fixtures this module uses


@pytest.fixture(scope="module")
def newer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Write the three tiny specs and prepare their data once; return the folder."""
    root = tmp_path_factory.mktemp("newer")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DATAPERF_HOME", str(root / "home"))
        write_challenges((tiny_spec(challenges().get(n)) for n in NEWER), root / "challenges")
        mp.setenv("DATAPERF_CHALLENGES", str(root / "challenges"))
        mp.setenv("DATAPERF_BUILTIN_CHALLENGES", "0")
        _load_all.cache_clear()
        for n in NEWER:
            spec = get_challenge(n)
            prepare(spec, root=data_dir(spec.id, spec.version))
    _load_all.cache_clear()
    yield root
    _load_all.cache_clear()


@pytest.fixture
def in_newer(newer: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point this test's challenge folder and data home at the tiny newer challenges."""
    monkeypatch.setenv("DATAPERF_CHALLENGES", str(newer / "challenges"))
    monkeypatch.setenv("DATAPERF_BUILTIN_CHALLENGES", "0")
    monkeypatch.setenv("DATAPERF_HOME", str(newer / "home"))
    _load_all.cache_clear()
    yield newer
    _load_all.cache_clear()


def _strip(d: dict[str, Any]) -> dict[str, Any]:
    d = dict(d)
    d["provenance"] = {k: v for k, v in d["provenance"].items() if k not in WHERE}
    d.pop("extra", None)  # the container's own start-to-exit time, among others
    return d


@pytest.mark.parametrize("challenge", NEWER)
def test_local_docker_and_dask_agree_bit_for_bit(
    challenge: str, in_newer: Path, cpu_image: str, docker_client: Any, client: Any, tmp_path: Path
) -> None:
    spec = get_challenge(challenge)
    data = PreparedData(spec, data_dir(spec.id, spec.version))
    boxed_runner = DockerRunner(docker_client=docker_client)
    remote_runner = DaskRunner(scheduler=client.scheduler.address)
    try:
        baselines = for_kind(spec.kind)
        assert baselines
        for b in baselines:
            sub = write_submission(b.build(spec, data, 0), tmp_path / f"{b.name}.parquet", spec.id)
            here = LocalRunner().evaluate(challenge, sub)
            boxed = boxed_runner.evaluate(challenge, sub)
            there = remote_runner.evaluate(challenge, sub)
            assert (here.provenance.runner, boxed.provenance.runner, there.provenance.runner) == (
                "local",
                "docker",
                "dask",
            )
            for other in (boxed, there):
                assert other.scores == here.scores, b.name  # floats compared with ==: bit for bit
                assert other.task_means == here.task_means and other.ci95 == here.ci95
                assert other.mean == here.mean or (math.isnan(other.mean) and math.isnan(here.mean))
                assert other.counters == here.counters
            assert _strip(there.to_dict()) == _strip(here.to_dict())
            bp, lp = boxed.provenance, here.provenance
            assert (bp.spec_sha256, bp.data_sha256, bp.submission_sha256, bp.seeds) == (
                lp.spec_sha256,
                lp.data_sha256,
                lp.submission_sha256,
                lp.seeds,
            )
    finally:
        close_clients()
