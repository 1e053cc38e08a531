"""End to end in a real browser: Debian's chromium driven by Playwright against a live server
and worker. Submit with the CLI, wait, then see the row on the leaderboard page and its cell in
the heatmap; screenshots are kept as test artifacts."""

from __future__ import annotations

import html
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import services
from tests.e2e.conftest import Live
from tests.e2e.test_cli import _token, _training_file

pytestmark = [pytest.mark.browser, pytest.mark.live]
CHROMIUM = services.CHROMIUM
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-dev-shm-usage",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Return a headless chromium (the Debian package; nothing is downloaded). Without Playwright
    or Chromium the tests skip, saying so, or fail when services are required (tests.services)."""
    services.need("browser")
    from playwright import sync_api

    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield b
        b.close()


def test_submission_appears_on_leaderboard_and_heatmap(live: Live, browser: Any, artifacts: Path) -> None:
    team = "<b>web</b> & co"
    token = _token(live, team)
    env = live.env | {"DATAPERF_SERVER": live.url, "DATAPERF_TOKEN": token}
    me = Live(live.url, live.db, live.home, env, live.logs)
    done = me.cli("submit", "tiny-selection", str(_training_file(live, 31)), "--wait", "--json")
    sid = json.loads(done.stdout)["submission"]
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(f"{live.url}/")
    page.get_by_role("link", name="Tiny selection").click()
    row = page.locator(f"#leaderboard tr[data-submission='{sid}']")
    row.wait_for()
    assert team in row.inner_text()  # shown as text, escaped, not as markup
    assert page.locator("#leaderboard b", has_text="web").count() == 0
    # the heatmap is drawn once it carries data-cells (a selector, not a string to evaluate: the
    # pages' Content-Security-Policy allows no eval, and the check must run under it)
    page.wait_for_selector("#heatmap[data-cells]", state="attached", timeout=30_000)
    label = html.escape(f"#{sid} {team}", quote=False)  # Plotly labels carry escaped text
    value = page.evaluate(
        "(label) => { const d = document.getElementById('heatmap').data[0];"
        " const i = d.y.indexOf(label); return i < 0 ? null : d.z[i].filter(v => v !== null).length; }",
        label,
    )
    assert value is not None and value >= 1, f"no heatmap cell for {label}"
    assert "<b>" in page.locator("#heatmap").inner_text()  # the tag is shown as text, not applied
    page.wait_for_selector("#history .main-svg")
    page.screenshot(path=str(artifacts / "leaderboard.png"), full_page=True)
    page.goto(f"{live.url}/submissions/{sid}")
    assert page.locator("#status").inner_text() == "done"
    page.screenshot(path=str(artifacts / "submission.png"), full_page=True)
    page.goto(f"{live.url}/login")
    page.fill("input[name=token]", token)
    page.click("button[type=submit]")
    page.goto(f"{live.url}/submissions/{sid}")
    assert "leased by" in page.locator("#log").inner_text()
    page.screenshot(path=str(artifacts / "submission-owner.png"), full_page=True)
    assert all(u.startswith(live.url) for u in requests), [u for u in requests if not u.startswith(live.url)]
    page.close()
