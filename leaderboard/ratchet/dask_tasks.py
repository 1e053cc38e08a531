"""What runs on the Dask workers for :mod:`leaderboard.ratchet.parallel`: the cells of one task.

A task is a :class:`Group` (one training set, the test sets it lacks a cell on). The worker
rebuilds the :class:`~leaderboard.ratchet.problem.Problem` once per process from a :class:`ProblemRef`
(its specs and the prepared-data folder, the same path on every host: the data itself never
travels), refusing when its packages differ from the client's; it fits once per task and seed
(or decodes the stored models sent with the group) and scores each test set with the local
ratchet's own code (:meth:`Problem.fit`, :meth:`Problem.score_one`), BLAS on one thread.
Problems, fitted models and test-set rows are cached per worker process. Nothing here touches
the database.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from dataperf.contract import ChallengeSpec
from dataperf.data.prepared import PreparedData
from dataperf.errors import EvaluationError
from dataperf.evaluator import package_versions
from leaderboard.arithmetic.types import CellValue, RatchetCounters, Rows
from leaderboard.ratchet.problem import Problem
from leaderboard.storage.blobs import decode_fitted, decode_rows, encode_fitted

Encoded = dict[tuple[str, int], tuple[str, bytes]]
"""Fitted models per (task, seed) as (form, ``.npz`` bytes): :func:`leaderboard.storage.blobs.encode_fitted`."""


@dataclass(frozen=True)
class ProblemRef:
    """What a worker needs to rebuild a :class:`Problem`: both specs, the data folder (the same
    path on every host) and the evaluator version."""

    train_spec: ChallengeSpec
    test_spec: ChallengeSpec
    folder: str
    version: str
    packages: dict[str, str]
    """The client's :func:`dataperf.evaluator.package_versions`: a worker with others refuses."""

    def key(self) -> tuple[str, str, str, str]:
        """Return a hashable identity of the problem (for the per-process caches)."""
        return (self.train_spec.id, str(self.train_spec.version), self.folder, self.version)


@dataclass(frozen=True)
class Group:
    """One task: a training set and the test sets it lacks a cell on."""

    train: str
    payload: bytes
    """The training set's canonical rows (:func:`leaderboard.storage.blobs.encode_rows`)."""
    tests: list[str]
    models: Encoded | None = None
    """Its stored fitted models, if every task and seed is stored (else the worker fits)."""


@dataclass
class GroupResult:
    """What a task sends back: the cells, the models it fitted or reused, its counters."""

    train: str
    cells: dict[str, CellValue]
    models: Encoded | None
    counters: dict[str, int]
    wall_s: float


_LOCK = threading.Lock()
_PROBLEMS: dict[tuple[str, str, str, str], Problem] = {}
_FITTED: OrderedDict[tuple[Any, ...], dict[tuple[str, int], Any]] = OrderedDict()
_TEST_ROWS: OrderedDict[tuple[Any, ...], Rows] = OrderedDict()
CACHE_SIZE = 64
"""Fitted training sets and test sets each kept per worker process (least recently used out)."""


def _problem(ref: ProblemRef) -> Problem:
    with _LOCK:
        if ref.key() not in _PROBLEMS:
            mine = package_versions()
            if mine != ref.packages:
                differ = sorted(k for k in mine.keys() | ref.packages.keys() if mine.get(k) != ref.packages.get(k))
                raise EvaluationError(
                    f"this Dask worker's packages differ from the client's ({', '.join(differ)}): "
                    f"worker {[mine.get(k) for k in differ]}, client {[ref.packages.get(k) for k in differ]}; "
                    "scores would not be reproducible (install the same versions on every host)"
                )
            data = PreparedData(ref.train_spec, Path(ref.folder))
            _PROBLEMS[ref.key()] = Problem(ref.train_spec, ref.test_spec, data, ref.version)
        return _PROBLEMS[ref.key()]


def _cached(cache: OrderedDict[tuple[Any, ...], Any], key: tuple[Any, ...], make: Callable[[], Any]) -> Any:
    with _LOCK:
        if key in cache:
            cache.move_to_end(key)
            return cache[key]
    value = make()
    with _LOCK:
        cache[key] = value
        while len(cache) > CACHE_SIZE:
            cache.popitem(last=False)
    return value


def _fit(p: Problem, payload: bytes, counters: RatchetCounters) -> dict[tuple[str, int], Any]:
    return p.fit(p.train_rows(decode_rows(payload)), counters)


def _rows_of(p: Problem, payload: bytes) -> Rows:
    return p.test_rows(decode_rows(payload))


def compute_group(ref: ProblemRef, group: Group, tests: dict[str, bytes]) -> GroupResult:
    """Worker side: return the cells of ``group`` (``tests`` maps each test digest to its
    canonical rows), fitting the training set unless its models came with the group."""
    from dataperf.evaluator import single_threaded

    start = time.perf_counter()
    p = _problem(ref)
    counters = RatchetCounters()
    with single_threaded():
        if group.models is not None:
            models = {k: decode_fitted(form, blob) for k, (form, blob) in group.models.items()}
        else:
            models = _cached(_FITTED, (ref.key(), group.train), partial(_fit, p, group.payload, counters))
        cells = {}
        for digest in group.tests:
            blob = tests[digest]
            rows = _cached(_TEST_ROWS, (ref.key(), digest), partial(_rows_of, p, blob))
            cells[digest] = p.score_cell(models, rows, counters)
    encoded = None if group.models is not None else {k: encode_fitted(m) for k, m in models.items()}
    counters.cells_computed = len(cells)
    return GroupResult(group.train, cells, encoded, counters.as_dict(), time.perf_counter() - start)
