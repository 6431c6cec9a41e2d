"""The settings table: each setting declared once, and every spelling of it made from that
one declaration (a CLI flag, a plugin option, an environment variable, an ini key and a
configuration key) with one default."""

from __future__ import annotations

import argparse
import re

import pytest

from tcpreach.cli import build_parser
from tcpreach.errors import UsageError
from tcpreach.expectation import Expectation, Match
from tcpreach.model import Family
from tcpreach.options import CheckOptions, TlsSettings
from tcpreach.pytest_plugin.options import value_of
from tcpreach.settings import BY_NAME, SETTINGS, Given, Kind, Setting, Surface
from tcpreach.settings.config import load_config, options_from, parsed

PLUGIN_ONLY = {"local_interfaces"}  # only pytest has local servers whose addresses it checks


def probe_parser() -> argparse.ArgumentParser:
    commands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return commands.choices["probe"]


def cli_action(setting: Setting) -> argparse.Action | None:
    return next((a for a in probe_parser()._actions if a.dest == setting.name), None)


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.name)
def test_every_setting_is_a_cli_flag_unless_it_is_pytests_alone(setting):
    action = cli_action(setting)
    if setting.name in PLUGIN_ONLY:
        assert (Surface.CLI in setting.surfaces, action) == (False, None)
    elif setting.name == "host":
        assert (action is not None and action.option_strings) == []  # the positional HOST
    else:
        assert action is not None and set(setting.cli) <= set(action.option_strings)
        assert (action.default, action.help) == (None, setting.help)


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.name)
def test_every_setting_is_a_plugin_option_an_env_var_and_an_ini_key(setting, request, monkeypatch):
    assert Surface.PLUGIN in setting.surfaces
    config = request.config
    assert config.getoption(setting.dest) is None  # registered: an unknown one raises ValueError
    assert config.getini(setting.ini) in ("", [], False)
    text = "1" if setting.kind is Kind.FLAG else "x"
    monkeypatch.setenv(setting.env, text)
    assert value_of(config, setting.name) == Given(text, setting.env)
    assert (setting.plugin_flag, setting.env, setting.ini) == (
        f"--tcpreach-{setting.name.replace('_', '-')}",
        f"TCPREACH_{setting.name.upper()}",
        f"tcpreach_{setting.name}",
    )


# What a configuration file may say for the settings that have no default.
SAMPLES = {
    "expect_prefix": ("'+OK'", b"+OK"),
    "expect_regex": ("'^\\+OK'", b"^\\+OK"),
    "send": ("'PING\\r\\n'", b"PING\r\n"),
    "sni": ("'mail.example'", "mail.example"),
    "ca": ("'{ca}'", "{ca}"),
    "cert": ("'{ca}'", "{ca}"),
    "key": ("'{ca}'", "{ca}"),
    "min_tls": ("'1.3'", "1.3"),
    "starttls": ("'smtp'", "smtp"),
    "resolver": ("'[::1]:5353'", ("::1", 5353)),
    "vantage": ("'fra'", "fra"),
}


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.name)
def test_every_setting_is_a_config_key_with_one_default(setting, tmp_path):
    """The default as a user types it, written in a configuration file, is the default value."""
    ca = tmp_path / "ca.pem"
    ca.write_text("-")
    if setting.name in SAMPLES:
        text, expected = (x.format(ca=ca) if isinstance(x, str) else x for x in SAMPLES[setting.name])
        assert (setting.default, setting.typed_default()) == ("", None)
    else:
        default = setting.default
        text = str(default).lower() if isinstance(default, bool) else f"'{default}'" if default else "[]"
        expected = setting.typed_default()
    path = tmp_path / "tcpreach.toml"
    path.write_text(f"# a comment\n{setting.key} = {text}\n")
    given = load_config(path)
    assert [(name, item.source) for name, item in given.items()] == [(setting.name, f"{path}:2")]
    assert parsed(given) == {setting.name: expected}


def test_nothing_given_is_the_librarys_own_default_options():
    assert options_from({}) == CheckOptions()
    assert CheckOptions().expectation.data == BY_NAME["expect"].typed_default()


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"port": 1848, "probe_timeout": 2.5, "retries": 0, "family": "6"},
         CheckOptions(port=1848, timeout=2.5, retries=0, families=(Family.IPV6,))),
        ({"expect_prefix": "+OK", "keep_open": True, "send": "PING\\r\\n"},
         CheckOptions(expectation=Expectation(b"+OK", Match.PREFIX, b"PING\r\n", keep_open=True))),
        ({"tls": "yes", "sni": "mail.example."}, CheckOptions(tls=TlsSettings(server_name="mail.example"))),
        ({"tls": False, "resolver": "[::1]:5353"}, CheckOptions(resolver=("::1", 5353))),
    ],
)  # fmt: skip
def test_toml_and_text_values_become_one_check_options(values, expected):
    given = {name: Given(value, "tcpreach.toml") for name, value in values.items()}
    assert options_from(parsed(given)) == expected


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"expect_regex": "^a", "expect_prefix": "b"},
         "expect_regex and expect_prefix are two expectations: give one (from tcpreach.toml:3)"),
        ({"expect": "a", "expect_prefix": "b"},
         "expect and expect_prefix are two expectations: give one (from tcpreach.toml:3)"),
    ],
)  # fmt: skip
def test_two_expectations_from_one_source_are_refused_never_one_dropped(values, message):
    given = {name: Given(value, "tcpreach.toml:3") for name, value in values.items()}
    with pytest.raises(UsageError) as raised:
        parsed(given)
    assert str(raised.value) == message


