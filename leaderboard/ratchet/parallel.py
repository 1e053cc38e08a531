"""The ratchet in parallel: the missing cells of a matrix fill or a rescore, fanned out to Dask.

Plan, compute, write back:

1. **Plan** (client): the (training set, test set) pairs of the problem that lack a cell at its
   evaluator version, grouped per training set into tasks of at most ``group_size`` test sets.
2. **Compute** (workers, :func:`leaderboard.ratchet.dask_tasks.compute_group`): fit the training set
   once per task and seed (or decode its stored models), score each test set of the group with
   the local ratchet's own code, BLAS on one thread. Workers never receive prepared data: each
   worker process loads it once from the shared data folder. The problem and each test set's
   rows are inputs computed by tasks of their own, so each worker fetches them once (and the
   scheduler can recompute them if the worker holding them dies). Workers need no database.
3. **Write back** (client): as tasks complete, each batch of results is one transaction of
   idempotent inserts (fitted models, then cells; ``ON CONFLICT DO NOTHING`` on their unique
   keys), so the database only ever holds whole, final cells, each at most once.

Failures: a lost worker costs its unfinished tasks, which the scheduler runs again elsewhere
(and a task that raised is retried ``retries`` times); a duplicate result from a re-run task is
ignored by the inserts. A lost scheduler cancels the outstanding tasks: everything written so
far stays, :func:`fill` raises RunnerError, and running it again computes only the cells still
missing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dataperf.errors import RunnerError
from dataperf.evaluator import package_versions
from leaderboard.arithmetic.types import RatchetCounters
from leaderboard.ratchet import cells
from leaderboard.ratchet.dask_tasks import Encoded, Group, GroupResult, ProblemRef, compute_group
from leaderboard.ratchet.problem import Problem
from leaderboard.storage.blobs import decode_fitted
from leaderboard.storage.tables import Dataset, FittedModel

GROUP_SIZE = 64
"""Most test sets scored by one task (a training set with more missing cells is split)."""
RETRIES = 2
"""Times dask re-runs a task that raised (tasks of a lost worker are re-run in any case)."""
Say = Callable[[str], None]


@dataclass
class Plan:
    """The tasks of one fill, the test sets' rows they need, and the cells already there."""

    groups: list[Group] = field(default_factory=list)
    tests: dict[str, bytes] = field(default_factory=dict)
    reused: int = 0

    @property
    def cells(self) -> int:
        """Return the number of cells the plan computes."""
        return sum(len(g.tests) for g in self.groups)


def plan(
    sessions: sessionmaker[Session], p: Problem, tests: list[str] | None = None, group_size: int = GROUP_SIZE
) -> Plan:
    """Return the tasks computing every missing cell of ``p``: each stored training set against
    the active suite and ``tests`` (test-set digests), at ``p``'s evaluator version."""
    with sessions() as s:
        wanted = list(dict.fromkeys(cells.suite_digests(s, p.id) + list(tests or [])))
        sets = {
            d: b
            for d, b in s.execute(
                select(Dataset.digest, Dataset.payload).where(Dataset.problem == p.id, Dataset.digest.in_(wanted))
            )
        }
        unknown = [d for d in wanted if d not in sets]
        if unknown:
            raise LookupError(f"{p.id}: test sets {[d[:12] for d in unknown]} are not stored")
        train = s.execute(
            select(Dataset.digest, Dataset.payload)
            .where(Dataset.problem == p.id, Dataset.role == "train")
            .order_by(Dataset.id)
        ).all()
        have = cells.cell_keys(s, p, test=wanted)
        stored = _stored_models(s, p)
    out = Plan(reused=len(have))
    per_train = len(p.tasks) * len(p.seeds)
    for digest, payload in train:
        missing = [d for d in wanted if (digest, d) not in have]
        models = stored.get(digest)
        for i in range(0, len(missing), group_size):
            chunk = missing[i : i + group_size]
            out.groups.append(Group(digest, payload, chunk, models if models and len(models) == per_train else None))
            out.tests.update({d: sets[d] for d in chunk})
    return out


