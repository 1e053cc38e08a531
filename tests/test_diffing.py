"""The diff helpers kinds build their ``diff`` from, on hand-made tables with known answers."""

from __future__ import annotations

import json

import pandas as pd

from dataperf.diffing import counts, rankings, rows_and_labels


def test_rows_and_labels_counts_added_removed_relabelled_and_the_class_balance() -> None:
    a = pd.DataFrame({"task": ["t", "t", "t", "u"], "id": [1, 2, 3, 9], "label": [0, 0, 1, 1]})
    b = pd.DataFrame({"task": ["t", "t", "t", "u"], "id": [2, 3, 4, 9], "label": [1, 1, 0, 1]})
    doc = rows_and_labels(a, b, group="task", label="label")
    json.dumps(doc)
    assert doc["summary"] == {"added": 1, "removed": 1, "relabelled": 1, "kept": 3}
    rows, balance = doc["tables"]
    assert rows["rows"] == [["t", 3, 3, 1, 1, 1], ["u", 1, 1, 0, 0, 0]]
    assert ["t", 0, 2, 0.6667, 1, 0.3333, -1] in balance["rows"]
    assert ["t", 1, 1, 0.3333, 2, 0.6667, 1] in balance["rows"]
    assert ["u", 1, 1, 1.0, 1, 1.0, 0] in balance["rows"]


def test_rows_without_labels_or_groups() -> None:
    a = pd.DataFrame({"id": [1, 2]})
    b = pd.DataFrame({"id": [2, 3, 4]})
    doc = rows_and_labels(a, b, group=None)
    assert doc["summary"] == {"added": 2, "removed": 1, "relabelled": 0, "kept": 1}
    assert doc["tables"][0]["columns"] == ["task", "rows A", "rows B", "added", "removed"]
    assert len(doc["tables"]) == 1  # no class balance without labels


def test_rankings_report_moves_overlap_and_correlation() -> None:
    a = pd.DataFrame({"rank": [1, 2, 3, 4], "id": [10, 20, 30, 40]})
    b = pd.DataFrame({"rank": [2, 1, 3, 4], "id": [10, 20, 30, 50]})
    doc = rankings(a, b, rank="rank", key="id", top=(1, 2))
    json.dumps(doc)
    s = doc["summary"]
    assert (s["only_a"], s["only_b"], s["moved_up"], s["moved_down"], s["unchanged"]) == (1, 1, 1, 1, 1)
    assert s["spearman"] == 0.5  # ranks (1,2,3) against (2,1,3)
    overlap, largest = doc["tables"]
    assert overlap["rows"] == [[1, 0, 0.0], [2, 2, 1.0]]
    assert largest["rows"][:2] == [[10, 1, 2, -1], [20, 2, 1, 1]]
    same = rankings(a, a, rank="rank", key="id")["summary"]
    assert (same["moved_up"], same["moved_down"], same["spearman"]) == (0, 0, 1.0)


def test_counts_per_seller() -> None:
    a = pd.DataFrame({"seller": ["x", "y"], "count": [5, 0]})
    b = pd.DataFrame({"seller": ["x", "y", "z"], "count": [3, 2, 1]})
    doc = counts(a, b, key="seller", value="count")
    assert doc["tables"][0]["rows"] == [["x", 5, 3, -2], ["y", 0, 2, 2], ["z", 0, 1, 1]]
    assert doc["summary"] == {"changed": 3, "count A": 5, "count B": 6}
