"""A fleet in a file: both forms, each host once, and every mistake one error naming FILE:LINE."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tcpreach.errors import UsageError
from tcpreach.settings import Given
from tcpreach.settings.hosts_file import read_hosts_file


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_plain_list_with_comments_blank_lines_and_repeats(tmp_path):
    path = write(tmp_path, "hosts", "# the fleet\nhello-server.fly.dev\n\n[::1]:1848   # loopback\n"
                                    "HELLO-server.fly.dev.\nmail.example.com:110\n[::1]:1848\n")  # fmt: skip
    assert read_hosts_file(path) == (
        {},
        [("hello-server.fly.dev", {}), ("[::1]:1848", {}), ("mail.example.com:110", {})],
    )


def test_a_toml_file_gives_common_settings_and_each_hosts_own(tmp_path):
    text = 'probe_timeout = 2\nhost = ["a.example", "b.example"]\n\n'
    text += '[hosts."mail.example.com:110"]\nexpect_prefix = "+OK"\nkeep_open = true\n'
    path = write(tmp_path, "fleet.toml", text)
    assert read_hosts_file(path) == (
        {"probe_timeout": Given(2, f"{path}:1")},
        [("a.example", {}), ("b.example", {}),
         ("mail.example.com:110", {"expect_prefix": Given("+OK", f"{path}:5"), "keep_open": Given(True, f"{path}:6")})],
    )  # fmt: skip


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("hosts", "a.example\nb.example c.example\n", "{path}:2: one host a line, got 'b.example c.example'"),
        ("hosts", "a.example\n\n::1:1848:x\n", "{path}:3: '::1:1848:x' is not an IPv6 address; write an address "
                                               "with a port as [v6]:port"),
        ("hosts", "a.example:99999\n", "{path}:1: port must be an integer in 1..65535, got '99999'"),
        ("hosts", "# nothing yet\n\n", "{path} names no host: one host[:port] a line, or host = [...] in a .toml file"),
        ("fleet.toml", "port = 1\n", "{path} names no host: one host[:port] a line, or host = [...] in a .toml file"),
        ("fleet.toml", 'host = ["a.example"]\nprot = 1\n', "{path}:2: 'prot' is not a setting: did you mean 'port'?"),
        ("fleet.toml", '[hosts."a.example"]\ntimeout = 1\n', "{path}:2: 'timeout' is not a setting: did you mean "
                                                           "'probe_timeout'?"),
        ("fleet.toml", 'host = "a.example"\n', "{path}:1: host takes a list of host[:port], got 'a.example'"),
        ("fleet.toml", '[hosts."[::1"]\nport = 1\n', "{path}: [hosts.'[::1']: '[::1': brackets must hold an IPv6 "
                                                   "address, as in [::1]:1848"),
        ("fleet.toml", 'hosts = "a.example"\n', '{path}: hosts must be tables, [hosts."NAME"], one a host'),
        ("fleet.toml", 'hosts = {"a.example" = 1}\n', "{path}: [hosts.'a.example'] must be a table of settings"),
        ("fleet.toml", 'host = ["a.example:99999"]\n', "{path}:1: port must be an integer in 1..65535, got '99999'"),
        ("hosts", "a.example # one # two\nb.example c # d\n", "{path}:2: one host a line, got 'b.example c'"),
        # a key of an inline table has no line of its own: the file is named alone
        ("fleet.toml", 'hosts = {"a.example" = {prot = 1}}\n', "{path}: 'prot' is not a setting: did you mean 'port'?"),
    ],
)  # fmt: skip
def test_a_mistake_is_one_error_naming_the_file_and_line(tmp_path, name, text, message):
    path = write(tmp_path, name, text)
    with pytest.raises(UsageError, match=f"^{re.escape(message.format(path=path))}$"):
        read_hosts_file(path)


@pytest.mark.parametrize("name", ["hosts", "fleet.toml"])
def test_a_file_that_cannot_be_read_says_what_it_should_have_been(tmp_path, name):
    what = "a TOML hosts file" if name.endswith(".toml") else "a hosts file"
    with pytest.raises(UsageError) as missing:
        read_hosts_file(tmp_path / name)
    (tmp_path / "folder").mkdir()
    with pytest.raises(UsageError) as folder:
        read_hosts_file(tmp_path / "folder")
    assert [str(missing.value), str(folder.value)] == [
        f"cannot read {tmp_path / name}: No such file or directory; give the path of {what}",
        f"{tmp_path / 'folder'} is a directory: give the path of a hosts file",
    ]


def test_a_plain_list_that_is_not_utf8_is_named(tmp_path):
    path = tmp_path / "hosts"
    path.write_bytes(b"a.example\n\xff\n")
    with pytest.raises(UsageError) as raised:
        read_hosts_file(path)
    assert str(raised.value) == f"{path} is not UTF-8 text: invalid start byte at byte 10"


def test_a_toml_fleet_over_a_config_files_size_is_read(tmp_path):
    # the hosts files' own limit (64 MiB), not the one of a configuration file (1 MiB)
    hosts = [f"host-{n}.{'a-long-label-that-fills-the-file-' * 2}example" for n in range(18_000)]
    path = write(tmp_path, "fleet.toml", "host = [" + ", ".join(f'"{h}"' for h in hosts) + "]\n")
    assert path.stat().st_size > 1 << 20
    assert [h for h, _ in read_hosts_file(path)[1]] == hosts


def test_a_hundred_thousand_hosts_are_read(tmp_path):
    path = write(tmp_path, "hosts", "".join(f"host-{n}.example:{1 + n % 65535}\n" for n in range(100_000)))
    common, hosts = read_hosts_file(path)
    assert (common, len(hosts), hosts[0], hosts[-1]) == ({}, 100_000, ("host-0.example:1", {}),
                                                         ("host-99999.example:34465", {}))  # fmt: skip
