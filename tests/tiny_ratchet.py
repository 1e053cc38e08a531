"""The ratchet's tiny challenges on real Fashion-MNIST, shared by the ratchet and Dask tests.

``tiny-selection`` / ``tiny-testset`` are vision-selection / vision-testset with small splits,
budgets and two seeds (the exact sizes do not matter to the tests); ``tiny-plain`` is a
training-set challenge with no dual (scored by the runner, not the ratchet). The three share
one prepared folder (same recipe). A conftest that imports the fixtures ``tiny_root`` and
``tiny_env`` gets them for its folder.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def tiny_specs() -> dict[str, dict]:
    """Return the tiny challenge specs, derived from the shipped vision ones."""
    sel = yaml.safe_load((ROOT / "challenges" / "vision-selection.yaml").read_text())
    tst = yaml.safe_load((ROOT / "challenges" / "vision-testset.yaml").read_text())
    splits = {
        "pool": {"source_split": "train", "size": 3000},
        "test": {"source_split": "test", "size": 600},
        "test-hidden": {"source_split": "test", "size": 600},
        "dev": {"source_split": "train", "size": 300},
    }
    sel["data"]["splits"] = splits
    sel["data"]["embedding"]["fit_rows"] = 3000
    sel["data"]["noise"]["fit_share"] = 0.02
    sel["seeds"] = [0, 1]
    sel |= {"id": "tiny-selection", "budget": 150}
    tst |= {"id": "tiny-testset", "budget": 60, "pair": "tiny-selection"}
    tst["options"] = {
        "margin": 0.02,
        "top_k": 2,
        "min_per_class": 3,
        "ref_rows": 200,
    }
    plain = dict(sel) | {"id": "tiny-plain"}
    return {"tiny-selection": sel, "tiny-testset": tst, "tiny-plain": plain}


def write_tiny(root: Path) -> Path:
    """Write the tiny specs under ``root/challenges`` and prepare their data under
    ``root/home``; return ``root``."""
    from dataperf.challenges import parse_spec
    from dataperf.data.prepare import prepare

    specs, home = root / "challenges", root / "home"
    specs.mkdir()
    docs = tiny_specs()
    for name, doc in docs.items():
        (specs / f"{name}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    sel = docs["tiny-selection"]
    folder = prepare(parse_spec(sel, "tiny-selection"), root=home / "data" / "tiny-selection" / f"v{sel['version']}")
    for other in ("tiny-testset", "tiny-plain"):
        (home / "data" / other).mkdir(parents=True)
        (home / "data" / other / f"v{docs[other]['version']}").symlink_to(folder)
    return root


@pytest.fixture(scope="session")
def tiny_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Write the tiny specs and prepare their data once per test folder; return the folder."""
    return write_tiny(tmp_path_factory.mktemp("tiny"))


@pytest.fixture
def tiny_env(tiny_root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point DATAPERF_CHALLENGES and DATAPERF_HOME at the tiny challenges for one test."""
    from leaderboard.ratchet import cells

    monkeypatch.setenv("DATAPERF_CHALLENGES", str(tiny_root / "challenges"))
    monkeypatch.setenv("DATAPERF_BUILTIN_CHALLENGES", "0")
    monkeypatch.setenv("DATAPERF_HOME", str(tiny_root / "home"))
    cells.forget_banks()
    return tiny_root
