"""The wheel as someone else installs it: a fresh virtual environment, beside another
plugin that owns ``--host``, ``--port`` and ``--retries``, in projects that are not ours.

The fresh environment gets the wheel through pip (offline: ``--no-index``) and
its dependencies (pytest, dnspython and what they need) as a folder of links to this
environment's copies, so nothing is downloaded and this checkout is not on its path.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import re
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.local

ROOT = Path(__file__).resolve().parents[2]


def _requirements(name: str, seen: set[str]) -> None:
    """``name`` and what it needs, without extras or markers that do not apply here."""
    key = re.sub(r"[-_.]+", "-", name).lower()
    if key in seen:
        return
    seen.add(key)
    for requirement in importlib.metadata.requires(name) or []:
        spec, _, marker = requirement.partition(";")
        if "extra" in marker:
            continue
        if marker.strip() and not _marker_holds(marker):
            continue
        _requirements(re.split(r"[\s<>=!~\[(]", spec.strip(), maxsplit=1)[0], seen)


def _marker_holds(marker: str) -> bool:
    from packaging.markers import Marker

    return Marker(marker.strip()).evaluate()


def link_farm(folder: Path, roots: list[str]) -> Path:
    """A folder with links to the installed files of ``roots`` and their dependencies."""
    names: set[str] = set()
    for root in roots:
        _requirements(root, names)
    folder.mkdir()
    for name in names:
        dist = importlib.metadata.distribution(name)
        for entry in {Path(str(f)).parts[0] for f in dist.files or [] if not str(f).startswith("..")}:
            source = Path(str(dist.locate_file(entry)))
            if source.exists() and not (folder / entry).exists() and not entry.endswith(".pth"):
                (folder / entry).symlink_to(source)
    return folder


OTHER_PLUGIN = '''
"""Another project's plugin that owns the common spellings, as pytest-selenium and
pytest-retry do."""


def pytest_addoption(parser):
    parser.addoption("--host", default="selenium-grid")
    parser.addoption("--port", default="4444")
    parser.addoption("--retries", default="0")
'''

OTHER_DIST = {
    "METADATA": "Metadata-Version: 2.1\nName: other-plugin\nVersion: 1.0\n",
    "entry_points.txt": "[pytest11]\nother = other_plugin\n",
    "RECORD": "",
}

UNRELATED_INI = """
[pytest]
addopts = --strict-markers --strict-config -W error -p no:cacheprovider
junit_family = xunit2
markers =
    local: their own marker
    remote: their own marker
    docker: their own marker
"""

UNRELATED_CONFTEST = """
import pytest


@pytest.fixture
def local_address():
    return "their local address"


@pytest.fixture
def remote_host():
    return "their remote host"


@pytest.fixture
def remote_target():
    return "their remote target"


@pytest.fixture
def connectivity():
    return "their connectivity"
"""

UNRELATED_TESTS = """
import sys

import pytest


@pytest.mark.local
def test_their_local_address(local_address, record_testsuite_property):
    record_testsuite_property("theirs", "yes")
    assert local_address == "their local address"


@pytest.mark.remote
def test_their_remote_fixtures(remote_host, remote_target, connectivity):
    assert remote_host == "their remote host"
    assert (remote_target, connectivity) == ("their remote target", "their connectivity")


@pytest.mark.docker
def test_the_other_plugin_owns_its_options(request):
    assert [request.config.getoption(o) for o in ("--host", "--port", "--retries")] == ["grid.example", "5555", "3"]


def test_the_plugin_is_there_with_its_own_names_only(request):
    # Unknown options and ini keys raise ValueError; --host above is the other plugin's.
    assert request.config.getoption("--tcpreach-host") is None
    assert request.config.getini("tcpreach_expect_prefix") == ""
    markers = [m.split(":")[0] for m in request.config.getini("markers") if m.startswith("tcpreach")]
    assert markers == ["tcpreach_remote", "tcpreach_local"]


def test_a_plugin_that_is_not_used_imports_neither_dnspython_nor_its_library():
    assert [m for m in sys.modules if m == "dns" or m.startswith("dns.")] == []
    assert sorted(m for m in sys.modules if m.startswith("tcpreach")) == [
        "tcpreach", "tcpreach.pytest_plugin", "tcpreach.pytest_plugin.options", "tcpreach.settings"
    ]
"""

BANNER_CONFTEST = """
import socket
import threading

import pytest


@pytest.fixture(scope="session")
def pop3_port():
    # Their own service: a POP3-style banner on a dual-stack socket, connection kept open.
    listener = socket.create_server(("::", 0), family=socket.AF_INET6, dualstack_ipv6=True)
    held = []

    def serve():
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            conn.sendall(b"+OK POP3 ready\\r\\n")
            held.append(conn)

    threading.Thread(target=serve, daemon=True).start()
    yield listener.getsockname()[1]
    listener.close()
    for conn in held:
        conn.close()
"""

BANNER_INI = """
[pytest]
addopts = --strict-markers -W error -p no:cacheprovider
tcpreach_expect_prefix = +OK
tcpreach_keep_open = true
"""

BANNER_TESTS = """
from tcpreach import Family, Target


