"""Replay a hostile participant's attack cases against a live server on loopback and report how
they were answered: cases tried, refused cleanly (a 4xx with a JSON or HTML refusal), 500s seen
(must be 0), and the time and the server's peak memory for the worst refused upload at the
default size limit (median of 3).

Every case is bounded (at most one upload of the default size limit at a time, a few hundred
small requests); the server runs on 127.0.0.1 in a scratch data home with the tiny challenges.

    .venv/bin/python -m benchmarks.attack [--data PREPARED_DATA_FOLDER] [--keep]
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from benchmarks._server import scratch_env, start_server, stop
from dataperf.submission import MAX_BYTES

PREPARE = """
from dataperf.challenges import challenges
from dataperf.data.prepare import prepare
reg = challenges()
for n in reg.names():
    prepare(reg.get(n))
"""


def peak_rss_mb(pid: int) -> float:
    """Return the peak resident memory (VmHWM) of process ``pid`` in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def reset_peak(pid: int) -> None:
    """Reset the kernel's peak-memory mark of ``pid`` (Linux: write 5 to clear_refs)."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        pass


def worst_uploads(tmp: Path) -> dict[str, Path]:
    """Write the refused uploads that cost the server most, each at the default size limit."""
    out: dict[str, Path] = {}
    limit = MAX_BYTES - 1024
    # a valid header and rows with bad values all the way down: every row is parsed and judged
    bad = tmp / "bad-values.csv"
    row = b"shirt,notanumber,x\n"
    with bad.open("wb") as fh:
        fh.write(b"task,id,label\n")
        fh.write(row * ((limit - 20) // len(row)))
    out["csv full of bad values"] = bad
    # rows that are one field too wide
    wide = tmp / "wide-rows.csv"
    row = b"shirt,1,0,0\n"
    with wide.open("wb") as fh:
        fh.write(b"task,id,label\n")
        fh.write(row * ((limit - 20) // len(row)))
    out["csv of malformed rows"] = wide
    # one JSON list of row objects, every one invalid
    js = tmp / "objects.json"
    obj = b'{"task":"shirt","id":"x","label":"y"},'
    n = min((limit - 2) // len(obj), 1_900_000)
    with js.open("wb") as fh:
        fh.write(b"[" + obj * (n - 1) + obj[:-1] + b"]")
    out["json of invalid rows"] = js
    # as many Parquet rows as are accepted, every value of the wrong type
    import pyarrow as pa
    import pyarrow.parquet as pq

    from dataperf.submission import MAX_ROWS

    n = MAX_ROWS - 1
    pqt = tmp / "bad-values.parquet"
    pq.write_table(pa.table({"task": ["shirt"] * n, "id": ["x"] * n, "label": ["y"] * n}), pqt)
    out["parquet full of bad values"] = pqt
    return out


class Answering(httpx.HTTPTransport):
    """A transport that turns a dropped connection into a 599 answer: the server failed to
    answer, which counts like a 500."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return super().handle_request(request)
        except httpx.TransportError as e:
            return httpx.Response(599, text=f"no answer: {e}", request=request)


def run_cases(url: str, token: str, other: str) -> tuple[int, int, int, list[str]]:
    """Run every small attack case; return (tried, refused cleanly, 500s, notes)."""
    h = {"Authorization": f"Bearer {token}"}
    tried = refused = errors = 0
    notes: list[str] = []

    def judge(name: str, r: httpx.Response, ok: Callable[[httpx.Response], bool]) -> None:
        nonlocal tried, refused, errors
        tried += 1
        if r.status_code >= 500:
            errors += 1
            notes.append(f"{name}: {r.status_code} {r.text[:200]}")
        elif ok(r):
            refused += 1
        else:
            notes.append(f"{name}: answered {r.status_code} {r.text[:200]}")

    with httpx.Client(base_url=url, timeout=120, transport=Answering()) as c:

        def up(name: str, body: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
            return c.post(
                "/api/challenges/tiny-selection/submissions",
                params={"filename": name},
                content=body,
                headers=headers or h,
            )

        def is_4xx(r: httpx.Response) -> bool:
            return 400 <= r.status_code < 500 and "Traceback" not in r.text

        wide = b"\n" + b",".join(b"c%d" % i for i in range(300_000)) + b"\n1\n"
        judge("csv width after a blank line", up("wide.csv", wide), lambda r: is_4xx(r) and len(r.content) < 10_000)
        judge("csv with CR-only lines", up("mac.csv", b"task,id,label\rshirt,-5,0\r"), is_4xx)
        judge("gzip named .csv", up("g.csv", gzip.compress(b"task,id,label\nshirt,1,0\n")), is_4xx)
        judge("non-UTF-8 csv", up("l.csv", b"task,id,label\nshirt,1,\xff\n"), is_4xx)
        long_name = "é" * 150 + ".csv"
        judge("150 two-byte characters as a name", up(long_name, b"task,id,label\nshirt,-1,0\n"), is_4xx)
        judge("right-to-left override in a name", up("a\u202egpj.csv", b"task,id,label\nshirt,-1,0\n"), is_4xx)
        judge("path in a name", up("../../etc/x.csv", b"task,id,label\nshirt,-1,0\n"), is_4xx)
        judge("id beyond 64 bits", c.get(f"/api/submissions/{2**64}"), is_4xx)
        judge("another team's unscored submission", c.get("/api/submissions/1"), lambda r: r.status_code == 404)
        judge(
            "another team's unscored submission page",
            c.get("/submissions/1"),
            lambda r: r.status_code == 404 and "sha256" not in r.text,
        )
        judge(
            "cross-site login post",
            c.post("/login", data={"token": token}, headers={"Origin": "http://evil.example"}),
            lambda r: r.status_code == 403,
        )
        judge(
            "cross-site logout post",
            c.post("/logout", data={}, headers={"Origin": "http://evil.example"}),
            lambda r: r.status_code == 403,
        )
        page = c.get("/")
        judge(
            "security headers",
            page,
            lambda r: (
                "frame-ancestors 'none'" in r.headers.get("content-security-policy", "")
                and r.headers.get("x-content-type-options") == "nosniff"
            ),
        )
        judge(
            "csv export formulas",
            c.get("/api/challenges/tiny-selection/leaderboard.csv"),
            lambda r: r.status_code == 200 and "\n=" not in r.text and ",=" not in r.text,
        )
        for n in (10**6, -5, 2**40):
            judge(f"page {n}", c.get(f"/challenges/tiny-selection?page={n}"), lambda r: r.status_code in (200, 422))
        statuses = []
        for i in range(200):
            r = c.get("/api/quota", headers={"Authorization": f"Bearer dp_guess{i}"})
            statuses.append(r.status_code)
            if r.status_code >= 500:
                errors += 1
        tried += 1
        limited = statuses.count(429)
        if limited >= 150 and 500 not in statuses:
            refused += 1
        else:
            notes.append(f"200 wrong tokens: only {limited} answered 429")
        notes.append(f"200 wrong tokens: {statuses.count(401)} answered 401, {limited} answered 429")
        r = c.get("/api/quota", headers={"Authorization": "Bearer dp_more"})
        notes.append(f"after them: {r.status_code}, Retry-After {r.headers.get('retry-after')}")
        hb = {"Authorization": f"Bearer {other}"}
        codes = [up("bad.csv", b"task,id,label\nshirt,x,y\n", hb).status_code for _ in range(40)]
        tried += 1
        if 429 in codes and all(x in (422, 429) for x in codes):
            refused += 1
        else:
            notes.append(f"40 quick invalid uploads: {codes}")
        errors += sum(1 for x in codes if x >= 500)
    return tried, refused, errors, notes


def _wait_for_upload(url: str, token: str) -> float:
    """Return how long until an empty upload from here is no longer rate limited (0: now)."""
    r = httpx.post(
        f"{url}/api/challenges/tiny-selection/submissions",
        params={"filename": "probe.csv"},
        content=b"",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    return float(r.headers.get("retry-after", 0)) + (1.0 if r.status_code == 429 else 0.0)


def make_team(env: dict[str, str], db: str, name: str) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "dataperf.cli", "admin", "create-team", name, "--db", db, "--json"],
        env=env,
        check=True,
        capture_output=True,
    )
    return str(json.loads(out.stdout)["token"])


