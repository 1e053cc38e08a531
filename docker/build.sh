#!/usr/bin/env bash
# Build the dataperf evaluator images, offline except for the Debian mirror (base image only)
# and the host's package index (wheels, cached). Steps, each timed:
#   1. make sure dockerd answers (scripts/start-dockerd)
#   2. build the base image when absent (docker/build-base.sh)
#   3. prepare wheels into .cache/wheels, pinned to the host venv's `pip freeze` so the image
#      has exactly the host's numpy/scipy/scikit-learn/pyarrow (bit-for-bit parity)
#   4. build dataperf/evaluator-cpu:<EVALUATOR_VERSION> (and -gpu with --gpu)
# Usage: docker/build.sh [--gpu] [--no-cache]
#   HOST_VENV   venv whose versions the image copies (default .venv, else /tmp/probe-venv)
#   WHEEL_CACHE wheel cache folder              (default .cache/wheels)
#   TORCH_SPEC  torch requirement of both images (default torch==2.13.0, the CPU build on this disk)
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
gpu=0
nocache=()
for arg in "$@"; do
    case $arg in
        --gpu) gpu=1 ;;
        --no-cache) nocache=(--no-cache) ;;
        -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
        *) echo "build.sh: unknown argument '$arg' (expected --gpu, --no-cache)" >&2; exit 2 ;;
    esac
done

venv=${HOST_VENV:-}
if [ -z "$venv" ]; then
    if [ -x .venv/bin/python ]; then venv=.venv; else venv=/tmp/probe-venv; fi
fi
py=$venv/bin/python
[ -x "$py" ] || { echo "build.sh: no python in host venv '$venv' (set HOST_VENV)" >&2; exit 1; }
cache=${WHEEL_CACHE:-$repo/.cache/wheels}
torch_spec=${TORCH_SPEC:-torch==2.13.0}
export DOCKER_BUILDKIT=0  # Debian's docker.io has no buildx; the classic builder needs nothing else

now() { date +%s.%N; }
t_start=$(now)
step() { echo "== $1 ($(awk -v a="$t_start" -v b="$(now)" 'BEGIN{printf "%.1f", b-a}')s)"; }
timed() {  # timed LABEL CMD...: run CMD, print its wall time
    local t0 t1 label=$1
    shift
    t0=$(now)
    "$@"
    t1=$(now)
    awk -v a="$t0" -v b="$t1" -v l="$label" 'BEGIN{printf "build.sh: %s took %.1fs\n", l, b-a}'
}

step "dockerd"
"$repo/scripts/start-dockerd"

step "base image"
timed "base image" "$repo/docker/build-base.sh"

step "wheels"
version=$("$py" -c "import sys; sys.path.insert(0, '$repo'); import dataperf.version as v; print(v.EVALUATOR_VERSION)")
mkdir -p "$cache" "$repo/.cache/self"
stage=$(mktemp -d "$repo/.cache/context.XXXXXX")
trap 'rm -rf "$stage"' EXIT
# Exact pins of the host venv (no editable or direct-URL lines, not dataperf itself).
"$py" -m pip freeze --all | grep -E '^[A-Za-z0-9_.-]+==' | grep -viE '^dataperf==' >"$stage/constraints.txt"
prepare_wheels() {
    rm -f "$repo"/.cache/self/dataperf-*.whl
    # setuptools builds in-tree into build/; a stale build/lib would ship modules deleted since.
    rm -rf "$repo/build"
    # A fixed SOURCE_DATE_EPOCH makes the wheel byte-identical while the source is, so the
    # image's dataperf layer stays cached.
    SOURCE_DATE_EPOCH=315532800 "$py" -m pip wheel -q --no-deps -w "$repo/.cache/self" "$repo"
    self_whl=$(ls "$repo"/.cache/self/dataperf-*.whl)
    cp "$self_whl" "$cache/"
    # Wheels for dataperf's dependencies (sdists are built once into wheels), torch, and pip itself.
    # Offline from the cache first; only a miss goes to the package index.
    local want=("$self_whl" "$torch_spec" pip)
    "$py" -m pip wheel -q -w "$cache" --no-index --find-links "$cache" -c "$stage/constraints.txt" \
        "${want[@]}" >/dev/null 2>&1 ||
        "$py" -m pip wheel -q -w "$cache" --find-links "$cache" -c "$stage/constraints.txt" "${want[@]}" \
            2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
}
timed "wheels" prepare_wheels

# build_image KIND EXTRA_REQ: stage exactly the wheels pip resolves, then docker build.
build_image() {
    local kind=$1 extra=$2 ctx="$stage/$1" tag="dataperf/evaluator-$1:$version"
    mkdir -p "$ctx/wheels" "$ctx/self"
    cp "$self_whl" "$ctx/self/"
    cp -r "$repo/challenges" "$ctx/challenges"
    "$py" -m pip install -q --dry-run --ignore-installed --no-index --find-links "$cache" \
        -c "$stage/constraints.txt" --report "$ctx/report.json" "$self_whl" $extra
    "$py" - "$ctx" "$cache" <<'PY'
import json, os, sys
from pathlib import Path
from urllib.parse import unquote, urlparse
ctx, cache = Path(sys.argv[1]), Path(sys.argv[2])
report = json.loads((ctx / "report.json").read_text())
pins = []
for item in report["install"]:
    if item["metadata"]["name"] == "dataperf":
        continue  # installed from self/ in its own layer
    src = Path(unquote(urlparse(item["download_info"]["url"]).path))
    os.link(src, ctx / "wheels" / src.name) if src.stat().st_dev == ctx.stat().st_dev else \
        (ctx / "wheels" / src.name).write_bytes(src.read_bytes())
    pins.append(f"{item['metadata']['name']}=={item['metadata']['version']}")
(ctx / "requirements.txt").write_text("\n".join(sorted(pins)) + "\n")
PY
    cp "$(ls -t "$cache"/pip-*.whl | head -n 1)" "$ctx/wheels/"
    rm "$ctx/report.json"
    docker build -q --force-rm "${nocache[@]}" -f "$repo/docker/Dockerfile.$kind" \
        --build-arg "EVALUATOR_VERSION=$version" -t "$tag" "$ctx" 2> >(grep -vE "DEPRECATED|BuildKit|^ *environment-variable|^$" >&2) >/dev/null
    echo "build.sh: built $tag ($(docker image inspect -f '{{.Size}}' "$tag" | awk '{printf "%.0f MB", $1/1e6}'))"
}

step "cpu image"
# The CPU image carries torch's CPU build: the torch fixed models (torch-linear, torch-mlp, the
# continual kind's) are scored in it like every other model.
timed "cpu image" build_image cpu "$torch_spec"
if [ "$gpu" = 1 ]; then
    step "gpu image"
    timed "gpu image" build_image gpu "$torch_spec"
fi
step "done"
