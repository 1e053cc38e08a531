"""The values the ratchet's arithmetic passes around: rows, scores and work counters.

They hold numbers only (no database row, no spec), so the arithmetic layer and every layer
above it share one definition.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Protocol

import numpy as np

from dataperf.metrics import Metric

Rows = dict[str, tuple[np.ndarray, np.ndarray]]
"""Per task: (x float32 rows, labels) of one set; a test set's labels are the ground truth."""
Scores = dict[str, dict[int, float]]
"""Per task, per seed: the metric."""
Hits = dict[str, str]
"""Per task: which test rows each seed's model got right, packed (:func:`dataperf.hits.pack_hits`)."""
CellValue = tuple[Scores, Scores | None, Hits | None]
"""What one cell holds: the metric and the test set's hardness measure per task and seed, and the
per-row correctness (None when not measured)."""


@dataclass
class RatchetCounters:
    """The work one ratchet step did (part of every ratchet result)."""

    fits: int = 0
    """Fixed-model fits (one per task and seed of a new training set)."""
    predictions: int = 0
    """One fitted model predicting one test set's rows of one task, one model at a time."""
    batched_passes: int = 0
    """Batched scoring passes (a new test set against every cached model)."""
    matmuls: int = 0
    """Matrix products inside batched passes (one per task; each covers every seed and model)."""
    models_scored: int = 0
    """Fitted models scored inside batched passes."""
    exact_rechecks: int = 0
    """Models with a batched decision too close to the boundary for float32, re-checked in
    float64, so batched results equal one-by-one results bit for bit."""
    cells_computed: int = 0
    cells_reused: int = 0

    def as_dict(self) -> dict[str, int]:
        """Return the counters as a plain dict."""
        return asdict(self)

    def add(self, other: RatchetCounters) -> None:
        """Add ``other``'s counts to these."""
        for key, value in other.as_dict().items():
            setattr(self, key, getattr(self, key) + value)


class Scoring(Protocol):
    """What scoring needs to know of a ratchet problem: its tasks, metric and label domains."""

    @property
    def task_names(self) -> list[str]:
        """The task names in spec order."""
        ...

    metric_name: str
    """The metric's registered name."""
    metric: Metric
    """The metric: (truth, predictions, number of classes) -> value."""

    def n_classes(self, task_index: int) -> int:
        """Return the size of task ``task_index``'s label domain."""
        ...
