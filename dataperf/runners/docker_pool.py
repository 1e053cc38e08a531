"""Warm sandboxes: containers created and started ahead of need, each used for one job.

A :class:`WarmPool` keeps ``size`` containers ready per image, limits, fixed mounts and
environment. Each is created with exactly the options of a cold run
(:func:`dataperf.runners.docker.hardened`: no network, read-only root, uid 10001, no
capabilities, no-new-privileges, memory/CPU/pid limits) and starts a small Python process that
imports what a job of the pool will use, reads its challenge's spec and prepared data once
(mounted read-only when it was created; what the job reads again is then in the page cache) and
waits, doing nothing else, for its start signal.

What to import. A pool serves one ``dataperf`` command (``validate`` or ``evaluate``), and each
of its jobs writes the names of the modules its process held at the end to
``/out/.modules.json``; the pool's next containers import all its jobs have named while they
wait (before any job has ended: the command line only). Warming more than a job uses is not
free: under a backlog every container's start runs on the cores the jobs need, and a
``validate`` job does not import scikit-learn (0.7 s of CPU here). The list is names only,
checked on the host, and decides nothing but what is imported while a container waits.

The hand-off. A started container cannot get new bind mounts, so every container gets, when it
is created, two host folders of its own: ``dataperf-in-*`` bind-mounted **read-only** at
``/in`` (empty until its job) and ``dataperf-out-*`` writable at ``/out``. To release a job the
host copies the input files into the ``in`` folder, then writes ``/in/.start.json`` (the
command line) by an atomic rename, so the container sees the signal only after every input is
complete. The process reads the signal, runs the command (``dataperf ...`` in process, with
the modules already imported; anything else by ``exec``) and exits. The container cannot write
``/in`` and nothing of the job's but ``/out`` leaves it.

One job per container: a container is taken from the pool once, and removed (with its ``in``
folder) when its job ends, whatever the outcome; the pool starts a replacement in the
background. No state can pass between jobs, because no process, file system or ``/tmp`` is
ever shared by two (the module names above only choose what a later container imports).
Pools close on :func:`close_pools` (called at interpreter exit and when a worker stops),
removing every container they hold; containers carry the ``dataperf.sandbox`` label like cold
ones, and a ``dataperf.warm.owner`` label naming their process, so a new pool also removes the
containers a killed process on this host left behind.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import shutil
import socket
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dataperf.errors import RunnerError
from dataperf.runners import RUNNERS
from dataperf.runners.docker import (
    ENGINE_RETURN_S,
    DockerClient,
    DockerRunner,
    EngineGone,
    Limits,
    Mount,
    SandboxOutcome,
    await_exit,
    client,
    engine_lost,
    find_image,
    hardened,
    sdk,
)

SIGNAL = ".start.json"
"""The start signal's name under ``/in`` (no input is ever named with a leading dot)."""
MODULES = ".modules.json"
"""Under ``/out``: the modules a ``dataperf`` job imported (read and removed by the pool)."""
FIRST_WARM_UP = ("dataperf.cli",)
"""What a pool's containers import while they wait until one of its jobs has said what it used.
Kept small on purpose: a job reports every module its process holds, the warm-up's included,
so whatever is warmed first is never unlearned."""
MAX_MODULES = 5000
_MODULE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z_][A-Za-z0-9_-]*)*")
IDLE_S = 3600
"""A warm container not released within this many seconds exits by itself (and is replaced)."""
OWNER_LABEL = "dataperf.warm.owner"

