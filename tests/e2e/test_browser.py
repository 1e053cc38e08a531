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


def _login(page: Any, live: Live, token: str) -> None:
    page.goto(f"{live.url}/login")
    page.fill("input[name=token]", token)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live.url}/")


def _bad_file(live: Live) -> Path:
    """Write a tiny-selection file with three faulty rows: an id outside the pool, the same row
    twice, a label outside the task's domain."""
    path = live.home.parent / "bad-picks.csv"
    path.write_text("task,id,label\nshirt,99999999,1\nshirt,5,1\nshirt,5,1\nsneaker,7,3\n")
    return path


def _used_today(page: Any, live: Live) -> int:
    page.goto(f"{live.url}/team")
    return int(page.locator("#quota").get_attribute("data-used"))


def test_upload_from_the_browser_follows_the_job_and_compares(live: Live, browser: Any, artifacts: Path) -> None:
    token = _token(live, "browser uploaders")
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    _login(page, live, token)
    assert _used_today(page, live) == 0

    # a bad file: every violation in a table, nothing charged
    page.goto(f"{live.url}/challenges/tiny-selection")
    page.set_input_files("#upload-file", str(_bad_file(live)))
    page.click("#upload button[type=submit]")
    table = page.locator("#violations")
    table.wait_for()
    cells = [[c.inner_text() for c in r.locator("td").all()] for r in table.locator("tbody tr").all()]
    assert len(cells) >= 3, cells
    assert all(c[0] == "bad-picks.csv" for c in cells), cells
    assert any("99999999" in c[3] and c[1] != "—" and c[2] == "id" for c in cells), cells
    assert any(c[2] == "label" for c in cells), cells
    page.screenshot(path=str(artifacts / "upload-refused.png"), full_page=True)
    assert _used_today(page, live) == 0

    # a good file: the page follows the job to its score without reloading
    page.goto(f"{live.url}/challenges/tiny-selection")
    page.set_input_files("#upload-file", str(_training_file(live, 41)))
    page.click("#upload button[type=submit]")
    page.wait_for_url(f"{live.url}/submissions/*")
    sid = int(page.url.rsplit("/", 1)[1])
    page.evaluate("() => { window.notReloaded = true; }")
    page.wait_for_selector("#live[data-final]", state="attached", timeout=120_000)
    assert page.evaluate("() => window.notReloaded === true")  # followed in place, no reload
    assert page.locator("#status").inner_text() == "done"
    score = page.locator("#live-score").inner_text()
    assert score.startswith("Score ") and float(score.split()[1]) >= 0, score
    page.screenshot(path=str(artifacts / "upload-scored.png"), full_page=True)
    assert _used_today(page, live) == 1
    assert page.locator(f"#submissions a[href='/submissions/{sid}']").count() == 1
    assert page.locator("#best tbody tr", has_text="Tiny selection").count() == 1

    # the submission page: its place among the baselines, then compare it with one of them
    page.goto(f"{live.url}/submissions/{sid}")
    assert "of" in page.locator("#place").inner_text()
    assert page.locator("#place-table tr.this").count() == 1
    assert page.locator("#place-table tr.baseline").count() >= 1
    other = page.locator("#compare-with option").first.get_attribute("value")
    page.select_option("#compare-with", other)
    page.click("#compare-form button")
    page.wait_for_url(f"{live.url}/submissions/{sid}/compare?with={other}")
    rows = page.locator("#compare tbody tr[data-task]")
    tasks = [r.get_attribute("data-task") for r in rows.all()]
    assert tasks == ["shirt", "sneaker", ""], tasks
    for r in rows.all():
        c = r.locator("td").all_inner_texts()
        c = c[1:] if r.get_attribute("data-task") else c  # a task's row starts with its name
        a, b, change = float(c[0]), float(c[1]), float(c[2])
        assert abs((a - b) - change) < 1e-3
        lo, hi = (float(x) for x in c[3].strip("[]").split(","))  # the paired interval over the two seeds
        assert lo <= change + 1e-3 and change - 1e-3 <= hi
    page.screenshot(path=str(artifacts / "compare.png"), full_page=True)
    page.close()


