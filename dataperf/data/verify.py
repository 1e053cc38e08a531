"""Check a prepared-data folder against its Croissant record (no NumPy or Arrow needed)."""

from __future__ import annotations

from pathlib import Path

from dataperf.data.croissant import read_file_hashes
from dataperf.errors import DataError
from dataperf.hashing import STAMP_CACHE, cached_sha256s


def verified_hashes(challenge: str, version: int, folder: Path, *, check: bool = True) -> dict[str, str]:
    """Return {file name: sha256} recorded in ``folder``'s Croissant file, after checking every
    file against it (unless ``check`` is False). Unchanged files are not re-hashed (stamp cache).

    Raises DataError when the data was never prepared, a file is missing, or a file changed.
    """
    meta = folder / "croissant.json"
    if not meta.exists():
        raise DataError(
            f"no prepared data for {challenge} v{version} in {folder}: run 'dataperf prepare {challenge}' first"
        )
    hashes = read_file_hashes(meta)
    if not check:
        return hashes
    paths = {name: folder / name for name in sorted(hashes)}
    for path in paths.values():
        if not path.exists():
            raise DataError(f"{path}: missing (prepared data is incomplete; run 'dataperf prepare --force')")
    got = cached_sha256s(paths.values(), folder / STAMP_CACHE)
    for name, expected in sorted(hashes.items()):
        if got[paths[name]] != expected:
            raise DataError(
                f"{paths[name]}: sha256 is {got[paths[name]]}, Croissant records {expected}; the file changed "
                f"after it was prepared (run 'dataperf prepare {challenge} --force')"
            )
    return hashes
