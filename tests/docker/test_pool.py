"""Warm sandboxes: pre-started containers, hardened like cold ones, each used for one job only."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from baselines import for_kind
from dataperf.challenges import challenges, get_challenge
from dataperf.data.prepared import PreparedData
from dataperf.errors import RunnerError
from dataperf.evaluator import evaluate
from dataperf.paths import data_dir
from dataperf.runners.docker import Limits, Mount
from dataperf.runners.docker_pool import (
    _POOLS,
    MAX_MODULES,
    MODULES,
    OWNER_LABEL,
    WarmDockerRunner,
    WarmPool,
    close_pools,
    modules_used,
    pool_for,
)
from dataperf.runners.local import LocalRunner
from dataperf.submission import write_submission

SMALL = Limits(memory="256m", cpus=1.0, pids=64, timeout=60)


def _leftovers(docker_client: Any) -> list[Any]:
    return list(docker_client.containers.list(all=True, filters={"label": OWNER_LABEL}))


@pytest.fixture
def pool(cpu_image: str, docker_client: Any, tmp_path: Path) -> Iterator[WarmPool]:
    """A pool of two warm containers with a read-only data mount; closed (and checked empty) after."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "fixed.txt").write_text("fixed input")
    p = WarmPool(cpu_image, (Mount(data, "/data"),), SMALL, {}, size=2, docker_client=docker_client)
    yield p
    p.close()
    assert _leftovers(docker_client) == []


def _probe(pool: WarmPool, code: str, inputs: dict[str, Path] | None = None) -> tuple[dict[str, Any], Any]:
    out = pool.run(["python", "-c", code], inputs or {})
    try:
        assert out.status == "ok", out.log
        return json.loads((out.out_dir / "report.json").read_text()), out
    finally:
        shutil.rmtree(out.out_dir, ignore_errors=True)


def test_each_container_runs_one_job_and_is_removed(pool: WarmPool, docker_client: Any, tmp_path: Path) -> None:
    import docker

    first_file = tmp_path / "a.txt"
    first_file.write_text("first")
    code = """
import json, os
left = os.path.exists('/tmp/left-by-a-job')
open('/tmp/left-by-a-job', 'w').write('x')
json.dump({'in': sorted(os.listdir('/in')), 'left': left, 'pid1': open('/proc/1/cmdline').read()},
          open('/out/report.json', 'w'))
"""
    rep1, out1 = _probe(pool, code, {"a.txt": first_file})
    rep2, out2 = _probe(pool, code)
    assert rep1["in"] == [".start.json", "a.txt"] and rep2["in"] == [".start.json"]
    assert rep1["left"] is False and rep2["left"] is False  # nothing a job wrote reaches the next
    assert out1.extra["warm"] and out2.extra["warm"]
    assert out1.extra["container_id"] != out2.extra["container_id"]
    for used in (out1, out2):
        with pytest.raises(docker.errors.NotFound):
            docker_client.containers.get(used.extra["container_id"])
    assert not [p for p in (out1.out_dir, out2.out_dir) if p.exists()]


def test_warm_containers_are_hardened_and_inputs_read_only(pool: WarmPool, docker_client: Any, tmp_path: Path) -> None:
    pool.fill()
    ready = pool.take()  # leaves the pool: inspected here, then released with a probe
    try:
        ready.container.reload()
        host = ready.container.attrs["HostConfig"]
        assert host["NetworkMode"] == "none" and host["ReadonlyRootfs"] is True
        assert host["CapDrop"] == ["ALL"] and host["SecurityOpt"] == ["no-new-privileges"]
        assert host["Memory"] == 256 << 20 and host["PidsLimit"] == 64 and host["NanoCpus"] == 10**9
        assert ready.container.attrs["Config"]["User"] == "10001:10001"
        mounts = {m["Destination"]: m["RW"] for m in ready.container.attrs["Mounts"]}
        assert mounts == {"/data": False, "/in": False, "/out": True}
    finally:
        pool._ready.insert(0, ready)  # hand it back unreleased so the next run uses it
    sub = tmp_path / "sub.csv"
    sub.write_text("id\n1\n")
    code = """
import json, os
res = {}
for path in ('/in/sub.csv', '/in/new', '/data/fixed.txt', '/etc/x'):
    try:
        open(path, 'a').write('x'); res[path] = 'written'
    except OSError as e:
        res[path] = type(e).__name__
res['uid'] = os.getuid()
res['read'] = open('/in/sub.csv').read()
json.dump(res, open('/out/report.json', 'w'))
"""
    rep, out = _probe(pool, code, {"sub.csv": sub})
    assert out.extra["container_id"] == ready.container.id
    assert rep["read"] == "id\n1\n" and rep["uid"] == 10001
    for path in ("/in/sub.csv", "/in/new", "/data/fixed.txt", "/etc/x"):
        assert rep[path] in ("OSError", "PermissionError"), rep  # EROFS or EACCES, never written
    assert sub.read_text() == "id\n1\n"