def test_forged_upload_is_refused(live: Live, browser: Any) -> None:
    token = _token(live, "forgers")
    page = browser.new_page()
    _login(page, live, token)
    good = _training_file(live, 43)
    files = {"file": {"name": "picks.csv", "mimeType": "text/csv", "buffer": good.read_bytes()}}
    cross = page.request.post(
        f"{live.url}/challenges/tiny-selection/submit", multipart=files, headers={"Origin": "http://evil.example"}
    )
    assert cross.status == 403
    no_token = page.request.post(
        f"{live.url}/challenges/tiny-selection/submit", multipart=files, headers={"Origin": live.url}
    )
    assert no_token.status == 403 and "did not come from this site" in no_token.text()
    assert _used_today(page, live) == 0
    page.close()


def _axis_fits(axis: dict[str, Any], values: list[float]) -> None:
    """Assert an explicit axis range holds every value with a margin under a tenth of a unit and
    no more than twice the data's span (not the -0.6 .. 1.5 a single point gets by default)."""
    lo, hi = axis["range"]
    assert lo <= min(values) and max(values) <= hi, (axis["range"], values)
    span = max(values) - min(values)
    assert (hi - lo) <= max(2 * span, 0.1), (axis["range"], values)
    assert lo >= 0 and hi <= 1, axis["range"]  # the values are in [0, 1]


def test_ratchet_history_is_a_step_chart_whose_axes_fit(live: Live, browser: Any, artifacts: Path) -> None:
    live.cli("admin", "publish", "tiny-selection", "--db", live.db)  # every ratchet step is shown once published
    try:
        page = browser.new_page(viewport={"width": 1366, "height": 900})
        page.goto(f"{live.url}/challenges/tiny-selection")
        page.wait_for_selector("#history[data-events]", state="attached", timeout=30_000)
        chart = page.evaluate(
            "() => { const el = document.getElementById('history');"
            " return {data: el.data.map(d => ({x: d.x, y: d.y, name: d.name, shape: (d.line || {}).shape})),"
            " layout: {x: el.layout.xaxis, y: el.layout.yaxis, y2: el.layout.yaxis2}}; }"
        )
        bar, best = chart["data"][0], chart["data"][1]
        assert bar["shape"] == "hv" and best["shape"] == "hv"
        bars = [v for v in bar["y"] if v is not None]
        bests = [v for v in best["y"] if v is not None]
        assert len(bars) >= 2 and len(bests) >= 2
        _axis_fits(chart["layout"]["y"], bars)
        _axis_fits(chart["layout"]["y2"], bests)
        assert chart["layout"]["x"]["range"][0] <= min(bar["x"]) and max(bar["x"]) <= chart["layout"]["x"]["range"][1]
        marks = [d for d in chart["data"] if d["name"] == "test set accepted"]
        assert marks and len(marks[0]["x"]) >= 1  # the hard test set of the fill was accepted
        # the text alternative: the same numbers as a table
        page.click("#history + details summary")
        rows = page.locator("#history-table tbody tr")
        assert rows.count() == len(bar["x"])
        assert any(r.locator("td").nth(1).inner_text() == "accept" for r in rows.all())
        page.screenshot(path=str(artifacts / "ratchet-history.png"), full_page=True)
        page.close()
    finally:
        live.cli("admin", "unpublish", "tiny-selection", "--db", live.db)


