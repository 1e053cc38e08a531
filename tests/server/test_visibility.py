"""The visibility policy: before publish, nothing derived from the hidden test set reaches a
participant (board, CSV, matrix, history, page, submission status); after, the ratchet's own
standings are shown; the organizer sees everything. One read model serves the CLI and the API.

The ratchet is written straight into the database so that the hidden ranking is the public one
reversed: training sets T1..T5 score 0.9..0.5 on the public suite member P1 (and 0.86..0.46 on
P2, a public test set the ratchet did not accept) and low-to-high on the hidden set S0, so the
top-3 over the whole suite ({T4, T5, T3}) differs from the top-3 over the public test sets
({T1, T2, T3}), and the test sets' difficulties swap order with it. Acceptance into the suite
is decided with S0 (its difficulty is the bar, its cells rank the top-k), so before publish a
public view scores over every public test set and names no member of the suite.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dataperf.challenges import get_challenge
from dataperf.version import EVALUATOR_VERSION
from leaderboard.boards import boards
from leaderboard.boards.history import history
from leaderboard.boards.visibility import Visibility
from leaderboard.jobs.admin import set_published
from leaderboard.jobs.service import ensure_challenge, ensure_team
from leaderboard.ratchet.problem import problem_key
from leaderboard.storage.db import session_factory
from leaderboard.storage.tables import Cell, Dataset, ProblemRow, RatchetEvent, Submission, SuiteMember

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

TRAIN, TEST = "tiny-selection", "tiny-testset"
KEY = problem_key(TRAIN, 1)
"""The storage key of the ratchet of TRAIN's version 1."""
T0 = datetime(2026, 1, 1, tzinfo=UTC)
PUBLIC = {"T1": 0.9, "T2": 0.8, "T3": 0.7, "T4": 0.6, "T5": 0.5}
"""Cells on P1, the public suite member."""
HIDDEN = {"T1": 0.111, "T2": 0.222, "T3": 0.333, "T4": 0.977, "T5": 0.955}
"""Cells on S0, the organizer's hidden test set."""
OTHER = {"T1": 0.86, "T2": 0.76, "T3": 0.66, "T4": 0.56, "T5": 0.46}
"""Cells on P2, a public test set outside the suite."""
FULL_ORDER = ["T4", "T5", "T3", "T2", "T1"]
"""The ranking over the whole suite (mean over S0 and P1)."""
FULL_ONLY = ["0.7885", "0.7275", "0.5165", "0.5110", "0.5055", "0.2450", "0.4000", "0.2500"]
"""Four-digit renderings of numbers only the whole suite gives: scores, difficulties, the bar."""


def digest(name: str) -> str:
    """Return a set's digest."""
    return hashlib.sha256(name.encode()).hexdigest()


def build(db_url: str) -> dict[str, int]:
    """Write the ratchet described in the module docstring; return submission ids by set name."""
    sessions = session_factory(db_url)
    at = iter(T0 + timedelta(seconds=i) for i in range(100))
    ids: dict[str, int] = {}
    with sessions.begin() as s:
        for c in (TRAIN, TEST):
            ensure_challenge(s, get_challenge(c))
        s.add(ProblemRow(id=KEY, test_challenge=TEST, top_k=[], updated_at=next(at)))
        s.flush()
        sets = {}
        for name, role, origin in [
            ("S0", "test", "organizer"),
            *[(t, "train", "submission") for t in PUBLIC],
            ("P1", "test", "submission"),
            ("P2", "test", "submission"),
        ]:
            ds = Dataset(
                problem=KEY,
                role=role,
                digest=digest(name),
                n_rows=1,
                payload=b"",
                origin=origin,
                created_at=next(at),
            )
            s.add(ds)
            s.flush()
            sets[name] = ds
        for name, reason in (("S0", "organizer"), ("P1", "accepted")):
            s.add(
                SuiteMember(
                    problem=KEY,
                    dataset_id=sets[name].id,
                    test_sha256=digest(name),
                    reason=reason,
                    difficulty=0.245 if name == "S0" else 0.4,
                    added_at=next(at),
                )
            )
        for test, values in (("S0", HIDDEN), ("P1", PUBLIC), ("P2", OTHER)):
            for t, v in values.items():
                s.add(
                    Cell(
                        problem=KEY,
                        train_sha256=digest(t),
                        test_sha256=digest(test),
                        evaluator_version=EVALUATOR_VERSION,
                        scores={"task": {"0": v - 0.01, "1": v + 0.01}},
                        mean=v,
                        provenance={"path": "fit", "packages": {"numpy": "2"}},
                        created_at=next(at),
                    )
                )
        full_scores = {t: (HIDDEN[t] + PUBLIC[t]) / 2 for t in PUBLIC}
        full_top = [digest(t) for t in FULL_ORDER[:3]]
        for kind, suite in (("init", ["S0"]), ("top-k", ["S0"]), ("accept", ["S0", "P1"])):
            s.add(
                RatchetEvent(
                    problem=KEY,
                    at=next(at),
                    kind=kind,
                    subject_sha256=digest(suite[-1]),
                    evaluator_version=EVALUATOR_VERSION,
                    suite=[digest(x) for x in suite],
                    top_k=full_top,
                    scores={"train": {digest(t): v for t, v in full_scores.items()}, "difficulty": {}},
                    bar=0.245,
                )
            )
        team = ensure_team(s, "ada")
        for name in [*PUBLIC, "P1", "P2"]:
            step = (
                {"role": "train", "digest": digest(name), "score": full_scores[name], "top_k": full_top}
                if name in PUBLIC
                else {
                    "role": "test",
                    "digest": digest(name),
                    "accepted": name == "P1",
                    "difficulty": 0.25,
                    "bar": 0.245,
                    "reason": "difficulty 0.2500 < bar 0.2450 + margin 0.02",
                    "top_k": full_top,
                    "duplicate": False,
                    "counters": {"fits": 0},
                }
            )
            sub = Submission(
                challenge=TRAIN if name in PUBLIC else TEST,
                challenge_version=1,
                kind="training-set" if name in PUBLIC else "test-set",
                team_id=team.id,
                sha256=digest(name + "-file"),
                content_sha256=digest(name),
                filename=f"{name}.csv",
                path="/nonexistent",
                label=name,
                status="done",
                dataset_id=sets[name].id,
                result={"challenge": TRAIN, "kind": "x", "ratchet": step, "message": step.get("reason", "rank 5")},
                created_at=next(at),
                updated_at=T0,
            )
            s.add(sub)
            s.flush()
            ids[name] = sub.id
    return ids