def test_one_expectation_beside_a_send_is_no_conflict():  # the look-alike: send is of no group
    given = {"expect_prefix": Given("+OK", "a"), "send": Given("PING\\r\\n", "a")}
    assert options_from(parsed(given)).expectation == Expectation(b"+OK", Match.PREFIX, b"PING\r\n")


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("port", "abc", "--tcpreach-port: port must be an integer in 1..65535, got 'abc' (from TCPREACH_PORT)"),
        ("port", True, "--tcpreach-port: takes PORT, got True (from TCPREACH_PORT)"),
        ("tls", "maybe", "--tcpreach-tls: takes true or false (1, yes, on / 0, no, off), got 'maybe' "
                         "(from TCPREACH_PORT)"),
        ("host", [1848], "--tcpreach-host: takes a list of HOST, got [1848] (from TCPREACH_PORT)"),
        ("family", "5", "--tcpreach-family: takes 4, 6 or both, got '5' (from TCPREACH_PORT)"),
        ("probe_timeout", -1, "--tcpreach-probe-timeout: the value must be a number of seconds above 0 and at most "
                              "3600, got '-1' (from TCPREACH_PORT)"),
    ],
)  # fmt: skip
def test_a_bad_value_names_the_setting_and_where_it_came_from(name, value, message):
    with pytest.raises(UsageError) as raised:
        parsed({name: Given(value, "TCPREACH_PORT")}, lambda s: s.plugin_flag)
    assert str(raised.value) == message


@pytest.mark.parametrize(
    ("value", "hosts"),
    [("a.example, b.example c.example", ("a.example", "b.example", "c.example")),  # text: commas or spaces
     (["a.example", "b.example"], ("a.example", "b.example")), ("", ()), ("a.example", ("a.example",))],
)  # fmt: skip
def test_a_list_setting_is_text_split_at_commas_and_spaces_or_a_toml_list(value, hosts):
    assert parsed({"host": Given(value, "TCPREACH_HOST")})["host"] == hosts


def test_each_item_of_a_toml_list_is_parsed():
    # each in its one spelling: the parser ran on every item
    assert parsed({"source": Given(["192.0.2.1", "2001:DB8:0::1"], "tcpreach.toml:2")})["source"] == (
        "192.0.2.1", "2001:db8::1")  # fmt: skip


def test_every_setting_that_takes_a_value_names_it():
    # the messages' fallbacks ('a value', 'values') are for settings without a metavar: there are none
    assert [s.name for s in SETTINGS if s.kind is not Kind.FLAG and not s.metavar] == []


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [("source", 5, "source: takes a list of ADDR, got 5 (from tcpreach.toml:2)"),
     ("family", ["4"], "family: takes 4|6|both, got ['4'] (from tcpreach.toml:2)"),
     ("tls", 1, "tls: takes true or false (1, yes, on / 0, no, off), got 1 (from tcpreach.toml:2)"),
     ("source", ["192.0.2.1", 7], "source: takes a list of ADDR, got ['192.0.2.1', 7] (from tcpreach.toml:2)")],
)  # fmt: skip
def test_a_value_of_the_wrong_toml_type_says_what_the_setting_takes(name, value, message):
    with pytest.raises(UsageError) as raised:
        parsed({name: Given(value, "tcpreach.toml:2")})
    assert str(raised.value) == message


def test_a_server_name_without_tls_names_each_setting_as_the_caller_spells_it():
    with pytest.raises(UsageError, match=r"^--sni and --ca go with --tls \(or --starttls\)$"):
        options_from({"sni": "x.example"}, lambda s: s.cli[0])
    with pytest.raises(UsageError, match=r"^sni and ca go with tls \(or starttls\)$"):
        options_from({"ca": "/etc/ssl/ca.pem"})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("port = 1848\nprot = 1\n", r"^{path}:2: 'prot' is not a setting: did you mean 'port'\?$"),
        ("local_interfaces = true\nzzz = 1\n", r"^{path}:2: 'zzz' is not a setting: the settings are host, port,"),
        ("port = \n", r"^{path}: not valid TOML: Invalid value \(at line 1, column 8\)$"),
        ("config = 'other.toml'\n", r"^{path}:1: 'config' is not a setting"),
    ],
)
def test_a_config_file_that_is_wrong_is_one_error_naming_the_file_and_line(tmp_path, text, message):
    path = tmp_path / "tcpreach.toml"
    path.write_text(text)
    with pytest.raises(UsageError, match=message.format(path=re.escape(str(path)))):
        load_config(path)


def test_a_config_file_that_cannot_be_read_is_one_error(tmp_path):
    missing = r"^cannot read .*missing\.toml: No such file or directory; give the path of a TOML configuration file$"
    with pytest.raises(UsageError, match=missing):
        load_config(tmp_path / "missing.toml")
    with pytest.raises(UsageError, match="is a directory"):
        load_config(tmp_path)
    (tmp_path / "bytes.toml").write_bytes(b"port = '\xff'\n")
    with pytest.raises(UsageError, match="is not UTF-8 text"):
        load_config(tmp_path / "bytes.toml")


def test_a_list_from_the_command_line_becomes_the_options_tuple():
    # argparse's repeated --source is a list: the frozen options hold a tuple, and hash
    options = options_from({"source": ["127.0.0.1", "::1"]})
    assert (options.sources, hash(options) == hash(options_from({"source": ("127.0.0.1", "::1")}))) == (
        ("127.0.0.1", "::1"), True)  # fmt: skip
