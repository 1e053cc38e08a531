"""Fixtures of the container tests: a reachable docker daemon, the built evaluator image, and a
tiny world (spec folder and data home) both runners read.

Every test that uses ``docker_client`` (or ``cpu_image``) is marked ``docker`` (:mod:`tests.services`):
it skips only when the daemon cannot be reached (start it with ``scripts/start-dockerd``), and
fails instead when services are required; a missing image is an error (build it with
``docker/build.sh``), never a skip.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from dataperf.challenges import _load_all, challenges, get_challenge
from dataperf.contract import ChallengeSpec
from dataperf.data.prepare import prepare
from dataperf.kinds.test_set import TestSetOptions
from dataperf.paths import data_dir
from dataperf.runners.docker import DockerRunner, client
from dataperf.testing import write_challenges

if str(Path(__file__).resolve().parents[2]) not in sys.path:  # `tests.conftest` from any cwd
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests import services
from tests.conftest import TINY_ROWS, tiny


@pytest.fixture(scope="session")
def docker_client() -> Iterator[Any]:
    """Return a docker client; skip (or fail, when services are required) when the daemon is
    unreachable."""
    services.need("docker")
    c = client()
    yield c
    c.close()


@pytest.fixture(scope="session")
def cpu_image(docker_client: Any) -> str:
    """Return the tag of the CPU evaluator image; fail (not skip) when it is not built."""
    tag = DockerRunner().image_for(gpu=False)
    try:
        docker_client.images.get(tag)
    except Exception:
        pytest.fail(f"evaluator image {tag} is not built: run docker/build.sh")
    return tag


def tiny_spec(spec: ChallengeSpec) -> ChallengeSpec:
    """Return ``tiny(spec)`` with the recipe scaled to its tiny splits, so that every baseline
    builds a valid file: a machine labeller fitted on as many rows as the full recipe's (its
    share of 240 rows would be one row per class, leaving classes unlabelled), and a per-class
    minimum and reference size that 40-row test sets and 240-row pools can meet."""
    small = tiny(spec)
    noise = small.data.noise
    data = small.data
    if noise is not None and noise.method == "machine":
        full, now = spec.data.splits[noise.split].size, small.data.splits[noise.split].size
        noise = noise.model_copy(update={"fit_share": min(1.0, noise.share * full / now)})
        data = data.model_copy(update={"noise": noise})
    opts = small.options
    if isinstance(opts, TestSetOptions):
        opts = opts.model_copy(
            update={"min_per_class": min(opts.min_per_class, 2), "ref_rows": min(opts.ref_rows, TINY_ROWS // 2)}
        )
    return small.model_copy(update={"data": data, "options": opts})


@dataclass(frozen=True)
class World:
    """A private spec folder and data home holding tiny variants of every registered challenge."""

    specs: Path
    home: Path


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """Write the tiny specs and prepare their data once per session."""
    root = tmp_path_factory.mktemp("tiny-world")
    w = World(specs=root / "challenges", home=root / "home")
    w.specs.mkdir()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DATAPERF_HOME", str(w.home))
        write_challenges((tiny_spec(challenges().get(name)) for name in challenges().names()), w.specs)
        mp.setenv("DATAPERF_CHALLENGES", str(w.specs))
        mp.setenv("DATAPERF_BUILTIN_CHALLENGES", "0")
        _load_all.cache_clear()
        for name in challenges().names():
            spec = get_challenge(name)
            prepare(spec, root=data_dir(spec.id, spec.version))
    _load_all.cache_clear()
    yield w
    _load_all.cache_clear()


@pytest.fixture
def in_world(world: World, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """Point this test's DATAPERF_CHALLENGES and DATAPERF_HOME at the tiny world."""
    monkeypatch.setenv("DATAPERF_CHALLENGES", str(world.specs))
    monkeypatch.setenv("DATAPERF_BUILTIN_CHALLENGES", "0")
    monkeypatch.setenv("DATAPERF_HOME", str(world.home))
    _load_all.cache_clear()
    yield world
    _load_all.cache_clear()
