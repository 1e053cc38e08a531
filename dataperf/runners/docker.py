"""The docker runner: every evaluation, and every reading of a submission file, in a
throw-away, locked-down container.

Two layers. :func:`run_sandboxed` runs one command in an image under the sandbox (no network,
read-only root, uid 10001, no capabilities, no-new-privileges, memory/CPU/pid/wall-time
limits, a small ``/tmp`` tmpfs, capped logs) and says how it ended. :class:`DockerRunner`
uses it to run ``dataperf evaluate`` (for a :class:`Result`) or ``dataperf validate`` (for a
submission's canonical table, which the ratchet scores) in the evaluator image with the
prepared data, the challenge specs and the submission mounted read-only and one writable
``/out`` for ``result.json`` or ``table.json``. The host never opens the submission; it reads
back only those size-capped JSON files, strictly. The docker SDK is imported on first use,
never at import time.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import re
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from dataperf.contract import CanonicalSubmission, ChallengeSpec, ResourceSpec, Result, Runner
from dataperf.errors import (
    UNAVAILABLE,
    ChangedFileError,
    MissingExtraError,
    RunnerError,
    SubmissionError,
    Violation,
    param_error,
)
from dataperf.runners import RUNNERS

DockerClient = Any
"""A ``DockerClient``; the SDK ships no type information (and the repo's ``docker/``
folder would shadow it for mypy), so it is typed loosely."""
Status = Literal["ok", "oom", "timeout", "crashed"]
ENGINE_RETURN_S = 120.0
"""How long a run the daemon dropped waits for it to answer again, to remove its container."""
SIGTERM_EXIT = 143
"""Exit code of a container stopped with SIGTERM: sent by the daemon (stopping, or an operator's
``docker stop``), never by this runner, which kills with SIGKILL."""

UID = 10001
"""The unprivileged user every container runs as (created in docker/Dockerfile.*)."""
LOG_CAP = 64 * 1024
"""Most bytes of a container's output kept (head and tail); the engine keeps at most 1 MiB."""
DATA_ROOT = "/dataperf"
"""``DATAPERF_HOME`` inside the image; prepared data is mounted under ``<root>/data``."""
SPECS_DIR = "/opt/dataperf/challenges"
"""``DATAPERF_CHALLENGES`` inside the image; the host's spec folder is mounted over it."""
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,200}$")
_SHA = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Limits:
    """Resource limits of one sandboxed run."""

    memory: str = "2g"
    """Memory and memory+swap limit (docker syntax: ``512m``, ``2g``)."""
    cpus: float = 1.0
    pids: int = 256
    timeout: float = 600.0
    """Wall-time limit in seconds, from start to exit; the container is killed after it."""
    tmp_size: str = "64m"
    """Size of the ``/tmp`` tmpfs."""
    gpu: bool = False
    """Pass every GPU through (``device_requests``)."""

    @classmethod
    def from_spec(cls, res: ResourceSpec, *, gpu: bool = False) -> Limits:
        """Return the limits a challenge spec's ``resources`` ask for."""
        return cls(memory=res.memory, cpus=res.cpus, pids=res.pids, timeout=float(res.timeout), gpu=gpu)


@dataclass(frozen=True)
class Mount:
    """A host path bind-mounted into the container (read-only unless said otherwise)."""

    source: Path
    target: str
    read_only: bool = True


@dataclass(frozen=True)
class SandboxOutcome:
    """How a sandboxed run ended."""

    status: Status
    exit_code: int | None
    log: str
    """Combined stdout and stderr, capped at :data:`LOG_CAP` bytes."""
    wall_s: float
    image_id: str
    out_dir: Path
    """The host folder that was ``/out`` (the caller removes it)."""
    extra: dict[str, Any] = field(default_factory=dict)


