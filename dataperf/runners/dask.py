"""The dask runner: evaluations on a Dask distributed cluster.

The cluster is a running scheduler given by address (``DaskRunner(scheduler=...)``, else
``$DATAPERF_DASK_SCHEDULER``) or, with neither, a :class:`~distributed.LocalCluster` with one
single-threaded worker process per core, started on first use and kept for the process.

A task (an evaluation, or the reading of a file into its canonical table: :meth:`DaskRunner.parse`)
carries the challenge spec, the prepared-data folder (the client's
``$DATAPERF_HOME`` path: every worker host must see the data at the same path) and the
submission's bytes (small: at most the submission size limit). Workers never receive the
prepared data itself: each worker process loads and verifies a challenge's
:class:`PreparedData` once and keeps it (:func:`prepared`). The worker runs the same
:func:`dataperf.evaluator.evaluate` as the local runner, with BLAS on one thread, so the scores
are the local runner's bit for bit; only ``provenance.runner`` and the wall time differ. With
``inner="docker"`` (or ``$DATAPERF_DASK_RUNNER=docker``) each worker runs the evaluation in
its host's sandbox instead: the docker runner's result, ``provenance.runner`` ``dask+docker``.

Nothing here imports distributed, reads the environment or starts a cluster at import time.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

from dataperf.challenges import get_challenge, spec_sha256
from dataperf.contract import CanonicalSubmission, ChallengeSpec, Result, Runner
from dataperf.data.prepared import PreparedData
from dataperf.errors import ChangedFileError, RunnerError, SubmissionError, Violation
from dataperf.runners import RUNNERS

ENV_SCHEDULER = "DATAPERF_DASK_SCHEDULER"
"""Environment variable naming the scheduler address (``tcp://host:8786``)."""
ENV_INNER = "DATAPERF_DASK_RUNNER"
"""Environment variable naming the runner a worker uses (default ``local``: in the worker process;
``docker``: in the sandbox, with the worker host's Docker engine and evaluator image)."""
RETRIES = 2
"""How many times dask re-runs a task that raised (a lost worker's tasks are re-run anyway)."""

_CLIENTS: dict[str, Any] = {}
_CLIENTS_LOCK = threading.Lock()
_DATA: dict[tuple[str, str], PreparedData] = {}
_DATA_LOCK = threading.Lock()


def scheduler_address(explicit: str | None = None) -> str | None:
    """Return the scheduler to use: ``explicit``, else ``$DATAPERF_DASK_SCHEDULER``, else None
    (meaning: a LocalCluster on this machine)."""
    return explicit or os.environ.get(ENV_SCHEDULER) or None


def local_cluster(n_workers: int | None = None, threads_per_worker: int = 1, dashboard: str = ":8787") -> Any:
    """Start and return a LocalCluster of ``n_workers`` worker processes (default: one per core)
    with ``threads_per_worker`` threads each, its HTTP server (the dashboard, whose plots need
    bokeh) at ``dashboard`` (``":0"``: any free port)."""
    from distributed import LocalCluster

    return LocalCluster(
        n_workers=n_workers or os.cpu_count() or 1,
        threads_per_worker=threads_per_worker,
        processes=True,
        dashboard_address=dashboard,
    )


def get_client(scheduler: str | None = None) -> Any:
    """Return this process's client for ``scheduler`` (see :func:`scheduler_address`), connecting
    (or starting the LocalCluster) on the first call only."""
    from distributed import Client

    address = scheduler_address(scheduler)
    key = address or "local"
    with _CLIENTS_LOCK:
        client = _CLIENTS.get(key)
        if client is None or client.status in ("closing", "closed"):
            try:
                client = Client(address) if address else Client(local_cluster())
            except OSError as e:
                raise RunnerError(f"cannot reach the Dask scheduler at {address}: {e}", status="error") from e
            _CLIENTS[key] = client
        return client


def close_clients() -> None:
    """Close every client this process opened (and the LocalCluster it started, if any)."""
    with _CLIENTS_LOCK:
        for client in _CLIENTS.values():
            cluster = client.cluster
            client.close()
            if cluster is not None:
                cluster.close()
        _CLIENTS.clear()


def prepared(spec: ChallengeSpec, folder: str) -> PreparedData:
    """Return the verified prepared data of ``spec`` in ``folder``, loaded once per process
    (on a worker: once per worker process, whatever the number of tasks)."""
    key = (spec_sha256(spec), folder)
    with _DATA_LOCK:
        if key not in _DATA:
            _DATA[key] = PreparedData(spec, Path(folder))
        return _DATA[key]


def evaluate_task(spec: ChallengeSpec, folder: str, name: str, content: bytes, inner: str = "local") -> dict[str, Any]:
    """Worker side: evaluate a submission (its file name and bytes) against the prepared data
    in ``folder``, in this process (``inner`` ``local``) or with the worker host's runner
    ``inner`` (e.g. ``docker``); return ``{"result": Result.to_dict()}`` or ``{"violations": [...]}``."""
    from dataperf.evaluator import evaluate, single_threaded

    with tempfile.TemporaryDirectory(prefix="dataperf-dask-") as tmp:
        path = Path(tmp) / name
        path.write_bytes(content)
        try:
            if inner == "local":
                with single_threaded():
                    result = evaluate(spec, path, data=prepared(spec, folder), runner=DaskRunner.name)
            else:
                result = RUNNERS.get(inner)().evaluate(spec.id, path)
                result = replace(result, provenance=replace(result.provenance, runner=f"dask+{inner}"))
        except SubmissionError as e:  # its violations do not survive pickling as an exception
            return {"violations": [v.to_dict() for v in e.violations]}
    return {"result": result.to_dict()}


def parse_task(spec: ChallengeSpec, folder: str, name: str, content: bytes, inner: str = "local") -> dict[str, Any]:
    """Worker side: read and validate a submission (its file name and bytes) as
    :func:`evaluate_task` does, without scoring it; return ``{"table": <canonical document>,
    "runner": ..., "image_digest": ...}`` (see :mod:`dataperf.canonical`) or ``{"violations": [...]}``."""
    from dataperf.canonical import to_doc
    from dataperf.evaluator import validate

    with tempfile.TemporaryDirectory(prefix="dataperf-dask-") as tmp:
        path = Path(tmp) / name
        path.write_bytes(content)
        try:
            if inner == "local":
                sub = validate(spec, path, prepared(spec, folder))
                table, sha, runner, digest = sub.table, sub.sha256, DaskRunner.name, None
            else:
                got = RUNNERS.get(inner)().parse(spec.id, path)
                table, sha, runner, digest = got.table, got.sha256, f"dask+{inner}", got.image_digest
        except SubmissionError as e:
            return {"violations": [v.to_dict() for v in e.violations]}
    return {"table": to_doc(spec, table, sha), "runner": runner, "image_digest": digest}


def gather_one(future: Any, what: str) -> Any:
    """Return ``future``'s result; a lost scheduler or a task that kept killing its workers
    becomes a RunnerError (errors the task raised on purpose pass through unchanged)."""
    from distributed import KilledWorker

    try:
        return future.result()
    except KilledWorker as e:
        raise RunnerError(f"{what}: the task killed its Dask workers repeatedly: {e}", status="crashed") from e
    except (OSError, TimeoutError) as e:
        raise RunnerError(f"{what}: lost the Dask scheduler: {e}", status="error") from e
    except Exception as e:
        if type(e).__name__ in ("CancelledError", "FutureCancelledError"):
            raise RunnerError(f"{what}: cancelled (the Dask scheduler went away?): {e}", status="error") from e
        raise


class DaskRunner(Runner):
    """Run the evaluator on a Dask cluster (a scheduler address, or a LocalCluster)."""

    name = "dask"

    def __init__(self, scheduler: str | None = None, *, inner: str | None = None, retries: int = RETRIES) -> None:
        self.scheduler = scheduler
        self.inner = inner
        """The runner used on the worker (default: ``$DATAPERF_DASK_RUNNER``, else ``local``)."""
        self.retries = retries

    def evaluate(self, challenge_id: str, submission: Path, *, sha256: str | None = None) -> Result:
        """Return the result of evaluating ``submission`` on a Dask worker."""
        out = self._submit(evaluate_task, "evaluating", challenge_id, submission, sha256)
        return Result.from_dict(out["result"])

    def parse(self, challenge_id: str, submission: Path, *, sha256: str | None = None) -> CanonicalSubmission:
        """Return ``submission`` read and validated on a Dask worker, as its canonical table
        (sent back as the JSON-ready document of :mod:`dataperf.canonical`, checked here)."""
        from dataperf.canonical import from_doc

        out = self._submit(parse_task, "validating", challenge_id, submission, sha256)
        try:
            return from_doc(
                get_challenge(challenge_id), out["table"], runner=out["runner"], image_digest=out["image_digest"]
            )
        except ValueError as e:
            raise RunnerError(f"a Dask worker sent back a malformed table: it {e}", status="crashed") from None

    def _submit(self, task: Any, doing: str, challenge_id: str, submission: Path, sha256: str | None) -> dict[str, Any]:
        """Run ``task`` on a Dask worker with the file's bytes; return its answer, raising the
        local runner's errors (a missing, oversized, changed or invalid file) here."""
        from dataperf.kinds import KINDS
        from dataperf.paths import data_dir
        from dataperf.submission import MAX_BYTES, read_submission

        spec = get_challenge(challenge_id)
        submission = Path(submission)
        if not submission.is_file() or submission.stat().st_size > MAX_BYTES:
            read_submission(submission, KINDS.get(spec.kind).columns, spec.id)  # raises the local runner's error
        content = submission.read_bytes()
        actual = hashlib.sha256(content).hexdigest()
        if sha256 is not None and actual != sha256:
            raise ChangedFileError(str(submission), sha256, actual)
        client = get_client(self.scheduler)
        future = client.submit(
            task,
            spec,
            str(data_dir(spec.id, spec.version)),
            submission.name,
            content,
            self.inner or os.environ.get(ENV_INNER) or "local",
            key=f"dataperf-{task.__name__.split('_')[0]}-{spec.id}-{uuid.uuid4().hex[:12]}",
            retries=self.retries,
            pure=False,
        )
        out: dict[str, Any] = gather_one(future, f"{doing} {submission.name} for {spec.id}")
        if "violations" in out:
            raise SubmissionError([Violation(**v) for v in out["violations"]])
        return out


RUNNERS.add(DaskRunner.name, DaskRunner)
