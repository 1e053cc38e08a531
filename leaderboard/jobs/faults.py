"""What a participant is told about a failure of the platform, and what the server's log keeps.

A participant sees an error id and one line (the exception's kind and its first line, with
file-system paths left out); the server's log keeps the full traceback under the same id, so
an organizer can find it from what the participant reports.
"""

from __future__ import annotations

import logging
import re
import secrets

LOG = logging.getLogger("dataperf.jobs")
_PATH = re.compile(r"(?:[A-Za-z]:)?[\\/][^\s'\",:;)\]]+")


def one_line(e: BaseException, limit: int = 200) -> str:
    """Return ``e`` as one line a participant may read: its kind and the first line of its
    message, every file-system path replaced by ``<path>``, at most ``limit`` characters."""
    text = str(e).strip().splitlines()[0] if str(e).strip() else ""
    text = _PATH.sub("<path>", text)
    line = f"{type(e).__name__}: {text}" if text else type(e).__name__
    return line if len(line) <= limit else line[: limit - 3] + "..."


def report(e: BaseException, context: str) -> str:
    """Log ``e`` with its traceback under a fresh error id; return what the participant is
    shown: ``error <id>: <one line>``."""
    eid = secrets.token_hex(6)
    LOG.error("error %s (%s): %s", eid, context, e, exc_info=(type(e), e, e.__traceback__))
    return f"error {eid}: {one_line(e)}"