BOOT = f"""
import importlib, json, os, runpy, sys, time, warnings
_challenge = sys.argv[1] if len(sys.argv) > 1 else ""
_modules = json.loads(sys.argv[2]) if len(sys.argv) > 2 else []
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    for _name in _modules:
        try:
            importlib.import_module(_name)
        except BaseException:
            pass  # a warm-up only: the job imports what it needs itself
for _reg in ("dataperf.kinds:KINDS", "dataperf.models:MODELS", "dataperf.metrics:METRICS"):
    try:
        _mod, _attr = _reg.split(":")
        getattr(importlib.import_module(_mod), _attr).names()
    except Exception:
        pass
if _challenge:  # the challenge this pool serves: read its spec and data once, ahead of the job
    try:
        from dataperf.challenges import get_challenge
        from dataperf.evaluator import load_data, single_threaded
        from dataperf.kinds import KINDS

        _spec = get_challenge(_challenge)
        KINDS.get(_spec.kind)
        _data = load_data(_spec)
        for _split in _data.split_names():
            _data.split(_split)
        with single_threaded():
            pass
        del _data
    except Exception:
        pass
_deadline = time.monotonic() + {IDLE_S}
while not os.path.exists("/in/{SIGNAL}"):
    if time.monotonic() > _deadline:
        sys.exit(0)
    time.sleep(0.005)
with open("/in/{SIGNAL}") as _f:
    _argv = json.load(_f)["argv"]
if _argv[0] != "dataperf":
    os.execvp(_argv[0], _argv)
sys.argv = _argv
try:
    runpy.run_module("dataperf.cli", run_name="__main__", alter_sys=True)
    _code = 0
except SystemExit as _e:
    _code = _e.code
    if isinstance(_code, str):
        print(_code, file=sys.stderr)
    _code = 1 if isinstance(_code, str) else int(_code or 0)
except BaseException:
    import traceback
    traceback.print_exc()
    _code = 1
try:  # what this job imported: the pool's next containers import it while they wait
    _used = [n for n in sys.modules if n != "__main__" and not n.endswith(".__main__")]
    with open("/out/{MODULES}", "w") as _f:
        json.dump(_used, _f)
except Exception:
    pass
sys.stdout.flush()
sys.stderr.flush()
os._exit(_code)  # the job's files are closed; tearing down the imported modules is wasted time
"""
"""The program every warm container runs (``python -c BOOT``)."""


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class Slot:
    """One container of a pool, with its private input and output folders."""

    container: Any
    in_dir: Path
    out_dir: Path
    warm: bool
    """True when it was started ahead of need (False: started for the job that took it)."""


