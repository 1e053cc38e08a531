"""Content hashes, and a stamp cache so unchanged files are not hashed on every run."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

CHUNK = 1 << 20


def sha256_bytes(data: bytes) -> str:
    """Return the hex sha256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    """Return the hex sha256 of the file at ``path``."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _stamp(path: Path) -> list[int]:
    st = path.stat()
    return [st.st_size, st.st_mtime_ns, st.st_ino]


def cached_sha256(path: Path, cache_file: Path) -> str:
    """Return the sha256 of ``path``, reusing the one in ``cache_file`` if the file's size,
    modification time and inode are unchanged since it was computed."""
    cache: dict[str, list[object]] = {}
    if cache_file.exists():
        try:
            cache = json.loads(cache_file.read_text())
        except ValueError:
            cache = {}
    key = path.name
    stamp = _stamp(path)
    hit = cache.get(key)
    if isinstance(hit, list) and len(hit) == 2 and hit[0] == stamp:
        return str(hit[1])
    sha = sha256_file(path)
    cache[key] = [stamp, sha]
    tmp = cache_file.with_suffix(f".tmp{os.getpid()}")
    try:
        tmp.write_text(json.dumps(cache))
        os.replace(tmp, cache_file)
    except OSError:
        pass  # a read-only data folder (e.g. mounted in a container) still verifies, uncached
    return sha
