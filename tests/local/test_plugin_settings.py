"""The plugin's settings as a foreign project sees them: command line over environment over
ini over the defaults, the retry defaults, the families (pytester, in-process)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.local

REPORT = """
import json
import pathlib


def test_settings(tcpreach_settings):
    s = tcpreach_settings
    remote, local = s.options_for(remote=True), s.options_for(remote=False)
    pathlib.Path("settings.json").write_text(json.dumps({
        "port": s.options.port, "families": list(s.options.families), "timeout": s.options.timeout,
        "retries_remote": remote.retries, "retries_local": local.retries, "expect": s.options.expectation.data.hex(),
        "match": str(s.options.expectation.match), "keep_open": s.options.expectation.keep_open,
        "tls": None if s.options.tls is None else [s.options.tls.server_name, s.options.tls.ca_file],
        "accept": s.accept_shared_ipv4,
    }))
"""


def settings(pytester, inner_pytest, *args, ini=""):
    pytester.makeini(f"[pytest]\n{ini}")
    pytester.makepyfile(test_inner_settings_report=REPORT)  # a name no module of ours has
    result = inner_pytest(*args)
    result.assert_outcomes(passed=1)
    return json.loads((pytester.path / "settings.json").read_text())


def test_the_defaults(pytester, inner_pytest):
    assert settings(pytester, inner_pytest) == {
        "port": 1848, "families": ["ipv4", "ipv6"], "timeout": 3.0, "retries_remote": 2, "retries_local": 0,
        "expect": b"hello\n".hex(), "match": "exact", "keep_open": False, "tls": None, "accept": False,
    }  # fmt: skip


def test_command_line_over_environment_over_ini(pytester, inner_pytest, monkeypatch):
    ini = "tcpreach_port = 1000\ntcpreach_family = 6\ntcpreach_probe_timeout = 7\ntcpreach_retries = 5"
    assert [settings(pytester, inner_pytest, ini=ini)[k] for k in ("port", "families", "timeout", "retries_local")] == [
        1000, ["ipv6"], 7.0, 5
    ]  # fmt: skip
    monkeypatch.setenv("TCPREACH_PORT", "2000")
    monkeypatch.setenv("TCPREACH_FAMILY", "4")
    from_env = settings(pytester, inner_pytest, ini=ini)
    assert [from_env[k] for k in ("port", "families", "timeout")] == [2000, ["ipv4"], 7.0]
    chosen = settings(pytester, inner_pytest, "--tcpreach-port", "3000", "--tcpreach-family", "both", ini=ini)
    assert [chosen[k] for k in ("port", "families", "timeout")] == [3000, ["ipv4", "ipv6"], 7.0]


def test_explicit_retries_apply_to_remote_and_local_alike(pytester, inner_pytest):
    chosen = settings(pytester, inner_pytest, "--tcpreach-retries", "0")
    assert (chosen["retries_remote"], chosen["retries_local"]) == (0, 0)


def test_expectation_tls_and_flags_from_ini(pytester, inner_pytest, tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("not checked until a handshake\n")
    ini = (
        f"tcpreach_expect_prefix = +OK\\r\\n\ntcpreach_keep_open = true\ntcpreach_tls = yes\n"
        f"tcpreach_sni = mail.example\ntcpreach_ca = {ca}\ntcpreach_accept_shared_ipv4 = 1"
    )
    chosen = settings(pytester, inner_pytest, ini=ini)
    assert [chosen[k] for k in ("expect", "match", "keep_open", "tls", "accept")] == [
        b"+OK\r\n".hex(), "prefix", True, ["mail.example", str(ca)], True
    ]  # fmt: skip


def test_a_config_file_is_below_ini_environment_and_command_line(pytester, inner_pytest, monkeypatch):
    (pytester.path / "tcpreach.toml").write_text("port = 1000\nfamily = '6'\nprobe_timeout = 7\nretries = 5\n")
    ini = "tcpreach_config = tcpreach.toml\ntcpreach_family = 4"
    from_file = settings(pytester, inner_pytest, ini=ini)
    assert [from_file[k] for k in ("port", "families", "timeout", "retries_local")] == [1000, ["ipv4"], 7.0, 5]
    monkeypatch.setenv("TCPREACH_PORT", "2000")
    chosen = settings(pytester, inner_pytest, "--tcpreach-probe-timeout", "1", ini=ini)
    assert [chosen[k] for k in ("port", "families", "timeout")] == [2000, ["ipv4"], 1.0]


def test_an_alias_of_no_setting_is_one_clear_error(pytester, inner_pytest):
    pytester.makeconftest(
        "from tcpreach.pytest_plugin import add_aliases\n\n\n"
        "def pytest_addoption(parser):\n    add_aliases(parser, {'--hostname': 'hostname'})\n"
    )
    result = inner_pytest()
    assert result.ret != 0
    result.stderr.fnmatch_lines(
        ["*ValueError: add_aliases: --hostname names no setting 'hostname'; the settings are host, *"]
    )


PATH_OPTIONS = ("--ca", "--tcpreach-ca", "--fly-toml", "--tcpreach-fly-toml", "--connectivity-json", "--tcpreach-json",
                "--tcpreach-config")  # fmt: skip


def test_the_readme_writes_every_path_option_of_pytest_with_an_equals_sign():
    # pytest takes the folder of a path among its arguments as its rootdir before it knows
    # these options: "--ca /path/ca.pem" loses this repository's conftest and its aliases
    root = Path(__file__).resolve().parents[2]
    readme = [line for page in (root / "README.md", *sorted((root / "docs").glob("*.md")))
              for line in page.read_text(encoding="utf-8").splitlines()]  # fmt: skip
    pytest_lines = [line for line in readme if line.startswith(("pytest ", "| `--"))]  # commands, the options table
    spaced = [line for line in pytest_lines for option in PATH_OPTIONS if re.search(rf"{option} [A-Z/.a-z]", line)]
    assert spaced == []


def test_a_path_option_with_an_equals_sign_keeps_the_aliases_from_a_subfolder(tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("not read: collection only\n")
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-m", "remote",
         "--host", "127.0.0.1", "--tls", f"--ca={ca}", "--resolver", "127.0.0.1:9", "../remote"],
        cwd=root / "tests" / "unit", capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert "unrecognized arguments" not in done.stderr, done.stderr
    assert done.returncode in (0, 5), done.stdout[-2000:] + done.stderr[-2000:]


@pytest.mark.parametrize(
    ("ini", "error"),
    [
        ("tcpreach_keep_open = maybe", "ERROR: tcpreach: --tcpreach-keep-open: takes true or false (1, yes, on / 0, "
                                       "no, off), got 'maybe' (from ini key tcpreach_keep_open)"),
        ("tcpreach_tls = maybe", "ERROR: tcpreach: --tcpreach-tls: takes true or false (1, yes, on / 0, no, off), "
                                 "got 'maybe' (from ini key tcpreach_tls)"),
        ("tcpreach_accept_shared_ipv4 = 2",
         "ERROR: tcpreach: --tcpreach-accept-shared-ipv4: takes true or false (1, yes, on / 0, no, off), got '2' "
         "(from ini key tcpreach_accept_shared_ipv4)"),
        ("tcpreach_steps = 'send:unclosed", "ERROR: tcpreach: ini key tcpreach_steps: No closing quotation"),
    ],
    ids=["keep-open", "tls", "accept-shared-ipv4", "steps"],
)  # fmt: skip
def test_a_bad_ini_value_is_one_usage_error_naming_its_key(pytester, inner_pytest, ini, error):
    pytester.makeini(f"[pytest]\n{ini}\n")
    pytester.makepyfile(test_inner_nothing="def test_nothing():\n    pass\n")
    result = inner_pytest()
    assert (result.ret, [line for line in result.errlines if line.startswith("ERROR")]) == (
        pytest.ExitCode.USAGE_ERROR, [error])  # fmt: skip