@pytest.fixture()
def client(db_url: str) -> Any:
    """Return a test client of the app on the test database."""
    from fastapi.testclient import TestClient

    from leaderboard.http.api.deps import Settings
    from leaderboard.http.app import create_app

    return TestClient(create_app(Settings(db_url=db_url)))


def labels(rows: list[dict[str, Any]]) -> list[str]:
    """Return the rows' labels in board order."""
    return [r["label"] for r in rows]


def test_public_views_reveal_nothing_of_the_hidden_ranking(client: Any, db_url: str) -> None:
    ids = build(db_url)
    board = client.get(f"/api/challenges/{TRAIN}/leaderboard").json()
    assert board["view"] == "public" and board["published"] is False
    # order, ranks, stars and scores come from the public test sets alone (P1 and P2)
    assert labels(board["rows"]) == ["T1", "T2", "T3", "T4", "T5"]
    assert [r["rank"] for r in board["rows"]] == [1, 2, 3, 4, 5]
    assert [r["label"] for r in board["rows"] if r["top_k"]] == ["T1", "T2", "T3"]
    assert board["top_k"] == [digest(t) for t in ("T1", "T2", "T3")]
    assert [r["score"] for r in board["rows"]] == pytest.approx([(PUBLIC[t] + OTHER[t]) / 2 for t in PUBLIC])
    assert [r["worst"] for r in board["rows"]] == pytest.approx(list(OTHER.values()))
    # test sets: difficulty over the public top-k; the bar over the public test sets; no membership
    tests = client.get(f"/api/challenges/{TEST}/leaderboard").json()
    assert labels(tests["rows"]) == ["P2", "P1"]
    assert [r["difficulty"] for r in tests["rows"]] == pytest.approx([1 - (0.86 + 0.76 + 0.66) / 3, 1 - 0.8])
    assert tests["bar"] == pytest.approx(1 - 0.8) and tests["top_k"] == board["top_k"]
    assert [r["in_suite"] for r in tests["rows"]] == [None, None]
    # the CSV export is the same board
    csv_rows = client.get(f"/api/challenges/{TRAIN}/leaderboard.csv").text.splitlines()
    cols = csv_rows[0].split(",")
    body = [dict(zip(cols, line.split(","), strict=True)) for line in csv_rows[1:]]
    assert [r["label"] for r in body] == ["T1", "T2", "T3", "T4", "T5"]
    assert [r["label"] for r in body if r["top_k"] == "True"] == ["T1", "T2", "T3"]
    # the matrix: public ranking, public columns only
    m = client.get(f"/api/challenges/{TRAIN}/matrix").json()
    assert [t["label"] for t in m["train"]] == [f"#{ids[t]} ada ({t})" for t in ("T1", "T2", "T3", "T4", "T5")]
    assert [t["digest"] for t in m["test"]] == [digest("P1"), digest("P2")] and m["top_k"] == board["top_k"]
    assert [t["in_suite"] for t in m["test"]] == [None, None] and m["suite"] == []
    # the history: no event marks the hidden top-k or an acceptance; bars and best scores publicly
    h = client.get(f"/api/challenges/{TRAIN}/history").json()
    assert [e["kind"] for e in h["events"]] == ["init"]
    assert [e["public_tests"] for e in h["events"]] == [0]
    assert all("suite_size" not in e and "suite" not in e and "public_suite_size" not in e for e in h["events"])
    assert h["events"][0]["bar"] is None and h["events"][0]["best_score"] is None
    # a test-set submission's status: no acceptance, difficulty, bar, reason, top-k or message
    status = client.get(f"/api/submissions/{ids['P2']}").json()
    assert set(status["result"]["ratchet"]) <= {"role", "digest", "duplicate", "counters"}
    assert "message" not in status["result"]
    # provenance of sets whose results carry none: read from one of the set's cells
    assert status["provenance"]["set_digest"] == digest("P2") and status["provenance"]["path"] == "fit"
    assert client.get(f"/api/submissions/{ids['T4']}").json()["provenance"]["set_digest"] == digest("T4")
    # nothing of the hidden set or the whole-suite standings in any public answer or page
    texts = [
        json.dumps(board),
        json.dumps(tests),
        json.dumps(m),
        json.dumps(h),
        json.dumps(status),
        json.dumps(client.get(f"/api/submissions/{ids['T4']}").json()),
        "\n".join(csv_rows),
        client.get(f"/challenges/{TRAIN}").text,
        client.get(f"/challenges/{TEST}").text,
        client.get(f"/submissions/{ids['P2']}").text,
    ]
    blob = "\n".join(texts)
    assert digest("S0") not in blob
    shown = {f"{float(x):.4f}" for x in re.findall(r"\d+\.\d+", blob)}
    assert not shown & set(FULL_ONLY), shown & set(FULL_ONLY)
    page = client.get(f"/challenges/{TRAIN}").text
    page_rows = re.findall(r'<span class="sub">(T\d)</span>(.*?)</tr>', page, flags=re.S)
    assert [t for t, _ in page_rows] == ["T1", "T2", "T3", "T4", "T5"]
    assert [t for t, cells in page_rows if "★" in cells] == ["T1", "T2", "T3"]