class WarmPool:
    """Containers of one image, limit set, fixed mounts and environment, started ahead of need;
    :meth:`run` uses one for exactly one job and removes it."""

    def __init__(
        self,
        image: str,
        mounts: tuple[Mount, ...],
        limits: Limits,
        env: dict[str, str],
        size: int = 2,
        *,
        challenge: str | None = None,
        docker_client: DockerClient | None = None,
    ) -> None:
        if size < 1:
            raise ValueError(f"a warm pool holds at least one container, not {size}")
        self.c = docker_client or client()
        self.image_id = find_image(self.c, image).id
        self.image, self.mounts, self.limits, self.env, self.size = image, mounts, limits, env, size
        self.challenge = challenge
        """The challenge whose spec and data each container reads while it waits (None: none)."""
        self.modules: tuple[str, ...] = FIRST_WARM_UP
        """What each new container imports while it waits: the modules the pool's ``dataperf``
        jobs imported (:data:`FIRST_WARM_UP` before any)."""
        self._ready: list[Slot] = []
        self._starting = 0
        self._threads: list[threading.Thread] = []
        self._cond = threading.Condition()
        self.closed = False
        self.errors: list[str] = []
        """Why containers failed to start in the background (the next job starts its own)."""
        remove_orphans(self.c)
        self.fill()

    def _spawn(self, warm: bool) -> Slot:
        """Create and start one container; its process imports the evaluator and waits."""
        docker = sdk()
        in_dir = Path(tempfile.mkdtemp(prefix="dataperf-in-"))
        in_dir.chmod(0o755)
        out_dir = Path(tempfile.mkdtemp(prefix="dataperf-out-"))
        out_dir.chmod(0o777)  # written by uid 10001 in the container, whoever runs the host side
        binds = [*self.mounts, Mount(in_dir, "/in"), Mount(out_dir, "/out", read_only=False)]
        options = hardened(docker, self.limits, binds, self.env)
        options["labels"] = {**options["labels"], OWNER_LABEL: _owner()}
        container = None
        try:
            command = [self.challenge or "", json.dumps(list(self.modules))]
            container = self.c.containers.create(self.image_id, command, entrypoint=["python", "-c", BOOT], **options)
            container.start()
        except BaseException:
            _discard(Slot(container, in_dir, out_dir, warm))
            raise
        return Slot(container, in_dir, out_dir, warm)

    def _add(self) -> None:
        slot = None
        try:
            slot = self._spawn(warm=True)
        except Exception as e:
            self.errors.append(f"{type(e).__name__}: {e}")
        with self._cond:
            self._starting -= 1
            if slot is not None and not self.closed:
                self._ready.append(slot)
                slot = None
            self._cond.notify_all()
        if slot is not None:
            _discard(slot)  # the pool closed while it started

    def fill(self) -> None:
        """Start, in the background, as many containers as the pool lacks."""
        with self._cond:
            if self.closed:
                return
            need = self.size - len(self._ready) - self._starting
            self._starting += max(need, 0)
            self._threads = [t for t in self._threads if t.is_alive()]
            for _ in range(need):
                t = threading.Thread(target=self._add, name="dataperf-warm-start", daemon=True)
                self._threads.append(t)
                t.start()

    def take(self) -> Slot:
        """Return a running container for one job (it leaves the pool for good): a ready one,
        else one being started, else one started now; the pool then refills."""
        docker = sdk()
        slot = None
        with self._cond:
            if self.closed:
                raise RunnerError("the warm container pool is closed", status="error")
            while slot is None and (self._ready or self._starting):
                if not self._ready:
                    self._cond.wait(timeout=120)
                    if not self._ready:
                        break
                candidate = self._ready.pop(0)
                try:
                    candidate.container.reload()
                    alive = candidate.container.status == "running"
                except docker.errors.DockerException:
                    alive = False
                if alive:
                    slot = candidate
                else:
                    _discard(candidate)  # it idled out or was stopped: never handed out
        self.fill()
        return slot or self._spawn(warm=False)

    def run(self, argv: list[str], inputs: dict[str, Path]) -> SandboxOutcome:
        """Run ``argv`` in a container of the pool with ``inputs`` (name under ``/in`` -> host
        file) read-only, and return how it ended, as :func:`~dataperf.runners.docker.run_sandboxed`
        does (the caller removes ``out_dir``). The container is removed afterwards."""
        docker = sdk()
        for name in inputs:
            if name.startswith(".") or "/" in name or name in ("", ".."):
                raise ValueError(f"an input name under /in must be a plain file name, not {name!r}")
        slot = self.take()
        try:
            for name, src in inputs.items():
                shutil.copyfile(src, slot.in_dir / name)
                (slot.in_dir / name).chmod(0o644)
            tmp = slot.in_dir / ".start.tmp"
            tmp.write_text(json.dumps({"argv": argv}))
            tmp.chmod(0o644)
            os.replace(tmp, slot.in_dir / SIGNAL)  # the release: every input is in place
            outcome = await_exit(
                slot.container, self.limits, self.image_id, slot.out_dir, started=True, warm=slot.warm, engine=self.c
            )
            self._learn(modules_used(slot.out_dir / MODULES))
            return outcome
        except EngineGone:
            raise engine_lost(self.c, slot.container, slot.out_dir, self.image, ENGINE_RETURN_S) from None
        except docker.errors.DockerException as e:
            shutil.rmtree(slot.out_dir, ignore_errors=True)
            raise RunnerError(f"docker failed to run {self.image}: {e}", status="error") from None
        except BaseException:
            shutil.rmtree(slot.out_dir, ignore_errors=True)
            raise
        finally:
            _discard(Slot(slot.container, slot.in_dir, Path(), slot.warm))

    def _learn(self, used: tuple[str, ...] | None) -> None:
        """Add the modules a job used to what new containers import (in the job's order; the
        job's list alone when the union would pass :data:`MAX_MODULES`)."""
        if used:
            merged = tuple(dict.fromkeys((*used, *self.modules)))
            self.modules = merged if len(merged) <= MAX_MODULES else used

    def close(self) -> None:
        """Remove every container of the pool (waiting for those being started)."""
        with self._cond:
            self.closed = True
            slots, self._ready = self._ready, []
            threads = list(self._threads)
        for t in threads:
            t.join(timeout=180)
        for slot in slots:
            _discard(slot)


