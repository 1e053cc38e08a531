"""A submission's page shows its result as a person reads it: the score with its interval, a
table per task and seed, the kind's own tables (a matrix also as a chart), the raw JSON behind a
link only."""

from __future__ import annotations

import html
import json
import re

from leaderboard.http.web.pages import render

SUB = {
    "submission": 3,
    "status": "done",
    "queue_position": None,
    "challenge": "speech-continual",
    "challenge_version": 1,
    "team": "ada",
    "filename": "mine.parquet",
    "sha256": "ab" * 32,
    "attempts": 1,
    "max_attempts": 3,
    "created_at": None,
    "started_at": None,
    "finished_at": None,
    "provenance": None,
    "owner": False,
    "result": {
        "metric": "accuracy",
        "direction": "max",
        "mean": 0.75,
        "ci95": [0.7, 0.8],
        "scores": {"acc": {"0": 0.7, "1": 0.8}},
        "task_means": {"acc": 0.75},
        "extra": {
            "tables": [
                {
                    "title": "R[i, j]",
                    "chart": "matrix",
                    "columns": ["after stage", "voice1", "voice2"],
                    "rows": [["voice1", 0.9, 0.125], ["voice2", 0.5, 0.875]],
                },
                {"title": "measures", "columns": ["measure", "mean"], "rows": [["BWT", -0.4]]},
            ]
        },
    },
}


def test_a_result_is_shown_as_tables_not_json() -> None:
    page = render("submission.html", title="x", sub=SUB, team=None).body.decode()
    assert 'class="json"' not in page and '"task_means"' not in page
    assert "<b>0.7500</b>" in page and "[0.700, 0.800]" in page
    scores = re.search(r'<table class="board" id="scores">(.*?)</table>', page, flags=re.S)
    assert scores is not None and ">Seed 0<" in scores.group(1) and "0.8000" in scores.group(1)
    assert "<caption>R[i, j]</caption>" in page and "0.1250" in page and "-0.4000" in page
    chart = re.search(r'class="chart matrix-chart" data-table="([^"]*)"', page)
    assert chart is not None and json.loads(html.unescape(chart.group(1)))["rows"][1][2] == 0.875
    assert "/static/plotly.min.js" in page and 'href="/api/submissions/3"' in page


def test_a_ratchet_result_without_scores_shows_its_message() -> None:
    sub = SUB | {"result": {"message": "rank 2, score 0.61", "ratchet": {"role": "train"}}}
    page = render("submission.html", title="x", sub=sub, team=None).body.decode()
    assert "rank 2, score 0.61" in page and "plotly" not in page and 'id="scores"' not in page


def test_a_kinds_curve_is_drawn_with_the_baselines_and_its_numbers() -> None:
    chart = {
        "id": "accuracy-curve",
        "title": "Test accuracy against the fraction of training rows inspected",
        "x": "fraction inspected",
        "y": "accuracy",
        "series": [{"name": "seed 0", "x": [0.0, 0.1, 0.2], "y": [0.61, 0.7, 0.8125]}],
        "bars": [{"name": "bar, seed 0", "y": 0.8}],
        "compare": True,
        "baselines": [{"name": "baseline random", "x": [0.0, 0.5], "y": [0.61, 0.805]}],
    }
    sub = SUB | {"result": SUB["result"] | {"extra": {"charts": [chart]}}}
    page = render("submission.html", title="x", sub=sub, charts=[chart], team=None).body.decode()
    drawn = re.search(r'class="chart curve-chart" id="chart-accuracy-curve" data-chart="([^"]*)"', page)
    assert drawn is not None and json.loads(html.unescape(drawn.group(1)))["baselines"][0]["y"][1] == 0.805
    table = re.search(r'id="chart-accuracy-curve-table">(.*?)</table>', page, flags=re.S)
    assert table is not None
    assert "(0.2000, 0.8125)" in table.group(1) and "(0.5000, 0.8050)" in table.group(1) and "0.8000" in table.group(1)
    assert "/static/plotly.min.js" in page and "/static/charts.js" in page