def sdk() -> Any:
    """Return the docker SDK module, imported on first use; MissingExtraError if it is not
    installed (a ``docker/`` folder in the working directory imports as an empty namespace)."""
    try:
        mod = importlib.import_module("docker")
    except ImportError:
        mod = None
    if not hasattr(mod, "from_env"):
        raise MissingExtraError("the docker runner", "docker")
    return mod


def client() -> DockerClient:
    """Return a docker client from the environment; raise RunnerError if the daemon is unreachable."""
    docker = sdk()

    try:
        c = docker.from_env(timeout=120)
        c.ping()
    except docker.errors.DockerException as e:
        raise RunnerError(
            f"cannot reach the docker daemon ({e}); start it with scripts/start-dockerd", status=UNAVAILABLE
        ) from None
    return c


def engine_answers(c: DockerClient) -> bool:
    """Return True when the daemon behind ``c`` answers a ping now."""
    try:
        return bool(c.ping())
    except Exception:  # any failure to answer means it is away
        return False


def engine_lost(c: DockerClient, container: Any, out_dir: Path, image: str, wait_s: float) -> RunnerError:
    """Return the RunnerError for a run the docker daemon dropped (it stopped or restarted while
    the container ran). Waits up to ``wait_s`` seconds for the daemon to answer again so that the
    container it left stopped is removed; the ``/out`` folder is removed in any case."""
    shutil.rmtree(out_dir, ignore_errors=True)
    deadline = time.monotonic() + wait_s
    not_found = sdk().errors.NotFound
    while container is not None and time.monotonic() < deadline:
        try:
            container.remove(force=True)
            break
        except not_found:
            break
        except Exception:  # not answering yet, or still restoring its containers
            time.sleep(1.0)
    return RunnerError(
        f"the docker daemon stopped or restarted while {image} ran; the run is lost, not the submission's fault",
        status=UNAVAILABLE,
    )


def gpus_available(c: DockerClient) -> bool:
    """Return True when the engine can pass GPUs through (NVIDIA runtime or hook present)."""
    runtimes = c.info().get("Runtimes") or {}
    return "nvidia" in runtimes or any(
        shutil.which(tool) for tool in ("nvidia-container-runtime-hook", "nvidia-container-cli")
    )


def _cap_log(raw: bytes) -> str:
    if len(raw) > LOG_CAP:
        head, tail = LOG_CAP // 4, LOG_CAP - LOG_CAP // 4
        skipped = len(raw) - head - tail
        raw = raw[:head] + f"\n[... {skipped} bytes of output left out ...]\n".encode() + raw[-tail:]
    return raw.decode("utf-8", errors="replace")


def _status(state: dict[str, Any], timed_out: bool, log: str) -> Status:
    code = state.get("ExitCode")
    if timed_out:
        return "timeout"
    if state.get("OOMKilled") or code == 137:
        return "oom"  # SIGKILL not sent by us: in a memory-capped container, the OOM killer
    if code != 0 and "MemoryError" in log[-2000:]:
        return "oom"
    return "ok" if code == 0 else "crashed"


def find_image(c: DockerClient, image: str) -> Any:
    """Return the engine's image ``image``; RunnerError, saying how to build it, when missing."""
    docker = sdk()
    try:
        return c.images.get(image)
    except docker.errors.ImageNotFound:
        raise RunnerError(
            f"docker image {image} is not built; run docker/build.sh (add --gpu for the GPU image)",
            status="error",
        ) from None


