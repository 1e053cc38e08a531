"""The sandbox holds: each test runs a small hostile Python snippet in the evaluator image
under the same settings the docker runner uses, and checks what it could and could not do."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from dataperf.runners.docker import Limits, Mount, SandboxOutcome, run_sandboxed

SMALL = Limits(memory="256m", cpus=1.0, pids=64, timeout=60)


def py(image: str, code: str, client: Any, limits: Limits = SMALL, mounts: tuple[Mount, ...] = ()) -> SandboxOutcome:
    """Run ``python -c code`` in ``image`` in the sandbox."""
    return run_sandboxed(image, ["-c", code], entrypoint=["python"], limits=limits, mounts=mounts, docker_client=client)


def done(outcome: SandboxOutcome) -> dict[str, Any]:
    """Return the JSON the snippet wrote to /out/report.json, then remove the out folder."""
    try:
        return dict(json.loads((outcome.out_dir / "report.json").read_text()))
    finally:
        shutil.rmtree(outcome.out_dir, ignore_errors=True)


def test_no_network(cpu_image: str, docker_client: Any) -> None:
    code = """
import json, os, socket
res = {"ifaces": sorted(os.listdir('/sys/class/net'))}
for host, port in [("1.1.1.1", 53), ("8.8.8.8", 443), ("172.17.0.1", 2375)]:
    s = socket.socket(); s.settimeout(3)
    try:
        s.connect((host, port)); res[host] = "connected"
    except OSError as e:
        res[host] = type(e).__name__ + ": " + str(e)
try:
    socket.getaddrinfo("deb.debian.org", 80); res["dns"] = "resolved"
except OSError as e:
    res["dns"] = str(e)
json.dump(res, open('/out/report.json', 'w'))
"""
    out = py(cpu_image, code, docker_client)
    assert out.status == "ok", out.log
    rep = done(out)
    assert rep["ifaces"] == ["lo"]
    for host in ("1.1.1.1", "8.8.8.8", "172.17.0.1"):
        assert rep[host] != "connected"
        assert "unreachable" in rep[host].lower(), rep[host]
    assert rep["dns"] != "resolved"


def test_writes_only_to_out_and_tmp(cpu_image: str, docker_client: Any, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "keep.txt").write_text("original")
    sub = tmp_path / "sub.csv"
    sub.write_text("id\n1\n")
    code = """
import json, os
res = {}
for path in ["/etc/evil", "/opt/venv/evil", "/evil", "/data/evil", "/data/keep.txt", "/in/sub.csv",
             "/tmp/ok", "/out/ok", "/dev/shm/x", "/proc/sys/kernel/hostname"]:
    try:
        with open(path, "w") as fh:
            fh.write("x")
        res[path] = "written"
    except OSError as e:
        res[path] = type(e).__name__
json.dump(res, open("/out/report.json", "w"))
"""
    mounts = (Mount(data, "/data"), Mount(sub, "/in/sub.csv"))
    out = py(cpu_image, code, docker_client, mounts=mounts)
    assert out.status == "ok", out.log
    rep = done(out)
    assert rep.pop("/tmp/ok") == "written"
    assert rep.pop("/out/ok") == "written"
    rep.pop("/dev/shm/x")  # the container's private IPC tmpfs; gone with the container
    assert all(v != "written" for v in rep.values()), rep
    assert (data / "keep.txt").read_text() == "original"
    assert sorted(p.name for p in data.iterdir()) == ["keep.txt"]
    assert sub.read_text() == "id\n1\n"


def test_not_root_no_capabilities(cpu_image: str, docker_client: Any) -> None:
    code = """
import json, os
status = dict(line.split(":\\t", 1) for line in open("/proc/self/status").read().splitlines() if ":\\t" in line)
res = {"uid": os.getuid(), "euid": os.geteuid(), "gid": os.getgid(),
       "cap_eff": status["CapEff"].strip(), "cap_bnd": status["CapBnd"].strip(),
       "no_new_privs": status["NoNewPrivs"].strip()}
