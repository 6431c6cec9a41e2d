"""The exporter's configuration file: the example loads, every mistake is one line naming
FILE:LINE before anything listens."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from tcpreach.errors import UsageError
from tcpreach.expectation import Expectation, Match
from tcpreach.exporter.config import ExporterConfig, load_exporter_config, most_concurrent
from tcpreach.exporter.policy import Allowance
from tcpreach.options import CheckOptions, TlsSettings

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "tcpreach-exporter.toml"


def test_the_example_configuration():
    assert load_exporter_config(EXAMPLE) == ExporterConfig(
        modules={
            "hello": CheckOptions(port=1848),
            "hello_tls": CheckOptions(port=443, tls=TlsSettings()),
            "pop3_banner": CheckOptions(port=110, expectation=Expectation(b"+OK", Match.PREFIX, keep_open=True)),
        },
        allowance=Allowance(hosts=("hello-server.fly.dev", "*.example.org")),
        max_concurrent=32,
        timeout_offset=0.5,
        source=str(EXAMPLE),
    )


def test_a_minimal_configuration_takes_the_defaults(tmp_path):
    path = tmp_path / "x.toml"
    path.write_text('[allow]\nnetworks = ["127.0.0.0/8"]\n[modules.default]\n')
    assert load_exporter_config(path) == ExporterConfig(
        {"default": CheckOptions()}, Allowance(networks=(ipaddress.ip_network("127.0.0.0/8"),)), source=str(path)
    )


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("[modules.a]\nport = 1\n[alow]\n", "{f}:3: 'alow' is not known here: the keys are max_concurrent, "
                                           "timeout_offset, allow, modules"),
        ("max_concurrent = 4\n", "{f}: no module: add one, e.g. [modules.hello] with port = 1848"),
        ("[modules.a]\nport = 99999\n", "modules.a.port: port must be an integer in 1..65535, got '99999' "
                                        "(from {f}:2)"),
        ("[modules.a]\nprot = 1\n", "{f}:2: 'prot' is not a setting: did you mean 'port'?"),
        ("[modules.a]\nhost = ['x.example']\n", "{f}:2: host is not a module setting (the target comes with each "
                                                "scrape)"),
        ("[modules.a]\nsni = 'x.example'\n",
         "modules.a.sni and modules.a.ca go with modules.a.tls (or modules.a.starttls)"),
        ("max_concurrent = 0\n[modules.a]\n", "{f}:1: max_concurrent must be 1 to {most:,} (each probe may hold 8 "
                                              "sockets and the open-file limit allows {files:,}), got 0"),
        ("max_concurrent = 1000000000000\n[modules.a]\n", "{f}:1: max_concurrent must be 1 to {most:,} (each probe "
         "may hold 8 sockets and the open-file limit allows {files:,}), got 1,000,000,000,000"),
        ("timeout_offset = -1\n[modules.a]\n[allow]\nhosts = ['a.example']\n", "{f}:1: timeout_offset: "
         "timeout_offset must be a number of seconds above 0 and at most 3600, got '-1'"),
        ("[modules.a]\n", "{f}: no [allow] table: the exporter probes only what it lists, e.g. [allow] hosts = "
                          '["*.example.org"], networks = ["192.0.2.0/24"]'),
        ("[modules.a]\n[allow]\n", "{f}:2: [allow] allows nothing: list hosts = [...] or networks = [...]"),
        ("[modules.a]\n[allow]\nhosts = []\nnetworks = []\n",
         "{f}:2: [allow] allows nothing: list hosts = [...] or networks = [...]"),
        ("[modules.a]\n[allow]\nhosts = ['bad_name!']\n", "{f}:3: allow.hosts: 'bad_name!' is no host name or "
         "*.pattern: label 'bad_name!' is not 1-63 letters, digits or inner hyphens"),
        ("[modules.a]\nexpect = 'a'\nexpect_prefix = 'b'\n[allow]\nhosts = ['a.example']\n",
         "modules.a.expect and modules.a.expect_prefix are two expectations: give one (from {f}:3)"),
        ("[modules.a]\n[allow]\nnetworks = ['10.0.0.1/8']\n", "{f}:3: '10.0.0.1/8' is no network: 10.0.0.1/8 has "
                                                               "host bits set"),
        ("[modules.a]\n[allow]\nhosts = 'x.example'\n", "{f}:3: allow.hosts takes a list of strings, got 'x.example'"),
        ("[modules.a]\n[allow]\nhosts = ['*']\n", "{f}:3: allow.hosts: '*' is no host name or *.pattern: it is empty "
                                               "or has a '*' inside"),
        ("[modules.a]\n[allow]\nnames = []\n", "{f}:3: allow.names is not known: allow takes hosts and networks"),
        ("[modules]\na = 1\n", "{f}:2: modules.a must be a table of settings"),
        ("[modules.a\n", "{f}: not valid TOML: Expected ']' at the end of a table declaration (at line 1, column 11)"),
    ],
)  # fmt: skip
def test_a_mistake_is_one_line_naming_where(tmp_path, text, error):
    path = tmp_path / "exporter.toml"
    path.write_text(text)
    with pytest.raises(UsageError) as raised:
        load_exporter_config(path)
    most = most_concurrent()
    assert str(raised.value) == error.format(f=path, most=most, files=most * 8)


def test_a_missing_file_is_one_line(tmp_path):
    with pytest.raises(UsageError) as raised:
        load_exporter_config(tmp_path / "absent.toml")
    assert str(raised.value) == (
        f"cannot read {tmp_path / 'absent.toml'}: No such file or directory; give the path of the exporter's TOML "
        "configuration"
    )
