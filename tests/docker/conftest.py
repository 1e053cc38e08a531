"""Fixtures of the container tests: a reachable docker daemon and the built evaluator image.

Every test here is marked ``docker``. They skip only when the daemon cannot be reached (start
it with ``scripts/start-dockerd``); a missing image is an error (build it with
``docker/build.sh``), never a skip.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from dataperf.errors import RunnerError
from dataperf.runners.docker import DockerRunner, client


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test in this folder ``docker``."""
    for item in items:
        if "tests/docker/" in item.nodeid.replace("\\", "/"):
            item.add_marker(pytest.mark.docker)


@pytest.fixture(scope="session")
def docker_client() -> Iterator[Any]:
    """Return a docker client; skip when the daemon is unreachable."""
    try:
        c = client()
    except RunnerError as e:
        pytest.skip(f"docker daemon unreachable: {e}")
    yield c
    c.close()


@pytest.fixture(scope="session")
def cpu_image(docker_client: Any) -> str:
    """Return the tag of the CPU evaluator image; fail (not skip) when it is not built."""
    tag = DockerRunner().image_for(gpu=False)
    try:
        docker_client.images.get(tag)
    except Exception:  # noqa: BLE001 - any lookup failure means the same thing here
        pytest.fail(f"evaluator image {tag} is not built: run docker/build.sh")
    return tag
