"""Real data, pinned: row counts, data sha256 and baseline scores of every shipped challenge.

These prepare the full data from the installed packages (a few minutes, most of it
embedding the text challenge's 5,000 texts) and run every
baseline on it; they are marked slow and run in CI all the same.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from baselines import for_kind
from dataperf.challenges import get_challenge
from dataperf.data.prepare import prepare
from dataperf.data.prepared import PreparedData
from dataperf.evaluator import evaluate, single_threaded
from dataperf.submission import write_submission

pytestmark = pytest.mark.slow

SPLIT_ROWS = {
    "vision-selection": {"pool": 50000, "test": 5000, "test-hidden": 5000},
    "speech-selection": {"pool": 2000, "test": 500, "test-hidden": 500},
    "vision-cleaning": {"train": 500, "test": 2000},
    "text-selection": {"pool": 3000, "test": 1000, "test-hidden": 1000},
}
DATA_SHA256 = {
    "vision-selection": "ff633a39eb23e4fc76e144920fe094a9d52f5f10484574572144d30399ae3c6d",
    "speech-selection": "13161cca989b63876cc3fe41c1d64d7bc62c573ba0bf7fc42ffc9ddc934fad85",
    "vision-cleaning": "3417cf597fd1e8fd84889e3c5b34155fc69cf0be43868dade7a33fc8026bf4ba",
    "text-selection": "9e80f045c09b243ffdfc3a213cd28b2f5dde1569d4d470a8dda4a090cc539906",
}
SCORES = {
    "vision-selection": {
        "crossval": 0.5443039646420481,
        "balanced": 0.49321488285259335,
        "kcenter": 0.48166844418788973,
        "random": 0.4641934677092531,
    },
    "speech-selection": {
        "kcenter": 0.7200533357791414,
        "crossval": 0.5813902814011873,
        "random": 0.5603802951180927,
        "balanced": 0.5595543716967175,
    },
    "vision-cleaning": {"confident-learning": 0.206, "random": 0.76, "balanced": 0.792},
    "text-selection": {
        "kcenter": 0.7262437920275358,
        "crossval": 0.7016730181846955,
        "balanced": 0.6625097457388806,
        "random": 0.2721061926812123,
    },
}
# The algorithmic baselines must beat random on real data; random and class-balanced random
# are the reference points they are measured against.
MUST_BEAT_RANDOM = {"kcenter", "crossval", "confident-learning"}


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> dict[str, PreparedData]:
    root = tmp_path_factory.mktemp("real")
    return {n: PreparedData(get_challenge(n), prepare(get_challenge(n), root=root / n)) for n in SPLIT_ROWS}


@pytest.mark.parametrize("challenge", sorted(SPLIT_ROWS))
def test_golden_data(challenge: str, prepared: dict[str, PreparedData]) -> None:
    data = prepared[challenge]
    assert {s: len(data.split(s).ids) for s in data.split_names()} == SPLIT_ROWS[challenge]
    assert data.sha256 == DATA_SHA256[challenge]


def test_fashion_noise_is_as_documented(prepared: dict[str, PreparedData]) -> None:
    pool = prepared["vision-selection"].split("pool")
    assert 0.55 < (pool.public_labels == pool.labels).mean() < 0.65  # "about 40% wrong"
    train = prepared["vision-cleaning"].split("train")
    assert (train.public_labels != train.labels).sum() == 100  # exactly 20% of 500


def test_text_noise_is_as_documented(prepared: dict[str, PreparedData]) -> None:
    pool = prepared["text-selection"].split("pool")
    assert 0.55 < (pool.public_labels == pool.labels).mean() < 0.65  # "about 40% wrong"


@pytest.mark.parametrize("challenge", sorted(SCORES))
def test_baseline_scores_are_pinned_and_beat_random(
    challenge: str, prepared: dict[str, PreparedData], tmp_path: Path
) -> None:
    spec = get_challenge(challenge)
    data = prepared[challenge]
    got = {}
    for base in for_kind(spec.kind):
        with single_threaded():
            table = base.build(spec, data, 0)
        path = write_submission(table, tmp_path / f"{base.name}.parquet", spec.id)
        got[base.name] = evaluate(spec, path, data=data).mean
    assert got == pytest.approx(SCORES[challenge], abs=1e-9)
    better = (lambda a, b: a > b) if spec.metric.direction == "max" else (lambda a, b: a < b)
    for name in MUST_BEAT_RANDOM & set(got):
        assert better(got[name], got["random"]), f"{name} does not beat random on {challenge}"
