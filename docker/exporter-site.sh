#!/usr/bin/env bash
# Fill docker/site with the exporter image's dependencies and theirs (wheels from PyPI, for
# the base's CPython 3.11 on linux/amd64), so the image needs no pip:
#   docker/exporter-site.sh && docker build -f docker/Dockerfile --target exporter .
set -euo pipefail
cd "$(dirname "$0")/.."
find docker/site -mindepth 1 ! -name README.md -delete
"${PYTHON:-python3}" -m pip install --quiet --no-compile --target docker/site --only-binary=:all: \
    --platform manylinux2014_x86_64 --python-version 3.11 --implementation cp \
    'dnspython>=2.6' 'prometheus-client>=0.20' 'aiohttp>=3.9'
echo "docker/site: $(ls docker/site | grep -v README.md | tr '\n' ' ')"
