"""The image Fly.io runs, in a linux/amd64 container, verified like the in-process server."""

from __future__ import annotations

import io
import json

import pytest

from tcpreach.check import probe_and_judge
from tcpreach.model import Verdict
from tcpreach.options import CheckOptions
from tcpreach.testing.container import ContainerNotReadyError, ServiceContainer

pytestmark = pytest.mark.docker

GREETING = b"hello\n"
KINDS = ["published-ipv4", "published-ipv6", "container-ipv4", "container-ipv6"]


@pytest.fixture
def fresh_container(hello_image):
    """A container of the test's own, removed afterwards: ``fresh_container(**options)``."""
    started: list[ServiceContainer] = []

    def start(**options) -> ServiceContainer:
        started.append(ServiceContainer(hello_image, **options).start())
        return started[-1]

    yield start
    for service in started:
        service.stop()


@pytest.mark.parametrize("kind", KINDS)
def test_greeting(hello_container, kind, tcpreach, unavailable_here):
    reach = hello_container.reachable()
    target = getattr(reach, kind.replace("-", "_"))
    if target is None:
        unavailable_here(f"the engine gives this container no {kind.replace('-', ' ')} (dockerd --ipv6 gives it one)")
    report = tcpreach.group_report("container hello-server (linux/amd64)", reach.all())
    tcpreach.assert_target_ok(report, target)


def test_diagnosis_has_no_failing_finding(hello_container, tcpreach):
    reach = hello_container.reachable()
    tcpreach.assert_no_failing_finding(tcpreach.group_report("container hello-server (linux/amd64)", reach.all()))


def test_every_published_binding_is_found(hello_container):
    reach = hello_container.reachable()
    assert reach.published_ipv4 is not None
    assert reach.published_ipv4.address == "127.0.0.1"
    bindings = hello_container.inspect()["NetworkSettings"]["Ports"]["1848/tcp"]
    if any(b["HostIp"] == "::" for b in bindings):
        assert reach.published_ipv6 is not None
        assert reach.published_ipv6.address == "::1"


def test_image_is_linux_amd64(hello_image, hello_container):
    image = hello_container.wrapped.image
    assert (image.attrs["Os"], image.attrs["Architecture"]) == ("linux", "amd64")


def test_runs_as_non_root(hello_container):
    assert hello_container.inspect()["Config"]["User"] == "65534:65534"
    code, output = hello_container.wrapped.exec_run(["cat", "/proc/1/status"])
    assert code == 0
    uids = next(line for line in output.decode().splitlines() if line.startswith("Uid:")).split()[1:]
    assert uids == ["65534"] * 4


def test_docker_stop_ends_it_with_status_0_within_2_seconds(fresh_container):
    service = fresh_container()
    service.wait_for_greeting(GREETING)
    # docker stop -t 2: SIGTERM to PID 1, SIGKILL (status 137) if still running after 2 s.
    assert service.stop_gracefully(timeout=2) == 0, service.logs()
    assert "stopped after" in service.logs()


def test_works_with_a_read_only_root_filesystem(fresh_container):
    service = fresh_container(read_only=True)
    assert service.inspect()["HostConfig"]["ReadonlyRootfs"] is True
    assert service.wait_for_greeting(GREETING).verdict is Verdict.OK


def test_the_seeds_first_bug_is_caught(fresh_container, tcpreach, unavailable_here):
    service = fresh_container(command=["python3", "-m", "server", "--host", "0.0.0.0"])
    service.wait_for_greeting(GREETING, every_binding=False)  # its IPv6 never answers: that is the bug
    reach = service.reachable()
    if reach.container_ipv6 is None:
        unavailable_here("the engine gives the container no IPv6 address (start dockerd with --ipv6)")
    assert reach.container_ipv4 is not None
    report = tcpreach.group_report("container --host 0.0.0.0", [reach.container_ipv4, reach.container_ipv6])
    assert [o.verdict for o in report.outcomes] == [Verdict.OK, Verdict.REFUSED]
    assert [f.code for f in report.findings] == ["ipv4-only-listener"]


def test_the_containers_own_ipv6_answers_as_soon_as_its_ipv4_does_on_any_engine(fresh_container, unavailable_here):
    # On a fresh engine the bridge's IPv6 gateway sits in duplicate address detection for
    # 1-2 s after the first container comes up, and the container's SYN-ACK waits for
    # neighbour discovery (engine.sh adds the gateway with nodad, a user's engine does not).
    # Probed as soon as the published IPv4 answers, with the default hedged retries, the
    # container's own IPv6 must be ok on any working engine.
    service = fresh_container()
    service.wait_for_greeting(GREETING, every_binding=False)
    reach = service.reachable()
    if reach.container_ipv6 is None:
        unavailable_here("the engine gives the container no IPv6 address (start dockerd with --ipv6)")
    outcome = probe_and_judge(reach.container_ipv6, CheckOptions(timeout=3.0, retries=2))
    assert outcome.verdict is Verdict.OK, outcome.explanation


def test_a_container_that_never_greets_fails_with_its_logs(fresh_container):
    service = fresh_container(command=["python3", "-c", "print('no server in here'); raise SystemExit(3)"])
    with pytest.raises(ContainerNotReadyError, match="no server in here") as failure:
        service.wait_for_greeting(GREETING, timeout=20)
    assert "exit code 3" in str(failure.value)


def test_the_listener_reader_runs_in_the_image_and_sees_one_dual_stack_socket(hello_container):
    code, output = hello_container.exec("python3", "-m", "tcpreach.machine.listeners", "--port", "1848", "--json")
    doc = json.loads(output)
    assert code == 0, output
    assert [(i["family"], i["address"], i["port"], i["accepts"], i["pid"], i["process"]) for i in doc["listeners"]] == [
        ("ipv6", "::", 1848, "dual-stack", 1, "python3")
    ]
    assert [f["code"] for f in doc["findings"]] == ["listener-ok"]


def test_the_proc_text_of_an_ipv4_only_container_read_elsewhere(fresh_container, cli, monkeypatch):
    # As with fly ssh console -C "cat /proc/net/tcp /proc/net/tcp6" | python -m tcpreach listeners --proc -
    service = fresh_container(command=["python3", "-m", "server", "--host", "0.0.0.0"])
    service.wait_for_greeting(GREETING, every_binding=False)
    code, text = service.exec("cat", "/proc/net/tcp", "/proc/net/tcp6")
    assert code == 0, text
    monkeypatch.setattr("sys.stdin", io.StringIO(text))
    done = cli("listeners", "--proc", "-", "--port", "1848", "--json")
    doc = json.loads(done.stdout)
    assert (done.returncode, [(i["address"], i["accepts"]) for i in doc["listeners"]]) == (
        1,
        [("0.0.0.0", "ipv4-only")],
    )
    assert ([f["code"] for f in doc["findings"]], doc["self_probe"]) == (["listener-ipv4-only"], None)
