"""The cleaning kind's 95% interval: a bootstrap over the test rows, from the bits of the fits
the scoring made (every checkpoint: at most one fit per wrong label, plus two)."""

from __future__ import annotations

import numpy as np

from dataperf.contract import Counters
from dataperf.kinds.cleaning import bootstrap_interval, fraction_inspected
from dataperf.models import build_model


def _blobs(rows: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.arange(rows) % 3
    return rng.normal(size=(rows, 4)) + 1.5 * np.eye(3, 4)[y], y


def _interval(test_rows: int) -> tuple[float, tuple[float, float], int, int]:
    x, truth = _blobs(60, 0)
    x_test, y_test = _blobs(test_rows, 1)
    noisy = truth.copy()
    noisy[::3] = (truth[::3] + 1) % 3
    order = np.random.default_rng(2).permutation(60)
    model = build_model("logreg", {"C": 1.0, "max_iter": 200})
    plain, counted = Counters(), Counters()
    kwargs = {"seed": 0, "stride": 3, "target": 0.97}
    score = fraction_inspected(model, x, noisy, truth, order, x_test, y_test, counters=plain, **kwargs)
    curve: list[tuple[float, float]] = []
    hits: list[np.ndarray] = []
    again = fraction_inspected(
        model, x, noisy, truth, order, x_test, y_test, counters=counted, curve=curve, hits=hits, **kwargs
    )
    assert again == score  # the checkpoints after the score's do not move it
    assert plain.fits <= counted.fits <= int((noisy != truth).sum()) + 2  # one fit per wrong label at most
    assert len(hits) == len(curve) == len(range(0, 60, 3)) + 2  # the all-fixed fit, then every checkpoint
    ci = bootstrap_interval({0: hits}, {0: [p[0] for p in curve[:-1]]}, test_rows, 0.97)
    return score, ci, plain.fits, len(curve) - 1


def test_interval_holds_the_score_and_is_deterministic() -> None:
    score, ci, _, _ = _interval(400)
    assert ci[0] <= score <= ci[1]
    assert ci[0] < ci[1]
    assert _interval(400)[1] == ci


def test_the_bits_reproduce_the_measured_accuracies() -> None:
    x, truth = _blobs(60, 0)
    x_test, y_test = _blobs(200, 1)
    noisy = truth.copy()
    noisy[::3] = (truth[::3] + 1) % 3
    order = np.arange(60)
    model = build_model("logreg", {"C": 1.0, "max_iter": 200})
    curve: list[tuple[float, float]] = []
    hits: list[np.ndarray] = []
    fraction_inspected(
        model,
        x,
        noisy,
        truth,
        order,
        x_test,
        y_test,
        seed=0,
        stride=6,
        target=0.97,
        counters=Counters(),
        curve=curve,
        hits=hits,
    )
    accs = [np.unpackbits(h, count=200).mean() for h in hits]
    assert np.allclose(accs[1:], [p[1] for p in curve[:-1]])
    assert np.isclose(0.97 * accs[0], curve[-1][1])


def test_interval_widens_when_the_test_split_is_smaller() -> None:
    _, wide, _, _ = _interval(60)
    _, narrow, _, _ = _interval(1200)
    assert wide[1] - wide[0] > narrow[1] - narrow[0]


def test_the_upper_end_is_read_from_checkpoints_after_the_score() -> None:
    """Every checkpoint is evaluated, so a resample whose bar is reached later than the score's
    checkpoint reads that checkpoint, not 1.0: the upper end says how far the score can move."""
    score, ci, _, checkpoints = _interval(1200)
    assert checkpoints == len(range(0, 60, 3)) + 1
    assert score < ci[1] < 1.0
