"""Backing up and restoring the leaderboard database.

SQLite uses the online backup API (a consistent copy while the server and workers keep
writing); PostgreSQL uses ``pg_dump`` in its custom format and ``pg_restore``. A restore
replaces what the target database holds with the backup's content. Submission files live in
the data home's content-addressed store (``submissions/``), not in the database: back that
folder up beside the database file.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url

from dataperf.errors import DataPerfError, InputError


def _sqlite_path(url: str) -> Path:
    path = make_url(url).database
    if not path or path == ":memory:":
        raise InputError(f"the database URL {url!r} names no SQLite file")
    return Path(path)


def _pg_args(url: str) -> tuple[list[str], dict[str, str]]:
    """Return the libpq connection arguments of ``url`` and the environment holding its password."""
    u = make_url(url)
    args = [
        "-h",
        u.host or "127.0.0.1",
        "-p",
        str(u.port or 5432),
        "-U",
        u.username or "postgres",
        "-d",
        u.database or "",
    ]
    env = dict(os.environ)
    if u.password:
        env["PGPASSWORD"] = str(u.password)
    return args, env


def _tool(name: str) -> str:
    found = shutil.which(name) or next(
        (str(p) for p in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True)), None
    )
    if found is None:
        raise DataPerfError(f"{name} is not installed (Debian's postgresql-client provides it)")
    return found


def _run(cmd: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=3600, check=False)
    if done.returncode != 0:
        raise DataPerfError(f"{Path(cmd[0]).name} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")


def backup(url: str, dest: Path) -> Path:
    """Write a consistent backup of the database at ``url`` to ``dest`` (replaced atomically)."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.partial")
    tmp.unlink(missing_ok=True)
    try:
        if url.startswith("sqlite"):
            src = sqlite3.connect(_sqlite_path(url))
            out = sqlite3.connect(tmp)
            try:
                with out:
                    src.backup(out)
            finally:
                out.close()
                src.close()
        elif url.startswith("postgresql"):
            args, env = _pg_args(url)
            _run([_tool("pg_dump"), "--format=custom", "--no-owner", "--file", str(tmp), *args], env)
        else:
            raise InputError(f"cannot back up {url!r}: only sqlite and postgresql databases are supported")
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return dest


def restore(url: str, src: Path) -> None:
    """Replace the content of the database at ``url`` with the backup at ``src``."""
    src = Path(src)
    if not src.is_file():
        raise InputError(f"{src}: no such backup file")
    if url.startswith("sqlite"):
        with open(src, "rb") as fh:
            if fh.read(16) != b"SQLite format 3\x00":
                raise InputError(f"{src}: not a SQLite backup")
        from_db = sqlite3.connect(f"file:{src}?mode=ro", uri=True)
        target = _sqlite_path(url)
        target.parent.mkdir(parents=True, exist_ok=True)
        to_db = sqlite3.connect(target)
        try:
            with to_db:
                from_db.backup(to_db)
        finally:
            to_db.close()
            from_db.close()
    elif url.startswith("postgresql"):
        args, env = _pg_args(url)
        _run([_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--exit-on-error", *args, str(src)], env)
    else:
        raise InputError(f"cannot restore into {url!r}: only sqlite and postgresql databases are supported")
