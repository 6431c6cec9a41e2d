"""The exporter's image, built from the repository's Dockerfile (``--target exporter``), as a
Fly user would place one per region: it starts from the configuration mounted at
/etc/tcpreach/exporter.toml, serves /metrics, and probes from inside the container."""

from __future__ import annotations

import http.client
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import dns
import prometheus_client
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tcpreach.testing.container import build_image, remove_image

pytestmark = pytest.mark.docker

ROOT = Path(__file__).resolve().parents[2]
CONFIG = """\
[allow]
networks = ["127.0.0.0/8"]
[modules.hello]
port = 1848
retries = 0
probe_timeout = 2
"""


def context_with_site(folder: Path) -> Path:
    """The repository's build context, docker/site filled from this venv's packages (what
    docker/exporter-site.sh puts there from PyPI), offline."""
    for name in ("server", "tcpreach"):
        shutil.copytree(ROOT / name, folder / name, ignore=shutil.ignore_patterns("__pycache__"))
    (folder / "docker").mkdir()
    shutil.copy(ROOT / "docker" / "Dockerfile", folder / "docker" / "Dockerfile")
    shutil.copy(ROOT / ".dockerignore", folder / ".dockerignore")
    for package in (dns, prometheus_client):
        source = Path(package.__path__[0])
        shutil.copytree(source, folder / "docker" / "site" / source.name, ignore=shutil.ignore_patterns("__pycache__"))
    return folder


@pytest.fixture(scope="module")
def exporter_image(base_image, tmp_path_factory, worker_id) -> Iterator[str]:
    tag = f"tcpreach-exporter:test-{worker_id}-{int(time.time())}"
    context = context_with_site(tmp_path_factory.mktemp("context"))
    build_image(context, "docker/Dockerfile", tag, {"BASE_IMAGE": base_image}, target="exporter")
    yield tag
    remove_image(tag)


def get(host: str, port: int, path: str) -> tuple[int, str]:
    connection = http.client.HTTPConnection(host, port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


def test_the_exporter_image_serves_and_probes_from_inside(exporter_image, tmp_path):
    from testcontainers.core.container import DockerContainer

    config = tmp_path / "exporter.toml"
    config.write_text(CONFIG)
    config.chmod(0o644)
    container = (
        DockerContainer(exporter_image)
        .with_exposed_ports(9848)
        .with_volume_mapping(str(config), "/etc/tcpreach/exporter.toml", "ro")
    )
    with container:
        host, port = container.get_container_host_ip(), int(container.get_exposed_port(9848))
        deadline = time.monotonic() + 30
        while True:
            try:
                status, body = get(host, port, "/metrics")
                break
            except (ConnectionError, OSError, http.client.HTTPException):
                assert time.monotonic() < deadline, container.get_logs()
                time.sleep(0.2)
        assert status == 200
        assert "tcpreach_exporter_build_info{" in body
        # Nothing listens on 1848 inside the exporter's own container: refused, from in there.
        status, body = get(host, port, "/probe?target=127.0.0.1:1848&module=hello")
        found = {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(body)
            for s in family.samples
        }
        held = [dict(k[1])["verdict"] for k, v in found.items() if k[0] == "tcpreach_address_verdict" and v == 1]
        assert (status, found[("probe_success", ())], held) == (200, 0, ["refused"])
