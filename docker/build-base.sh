#!/usr/bin/env bash
# Build the local base image dataperf/python-base:3.11 when it is absent (reuse it when present):
# debootstrap a minimal Debian bookworm with python3 (3.11) from the machine's configured Debian
# mirror, strip docs/locales/apt lists, and `docker import` the root filesystem.
# Needs root, debootstrap and a running dockerd; the only network it uses is the Debian mirror.
#   BASE_IMAGE   tag to build        (default dataperf/python-base:3.11)
#   DEBIAN_MIRROR override the mirror (default: first Debian URI in /etc/apt/sources.list*)
#   FORCE=1      rebuild even when the image exists
set -euo pipefail

image=${BASE_IMAGE:-dataperf/python-base:3.11}
suite=bookworm

if [ "${FORCE:-0}" != 1 ] && docker image inspect "$image" >/dev/null 2>&1; then
    echo "build-base: $image present, reusing it"
    exit 0
fi

find_mirror() {
    # deb822 (*.sources: "URIs: <uri>") and one-line (*.list: "deb [opts] <uri> <suite> ...") forms;
    # the first URI ending in /debian (not -security, not a third-party repo) wins.
    local files
    files=$(ls /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list \
        2>/dev/null || true)
    [ -n "$files" ] || return 0
    # shellcheck disable=SC2086
    {
        grep -hE '^\s*URIs:' $files 2>/dev/null | sed -E 's/^\s*URIs:\s*//' | tr ' ' '\n'
        grep -hE '^\s*deb\s' $files 2>/dev/null | sed -E 's/\[[^]]*\]//' | awk '{print $2}'
    } | grep -E '/debian/?$' | head -n 1 || true
}

mirror=${DEBIAN_MIRROR:-$(find_mirror)}
if [ -z "$mirror" ]; then
    echo "build-base: no Debian mirror found in /etc/apt/sources.list*; set DEBIAN_MIRROR" >&2
    exit 1
fi
command -v debootstrap >/dev/null || {
    echo "build-base: debootstrap not found (apt-get install -y debootstrap)" >&2
    exit 1
}

work=$(mktemp -d /var/tmp/dataperf-base.XXXXXX)
trap 'rm -rf "$work"' EXIT
root=$work/rootfs
echo "build-base: debootstrap $suite from $mirror"
keyring=()
[ -f /usr/share/keyrings/debian-archive-keyring.gpg ] && \
    keyring=(--keyring=/usr/share/keyrings/debian-archive-keyring.gpg)
debootstrap --variant=minbase --include=python3 "${keyring[@]}" "$suite" "$root" "$mirror" \
    >"$work/debootstrap.log" 2>&1 || {
    tail -n 40 "$work/debootstrap.log" >&2
    exit 1
}

# Slim it: no docs, man pages, locales, apt lists or caches; keep copyright files.
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/* "$root"/var/cache/debconf/*-old \
    "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/locale/* \
    "$root"/var/log/* "$root"/tmp/* "$root"/root/.cache
find "$root/usr/share/doc" -mindepth 2 ! -name copyright -delete 2>/dev/null || true
# Container-friendly apt defaults, and a stable sources.list pointing at the same mirror.
printf 'deb %s %s main\n' "$mirror" "$suite" >"$root/etc/apt/sources.list"
printf 'path-exclude /usr/share/doc/*\npath-include /usr/share/doc/*/copyright\npath-exclude /usr/share/man/*\npath-exclude /usr/share/locale/*\n' \
    >"$root/etc/dpkg/dpkg.cfg.d/01-slim"
# Precompile the standard library so a read-only root never pays for compiling it.
chroot "$root" python3 -m compileall -q -j 0 /usr/lib/python3.11 >/dev/null 2>&1 || true

tar --numeric-owner -C "$root" -c . | docker import \
    --change 'ENV LANG=C.UTF-8' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["python3"]' \
    - "$image" >/dev/null
echo "build-base: built $image ($(docker image inspect -f '{{.Size}}' "$image" | awk '{printf "%.0f MB", $1/1e6}'))"