try:
    os.setuid(0); res["setuid"] = "ok"
except OSError as e:
    res["setuid"] = type(e).__name__
json.dump(res, open("/out/report.json", "w"))
"""
    out = py(cpu_image, code, docker_client)
    assert out.status == "ok", out.log
    rep = done(out)
    assert rep["uid"] == rep["euid"] == rep["gid"] == 10001
    assert int(rep["cap_eff"], 16) == 0 and int(rep["cap_bnd"], 16) == 0
    assert rep["no_new_privs"] == "1"
    assert rep["setuid"] == "PermissionError"


def test_memory_hog_is_oom(cpu_image: str, docker_client: Any) -> None:
    code = """
chunks = []
while True:
    chunks.append(bytearray(16 << 20))  # bytearray zero-fills: the pages are touched
"""
    out = py(cpu_image, code, docker_client, limits=Limits(memory="128m", pids=64, timeout=60))
    done_dir = out.out_dir
    shutil.rmtree(done_dir, ignore_errors=True)
    assert out.status == "oom", (out.status, out.exit_code, out.log[-500:])


def test_sleeper_is_timeout(cpu_image: str, docker_client: Any) -> None:
    out = py(cpu_image, "import time; time.sleep(120)", docker_client, limits=Limits(timeout=3))
    shutil.rmtree(out.out_dir, ignore_errors=True)
    assert out.status == "timeout"
    assert out.exit_code is None
    assert 3 <= out.wall_s < 120  # ran its limit, then was stopped before the sleep could end


def test_fork_bomb_stopped_by_pid_limit(cpu_image: str, docker_client: Any) -> None:
    code = """
import json, os, time
n, err = 0, None
for _ in range(10000):
    try:
        pid = os.fork()
    except OSError as e:
        err = type(e).__name__
        break
    if pid == 0:
        time.sleep(600)
        os._exit(0)
    n += 1
json.dump({"forked": n, "error": err}, open("/out/report.json", "w"))
"""
    out = py(cpu_image, code, docker_client, limits=Limits(pids=32, timeout=60))
    assert out.status == "ok", out.log
    rep = done(out)
    assert rep["error"] == "BlockingIOError"
    assert 0 < rep["forked"] < 32


def test_real_fork_bomb_is_contained(cpu_image: str, docker_client: Any) -> None:
    host_pids = len(os.listdir("/proc"))
    code = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n"
    out = py(cpu_image, code, docker_client, limits=Limits(pids=32, timeout=4))
    shutil.rmtree(out.out_dir, ignore_errors=True)
    assert out.status == "timeout"
    assert len(os.listdir("/proc")) < host_pids + 40  # nothing leaked onto the host


def test_host_unaffected(cpu_image: str, docker_client: Any) -> None:
    """After every hostile run, no sandbox container is left and the engine still works."""
    left = docker_client.containers.list(all=True, filters={"label": "dataperf.sandbox=1"})
    assert left == []
    out = py(cpu_image, "import json; json.dump({'ok': 1}, open('/out/report.json', 'w'))", docker_client)
    assert out.status == "ok" and done(out) == {"ok": 1}
    assert not list(Path("/tmp").glob("dataperf-out-*"))


@pytest.mark.parametrize("code,status", [("import sys; sys.exit(3)", "crashed"), ("pass", "ok")])
def test_exit_status(cpu_image: str, docker_client: Any, code: str, status: str) -> None:
    out = py(cpu_image, code, docker_client)
    shutil.rmtree(out.out_dir, ignore_errors=True)
    assert out.status == status
    assert out.exit_code == (3 if status == "crashed" else 0)


def test_log_is_capped(cpu_image: str, docker_client: Any) -> None:
    out = py(cpu_image, "import sys\nfor i in range(200000): print('x' * 50, i)", docker_client)
    shutil.rmtree(out.out_dir, ignore_errors=True)
    assert out.status == "ok"
    assert len(out.log.encode()) < 70 * 1024
    assert "bytes of output left out" in out.log
