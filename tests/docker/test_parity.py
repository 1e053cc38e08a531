"""Parity: every registered challenge's every baseline scores the same in a container as locally.

Tiny variants of the registered specs (``world`` in tests/docker/conftest.py) are written as YAML into a
private spec folder, their data is prepared into a private data home, and both evaluations
read exactly those: the local one in this process, the docker one through the mounts the
runner makes of ``$DATAPERF_CHALLENGES`` and ``$DATAPERF_HOME/data``. Scores are compared with
``==`` (bit for bit), as are the hashes that say both scored the same spec, data and file.
Every kind is covered, test-set included (``dataperf evaluate`` scores it with its
reference model). Where the local evaluator refuses a file, the container must refuse it with
the same violations.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from baselines import for_kind
from dataperf.challenges import challenges, get_challenge
from dataperf.data.prepared import PreparedData
from dataperf.errors import SubmissionError
from dataperf.evaluator import evaluate
from dataperf.paths import data_dir
from dataperf.runners.docker import DockerRunner
from dataperf.submission import write_submission

CASES = [(name, baseline.name) for name in challenges().names() for baseline in for_kind(challenges().get(name).kind)]
"""Every (challenge, baseline) pair of the registry, derived from it."""


@pytest.mark.parametrize("challenge,baseline", CASES, ids=[f"{c}/{b}" for c, b in CASES])
def test_docker_scores_equal_local(
    in_world: Any, cpu_image: str, docker_client: Any, tmp_path: Path, challenge: str, baseline: str
) -> None:
    spec = get_challenge(challenge)
    assert len(spec.seeds) <= 2  # the tiny spec is the one in force (see conftest.world)
    data = PreparedData(spec, data_dir(spec.id, spec.version))
    (b,) = [x for x in for_kind(spec.kind) if x.name == baseline]
    sub = write_submission(b.build(spec, data, 0), tmp_path / f"{baseline}.parquet", spec.id)

    runner = DockerRunner(docker_client=docker_client)
    try:
        local = evaluate(spec, sub, data=data)
    except SubmissionError as refused:
        with pytest.raises(SubmissionError) as boxed_refusal:
            runner.evaluate(challenge, sub)
        assert [str(v) for v in boxed_refusal.value.violations] == [str(v) for v in refused.violations]
        pytest.fail(f"{challenge}/{baseline}: refused alike locally and in docker, but not scored: {refused}")
    boxed = runner.evaluate(challenge, sub)

    assert boxed.scores == local.scores  # floats compared with ==: bit for bit
    assert list(boxed.scores) == list(local.scores) == list(boxed.task_means)  # the spec's task order
    assert boxed.task_means == local.task_means
    assert boxed.mean == local.mean or (math.isnan(boxed.mean) and math.isnan(local.mean))
    assert boxed.ci95 == local.ci95
    assert boxed.counters == local.counters
    bp, lp = boxed.provenance, local.provenance
    assert (bp.spec_sha256, bp.data_sha256, bp.submission_sha256) == (
        lp.spec_sha256,
        lp.data_sha256,
        lp.submission_sha256,
    )
    assert bp.seeds == lp.seeds
    # The image pins the host's exact numeric builds; Python's patch release (Debian's 3.11 in
    # the image) may differ.
    shared = (set(bp.packages) & set(lp.packages)) - {"python"}
    assert {"numpy", "scipy", "scikit-learn"} <= shared
    assert {k: bp.packages[k] for k in shared} == {k: lp.packages[k] for k in shared}
    assert bp.runner == "docker" and lp.runner == "local"
    assert bp.image_digest == docker_client.images.get(cpu_image).id
    assert str(bp.image_digest).startswith("sha256:")


def test_the_gpu_image_scores_torch_models_like_the_host(
    in_world: Any, cpu_image: str, docker_client: Any, tmp_path: Path
) -> None:
    """The GPU image (built by ``make test``; with the CPU build of torch where no CUDA wheel is
    on disk) scores a challenge whose fixed model is a torch model as the host does: on a
    machine without a GPU it runs on the CPU, bit for bit."""
    tag = DockerRunner().image_for(gpu=True)
    try:
        docker_client.images.get(tag)
    except Exception:
        pytest.fail(f"evaluator image {tag} is not built: run docker/build.sh --gpu")
    torch_specs = [get_challenge(n) for n in challenges().names() if get_challenge(n).model.name.startswith("torch")]
    assert torch_specs, "no registered challenge uses a torch fixed model"
    spec = torch_specs[0]
    data = PreparedData(spec, data_dir(spec.id, spec.version))
    base = for_kind(spec.kind)[0]
    sub = write_submission(base.build(spec, data, 0), tmp_path / "sub.parquet", spec.id)
    local = evaluate(spec, sub, data=data)
    for image in (tag, cpu_image):
        boxed = DockerRunner(image, docker_client=docker_client).evaluate(spec.id, sub)
        assert boxed.scores == local.scores and boxed.provenance.image_digest == docker_client.images.get(image).id
        assert boxed.provenance.packages.get("torch") == local.provenance.packages.get("torch")