def run_sandboxed(
    image: str,
    command: list[str],
    *,
    mounts: tuple[Mount, ...] = (),
    limits: Limits = Limits(),
    env: dict[str, str] | None = None,
    entrypoint: list[str] | None = None,
    docker_client: DockerClient | None = None,
) -> SandboxOutcome:
    """Run ``command`` in ``image`` inside the sandbox and return how it ended.

    A fresh host folder is mounted writable at ``/out`` (returned as ``out_dir``; the caller
    removes it). Never raises for what the command does (crash, out of memory, timeout: see
    ``status``); raises RunnerError when the image is missing or the engine fails.
    """
    from requests.exceptions import ConnectionError as RequestsConnectionError

    docker = sdk()
    c = docker_client or client()
    img = find_image(c, image)
    out_dir = Path(tempfile.mkdtemp(prefix="dataperf-out-"))
    out_dir.chmod(0o777)  # written by uid 10001 in the container, whoever runs the host side
    binds = [*mounts, Mount(out_dir, "/out", read_only=False)]
    container = None
    try:
        container = c.containers.create(
            img.id, command, entrypoint=entrypoint, **hardened(docker, limits, binds, env or {})
        )
        outcome = await_exit(container, limits, img.id, out_dir, engine=c)
    except (EngineGone, RequestsConnectionError):
        # The daemon's socket broke mid-run, or it stopped the container: it stopped or restarted.
        raise engine_lost(c, container, out_dir, image, ENGINE_RETURN_S) from None
    except docker.errors.DockerException as e:
        if not engine_answers(c):
            raise engine_lost(c, container, out_dir, image, ENGINE_RETURN_S) from None
        shutil.rmtree(out_dir, ignore_errors=True)
        raise RunnerError(f"docker failed to run {image}: {e}", status="error") from None
    finally:
        if container is not None:
            try:
                container.remove(force=True)
            except (docker.errors.DockerException, RequestsConnectionError):
                pass  # already gone (or the daemon is away: see engine_lost)
    return outcome


def hardened(docker: Any, limits: Limits, mounts: list[Mount], env: dict[str, str]) -> dict[str, Any]:
    """Return the ``containers.create`` options of the sandbox: ``mounts`` (read-only unless a
    mount says otherwise), no network, a read-only root, uid 10001, no capabilities,
    no-new-privileges, the memory/CPU/pid limits of ``limits``, a small ``/tmp``, capped logs.
    Every sandboxed container, cold or warm, is created with exactly these."""
    binds = [docker.types.Mount(m.target, str(m.source), type="bind", read_only=m.read_only) for m in mounts]
    gpu = [docker.types.DeviceRequest(count=-1, capabilities=[["gpu"]])] if limits.gpu else None
    return {
        "environment": env,
        "mounts": binds,
        "tmpfs": {"/tmp": f"rw,nosuid,nodev,size={limits.tmp_size},mode=1777"},
        "network_mode": "none",
        "read_only": True,
        "user": f"{UID}:{UID}",
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges"],
        "mem_limit": limits.memory,
        "memswap_limit": limits.memory,
        "nano_cpus": int(limits.cpus * 1e9),
        "pids_limit": limits.pids,
        "ipc_mode": "private",
        "device_requests": gpu,
        "log_config": docker.types.LogConfig(type="json-file", config={"max-size": "1m", "max-file": "1"}),
        "labels": {"dataperf.sandbox": "1"},
        "detach": True,
    }


class EngineGone(Exception):
    """The docker daemon stopped or restarted while a container ran (not the container's doing)."""