def test_close_removes_every_container_and_folder(cpu_image: str, docker_client: Any) -> None:
    def folders() -> set[Path]:
        return set(Path(tempfile.gettempdir()).glob("dataperf-in-*")) | set(
            Path(tempfile.gettempdir()).glob("dataperf-out-*")
        )

    before = folders()
    p = WarmPool(cpu_image, (), SMALL, {}, size=3, docker_client=docker_client)
    p.close()  # while its containers are still starting
    assert _leftovers(docker_client) == []
    assert folders() - before == set()
    with pytest.raises(RunnerError, match="closed"):
        p.run(["true"], {})


def test_warm_runner_scores_equal_local(in_world: Any, cpu_image: str, docker_client: Any, tmp_path: Path) -> None:
    name = challenges().names()[0]
    spec = get_challenge(name)
    data = PreparedData(spec, data_dir(spec.id, spec.version))
    baseline = for_kind(spec.kind)[0]
    files = [write_submission(baseline.build(spec, data, s), tmp_path / f"s{s}.parquet", spec.id) for s in (0, 1)]
    try:
        runner = WarmDockerRunner(docker_client=docker_client)
        boxed = [runner.evaluate(name, f) for f in files]
        local = [evaluate(spec, f, data=data) for f in files]
        assert [b.scores for b in boxed] == [x.scores for x in local]
        assert [b.provenance.image_digest for b in boxed] == [docker_client.images.get(cpu_image).id] * 2
        assert all(b.provenance.runner == "docker-warm" for b in boxed)
    finally:
        close_pools()
    assert _leftovers(docker_client) == []


def test_pool_for_reuses_the_pool_not_its_containers(cpu_image: str, docker_client: Any) -> None:
    try:
        a = pool_for(cpu_image, (), SMALL, {}, 1)
        assert pool_for(cpu_image, (), SMALL, {}, 1) is a
        code = "import json, socket; json.dump({'host': socket.gethostname()}, open('/out/report.json', 'w'))"
        hosts = {_probe(a, code)[0]["host"] for _ in range(3)}
        assert len(hosts) == 3  # three jobs, three containers
    finally:
        close_pools()
    assert _leftovers(docker_client) == []


def test_a_jobs_module_list_is_taken_only_when_well_formed(tmp_path: Path) -> None:
    path = tmp_path / MODULES
    bad = ['{"numpy": 1}', "[]", '["os; import x"]', '["../x", "a."]', "[1]", "not json", '"numpy"']
    for text in [*bad, json.dumps(["numpy"] * (MAX_MODULES + 1))]:
        path.write_text(text)
        assert modules_used(path) is None, text
        assert not path.exists()  # read once, whatever it held
    sysconfig = "_sysconfigdata__x86_64-linux-gnu"
    names = ["numpy", "os; import x", "dataperf.cli.commands.validate", 3, sysconfig, "a" * 201]
    path.write_text(json.dumps(names))
    assert modules_used(path) == ("numpy", "dataperf.cli.commands.validate", sysconfig)
    assert not path.exists()
    assert modules_used(path) is None


class _OneWarm(WarmDockerRunner):
    warm = 1


def test_a_pool_warms_what_its_jobs_import(in_world: Any, cpu_image: str, docker_client: Any, tmp_path: Path) -> None:
    """A validate job imports no scikit-learn, so after one, the pool's containers stop
    importing it while they wait; what they return is unchanged."""
    name = challenges().names()[0]
    spec = get_challenge(name)
    data = PreparedData(spec, data_dir(spec.id, spec.version))
    sub = write_submission(for_kind(spec.kind)[0].build(spec, data, 0), tmp_path / "s.parquet", spec.id)
    runner = _OneWarm(docker_client=docker_client)
    try:
        first = runner.parse(name, sub)  # its container warmed the command line only
        (pool,) = [p for key, p in _POOLS.items() if key[-1] == "validate"]
        assert "dataperf.cli.commands.validate" in pool.modules and "pandas" in pool.modules
        assert not [m for m in pool.modules if m.startswith("sklearn") or m.endswith("__main__")]
        runner.parse(name, sub)  # takes the container started before the pool learned
        with pool._cond:
            pool._cond.wait_for(lambda: pool._ready or not pool._starting, timeout=120)
            (learned,) = pool._ready
        learned.container.reload()
        assert json.loads(learned.container.attrs["Args"][-1]) == list(pool.modules)
        third = runner.parse(name, sub)
        local = LocalRunner().parse(name, sub)
        assert first.table.equals(local.table) and third.table.equals(local.table)
        assert first.sha256 == third.sha256 == local.sha256
    finally:
        close_pools()
    assert _leftovers(docker_client) == []
