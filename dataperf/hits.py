"""Per-row correctness, stored compactly: one bit per (seed, row).

What a board's significance tiers are computed from (a paired bootstrap over shared test rows,
see :mod:`leaderboard.boards.tiers`): for each seed of the fixed model, whether it got each
test row right. :func:`pack_hits` turns a boolean ``(seeds, rows)`` array into text (JSON-ready:
a result's extras, a cell's record): the number of rows, a colon, then base64 of the bits
(``numpy.packbits`` along the rows, one seed after another); :func:`unpack_hits` reverses it.
"""

from __future__ import annotations

import base64

import numpy as np


def pack_hits(hits: np.ndarray) -> str:
    """Return a boolean ``(seeds, rows)`` correctness array as text (one bit per entry)."""
    arr = np.asarray(hits, dtype=bool)
    if arr.ndim != 2:
        raise ValueError(f"hits must be a (seeds, rows) array, got shape {arr.shape}")
    return packed_text(np.packbits(arr, axis=1), arr.shape[1])


def packed_text(bits: np.ndarray, rows: int) -> str:
    """Return the text of already packed ``(seeds, bytes)`` bits of ``rows`` rows."""
    return f"{rows}:" + base64.b64encode(np.ascontiguousarray(bits, dtype=np.uint8).tobytes()).decode("ascii")


def unpack_hits(text: str, seeds: int) -> np.ndarray:
    """Return the boolean ``(seeds, rows)`` array :func:`pack_hits` packed."""
    head, _, body = text.partition(":")
    if not head.isdigit():
        raise ValueError(f"packed hits must start with their number of rows, got {text[:20]!r}")
    rows = int(head)
    raw = np.frombuffer(base64.b64decode(body.encode("ascii"), validate=True), dtype=np.uint8)
    width = (rows + 7) // 8
    if raw.size != seeds * width:
        raise ValueError(f"packed hits hold {raw.size} bytes, expected {seeds * width} for {seeds} x {rows}")
    return np.unpackbits(raw.reshape(seeds, width), axis=1, count=rows).astype(bool)