def _stored_models(s: Session, p: Problem) -> dict[str, Encoded]:
    q = select(
        FittedModel.train_sha256, FittedModel.task, FittedModel.seed, FittedModel.form, FittedModel.weights
    ).where(FittedModel.problem == p.id, FittedModel.evaluator_version == p.evaluator_version)
    out: dict[str, Encoded] = {}
    for digest, task, seed, form, blob in s.execute(q):
        out.setdefault(digest, {})[(task, seed)] = (form, blob)
    return out


def write_results(sessions: sessionmaker[Session], p: Problem, results: list[GroupResult]) -> None:
    """Write a batch of task results in one transaction: models, then cells, all idempotent."""
    with sessions.begin() as s:
        for r in results:
            if r.models is not None:
                cells.store_models(s, p, r.train, {k: decode_fitted(f, b) for k, (f, b) in r.models.items()})
            cells.write_cells(s, p, {(r.train, d): sc for d, sc in r.cells.items()}, "dask", r.wall_s)


def fill(
    sessions: sessionmaker[Session],
    p: Problem,
    client: Any,
    *,
    tests: list[str] | None = None,
    group_size: int = GROUP_SIZE,
    retries: int = RETRIES,
    progress: Say | None = None,
) -> RatchetCounters:
    """Compute every missing cell of ``p`` (stored training sets x suite and ``tests``) on the
    Dask cluster of ``client``, writing results back as they arrive; return the counters
    (``cells_computed`` counts cells received, ``cells_reused`` those already stored).

    Raises RunnerError when the scheduler is lost or a task keeps killing workers, after
    writing every result that did arrive: running it again computes only what is missing.
    """
    from dataperf.runners.dask import gather_one
    from leaderboard.ratchet.steps import Ratchet

    say = progress or (lambda _m: None)
    Ratchet(sessions, p).ensure_init()
    work = plan(sessions, p, tests, group_size)
    counters = RatchetCounters(cells_reused=work.reused)
    if not work.groups:
        return counters
    say(f"{p.id}: {work.cells} missing cells in {len(work.groups)} tasks ({work.reused} cells already stored)")
    if client.status != "running":
        raise RunnerError(f"{p.id}: the Dask client is {client.status}, not connected to a scheduler")
    futures = _submit(client, p, work, retries)
    failed = _collect(sessions, p, futures, counters, say)
    if failed:
        gather_one(failed[0], f"{p.id}: {len(failed)} of {len(futures)} tasks did not finish")
        raise RunnerError(f"{p.id}: {len(failed)} of {len(futures)} tasks did not finish; run again to resume")
    return counters


def _hold(value: Any) -> Any:
    """Return ``value``: a task whose result is a shared input, fetched once per worker."""
    return value


def _submit(client: Any, p: Problem, work: Plan, retries: int) -> list[Any]:
    # Shared inputs are tasks, not scattered data: a worker holding them may die, and the
    # scheduler can recompute a task's result but never recover scattered data.
    run = uuid.uuid4().hex[:8]
    ref = ProblemRef(p.train_spec, p.test_spec, str(p.data.folder), p.evaluator_version, package_versions())
    ref_future = client.submit(_hold, ref, key=f"dataperf-problem-{run}", pure=False)
    test_futures = {
        d: client.submit(_hold, blob, key=f"dataperf-test-{run}-{d[:16]}", pure=False) for d, blob in work.tests.items()
    }
    return [
        client.submit(
            compute_group,
            ref_future,
            g,
            {d: test_futures[d] for d in g.tests},
            key=f"dataperf-cells-{run}-{i}-{g.train[:12]}",
            retries=retries,
            pure=False,
        )
        for i, g in enumerate(work.groups)
    ]


def _collect(
    sessions: sessionmaker[Session], p: Problem, futures: list[Any], counters: RatchetCounters, say: Say
) -> list[Any]:
    """Write results batch by batch as tasks finish; return the futures that did not finish."""
    from distributed import as_completed

    failed, done = [], 0
    pending = as_completed(futures)
    for batch in pending.batches():
        results = []
        for f in batch:
            if f.status == "finished":
                results.append(f.result())
            elif f.status in ("error", "cancelled"):
                failed.append(f)
            else:  # its result was on a worker that died meanwhile: the scheduler recomputes it
                pending.add(f)
        if results:
            write_results(sessions, p, results)
            for r in results:
                counters.add(RatchetCounters(**r.counters))
            done += len(results)
            say(f"{p.id}: {done}/{len(futures)} tasks written, {counters.cells_computed} cells")
    return failed
