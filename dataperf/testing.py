"""The public testing kit: tiny challenges for any registered kind, and a conformance check.

A kind author runs :func:`check_kind` on a spec of their kind (with their baselines as
builders); this project's own suite runs the same function over every registered challenge.
:func:`tiny_spec` shrinks any spec (the kind decides how its rules scale), and
:func:`write_challenges` writes specs to a folder ``DATAPERF_CHALLENGES`` can point at.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from dataperf.challenges import PAIRED_KEYS, parse_spec
from dataperf.contract import ChallengeSpec, Role
from dataperf.errors import DataPerfError, SubmissionError
from dataperf.kinds import KINDS, kind_of

if TYPE_CHECKING:
    import pandas as pd

    from dataperf.data.prepared import PreparedData

TINY_ROWS = 240
"""Rows of every split of a tiny spec (at most)."""
TINY_BUDGET = 40
"""Row budget of every task of a tiny spec (at most)."""
FORMATS = (".parquet", ".csv", ".json")

Builder = Callable[[ChallengeSpec, "PreparedData", int], "pd.DataFrame"]
"""Builds a submission table: ``builder(spec, data, seed)`` (a baseline's ``build``)."""


class ConformanceError(DataPerfError):
    """A kind or challenge broke the contract; the message lists every problem found."""


def tiny_spec(spec: ChallengeSpec, rows: int = TINY_ROWS, budget: int = TINY_BUDGET) -> ChallengeSpec:
    """Return ``spec`` shrunk for fast tests by its kind (small splits, budgets, two seeds)."""
    return kind_of(spec).shrink(spec, rows, budget)


def to_document(spec: ChallengeSpec) -> dict[str, object]:
    """Return ``spec`` as the YAML document that loads back into it (a dual without the parts
    it takes from its pair)."""
    doc = spec.model_dump(mode="json")
    if spec.pair is not None:
        for key in PAIRED_KEYS:
            doc.pop(key, None)
    return doc


def write_challenges(specs: Iterable[ChallengeSpec], folder: Path) -> Path:
    """Write each spec as ``<folder>/<id>.yaml`` and return ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for spec in specs:
        (folder / f"{spec.id}.yaml").write_text(yaml.safe_dump(to_document(spec), sort_keys=False))
    return folder


def world_env(spec: ChallengeSpec, prepared: Path, root: Path) -> dict[str, str]:
    """Return an environment (``os.environ`` plus) in which the command line sees ``spec`` alone
    (written under ``root/challenges``, the built-in challenges left out) and its prepared data
    (``prepared``, linked into the data home ``root/home``): for running a kind's CLI in tests."""
    import os

    write_challenges([spec], root / "challenges")
    target = root / "home" / "data" / spec.id / f"v{spec.version}"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.symlink_to(prepared.resolve())
    return {
        **os.environ,
        "DATAPERF_CHALLENGES": str(root / "challenges"),
        "DATAPERF_BUILTIN_CHALLENGES": "0",
        "DATAPERF_HOME": str(root / "home"),
    }


@dataclass
class Report:
    """What :func:`check_kind` checked."""

    challenge: str
    kind: str
    submissions: int = 0
    """Submissions built, validated and scored (builders x formats)."""
    checks: list[str] = field(default_factory=list)


def _check_declarations(spec: ChallengeSpec, problems: list[str]) -> None:
    kind = kind_of(spec)
    if kind.name not in KINDS or KINDS.get(kind.name) is not kind:
        problems.append(f"kind '{kind.name}' is not the registered one")
    if not isinstance(spec, kind.spec_model):
        problems.append(f"the spec is a {type(spec).__name__}, not the kind's {kind.spec_model.__name__}")
    names = [c.name for c in kind.columns]
    if not names or len(set(names)) != len(names):
        problems.append(f"columns must be non-empty and unique, got {names}")
    if not isinstance(kind.role, Role):
        problems.append(f"role must be a Role, got {kind.role!r}")
    for ratchet in (False, True):
        layout = kind.board(spec, ratchet)
        keys = [c.key for c in layout.columns]
        if not layout.title or not layout.meaning or not keys or len(set(keys)) != len(keys):
            problems.append(f"board(ratchet={ratchet}) needs a title, a meaning and unique columns, got {layout}")
    again = parse_spec(spec.model_dump(mode="json"), f"{spec.id} (dumped)")
    if again != spec:
        problems.append("the spec does not load back from its own dump")


def _check_one(
    spec: ChallengeSpec, data: PreparedData, table: pd.DataFrame, path: Path, problems: list[str], where: str
) -> None:
    from dataperf.evaluator import evaluate, validate
    from dataperf.submission import read_submission, write_submission

    kind = kind_of(spec)
    write_submission(table, path, spec.id)
    try:
        sub = validate(spec, path, data)
    except SubmissionError as e:
        problems.append(f"{where}: refused: {e}")
        return
    if list(read_submission(path, kind.columns, spec.id).table.columns) != [c.name for c in kind.columns]:
        problems.append(f"{where}: the parsed columns are not the kind's schema")
    result = evaluate(spec, path, data=data)
    if not result.scores or not set(result.scores) <= {t.name for t in spec.tasks}:
        problems.append(f"{where}: scores name unknown tasks: {sorted(result.scores)}")
    for task, per_seed in result.scores.items():
        if sorted(per_seed) != sorted(spec.seeds):
            problems.append(f"{where}: task '{task}' is scored for seeds {sorted(per_seed)}, not {spec.seeds}")
        if not all(math.isfinite(v) for v in per_seed.values()):
            problems.append(f"{where}: task '{task}' has a non-finite score")
    if (result.provenance.data_sha256, result.provenance.submission_sha256) != (data.sha256, sub.sha256):
        problems.append(f"{where}: provenance names other data or another file")
    if not evaluate(spec, path, data=data).same_scores(result):
        problems.append(f"{where}: two evaluations differ: the evaluator must be deterministic bit for bit")


def _check_refusal(
    spec: ChallengeSpec, data: PreparedData, table: pd.DataFrame, path: Path, problems: list[str]
) -> None:
    import pandas as pd

    from dataperf.evaluator import validate
    from dataperf.submission import write_submission

    doubled = pd.concat([table, table.iloc[:1]], ignore_index=True)
    write_submission(doubled, path, spec.id)
    try:
        validate(spec, path, data)
    except SubmissionError as e:
        if not any(v.row is not None for v in e.violations):
            problems.append(f"a repeated row is refused without naming a row: {e}")
    else:
        problems.append("a submission with a repeated row is accepted")


def _check_diff(spec: ChallengeSpec, tables: list[pd.DataFrame], problems: list[str]) -> None:
    """Check the kind's :meth:`~dataperf.contract.ChallengeKind.diff` of every built table with
    itself and with the next one: JSON-ready, a summary and tables whose rows fit their columns."""
    import itertools
    import json

    kind = kind_of(spec)
    for a, b in [(t, t) for t in tables] + list(itertools.pairwise(tables)):
        doc = kind.diff(spec, a, b)
        try:
            json.dumps(doc)
        except (TypeError, ValueError) as e:
            problems.append(f"diff: not JSON-ready: {e}")
            continue
        if not isinstance(doc.get("summary"), dict) or not isinstance(doc.get("tables"), list):
            problems.append("diff: needs a 'summary' (dict) and 'tables' (list)")
            continue
        for t in doc["tables"]:
            if not t.get("title") or any(len(r) != len(t.get("columns", ())) for r in t.get("rows", ())):
                problems.append(f"diff: table {t.get('title')!r} has rows that do not fit its columns")


def check_kind(
    spec: ChallengeSpec, root: Path, builders: dict[str, Builder], *, formats: tuple[str, ...] = FORMATS
) -> Report:
    """Run the conformance checks on ``spec``'s kind, on ``spec`` shrunk by :func:`tiny_spec`.

    Checks the kind's declarations (registered, spec model, schema, role, board layouts), that
    the spec loads back from its dump, then prepares the tiny data under ``root`` and, for each
    builder and format: build, write, validate, read back in the kind's schema, evaluate twice
    (finite scores for every task and seed, bit-identical), that a repeated row is refused
    naming its row, and that the kind's diff of the built submissions is JSON-ready tables.
    Raises ConformanceError listing every problem; returns what was checked.
    """
    from dataperf.data.prepare import prepare
    from dataperf.data.prepared import PreparedData
    from dataperf.evaluator import single_threaded, validate

    small = tiny_spec(spec)
    problems: list[str] = []
    report = Report(challenge=spec.id, kind=spec.kind)
    _check_declarations(small, problems)
    report.checks.append("declarations")
    if not builders:
        problems.append("no builder given: a kind needs at least one baseline")
    data = PreparedData(small, prepare(small, root=root / "data" / small.id))
    canonical = []
    for name, build in sorted(builders.items()):
        with single_threaded():
            table = build(small, data, 0)
        for fmt in formats:
            _check_one(small, data, table, root / f"{small.id}-{name}{fmt}", problems, f"{name} ({fmt})")
            report.submissions += 1
        if len(table):
            _check_refusal(small, data, table, root / f"{small.id}-{name}-repeated.parquet", problems)
        try:
            canonical.append(validate(small, root / f"{small.id}-{name}{formats[0]}", data).table)
        except SubmissionError:
            pass  # reported by _check_one
    _check_diff(small, canonical, problems)
    report.checks += ["build-validate-evaluate", "determinism", "refusal", "diff"]
    if problems:
        raise ConformanceError(
            f"{spec.id} ({spec.kind}) breaks the kind contract:\n" + "\n".join(f"  - {p}" for p in problems)
        )
    return report
