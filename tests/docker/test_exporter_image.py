"""The exporter's image, built from the repository's Dockerfile (``--target exporter``), as a
Fly user would place one per region: it starts from the configuration mounted at
/etc/tcpreach/exporter.toml, serves /metrics, and probes from inside the container."""

from __future__ import annotations

import http.client
import importlib.util
import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tcpreach.testing.container import build_image, remove_image

pytestmark = pytest.mark.docker

ROOT = Path(__file__).resolve().parents[2]
SITE_MODULES = (
    "dns",
    "prometheus_client",
    "aiohttp",
    "aiohappyeyeballs",
    "aiosignal",
    "attr",
    "attrs",
    "frozenlist",
    "multidict",
    "propcache",
    "yarl",
    "idna",
    "typing_extensions",
)
"""What docker/exporter-site.sh installs from PyPI: the exporter's dependencies and theirs."""
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
    site = folder / "docker" / "site"
    site.mkdir()
    for name in SITE_MODULES:
        spec = importlib.util.find_spec(name)
        assert spec is not None and spec.origin is not None, f"{name} is not installed here"
        source = Path(spec.origin)
        if source.name == "__init__.py":
            shutil.copytree(source.parent, site / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, site / source.name)
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


def test_the_checker_image_and_this_machine_merge_into_one_view(exporter_image, hello_container, cli, tmp_path):
    # The exporter's image is also the checker a Fly Machine would run: its report of the
    # hello container, made inside another container, merged with this machine's.
    import docker

    target = hello_container.reachable().container_ipv4
    assert target is not None, "the engine gave the container no IPv4 address"
    host = f"{target.address}:{target.port}"
    client = docker.from_env()
    try:
        output = client.containers.run(
            exporter_image, ["python3", "-m", "tcpreach", "probe", host, "--json", "--vantage", "container"],
            remove=True, stdout=True, stderr=False,
        )  # fmt: skip
    finally:
        client.close()
    (tmp_path / "container.json").write_bytes(output)
    here = cli("probe", host, "--json", "--vantage", "this-machine")
    (tmp_path / "here.json").write_text(here.stdout)
    done = cli("merge", str(tmp_path / "container.json"), str(tmp_path / "here.json"), "--json")
    doc = json.loads(done.stdout)
    assert (done.returncode, doc["vantages"]) == (0, ["container", "this-machine"])
    assert [m["verdicts"] for m in doc["matrix"]] == [{"container": "ok", "this-machine": "ok"}]
    assert [(c["client"], c["reaches"]) for c in doc["clients"]][:2] == [
        ("IPv4-only", "yes"),
        ("IPv6-only", "not tested"),
    ]
