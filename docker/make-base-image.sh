#!/usr/bin/env bash
# Make a Debian bookworm base image with Python 3 without any container registry.
#
#   docker/make-base-image.sh [NAME:TAG]     (default hello-server-base:bookworm)
#
# debootstrap (minbase + Python) into a temporary folder, clean it, `docker import` it.
# Does nothing when the image already exists. Needs root and debootstrap.
set -euo pipefail

IMAGE=${1:-${HELLO_BASE_IMAGE:-hello-server-base:bookworm}}
SUITE=${HELLO_BASE_SUITE:-bookworm}

say() { printf 'base-image: %s\n' "$*" >&2; }

if docker image inspect "$IMAGE" >/dev/null 2>&1; then
    say "$IMAGE already exists"
    exit 0
fi
command -v debootstrap >/dev/null 2>&1 || { say "debootstrap is missing: apt-get install debootstrap"; exit 1; }
[ "$(id -u)" -eq 0 ] || { say "debootstrap needs root"; exit 1; }

mirror=${HELLO_DEBIAN_MIRROR:-}
if [ -z "$mirror" ]; then
    mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
fi
if [ -z "$mirror" ]; then
    mirror=$(awk '$1 == "deb" {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
fi
mirror=${mirror:-http://deb.debian.org/debian}

rootfs=$(mktemp -d /tmp/hello-base.XXXXXX)
trap 'rm -rf "$rootfs"' EXIT
say "debootstrap $SUITE from $mirror (about 40 s)"
# python3.11 brings the whole standard library; python3-minimal alone lacks logging & co.
debootstrap --variant=minbase --include=python3-minimal,libpython3.11-stdlib "$SUITE" "$rootfs" "$mirror" >/tmp/hello-base-debootstrap.log 2>&1 \
    || { tail -n 20 /tmp/hello-base-debootstrap.log >&2; exit 1; }
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/*
tar -C "$rootfs" -c . | docker import -c 'CMD ["python3"]' - "$IMAGE" >/dev/null
say "made $IMAGE ($(docker image inspect -f '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MB", $1/1e6}'))"
