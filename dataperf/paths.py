"""Where dataperf keeps its files. Read lazily: importing this module reads nothing."""

from __future__ import annotations

import os
from pathlib import Path


def home() -> Path:
    """Return the data home: ``$DATAPERF_HOME``, else ``~/.cache/dataperf``."""
    env = os.environ.get("DATAPERF_HOME")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "dataperf"


def builtin_challenges_dir() -> Path:
    """Return the folder of the challenge specs that ship with dataperf.

    The built-in specs are edited in ``challenges/`` beside the package in a source checkout;
    an installed wheel carries them as ``dataperf/builtin_challenges`` (see setup.py).
    """
    package = Path(__file__).resolve().parent
    shipped = package / "builtin_challenges"
    return shipped if shipped.is_dir() else package.parent / "challenges"


def challenge_dirs() -> list[Path]:
    """Return the folders of challenge specs, in order: the built-in one, every folder of
    ``$DATAPERF_CHALLENGES`` (colon-separated; ``--challenges DIR`` adds to it), then each
    folder of :func:`hosted_dir` (the challenges an organizer added to this data home with
    ``dataperf admin add-challenge``).

    ``DATAPERF_BUILTIN_CHALLENGES=0`` leaves the built-in folder out (a folder of tiny variants
    of the built-in challenges, for tests, then stands alone).
    """
    extra = [Path(p).expanduser() for p in os.environ.get("DATAPERF_CHALLENGES", "").split(os.pathsep) if p]
    builtin = os.environ.get("DATAPERF_BUILTIN_CHALLENGES", "1").strip().lower() not in ("0", "no", "false", "off")
    hosted = hosted_dir()
    groups = sorted(p for p in hosted.iterdir() if p.is_dir() and not p.name.startswith(".")) if hosted.is_dir() else []
    out = ([builtin_challenges_dir()] if builtin else []) + extra + groups
    return list(dict.fromkeys(p.resolve() for p in out))


def hosted_dir() -> Path:
    """Return the folder of the challenges added to this data home (one folder per challenge
    that trains or stands alone, its dual beside it)."""
    return home() / "challenges"


def challenges_dir() -> Path:
    """Return the first folder of :func:`challenge_dirs` (the built-in one unless it is left out)."""
    dirs = challenge_dirs()
    return dirs[0] if dirs else builtin_challenges_dir()


def data_dir(challenge: str, version: int) -> Path:
    """Return the folder holding a challenge version's prepared data."""
    return home() / "data" / challenge / f"v{version}"
