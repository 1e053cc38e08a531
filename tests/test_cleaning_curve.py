"""The cleaning kind's accuracy curve: the checkpoints its scoring measured, ending where the
score is read, with the bar beside it, at no extra fit."""

from __future__ import annotations

import math

import numpy as np

from dataperf.contract import Counters
from dataperf.kinds.cleaning import _curve_chart, fraction_inspected
from dataperf.models import build_model


def _blobs(rows: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.arange(rows) % 3
    return rng.normal(size=(rows, 4)) + 3.0 * np.eye(3, 4)[y], y


def test_the_curve_is_what_the_score_measured() -> None:
    x, truth = _blobs(60, 0)
    x_test, y_test = _blobs(300, 1)
    noisy = truth.copy()
    noisy[:24] = (truth[:24] + 1) % 3  # 24 wrong labels, inspected last by this order
    order = np.arange(59, -1, -1)
    model = build_model("logreg", {"C": 1.0, "max_iter": 200})
    kwargs = {"seed": 0, "stride": 6, "target": 0.95}
    plain, with_curve = Counters(), Counters()
    score = fraction_inspected(model, x, noisy, truth, order, x_test, y_test, counters=plain, **kwargs)
    curve: list[tuple[float, float]] = []
    again = fraction_inspected(
        model, x, noisy, truth, order, x_test, y_test, counters=with_curve, curve=curve, **kwargs
    )
    assert again == score and with_curve.fits == plain.fits  # no extra fit
    points, (nan, bar) = curve[:-1], curve[-1]
    assert math.isnan(nan) and 0 < bar <= 1
    assert [p[0] for p in points] == [k / 60 for k in range(0, 6 * len(points), 6)]
    assert points[-1][0] == score and points[-1][1] >= bar  # the curve ends where the score is read
    assert all(acc < bar for _, acc in points[:-1])
    assert 0 < score < 1
    chart = _curve_chart({0: curve}, 0.95)
    assert chart["series"][0]["x"][-1] == score and chart["bars"][0]["y"] == bar and chart["compare"]
