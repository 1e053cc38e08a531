"""Where dataperf keeps its files. Read lazily: importing this module reads nothing."""

from __future__ import annotations

import os
from pathlib import Path


def home() -> Path:
    """Return the data home: ``$DATAPERF_HOME``, else ``~/.cache/dataperf``."""
    env = os.environ.get("DATAPERF_HOME")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "dataperf"


def challenges_dir() -> Path:
    """Return the folder of challenge specs: ``$DATAPERF_CHALLENGES``, else the shipped one."""
    env = os.environ.get("DATAPERF_CHALLENGES")
    if env:
        return Path(env).expanduser()
    return Path(__file__).resolve().parent.parent / "challenges"


def data_dir(challenge: str, version: int) -> Path:
    """Return the folder holding a challenge version's prepared data."""
    return home() / "data" / challenge / f"v{version}"
