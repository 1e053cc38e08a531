"""Talking to a dataperf server from the CLI: submit (with --wait) and remote leaderboards."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from dataperf.cli.output import print_json
from dataperf.errors import DataPerfError, SubmissionError

FINAL = ("done", "failed", "rejected")


def describe(doc: dict[str, Any]) -> str:
    """Return a one-paragraph description of a submission's status document."""
    lines = [f"submission {doc['submission']} ({doc['challenge']}, team {doc['team']}): {doc['status']}"]
    if doc.get("queue_position"):
        lines.append(f"position {doc['queue_position']} in the queue")
    if doc.get("attempts"):
        lines.append(f"attempt {doc['attempts']} of {doc.get('max_attempts') or '?'}")
    res = doc.get("result") or {}
    if res.get("mean") is not None:
        ci = res.get("ci95")
        lines.append(f"score {res['mean']:.4f}" + (f" (95% CI {ci[0]:.4f}..{ci[1]:.4f})" if ci else ""))
    elif res.get("ratchet"):
        lines.append("scored: see the leaderboard for the public score")
    if doc.get("error"):
        lines.append(str(doc["error"]).strip())
    return "\n".join(lines)


def local_check(challenge: str, path: Path, say: Any) -> None:
    """Validate ``path`` with the server's validator before uploading (raises SubmissionError).

    Without the challenge's prepared data here, only the file's schema is checked; the server
    checks the rest.
    """
    from dataperf.challenges import get_challenge
    from dataperf.errors import DataError
    from dataperf.evaluator import load_data, validate
    from dataperf.kinds import KINDS
    from dataperf.submission import read_submission

    spec = get_challenge(challenge)
    try:
        data = load_data(spec)
    except DataError:
        read_submission(path, KINDS.get(spec.kind).columns, spec.id)
        say("prepared data not found here: checked the file's schema only; the server checks the rest")
        return
    validate(spec, path, data)
    say(f"{path.name}: valid for {spec.id} (checked here with the server's validator)")


def submit(challenge: str, file: Path, *, server: str | None, wait_s: float | None, as_json: bool) -> int:
    """Validate locally, upload, and (with ``wait_s``: at most that many seconds) follow the
    submission until it finishes."""
    from dataperf.client import Client, ServerError, load_login

    quiet = as_json
    say = (lambda m: None) if quiet else (lambda m: print(m, file=sys.stderr, flush=True))
    local_check(challenge, file, say)
    with Client(load_login(server)) as c:
        try:
            answer = c.submit(challenge, file)
        except ServerError as e:
            if e.body.get("violations"):
                from dataperf.errors import Violation

                raise SubmissionError([Violation(**v) for v in e.body["violations"]]) from None
            raise
        sid = answer["submission"]
        q = answer["quota"]
        dup = " (identical content already submitted: not charged)" if answer["duplicate"] else ""
        say(
            f"submission {sid} accepted{dup}: {answer['status']}"
            + (f", position {answer['queue_position']} in the queue" if answer.get("queue_position") else "")
        )
        say(f"quota: {q['used']} of {q['limit']} used today; resets at {q['reset_at']}")
        say(f"follow it: {c.login.url}/submissions/{sid}")
        if wait_s is None:
            if quiet:
                print_json(answer)
            return 0
        doc = wait(c, sid, wait_s, say)
    if quiet:
        print_json(doc)
    else:
        print(describe(doc))
    if doc["status"] == "rejected":
        return 2
    return 0 if doc["status"] == "done" else 1


def wait(client: Any, sid: int, timeout: float, say: Any) -> dict[str, Any]:
    """Poll submission ``sid`` until it finishes (printing each change); return its status."""
    start = time.monotonic()
    last = None
    delay = 0.5
    while True:
        doc = client.status(sid)
        seen = (doc["status"], doc.get("queue_position"), doc.get("attempts"))
        if seen != last:
            pos = f", position {doc['queue_position']}" if doc.get("queue_position") else ""
            attempt = doc.get("attempts") or 0
            say(f"[{time.monotonic() - start:6.1f}s] {doc['status']}{pos} (attempt {attempt})")
            last = seen
        if doc["status"] in FINAL:
            return doc  # type: ignore[no-any-return]
        if time.monotonic() - start > timeout:
            raise DataPerfError(
                f"submission {sid} still {doc['status']} after {timeout:g} s; check later with 'dataperf status {sid}'"
            )
        time.sleep(delay)
        delay = min(delay * 1.5, 3.0)


def leaderboard(challenge: str, server: str | None, fmt: str) -> int:
    """Print a challenge's leaderboard as the server shows it, as ``json``, ``csv`` or a ``table``."""
    from dataperf.cli.output import print_board
    from dataperf.client import Client, load_login

    with Client(load_login(server)) as c:
        board = c.request("GET", f"/api/challenges/{challenge}/leaderboard")
    pub = "published" if board.get("published") else "public"
    title = f"{board['challenge']} ({board['kind']}, {board['metric']}; {pub}: {board.get('scope', '')})"
    print_board(board, fmt, title)
    return 0
