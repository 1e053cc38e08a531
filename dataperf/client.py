"""The command line's side of the server: where the login is kept and an HTTP client.

``dataperf login URL --token T`` keeps ``{"url": ..., "token": ...}`` in ``<data home>/login.json``
(mode 0600). ``$DATAPERF_SERVER`` and ``$DATAPERF_TOKEN`` override it (for scripts and CI).
Every refusal of the server becomes a :class:`~dataperf.errors.DataPerfError` carrying the
server's own message, so the CLI prints it and exits non-zero.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dataperf.errors import DataPerfError, InputError
from dataperf.paths import home

BUSY_RETRIES = 5
"""How many times :meth:`Client.submit` sends an upload again after a 503 ``database_busy``."""


class ServerError(DataPerfError):
    """The server refused a request or could not be reached; the message is the server's.

    A refusal (4xx: an invalid file, no quota left, a bad token) exits 2 like any refused input;
    an unreachable server or the server's own failure (5xx) exits 1."""

    def __init__(
        self,
        message: str,
        status: int | None = None,
        body: dict[str, Any] | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = body or {}
        self.retry_after = retry_after
        """The seconds the server asked to wait before sending it again (``Retry-After``), if any."""
        self.exit_code = 2 if status is not None and 400 <= status < 500 else 1


def login_path() -> Path:
    """Return the file holding the login."""
    return home() / "login.json"


def save_login(url: str, token: str) -> Path:
    """Store ``url`` and ``token`` in the login file, readable by the owner only; return its path."""
    path = login_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({"url": url.rstrip("/"), "token": token}, f)
    os.chmod(path, 0o600)
    return path


@dataclass(frozen=True)
class Login:
    """Where the server is and the team's token ('' if none)."""

    url: str
    token: str


def load_login(url: str | None = None) -> Login:
    """Return the login: ``url`` if given, else ``$DATAPERF_SERVER``, else the stored one.

    Raises DataPerfError when no server is known.
    """
    stored: dict[str, str] = {}
    path = login_path()
    if path.is_file():
        try:
            stored = json.loads(path.read_text())
        except ValueError:
            raise DataPerfError(f"{path}: not valid JSON; run 'dataperf login URL --token TOKEN' again") from None
    server = url or os.environ.get("DATAPERF_SERVER") or stored.get("url")
    if not server:
        raise InputError("no server known: run 'dataperf login URL --token TOKEN' (or set DATAPERF_SERVER)")
    token = os.environ.get("DATAPERF_TOKEN") or (
        stored.get("token", "") if stored.get("url") == server.rstrip("/") else ""
    )
    return Login(server.rstrip("/"), token)


class Client:
    """A small JSON client of the dataperf server API."""

    def __init__(self, login: Login, timeout: float = 60.0) -> None:
        import httpx

        headers = {"Authorization": f"Bearer {login.token}"} if login.token else {}
        self.login = login
        self.http = httpx.Client(base_url=login.url, headers=headers, timeout=timeout)

    def close(self) -> None:
        """Close the connection pool."""
        self.http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(self, method: str, path: str, **kw: Any) -> Any:
        """Send a request and return the decoded JSON (or text); raise ServerError on refusal."""
        import httpx

        try:
            r = self.http.request(method, path, **kw)
        except httpx.HTTPError as e:
            raise ServerError(f"cannot reach the server at {self.login.url}: {e}") from None
        if r.status_code >= 400:
            try:
                body = r.json()
            except ValueError:
                body = {"error": r.text.strip()[:500] or r.reason_phrase}
            msg = body.get("error") if isinstance(body, dict) else None
            wait = r.headers.get("Retry-After", "")
            raise ServerError(
                f"server refused ({r.status_code}): {msg or body}",
                r.status_code,
                body if isinstance(body, dict) else None,
                float(wait) if wait.isdigit() else None,
            )
        if "json" in r.headers.get("content-type", ""):
            return r.json()
        return r.text

    def submit(self, challenge: str, path: Path, *, busy_retries: int = BUSY_RETRIES) -> dict[str, Any]:
        """Upload ``path`` to ``challenge`` and return the server's answer. A busy database (503
        ``database_busy``) is waited out and the upload sent again, up to ``busy_retries`` times:
        the server charged nothing, and answers an upload it stored meanwhile as that submission."""
        tries = 0
        while True:
            try:
                with path.open("rb") as f:
                    return self.request(  # type: ignore[no-any-return]
                        "POST",
                        f"/api/challenges/{challenge}/submissions",
                        params={"filename": path.name},
                        content=f,
                        headers={
                            "Content-Type": "application/octet-stream",
                            "Content-Length": str(path.stat().st_size),
                        },
                    )
            except ServerError as e:
                if e.status != 503 or e.body.get("code") != "database_busy" or tries >= busy_retries:
                    raise
                tries += 1
                time.sleep(min(e.retry_after or 1.0, 30.0))

    def download(self, submission: int, folder: Path) -> Path:
        """Write the file of one of the team's submissions into ``folder`` and return its path
        (named ``submission-<id>`` with the uploaded file's format suffix)."""
        import httpx

        doc = self.status(submission)
        suffix = Path(str(doc.get("filename") or "")).suffix.lower()
        if suffix not in (".parquet", ".csv", ".json"):
            suffix = ".parquet"
        try:
            r = self.http.get(f"/api/submissions/{submission}/file")
        except httpx.HTTPError as e:
            raise ServerError(f"cannot reach the server at {self.login.url}: {e}") from None
        if r.status_code >= 400:
            raise ServerError(f"server refused ({r.status_code}): {r.text.strip()[:500]}", r.status_code)
        path = folder / f"submission-{submission}{suffix}"
        path.write_bytes(r.content)
        return path

    def status(self, submission: int) -> dict[str, Any]:
        """Return a submission's status."""
        return self.request("GET", f"/api/submissions/{submission}")  # type: ignore[no-any-return]
