"""Content hashes, and a stamp cache so unchanged files are not hashed on every run."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path

CHUNK = 1 << 20
STAMP_CACHE = ".sha256-cache.json"
"""The stamp cache's file name inside a prepared folder."""


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


def _read_cache(cache_file: Path) -> dict[str, list[object]]:
    try:
        cache = json.loads(cache_file.read_text())
    except (OSError, ValueError):
        return {}
    return cache if isinstance(cache, dict) else {}


def _write_cache(cache_file: Path, cache: dict[str, list[object]]) -> None:
    tmp = cache_file.with_suffix(f".tmp{os.getpid()}")
    try:
        tmp.write_text(json.dumps(cache))
        os.replace(tmp, cache_file)
    except OSError:
        pass  # a read-only data folder (e.g. mounted in a container) still verifies, uncached


def sha256_files(paths: Iterable[Path]) -> dict[Path, str]:
    """Return the sha256 of each file, hashing several files at once on as many threads as
    there are cores (hashlib releases the GIL, so large files hash in parallel)."""
    paths = list(paths)
    if len(paths) < 2:
        return {p: sha256_file(p) for p in paths}
    from concurrent.futures import ThreadPoolExecutor

    # the largest first, so one big file does not start last and hold up the end
    order = sorted(paths, key=lambda p: p.stat().st_size, reverse=True)
    with ThreadPoolExecutor(max_workers=min(len(order), os.cpu_count() or 1)) as pool:
        return dict(zip(order, pool.map(sha256_file, order), strict=True))


def cached_sha256s(paths: Iterable[Path], cache_file: Path) -> dict[Path, str]:
    """Return the sha256 of each file, reusing the digests in ``cache_file`` for files whose
    size, modification time and inode are unchanged since they were computed; the misses are
    hashed (in parallel) and recorded. The cache is read once and written at most once."""
    cache = _read_cache(cache_file)
    stamps = {p: _stamp(p) for p in paths}
    out: dict[Path, str] = {}
    missing = []
    for p, stamp in stamps.items():
        hit = cache.get(p.name)
        if isinstance(hit, list) and len(hit) == 2 and hit[0] == stamp:
            out[p] = str(hit[1])
        else:
            missing.append(p)
    if missing:
        for p, sha in sha256_files(missing).items():
            out[p] = sha
            cache[p.name] = [stamps[p], sha]
        _write_cache(cache_file, cache)
    return out


def cached_sha256(path: Path, cache_file: Path) -> str:
    """Return the sha256 of ``path``, reusing the one in ``cache_file`` if the file's size,
    modification time and inode are unchanged since it was computed."""
    return cached_sha256s([path], cache_file)[path]


def hash_folder(folder: Path) -> dict[str, str]:
    """Return {file name: sha256} of every file directly in ``folder`` (hidden files aside),
    hashed in parallel, and record them in the folder's stamp cache, so that the first check
    after preparation trusts these digests instead of reading every file again."""
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    got = cached_sha256s(files, folder / STAMP_CACHE)
    return {p.name: got[p] for p in files}
