"""A kind shipped in a package of its own, registered through an entry point, runs end to end.

The throwaway package ``dataperf_toy`` lives in a temporary folder with its ``.dist-info``
(what an install writes): its entry points register a kind (``toy-pick``: pick pool rows,
labelled by their public labels) and a baseline. Nothing in dataperf names it. Every step runs
in a fresh process, as a user would: check the kind with the public kit, validate, evaluate,
submit locally, read the leaderboard JSON, and read the challenge page of a live server.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest
import yaml

from dataperf import testing
from dataperf.challenges import get_challenge

TOY = '''
"""A toy kind: pick pool rows; the fixed model trains on their public labels."""
from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field

from baselines import Baseline
from dataperf import checks
from dataperf.contract import ChallengeKind, ChallengeSpec, Column, KindOptions
from dataperf.metrics import METRICS
from dataperf.models import build_model


class ToyOptions(KindOptions):
    least: int = Field(default=5, ge=1)


class ToySpec(ChallengeSpec):
    kind: Literal["toy-pick"]
    options: ToyOptions = ToyOptions()


class ToyKind(ChallengeKind):
    name = "toy-pick"
    spec_model = ToySpec
    columns = (Column("id", "int", "pool row id"),)
    splits = ("pool", "test")

    def check(self, spec, data, sub):
        found = checks.ids_in_split(sub, data.split("pool"), "pool") + checks.duplicates(sub, ["id"])
        if len(sub.table) < spec.options.least:
            from dataperf.errors import Violation
            found.append(Violation(sub.path.name, None, "id", f"pick at least {spec.options.least} rows"))
        return found

    def score(self, spec, data, sub, counters):
        pool, test = data.split("pool"), data.split("test")
        ids = np.sort(sub.table["id"].to_numpy(dtype=np.int64))
        x, y = pool.rows(ids), pool.public_labels[pool.positions(ids)]
        model, metric = build_model(spec.model.name, dict(spec.model.params)), METRICS.get(spec.metric.name)
        task = spec.tasks[0]
        out = {task.name: {}}
        for seed in spec.seeds:
            pred = model.fit(x, y, seed).predict(np.asarray(test.x))
            counters.fits += 1
            out[task.name][seed] = metric(test.labels, pred, len(spec.classes))
        return out


def _first(spec, data, seed):
    return pd.DataFrame({"id": data.split("pool").ids[: spec.budget]})


FIRST = Baseline("first", ("toy-pick",), _first, "the first budget rows of the pool")
'''

ENTRY_POINTS = """\
[dataperf.kinds]
toy-pick = dataperf_toy:ToyKind

[dataperf.baselines]
toy-pick/first = dataperf_toy:FIRST
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def toy(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Write the toy package and a toy challenge; return the environment that sees them."""
    root = tmp_path_factory.mktemp("toy")
    pkg = root / "site"
    (pkg / "dataperf_toy").mkdir(parents=True)
    (pkg / "dataperf_toy" / "__init__.py").write_text(textwrap.dedent(TOY))
    info = pkg / "dataperf_toy-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: dataperf-toy\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(ENTRY_POINTS)
    base = get_challenge("vision-cleaning").model_dump(mode="json")
    doc = {k: base[k] for k in ("licence", "classes", "model", "seeds")} | {
        "id": "toy-challenge",
        "version": 1,
        "kind": "toy-pick",
        "title": "Toy: pick rows",
        "description": "A kind from a package of its own.",
        "data": base["data"]
        | {
            "splits": {"pool": {"source_split": "train", "size": 300}, "test": {"source_split": "test", "size": 200}},
            "noise": {"split": "pool", "method": "flip", "flip_share": 0.2, "confusable": 0.5},
            "embedding": base["data"]["embedding"] | {"fit_rows": 2000},
        },
        "tasks": [{"name": "all"}],
        "metric": {"name": "accuracy", "direction": "max"},
        "budget": 60,
        "options": {"least": 10},
    }
    specs = root / "challenges"
    specs.mkdir()
    (specs / "toy-challenge.yaml").write_text(yaml.safe_dump(doc))
    repo = Path(__file__).resolve().parents[1]
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(pkg), str(repo)]),
        "DATAPERF_CHALLENGES": str(specs),
        "DATAPERF_BUILTIN_CHALLENGES": "0",
        "DATAPERF_HOME": str(root / "home"),
        "ROOT": str(root),
    }


def _cli(env: dict[str, str], *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "dataperf", *args], env=env, capture_output=True, text=True, timeout=300
    )
    if ok:
        assert proc.returncode == 0, f"dataperf {' '.join(args)}: {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc


def test_the_kit_checks_a_plugin_kind(toy: dict[str, str]) -> None:
    code = (
        "import sys, json; from pathlib import Path; from dataperf import testing;"
        "from dataperf.challenges import get_challenge; from baselines import for_kind;"
        "spec = get_challenge('toy-challenge');"
        "r = testing.check_kind(spec, Path(sys.argv[1]), {b.name: b.build for b in for_kind(spec.kind)});"
        "print(json.dumps([r.kind, r.submissions]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, toy["ROOT"] + "/kit"], env=toy, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1]) == ["toy-pick", len(testing.FORMATS)]


def test_a_plugin_kind_runs_end_to_end(toy: dict[str, str], tmp_path: Path) -> None:
    listing = _cli(toy, "challenges", "--json")
    assert {"id": "toy-challenge", "version": 1, "kind": "toy-pick", "title": "Toy: pick rows"} in json.loads(
        listing.stdout
    )
    _cli(toy, "prepare", "toy-challenge")
    sub = tmp_path / "mine.parquet"
    _cli(toy, "baseline", "toy-challenge", "first", "-o", str(sub))
    _cli(toy, "validate", "toy-challenge", str(sub))
    few = tmp_path / "few.csv"
    few.write_text("id\n1\n")
    refused = _cli(toy, "validate", "toy-challenge", str(few), ok=False)
    assert refused.returncode == 2 and "pick at least 10 rows" in refused.stdout + refused.stderr
    result = json.loads(_cli(toy, "evaluate", "toy-challenge", str(sub), "--hidden", "--json").stdout)
    assert result["kind"] == "toy-pick" and 0.0 < result["mean"] <= 1.0
    _cli(toy, "submit", "--local", "toy-challenge", str(sub), "--team", "ada")
    board = json.loads(_cli(toy, "leaderboard", "toy-challenge", "--json").stdout)
    assert board["kind"] == "toy-pick" and [r["team"] for r in board["rows"]] == ["ada"]
    assert board["rows"][0]["score"] == result["mean"]
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "dataperf", "serve", "--port", str(port)],
        env=toy,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        page = None
        for _ in range(120):
            try:
                page = httpx.get(f"http://127.0.0.1:{port}/challenges/toy-challenge", timeout=5)
                break
            except httpx.TransportError:
                time.sleep(0.5)
        assert page is not None and page.status_code == 200
        assert "Toy: pick rows" in page.text and "toy-pick" in page.text and "ada" in page.text
        assert f"{result['mean']:.4f}" in page.text
    finally:
        server.terminate()
        server.wait(timeout=30)
