"""A cleaning submission's page in a real browser: its accuracy curve against the fraction
inspected, the bar and the baselines' curves, with axes that fit the data."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import CHALLENGES, Live, start_live
from tests.e2e.test_browser import browser  # noqa: F401 - the shared headless chromium fixture

pytestmark = [pytest.mark.browser, pytest.mark.live]
HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """The live server with a tiny cleaning challenge beside the tiny ratchet."""
    yield from start_live(tmp_path_factory, [CHALLENGES, HERE / "challenges"])


def test_cleaning_curve_axes_fit_the_data(live: Live, browser: Any, artifacts: Path) -> None:  # noqa: F811
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    page.goto(f"{live.url}/challenges/tiny-cleaning")
    first = page.locator("#leaderboard tbody tr").first.get_attribute("data-submission")
    page.goto(f"{live.url}/submissions/{first}")
    page.wait_for_selector("#chart-accuracy-curve[data-drawn]", state="attached", timeout=30_000)
    chart = page.evaluate(
        "() => { const el = document.getElementById('chart-accuracy-curve');"
        " return {data: el.data.map(d => ({x: d.x, y: d.y, name: d.name})),"
        " x: el.layout.xaxis.range, y: el.layout.yaxis.range}; }"
    )
    names = [d["name"] for d in chart["data"]]
    assert "seed 0" in names and "seed 1" in names
    assert any(n.startswith("baseline ") for n in names), names  # the other baselines' curves
    assert sum(n.startswith("bar, seed") for n in names) == 2
    xs = [v for d in chart["data"] if not d["name"].startswith("bar") for v in d["x"]]
    ys = [v for d in chart["data"] for v in d["y"]]
    lo, hi = chart["x"]
    assert lo <= 0 and max(xs) <= hi <= 1 and hi - max(xs) <= 0.1 + 0.1 * max(xs)
    lo, hi = chart["y"]
    assert lo <= min(ys) and max(ys) <= hi and (hi - lo) <= max(2 * (max(ys) - min(ys)), 0.1)
    assert 0 <= lo and hi <= 1
    # the curve ends where the score is read: the last point of seed 0 is its fraction inspected
    seed0 = next(d for d in chart["data"] if d["name"] == "seed 0")
    cells = page.locator("#scores tbody tr").first.locator("td").all_inner_texts()
    assert abs(float(cells[2]) - seed0["x"][-1]) < 1e-4, (cells, seed0["x"])
    page.click("#chart-accuracy-curve + details summary")
    assert page.locator("#chart-accuracy-curve-table tbody tr").count() >= 4
    page.screenshot(path=str(artifacts / "cleaning-curve.png"), full_page=True)
    page.close()