def await_exit(
    container: Any,
    limits: Limits,
    image_id: str,
    out_dir: Path,
    *,
    started: bool = False,
    warm: bool = False,
    engine: DockerClient | None = None,
) -> SandboxOutcome:
    """Start ``container`` (unless ``started``: a warm one, released just now), wait for it to
    exit within ``limits.timeout`` (killing it after), and return how it ended. The wall time
    runs from the start (or release) to the exit. Docker errors propagate; with ``engine`` (the
    client), a daemon that broke the connection before the limit, stopped answering or stopped
    the container itself raises :class:`EngineGone`."""
    from requests.exceptions import ConnectionError as RequestsConnectionError
    from requests.exceptions import ReadTimeout

    start = time.monotonic()
    if not started:
        container.start()
    timed_out = False
    try:
        container.wait(timeout=max(limits.timeout - (time.monotonic() - start), 0.01))
    except (ReadTimeout, RequestsConnectionError):
        # A read timeout can come back as either class over the daemon's socket; a broken
        # connection before the limit, or a daemon that no longer answers, is the engine's.
        if engine is not None and (time.monotonic() - start < limits.timeout - 1.0 or not engine_answers(engine)):
            raise EngineGone from None
        timed_out = True
        container.kill()
        container.wait(timeout=30)
    wall = time.monotonic() - start
    container.reload()
    state = container.attrs["State"]
    log = _cap_log(container.logs(stdout=True, stderr=True))
    if engine is not None and not timed_out and state.get("ExitCode") == SIGTERM_EXIT:
        raise EngineGone  # the daemon stopped it on its way down
    return SandboxOutcome(
        status=_status(state, timed_out, log),
        exit_code=None if timed_out else state.get("ExitCode"),
        log=log,
        wall_s=wall,
        image_id=image_id,
        out_dir=out_dir,
        extra={"oom_killed": bool(state.get("OOMKilled")), "container_id": container.id, "warm": warm},
    )


def _failure(outcome: SandboxOutcome, limits: Limits, output: str = "result.json") -> RunnerError:
    """Return the RunnerError that says, in words, why a run gave no result."""
    if outcome.status == "oom":
        msg = f"the evaluation ran out of memory (limit {limits.memory}) and was stopped"
    elif outcome.status == "timeout":
        msg = f"the evaluation ran past its wall-time limit of {limits.timeout:g} s and was stopped"
    elif outcome.exit_code == 0:
        msg = f"the evaluation exited without writing /out/{output}"
    else:
        msg = f"the evaluation crashed (exit code {outcome.exit_code})"
    tail = outcome.log.strip().splitlines()[-1:] if outcome.log.strip() else []
    return RunnerError(
        msg + (f": {tail[0]}" if tail and outcome.status == "crashed" else ""),
        status="crashed" if outcome.status == "ok" else outcome.status,
        log=outcome.log,
    )


def _in_name(submission: Path) -> str:
    """Return the name the submission gets under /in (its own when plainly safe)."""
    name = submission.name
    if _SAFE_NAME.match(name):
        return name
    safe = [s for s in submission.suffixes if re.fullmatch(r"\.[A-Za-z0-9]{1,8}", s)]
    last = submission.suffix  # what the evaluator reads the format from; ``suffixes`` can miss it
    if re.fullmatch(r"\.[A-Za-z0-9]{1,8}", last) and safe[-1:] != [last]:
        safe = [last]
    return "submission" + "".join(safe)


