"""Check a challenge spec file and its data before it is hosted (``dataperf challenges check``).

The spec is loaded as the registry would load it (its pair, if any, from the same folder);
for ``source: files`` every table is read and checked, and every violation is reported at once
with its file, row and column (:mod:`dataperf.data.files`). The report says what participants
will see of each split.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from dataperf.challenges import load_spec
from dataperf.errors import SpecError


@dataclass(frozen=True)
class SplitReport:
    """What one split holds and what participants see of it."""

    name: str
    rows: int | None
    """Rows of the table (None for a registered source: the recipe's size is used)."""
    features: int | None
    public_labels: int | None
    """Rows whose label participants see (None for a registered source)."""


@dataclass(frozen=True)
class CheckReport:
    """The outcome of a successful check."""

    file: str
    id: str
    version: int
    kind: str
    source: str
    classes: list[str]
    tasks: list[dict[str, Any]]
    splits: list[SplitReport] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Return the report as JSON-ready data."""
        return asdict(self)


def check_challenge_file(path: Path) -> CheckReport:
    """Return what participants will see of the challenge in ``path``; raise SpecError naming
    the YAML key, or every violation of its data files (file, row, column), when it is refused."""
    spec = load_spec(path)
    splits: list[SplitReport] = []
    if spec.data.from_files:
        from dataperf.data.files import load_tables

        for name, t in load_tables(spec, path.parent).items():
            splits.append(SplitReport(name, len(t.ids), int(t.x.shape[1]), int((t.public >= 0).sum())))
    else:
        from dataperf.data.sources import SOURCES

        if spec.data.source not in SOURCES:
            raise SpecError(f"{path}: data.source: {SOURCES.miss_message(spec.data.source)}")
        dim = spec.data.embedding.dim if spec.data.embedding is not None else None
        splits = [SplitReport(n, sp.size, dim, None) for n, sp in spec.data.splits.items()]
    tasks = [
        {
            "name": t.name,
            "budget": spec.task_budget(t),
            "positive": None if t.positive is None else spec.classes[t.positive],
        }
        for t in spec.tasks
    ]
    return CheckReport(str(path), spec.id, spec.version, spec.kind, spec.data.source, list(spec.classes), tasks, splits)
