"""The dask runner returns the local runner's Result, bit for bit, and its rejections."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from baselines import get_baseline
from dataperf.challenges import get_challenge
from dataperf.errors import SubmissionError
from dataperf.evaluator import load_data
from dataperf.runners import RUNNERS
from dataperf.runners.dask import DaskRunner, close_clients
from dataperf.runners.local import LocalRunner
from dataperf.submission import write_submission

WHERE = ("runner", "wall_time_s")
"""The provenance fields that say where and how long, the only ones allowed to differ."""


@pytest.fixture
def runner(client) -> Iterator[DaskRunner]:  # type: ignore[no-untyped-def]
    """A dask runner pointed at the shared cluster's scheduler by address."""
    yield DaskRunner(scheduler=client.scheduler.address)
    close_clients()


def _strip(d: dict) -> dict:
    d["provenance"] = {k: v for k, v in d["provenance"].items() if k not in WHERE}
    return d


@pytest.mark.parametrize("challenge", ["tiny-plain", "tiny-selection"])
def test_dask_runner_equals_local_bit_for_bit(challenge: str, tiny_env: Path, tmp_path: Path, runner) -> None:
    spec = get_challenge(challenge)
    table = get_baseline("training-set", "balanced").build(spec, load_data(spec), 3)
    path = write_submission(table, tmp_path / "sel.csv", challenge)

    here, there = LocalRunner().evaluate(challenge, path), runner.evaluate(challenge, path)

    assert there.provenance.runner == "dask" and here.provenance.runner == "local"
    assert there.same_scores(here) and there.scores == here.scores and there.ci95 == here.ci95
    assert _strip(there.to_dict()) == _strip(here.to_dict())


def test_dask_runner_rejects_like_local(tiny_env: Path, tmp_path: Path, runner) -> None:
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"task": ["shirt", "nope"], "id": [-1, -1], "label": [1, 7]}).to_csv(bad, index=False)
    with pytest.raises(SubmissionError) as local:
        LocalRunner().evaluate("tiny-plain", bad)
    with pytest.raises(SubmissionError) as remote:
        runner.evaluate("tiny-plain", bad)
    assert remote.value.violations == local.value.violations and len(local.value.violations) > 1
    with pytest.raises(SubmissionError, match=r"missing\.csv"):
        runner.evaluate("tiny-plain", tmp_path / "missing.csv")


def test_registered() -> None:
    assert RUNNERS.get("dask") is DaskRunner


@pytest.mark.parametrize(
    "challenge,kind,baseline", [("tiny-selection", "training-set", "balanced"), ("tiny-testset", "test-set", "random")]
)
def test_dask_parse_gives_the_local_table(  # type: ignore[no-untyped-def]
    challenge: str, kind: str, baseline: str, tiny_env: Path, tmp_path: Path, runner
) -> None:
    spec = get_challenge(challenge)
    table = get_baseline(kind, baseline).build(spec, load_data(spec), 1)
    path = write_submission(table, tmp_path / "sub.parquet", challenge)

    here, there = LocalRunner().parse(challenge, path), runner.parse(challenge, path)

    assert (here.runner, there.runner) == ("local", "dask") and there.image_digest is None
    assert there.sha256 == here.sha256 and (there.challenge, there.kind) == (challenge, kind)
    pd.testing.assert_frame_equal(there.table, here.table, check_exact=True)
    bad = tmp_path / "bad.csv"
    rows = {"task": ["shirt", "nope"], "id": [-1, -1], "label": [1, 7]}
    pd.DataFrame({c: rows[c] for c in here.table.columns}).to_csv(bad, index=False)
    with pytest.raises(SubmissionError) as local:
        LocalRunner().parse(challenge, bad)
    with pytest.raises(SubmissionError) as remote:
        runner.parse(challenge, bad)
    assert remote.value.violations == local.value.violations and len(local.value.violations) > 1
