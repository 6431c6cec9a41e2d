#!/usr/bin/env bash
# Fill docker/site with the exporter image's dependencies (pure Python, from PyPI), so the
# image needs no pip:  docker/exporter-site.sh && docker build -f docker/Dockerfile --target exporter .
set -euo pipefail
cd "$(dirname "$0")/.."
find docker/site -mindepth 1 ! -name README.md -delete
"${PYTHON:-python3}" -m pip install --quiet --no-deps --no-compile --target docker/site \
    'dnspython>=2.6' 'prometheus-client>=0.20'
echo "docker/site: $(ls docker/site | grep -v README.md | tr '\n' ' ')"
