"""The challenge page shows the rules page generated from the spec."""

from __future__ import annotations

import html
from pathlib import Path

from fastapi.testclient import TestClient

from dataperf.challenges import get_challenge
from dataperf.rules import spec_entries
from leaderboard.http.api.deps import Settings
from leaderboard.http.app import create_app


def test_the_challenge_page_shows_the_rules(db_url: str, home: Path) -> None:
    page = TestClient(create_app(Settings(db_url=db_url))).get("/challenges/tiny-selection").text
    assert 'id="rules"' in page
    text = html.unescape(page)
    for entry in spec_entries(get_challenge("tiny-selection")):
        assert entry.key in text, entry.key
    assert "data.noise.fit_share" in text and "sorted(numpy.random.default_rng(s).choice(n, size=k" in text
    assert '<pre class="formula">' in page and "&lt;code&gt;" not in page  # rendered once, not escaped twice