def test_published_and_organizer_views_use_the_whole_suite(client: Any, db_url: str) -> None:
    build(db_url)
    sessions = session_factory(db_url)
    with sessions() as s:
        organizer = boards.board(s, TRAIN, Visibility.ORGANIZER)
        org_tests = boards.board(s, TEST, Visibility.ORGANIZER)
        org_matrix = boards.matrix(s, TRAIN, Visibility.ORGANIZER)
        org_history = history(s, TRAIN, Visibility.ORGANIZER)
    assert labels(organizer["rows"]) == FULL_ORDER
    assert [r["label"] for r in organizer["rows"] if r["top_k"]] == FULL_ORDER[:3]
    assert organizer["rows"][0]["worst"] == pytest.approx(0.6)  # the organizer sees S0's cells
    assert digest("S0") in [t["digest"] for t in org_matrix["test"]] and org_matrix["hidden_columns"] == 0
    assert [e["kind"] for e in org_history["events"]] == ["init", "top-k", "accept"]
    assert [e["best_score"] for e in org_history["events"]] == pytest.approx([(0.977 + 0.6) / 2] * 3)
    assert org_tests["bar"] == pytest.approx(0.245)
    with sessions.begin() as s:
        set_published(s, TRAIN, True)
    board = client.get(f"/api/challenges/{TRAIN}/leaderboard").json()
    assert board["view"] == "published" and labels(board["rows"]) == FULL_ORDER
    assert [r["label"] for r in board["rows"] if r["top_k"]] == FULL_ORDER[:3]
    assert [r["score"] for r in board["rows"]] == pytest.approx([r["score"] for r in organizer["rows"]])
    # S0's own cells still never leave the server: the worst cell shown is a public one
    assert [r["worst"] for r in board["rows"]] == pytest.approx([PUBLIC[t] for t in FULL_ORDER])
    tests = client.get(f"/api/challenges/{TEST}/leaderboard").json()
    assert labels(tests["rows"]) == ["P2", "P1"] and tests["bar"] == pytest.approx(0.245)
    m = client.get(f"/api/challenges/{TRAIN}/matrix").json()
    assert digest("S0") not in json.dumps(m) and m["hidden_columns"] == 1


def test_cli_and_api_show_the_same_board(client: Any, db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    from dataperf.cli import main

    build(db_url)
    assert main(["ratchet", TRAIN, "--view", "organizer", "--json", "--db", db_url, "--event-scores", "2"]) == 0
    for event in json.loads(capsys.readouterr().out)["history"]:  # the best two of the five, best first
        assert event["scores"]["train"] == pytest.approx({digest(t): (HIDDEN[t] + PUBLIC[t]) / 2 for t in ("T4", "T5")})
        assert list(event["scores"]["train"]) == [digest("T4"), digest("T5")] and event["train_sets"] == 5
    for view in ("public", "published"):
        if view == "published":
            with session_factory(db_url).begin() as s:
                set_published(s, TRAIN, True)
        for challenge in (TRAIN, TEST):
            api = client.get(f"/api/challenges/{challenge}/leaderboard").json()
            assert main(["leaderboard", challenge, "--view", view, "--json", "--db", db_url]) == 0
            cli = json.loads(capsys.readouterr().out)
            assert cli["rows"] == api["rows"] and cli["top_k"] == api["top_k"] and cli["bar"] == api["bar"]
