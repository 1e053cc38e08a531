"""One split of a raw source, as a source returns it (before embedding)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Raw:
    """One split of a raw source.

    ``x`` is a 2-D float32 array of inputs; for sequence sources each row is one frame and
    ``lengths`` says how many consecutive frames make one example. Text sources carry their
    examples in ``text`` (one string per label) and an ``x`` with no columns.
    """

    x: np.ndarray
    y: np.ndarray
    lengths: np.ndarray | None = None
    text: tuple[str, ...] | None = None

    def __len__(self) -> int:
        return len(self.y)