class DockerRunner(Runner):
    """Run the evaluator in the evaluator image, sandboxed, with the spec's resource limits.

    This is the trust boundary for participants' files: :meth:`evaluate` and :meth:`parse`
    never open the submission on the host (it is only checked to exist and bind-mounted
    read-only); it is hashed, parsed, validated and scored inside the container. What comes
    back (``result.json``, ``table.json``, ``error.json``) is untrusted output and is read
    strictly: size-capped JSON of a fixed shape, never unpickled.
    """

    name = "docker"
    warm = 0
    """How many pre-started containers to keep ready per image, limits and mounts (0: cold,
    one container created per run; see :mod:`dataperf.runners.docker_pool`)."""

    def __init__(self, image: str | None = None, *, docker_client: DockerClient | None = None) -> None:
        self.image = image
        self._client = docker_client

    def image_for(self, gpu: bool) -> str:
        """Return the image this runner uses (the evaluator version's CPU or GPU image)."""
        from dataperf.version import EVALUATOR_VERSION

        return self.image or f"dataperf/evaluator-{'gpu' if gpu else 'cpu'}:{EVALUATOR_VERSION}"

    def evaluate(self, challenge_id: str, submission: Path, *, sha256: str | None = None) -> Result:
        """Evaluate ``submission`` in a container and return its result.

        Raises SubmissionError for an invalid submission (violations as the local runner
        reports them), ChangedFileError when ``sha256`` is given and the file's differs,
        DataError when the prepared data is missing or changed (before any container starts),
        RunnerError with status ``oom``, ``timeout``, ``crashed``, ``invalid`` (any other
        refusal by the evaluator) or ``error`` (docker itself failed).
        """
        _spec, sub, outcome, limits, inside = self._run("evaluate", challenge_id, submission, sha256, "result.json")
        try:
            return self._collect(outcome, limits, inside, str(sub))
        finally:
            shutil.rmtree(outcome.out_dir, ignore_errors=True)

    def parse(self, challenge_id: str, submission: Path, *, sha256: str | None = None) -> CanonicalSubmission:
        """Read and validate ``submission`` in a container; return its canonical table.

        The container runs ``dataperf validate --output /out/table.json`` under the same
        sandbox and limits as an evaluation; the table comes back as JSON and is checked
        strictly here (:func:`dataperf.canonical.from_doc`). Raises as :meth:`evaluate` does.
        """
        from dataperf.canonical import from_doc, read_doc

        spec, sub, outcome, limits, inside = self._run("validate", challenge_id, submission, sha256, "table.json")
        try:
            self._refusal(outcome, inside, str(sub))
            table_file = outcome.out_dir / "table.json"
            if outcome.status != "ok" or not table_file.is_file():
                raise _failure(outcome, limits, "table.json")
            try:
                return from_doc(spec, read_doc(table_file), runner=self.name, image_digest=outcome.image_id)
            except (OSError, ValueError, RecursionError) as e:
                raise RunnerError(
                    f"the sandboxed validation wrote a malformed table.json: it {e}", status="crashed", log=outcome.log
                ) from None
        finally:
            shutil.rmtree(outcome.out_dir, ignore_errors=True)

    def _run(
        self, command: str, challenge_id: str, submission: Path, sha256: str | None, output: str
    ) -> tuple[ChallengeSpec, Path, SandboxOutcome, Limits, str]:
        """Run ``dataperf COMMAND`` on ``submission`` in the sandbox, writing ``/out/OUTPUT``;
        return the spec, the host path, how the run ended, its limits and the path inside."""
        from dataperf.challenges import get_challenge, spec_folder
        from dataperf.paths import data_dir

        spec = get_challenge(challenge_id)
        sub = Path(submission)
        if not sub.is_file():
            raise RunnerError(
                param_error("submission", f"DockerRunner.{command}", "an existing file", str(sub)),
                status="invalid",
            )
        host_data = data_dir(spec.id, spec.version)
        # Verify the data here, before it is mounted read-only: a missing or changed file is a
        # clear DataError without a container, and the sha256 stamp cache in the folder is
        # brought up to date (stamps are size, mtime and inode, the same through a bind mount),
        # so the evaluator inside, unable to write the cache, need not re-hash every file.
        _check_data(spec, host_data)
        c = self._client or client()
        gpu = spec.resources.gpu and gpus_available(c)
        limits = Limits.from_spec(spec.resources, gpu=gpu)
        inside = f"/in/{_in_name(sub)}"
        mounts = (
            Mount(host_data, f"{DATA_ROOT}/data/{spec.id}/v{spec.version}"),
            Mount(spec_folder(spec.id).resolve(), SPECS_DIR),  # the spec's folder holds its pair too
            Mount(sub.resolve(), inside),
        )
        args = [command, spec.id, inside, "--runner", "local", "--json", "--output", f"/out/{output}"]
        if command == "evaluate":
            args.append("--hidden")  # the server's score: the private bundle mounted above
        if sha256 is not None:
            args += ["--sha256", sha256]
        env = {"DATAPERF_HOME": DATA_ROOT, "DATAPERF_CHALLENGES": SPECS_DIR, "DATAPERF_BUILTIN_CHALLENGES": "0"}
        image = self.image_for(spec.resources.gpu)
        if self.warm > 0:
            from dataperf.runners.docker_pool import pool_for

            pool = pool_for(image, mounts[:2], limits, env, size=self.warm, challenge=spec.id, command=command)
            outcome = pool.run(["dataperf", *args], {inside.removeprefix("/in/"): sub})
        else:
            outcome = run_sandboxed(image, args, mounts=mounts, limits=limits, env=env, docker_client=c)
        return spec, sub, outcome, limits, inside

    def _refusal(self, outcome: SandboxOutcome, inside: str, outside: str) -> None:
        """Raise what the evaluator's refusal says (exit code 2, or 1 with its ``error.json``: an
        error the command line handled, such as a changed file): a SubmissionError with its
        violations, a ChangedFileError, else a RunnerError ``invalid``; return otherwise."""
        error_file = outcome.out_dir / "error.json"
        handled = outcome.exit_code == 2 or (outcome.exit_code == 1 and error_file.is_file())
        if not (outcome.status == "crashed" and handled):
            return
        if error_file.is_file():
            err = _read_json(error_file, outcome)
            if err.get("violations"):
                raise SubmissionError(
                    [
                        Violation(**{**v, "file": str(v.get("file", "")).replace(inside, outside)})
                        for v in err["violations"]
                    ]
                )
            if err.get("type") == "ChangedFileError":
                expected, actual = err.get("expected_sha256"), err.get("actual_sha256")
                if all(isinstance(h, str) and _SHA.match(h) for h in (expected, actual)):
                    raise ChangedFileError(outside, str(expected), str(actual))
        lines = outcome.log.strip().splitlines()
        raise RunnerError(
            lines[-1] if lines else "the evaluator refused the submission",
            status="invalid",
            log=outcome.log,
        )

    def _collect(self, outcome: SandboxOutcome, limits: Limits, inside: str, outside: str) -> Result:
        """Turn a finished run into a Result, a SubmissionError or a RunnerError."""
        self._refusal(outcome, inside, outside)
        result_file = outcome.out_dir / "result.json"
        if outcome.status != "ok" or not result_file.is_file():
            raise _failure(outcome, limits)
        try:
            result = Result.from_dict(_read_json(result_file, outcome))
        except (KeyError, TypeError, ValueError) as e:
            raise RunnerError(
                f"the evaluation wrote a malformed result.json ({type(e).__name__}: {e})",
                status="crashed",
                log=outcome.log,
            ) from None
        prov = dataclasses.replace(result.provenance, runner=self.name, image_digest=outcome.image_id)
        # The container's own start-to-exit time (wall_time_s is the evaluation inside it).
        extra = {**result.extra, "container_wall_s": round(outcome.wall_s, 6)}
        return dataclasses.replace(result, provenance=prov, extra=extra)


def _check_data(spec: ChallengeSpec, folder: Path) -> None:
    """Verify ``folder`` as :class:`~dataperf.data.prepared.PreparedData` does (same errors),
    without importing NumPy and Arrow into the host side of a run, and refresh its stamp cache."""
    from dataperf.data.verify import verified_hashes

    verified_hashes(spec.id, spec.version, folder)


def _read_json(path: Path, outcome: SandboxOutcome) -> dict[str, Any]:
    """Return the JSON object in ``path`` (at most 16 MiB); RunnerError if it is not one."""
    try:
        if path.stat().st_size > 16 << 20:
            raise ValueError("larger than 16 MiB")
        doc = json.loads(path.read_text())
        if not isinstance(doc, dict):
            raise TypeError(f"a JSON {type(doc).__name__}, not an object")
    except (OSError, ValueError, TypeError) as e:
        raise RunnerError(
            f"the evaluation wrote an unreadable {path.name}: {e}", status="crashed", log=outcome.log
        ) from None
    return doc


RUNNERS.add(DockerRunner.name, DockerRunner)