def test_leaderboard_sorts_and_hides_task_columns(live: Live, browser: Any) -> None:
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    page.goto(f"{live.url}/challenges/tiny-selection")
    table = page.locator("#leaderboard")
    table.locator("th", has_text="shirt").locator("button").click()
    values = [float(v) for v in table.locator("tbody td[data-col='task:shirt']").all_inner_texts() if v != "—"]
    assert len(values) >= 2 and values == sorted(values)
    table.locator("th", has_text="shirt").locator("button").click()
    values = [float(v) for v in table.locator("tbody td[data-col='task:shirt']").all_inner_texts() if v != "—"]
    assert values == sorted(values, reverse=True)
    assert table.locator("th[data-col='task:shirt']").is_visible()
    page.uncheck("fieldset.columns-picker input[data-col='task:shirt']")
    assert not table.locator("th[data-col='task:shirt']").is_visible()
    assert not table.locator("td[data-col='task:shirt']").first.is_visible()
    assert table.locator("th[data-col='task:sneaker']").is_visible()
    page.close()


AXE = Path(__file__).resolve().parents[2] / ".cache" / "npm" / "node_modules" / "axe-core" / "axe.min.js"
"""axe-core, installed from the npm registry by ``scripts/setup --test`` (pinned there)."""
AUDIT = (
    "async () => { const r = await axe.run(document, {resultTypes: ['violations']});"
    " return r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')"
    ".map(v => ({id: v.id, impact: v.impact, help: v.help,"
    " nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))})); }"
)
OVERFLOW = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"


def _audit(page: Any) -> list[dict[str, Any]]:
    """Return the serious and critical axe-core violations of the page as loaded."""
    page.add_script_tag(path=str(AXE))
    return list(page.evaluate(AUDIT))


def test_every_page_is_accessible_and_fits_a_phone(live: Live, browser: Any, artifacts: Path) -> None:
    if not AXE.exists():
        why = f"axe-core is missing at {AXE} (run scripts/setup --test)"
        if services.required():
            pytest.fail(why, pytrace=False)
        pytest.skip(why)
    token = _token(live, "auditors")
    me = Live(
        live.url, live.db, live.home, live.env | {"DATAPERF_SERVER": live.url, "DATAPERF_TOKEN": token}, live.logs
    )
    sid = json.loads(me.cli("submit", "tiny-selection", str(_training_file(live, 47)), "--wait", "--json").stdout)[
        "submission"
    ]
    found: dict[str, list[dict[str, Any]]] = {}
    overflow: dict[str, int] = {}
    for width in (1366, 375):
        # axe is injected as a script of its own: this context lets it in past the pages' CSP
        context = browser.new_context(viewport={"width": width, "height": 800}, bypass_csp=True)
        page = context.new_page()
        pages = ["/", "/login", "/challenges/tiny-selection", "/challenges/tiny-testset", f"/submissions/{sid}"]
        for path in pages:
            page.goto(live.url + path)
            page.wait_for_load_state("networkidle")
            found[f"{width} {path}"] = _audit(page)
            overflow[f"{width} {path}"] = page.evaluate(OVERFLOW)
        _login(page, live, token)
        for path in [
            "/team",
            f"/submissions/{sid}",
            f"/submissions/{sid}/compare?with=1",
            "/challenges/tiny-selection",
        ]:
            page.goto(live.url + path)
            page.wait_for_load_state("networkidle")
            found[f"{width} {path} (logged in)"] = _audit(page)
            overflow[f"{width} {path} (logged in)"] = page.evaluate(OVERFLOW)
        page.set_input_files("#upload-file", str(_bad_file(live)))
        page.click("#upload button[type=submit]")
        page.locator("#violations").wait_for()
        found[f"{width} refused upload"] = _audit(page)
        overflow[f"{width} refused upload"] = page.evaluate(OVERFLOW)
        page.goto(f"{live.url}/no-such-page")
        found[f"{width} error page"] = _audit(page)
        if width == 375:
            page.goto(f"{live.url}/challenges/tiny-selection")
            page.screenshot(path=str(artifacts / "leaderboard-375px.png"), full_page=True)
        context.close()
    bad = {k: v for k, v in found.items() if v}
    assert not bad, json.dumps(bad, indent=1)
    wide = {k: v for k, v in overflow.items() if v > 0}
    assert not wide, f"the page is wider than the window (pixels): {wide}"