def test_banner(tcpreach_local_address, pop3_port, tcpreach):
    report = tcpreach.local_report("their pop3 server", pop3_port)
    tcpreach.assert_target_ok(report, Target(Family.of(tcpreach_local_address), tcpreach_local_address, pop3_port))
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel, built by the project's PEP 517 backend (what ``pip wheel`` and ``python -m
    build`` call), here in this process."""
    from hatchling.build import build_wheel

    out = tmp_path_factory.mktemp("wheel")
    with contextlib.chdir(ROOT):
        name = build_wheel(str(out))
    return out / name


@pytest.fixture(scope="module")
def fresh_python(wheel, tmp_path_factory) -> Path:
    """A new venv with the wheel, its dependencies linked, and the other plugin."""
    home = tmp_path_factory.mktemp("fresh")
    venv.create(home / "venv", with_pip=False)  # this environment's pip installs into it (--python)
    python = home / "venv" / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-index", "--no-deps",
         str(wheel)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    site = Path(
        subprocess.check_output(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True
        ).strip()
    )
    deps = link_farm(home / "deps", ["pytest", "dnspython"])
    (site / "deps.pth").write_text(f"{deps}\n")
    (site / "other_plugin.py").write_text(OTHER_PLUGIN)
    dist_info = site / "other_plugin-1.0.dist-info"
    dist_info.mkdir()
    for name, text in OTHER_DIST.items():
        (dist_info / name).write_text(text)
    return python


def run_pytest(python: Path, project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "TCPREACH_", "PYTHONPATH"))}
    return subprocess.run(
        [python, "-m", "pytest", *args], cwd=project, capture_output=True, text=True, timeout=120, env=env, check=False
    )


def test_the_wheel_holds_the_library_alone_with_license_version_and_types(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert sorted({n.split("/")[0] for n in names}) == ["pytest_tcpreach-0.2.0.dist-info", "tcpreach"]
    assert "tcpreach/py.typed" in names
    assert "pytest_tcpreach-0.2.0.dist-info/licenses/LICENSE" in names
    meta = zipfile.ZipFile(wheel).read("pytest_tcpreach-0.2.0.dist-info/METADATA").decode()
    assert "Name: pytest-tcpreach\n" in meta and "Version: 0.2.0\n" in meta
    assert "Classifier: Framework :: Pytest\n" in meta and "Classifier: Typing :: Typed\n" in meta
    assert "Project-URL: Source," in meta
    points = zipfile.ZipFile(wheel).read("pytest_tcpreach-0.2.0.dist-info/entry_points.txt").decode()
    assert "[pytest11]\ntcpreach = tcpreach.pytest_plugin\n" in points


def test_an_unrelated_project_is_untouched(fresh_python, tmp_path):
    (tmp_path / "pytest.ini").write_text(UNRELATED_INI)
    (tmp_path / "conftest.py").write_text(UNRELATED_CONFTEST)
    (tmp_path / "test_theirs.py").write_text(UNRELATED_TESTS)
    done = run_pytest(
        fresh_python, tmp_path, "--host", "grid.example", "--port", "5555", "--retries", "3", "--junitxml=out.xml"
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1].startswith("=") and " 5 passed in " in done.stdout.splitlines()[-1]
    ours = [line for line in (done.stdout + done.stderr).splitlines() if "tcpreach" in line.lower()]
    # pytest's own header names every plugin; nothing else of ours.
    assert [sorted(line.removeprefix("plugins: ").split(", ")) for line in ours] == [
        ["other-plugin-1.0", "tcpreach-0.2.0"]
    ]
    assert "warning" not in (done.stdout + done.stderr).lower()
    # The plugin is there all the same, with its own names only (test_the_plugin_is_there_...).


def test_a_project_checks_its_own_banner_service_with_the_plugin(fresh_python, tmp_path):
    (tmp_path / "pytest.ini").write_text(BANNER_INI)
    (tmp_path / "conftest.py").write_text(BANNER_CONFTEST)
    (tmp_path / "test_banner.py").write_text(BANNER_TESTS)
    done = run_pytest(fresh_python, tmp_path, "-m", "tcpreach_local", "--junitxml=out.xml")
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert re.search(r"=+ (\d+) passed in ", out.splitlines()[-1])
    assert "expecting starting with '+OK' (the server may keep the connection open)" in out
    assert "INFO     all-ok" in out
    assert "warning" not in (out + done.stderr).lower()


def test_the_plugin_documents_its_fixtures(inner_pytest):
    # The wheel's plugin module is this checkout's (see the wheel test): its fixture list is
    # read in-process, without a third interpreter in the fresh environment.
    fixtures = inner_pytest("--fixtures")
    lines = fixtures.stdout.lines
    start = next(i for i, line in enumerate(lines) if "fixtures defined from tcpreach.pytest_plugin" in line)
    ours = lines[start + 1 :]
    ours = ours[: next((i for i, line in enumerate(ours) if "fixtures defined from" in line), len(ours))]
    # Each fixture: a "name -- where" line, then its docstring, indented.
    heads = [i for i, line in enumerate(ours) if " -- " in line and not line.startswith(" ")]
    assert [ours[i].split(" -- ")[0] for i in heads] == [
        "tcpreach",
        "tcpreach_settings",
        "tcpreach_remote_host",
        "tcpreach_remote_target",
        "tcpreach_local_address",
    ]
    assert all(ours[i + 1].startswith("    ") and ours[i + 1].strip() for i in heads)
    assert "pytest-tcpreach's reports and assertions" in fixtures.stdout.str()