def modules_used(path: Path) -> tuple[str, ...] | None:
    """Return the module names a job left at ``path`` (removing the file): the dotted names
    of a JSON list of at most :data:`MAX_MODULES` (any other entry is dropped), or None when
    there is no such list. The job ran our evaluator on untrusted data, so nothing it wrote is
    taken unchecked."""
    try:
        if path.stat().st_size > 128 * MAX_MODULES:
            return None
        names = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    finally:
        path.unlink(missing_ok=True)
    if not isinstance(names, list) or len(names) > MAX_MODULES:
        return None
    kept = tuple(n for n in names if isinstance(n, str) and len(n) <= 200 and _MODULE_NAME.fullmatch(n))
    return kept or None


def _discard(slot: Slot) -> None:
    """Remove a slot's container (if any) and its folders."""
    if slot.container is not None:
        try:
            slot.container.remove(force=True)
        except sdk().errors.DockerException:
            pass  # already gone; nothing of it is left to remove
    shutil.rmtree(slot.in_dir, ignore_errors=True)
    if slot.out_dir != Path():
        shutil.rmtree(slot.out_dir, ignore_errors=True)


def remove_orphans(c: DockerClient) -> int:
    """Remove warm containers that a process of this host which no longer runs left behind;
    return how many."""
    host = socket.gethostname()
    n = 0
    for container in c.containers.list(all=True, filters={"label": OWNER_LABEL}):
        owner = str(container.labels.get(OWNER_LABEL, ""))
        name, _, pid = owner.rpartition(":")
        if name != host or not pid.isdigit() or _alive(int(pid)):
            continue
        try:
            container.remove(force=True)
            n += 1
        except sdk().errors.DockerException:
            pass  # removed by someone else meanwhile
    return n


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


_POOLS: dict[tuple[Any, ...], WarmPool] = {}
_LOCK = threading.Lock()
_AT_EXIT: list[bool] = []


def pool_for(
    image: str,
    mounts: tuple[Mount, ...],
    limits: Limits,
    env: dict[str, str],
    size: int,
    challenge: str | None = None,
    command: str | None = None,
) -> WarmPool:
    """Return this process's pool for ``image``, ``mounts``, ``limits``, ``env``,
    ``challenge`` and ``command`` (the ``dataperf`` command its jobs run: a pool learns what one
    command imports; created, and filled in the background, on first use; all are closed at
    interpreter exit)."""
    key = (image, mounts, limits, tuple(sorted(env.items())), size, challenge, command)
    with _LOCK:
        pool = _POOLS.get(key)
        if pool is None or pool.closed:
            if not _AT_EXIT:
                atexit.register(close_pools)
                _AT_EXIT.append(True)
            pool = _POOLS[key] = WarmPool(image, mounts, limits, env, size, challenge=challenge)
    return pool


def close_pools() -> None:
    """Close every pool of this process, removing their containers and folders."""
    with _LOCK:
        pools = list(_POOLS.values())
        _POOLS.clear()
    for pool in pools:
        pool.close()


class WarmDockerRunner(DockerRunner):
    """The docker runner with warm sandboxes: each run takes a pre-started container from a
    pool of :attr:`warm` per image, limits and challenge, used for that run only."""

    name = "docker-warm"
    warm = 2


RUNNERS.add(WarmDockerRunner.name, WarmDockerRunner)