def main() -> None:
    """Run the attack replay and print its JSON report."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=None, help="prepared data folder to reuse (else prepared here)")
    ap.add_argument("--runs", type=int, default=3, help="repeats of each large upload (median)")
    ap.add_argument("--keep", action="store_true", help="keep the scratch folder")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="dataperf-attack-"))
    env = scratch_env(tmp / "home", args.data)
    db = f"sqlite:///{tmp / 'home' / 'server.db'}"
    if args.data is None:
        subprocess.run([sys.executable, "-c", PREPARE], env=env, check=True)
    server, url = start_server(env, db, tmp / "serve.log")
    try:
        victim = make_team(env, db, "victim")
        with httpx.Client(base_url=url, timeout=60) as c:  # a queued submission of another team
            body = b"task,id,label\nshirt,1,0\nshirt,2,1\nsneaker,3,0\nsneaker,4,1\n"
            c.post(
                "/api/challenges/tiny-selection/submissions",
                params={"filename": "victim.csv"},
                content=body,
                headers={"Authorization": f"Bearer {victim}"},
            )
        attacker = make_team(env, db, "attacker")
        tried, refused, errors, notes = run_cases(url, attacker, make_team(env, db, "flooder"))
        big: dict[str, Any] = {}
        heavy = make_team(env, db, "heavy")
        for name, path in worst_uploads(tmp).items():
            times, peaks, codes = [], [], []
            for _ in range(args.runs):
                # the flood above spent this address's upload allowance: wait until it is back
                while (r := httpx.get(f"{url}/api/health", timeout=10)).status_code != 200:
                    time.sleep(1)
                time.sleep(_wait_for_upload(url, heavy))
                reset_peak(server.pid)
                base = peak_rss_mb(server.pid)
                t0 = time.perf_counter()
                with path.open("rb") as fh:
                    r = httpx.post(
                        f"{url}/api/challenges/tiny-selection/submissions",
                        params={"filename": path.name},
                        content=fh.read(),
                        headers={"Authorization": f"Bearer {heavy}"},
                        timeout=600,
                    )
                times.append(time.perf_counter() - t0)
                peaks.append(peak_rss_mb(server.pid) - base)
                codes.append(r.status_code)
                tried += 1
                if r.status_code >= 500:
                    errors += 1
                elif 400 <= r.status_code < 500 and len(r.content) < 1_000_000:
                    refused += 1
            big[name] = {
                "bytes": path.stat().st_size,
                "status": codes,
                "median_s": round(statistics.median(times), 3),
                "server_peak_rss_growth_mb": round(statistics.median(peaks), 1),
                "server_peak_rss_mb": round(peak_rss_mb(server.pid), 1),
            }
        worst = max(big, key=lambda k: big[k]["median_s"])
        report = {
            "cases_tried": tried,
            "refused_cleanly": refused,
            "server_errors_500": errors,
            "worst_refused_upload": {"case": worst} | big[worst],
            "large_refused_uploads": big,
            "limit_bytes": MAX_BYTES,
            "notes": notes,
        }
        print(json.dumps(report, indent=2))
    finally:
        stop(server)
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
