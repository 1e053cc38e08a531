"""A world for the command line: tiny variants of chosen challenges, prepared once per module
and linked into a data home that sees them alone (their ratchet pairs included)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from dataperf.challenges import challenges
from dataperf.contract import ChallengeSpec
from dataperf.data.prepare import prepare
from dataperf.testing import tiny_spec, write_challenges

World = Callable[..., dict[str, str]]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    """Return ``make(*ids) -> env``: an environment whose data home holds tiny prepared data of
    each challenge ``ids`` names (and of its pair), and whose specs are those alone. Data is
    prepared once per challenge and module; every call gets a fresh data home."""
    prepared: dict[str, tuple[ChallengeSpec, Path]] = {}
    root = tmp_path_factory.mktemp("cli-world")
    reg = challenges()

    def one(name: str) -> tuple[ChallengeSpec, Path]:
        if name not in prepared:
            spec = tiny_spec(reg.get(name))
            prepared[name] = (spec, prepare(spec, root=root / "prepared" / name))
        return prepared[name]

    def make(*ids: str) -> dict[str, str]:
        names = list(dict.fromkeys([*ids, *(p for i in ids if (p := reg.get(i).pair) is not None)]))
        home = Path(tmp_path_factory.mktemp("cli-home"))
        specs = []
        for name in names:
            spec, folder = one(name)
            target = home / "data" / spec.id / f"v{spec.version}"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(folder.resolve())
            specs.append(spec)
        return {
            **os.environ,
            "DATAPERF_CHALLENGES": str(write_challenges(specs, home / "challenges")),
            "DATAPERF_BUILTIN_CHALLENGES": "0",
            "DATAPERF_HOME": str(home),
        }

    return make
