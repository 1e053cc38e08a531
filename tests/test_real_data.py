"""Real data, pinned: row counts, data sha256 and baseline scores of every shipped challenge.

These prepare the full data from the installed packages (about half a minute) and run every
baseline on it; they are marked slow and run in CI all the same.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from baselines import for_kind, get_baseline
from dataperf.challenges import get_challenge
from dataperf.data.prepare import prepare
from dataperf.data.prepared import PreparedData
from dataperf.evaluator import evaluate, single_threaded
from dataperf.submission import write_submission

pytestmark = pytest.mark.slow

SPLIT_ROWS = {
    "vision-selection": {"pool": 50000, "test": 5000, "test-hidden": 5000},
    "speech-selection": {"pool": 2000, "test": 500, "test-hidden": 500},
    "speech-testset": {"pool": 2000, "test": 500, "test-hidden": 500},
    "vision-cleaning": {"train": 500, "test": 2000},
    "speech-continual": {f"{split}-voice{k}": n for k in (1, 2, 3, 4) for split, n in (("pool", 340), ("test", 150))},
}
DATA_SHA256 = {
    "vision-selection": "ff633a39eb23e4fc76e144920fe094a9d52f5f10484574572144d30399ae3c6d",
    "speech-selection": "13161cca989b63876cc3fe41c1d64d7bc62c573ba0bf7fc42ffc9ddc934fad85",
    "speech-testset": "13161cca989b63876cc3fe41c1d64d7bc62c573ba0bf7fc42ffc9ddc934fad85",  # its pair's data
    "vision-cleaning": "3417cf597fd1e8fd84889e3c5b34155fc69cf0be43868dade7a33fc8026bf4ba",
    "speech-continual": "2a415296480c49ca2857327f4b6af59f4d109fea9e5bb082af5467d9fbc53eb6",
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
    "speech-testset": {"hard": 0.8512631039340715, "random": 0.9343722253458557, "balanced": 0.9403011677335822},
    "vision-cleaning": {"confident-learning": 0.206, "random": 0.76, "balanced": 0.792},
    "speech-continual": {
        "boundary": 0.937,
        "replay": 0.9303333333333332,
        "balanced": 0.9296666666666665,
        "random": 0.7533333333333333,
    },
}
# The algorithmic baselines must beat random on real data; random and class-balanced random
# are the reference points they are measured against.
MUST_BEAT_RANDOM = {"kcenter", "crossval", "confident-learning", "replay", "balanced", "boundary", "hard"}
NEED_NOT_BEAT_RANDOM = {"speech-testset": {"balanced"}}
"""Reference points that are no algorithm on that challenge: balancing test rows by the
participant's own guess gives no harder rows than random ones on spoken digits."""


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
    for name in (MUST_BEAT_RANDOM - NEED_NOT_BEAT_RANDOM.get(challenge, set())) & set(got):
        assert better(got[name], got["random"]), f"{name} does not beat random on {challenge}"


def test_continual_stages_forget_and_replay_helps(prepared: dict[str, PreparedData], tmp_path: Path) -> None:
    """On the real speakers, the newest-only baseline forgets (BWT below 0 beyond its interval)
    and the best replay baseline beats its ACC beyond both intervals."""
    spec = get_challenge("speech-continual")
    data = prepared["speech-continual"]
    results = {}
    for name in ("random", "boundary"):
        with single_threaded():
            table = get_baseline(spec.kind, name).build(spec, data, 0)
        results[name] = evaluate(spec, write_submission(table, tmp_path / f"{name}.parquet", spec.id), data=data)
    naive, best = results["random"], results["boundary"]
    assert naive.extra["bwt_ci95"][1] < 0
    assert naive.ci95 is not None and best.ci95 is not None and best.ci95[0] > naive.ci95[1]


def test_continual_stages_are_speakers(prepared: dict[str, PreparedData]) -> None:
    """Each stage's style cluster holds the same number of recordings of every digit, as one
    speaker's share of the dataset does (50 of each, split between pool and test)."""
    data = prepared["speech-continual"]
    for k in (1, 2, 3, 4):
        labels = np.concatenate([data.split(f"{s}-voice{k}").labels for s in ("pool", "test")])
        counts = np.bincount(labels, minlength=10)
        assert counts.min() >= 45 and counts.max() <= 50, (k, counts)
