"""Where dataperf keeps its files. Read lazily: importing this module reads nothing."""

from __future__ import annotations

import os
from pathlib import Path


def home() -> Path:
    """Return the data home: ``$DATAPERF_HOME``, else ``~/.cache/dataperf``."""
    env = os.environ.get("DATAPERF_HOME")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "dataperf"


def challenges_dir() -> Path:
    """Return the folder of challenge specs: ``$DATAPERF_CHALLENGES``, else the built-in one.

    The built-in specs are edited in ``challenges/`` beside the package in a source checkout;
    an installed wheel carries them as ``dataperf/builtin_challenges`` (see setup.py).
    """
    env = os.environ.get("DATAPERF_CHALLENGES")
    if env:
        return Path(env).expanduser()
    package = Path(__file__).resolve().parent
    shipped = package / "builtin_challenges"
    return shipped if shipped.is_dir() else package.parent / "challenges"


def data_dir(challenge: str, version: int) -> Path:
    """Return the folder holding a challenge version's prepared data."""
    return home() / "data" / challenge / f"v{version}"
