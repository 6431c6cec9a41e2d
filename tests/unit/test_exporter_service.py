"""What the exporter answers before any probe: pages, bad queries (400), targets it must
not probe (403), a full exporter (503). No socket is opened: every one of these answers
comes before DNS or a probe would."""

from __future__ import annotations

import asyncio
import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from tcpreach.exporter.config import ExporterConfig
from tcpreach.exporter.policy import Allowance
from tcpreach.exporter.service import ExporterService, Response
from tcpreach.options import CheckOptions

CONFIG = ExporterConfig(
    modules={"hello": CheckOptions(), "tls": CheckOptions(port=443)},
    allowance=Allowance(hosts=("*.fly.dev",), networks=(ipaddress.ip_network("192.0.2.0/24"),)),
    max_concurrent=2,
)
TEXT = "text/plain; charset=utf-8"


def answer(service: ExporterService, query: str, headers: dict[str, str] | None = None) -> Response:
    return asyncio.run(service.handle("/probe", query, headers or {}))


def line(status: int, text: str) -> Response:
    return Response(status, TEXT, (text + "\n").encode())


@pytest.mark.parametrize(
    ("query", "text"),
    [
        ("", "target is missing: /probe?target=HOST[:PORT]&module=NAME"),
        ("target=", "target is missing: /probe?target=HOST[:PORT]&module=NAME"),
        ("target=a.fly.dev", "module is missing: one of hello, tls"),
        ("target=a.fly.dev&module=http_2xx", "unknown module 'http_2xx': the modules are hello, tls"),
        ("target=a.fly.dev&target=b.fly.dev&module=hello", "target given 2 times: give it once"),
        ("target=a.fly.dev&module=hello&timeout=5",
         "unknown parameter 'timeout': /probe takes target, module and debug"),
        ("target=a.fly.dev&module=hello&debug=yes", "debug takes true or false, got 'yes'"),
        ("target=a.fly.dev:99999&module=hello", "port must be an integer in 1..65535, got '99999'"),
        ("target=bad_name!.fly.dev&module=hello",
         "'bad_name!.fly.dev' is not a valid host name: label 'bad_name!' is not 1-63 letters, digits or inner "
         "hyphens"),
        ("target=" + "a" * 2100, "the query is over 2048 characters"),
        ("&".join(f"x{i}=1" for i in range(20)), "the query has over 16 parameters"),
    ],
)  # fmt: skip
def test_a_bad_query_is_a_400_in_one_line(query, text):
    assert answer(ExporterService(CONFIG), query) == line(400, text)


@pytest.mark.parametrize(
    ("query", "text"),
    [
        ("target=example.com&module=hello", "example.com matches no name or pattern listed under allow.hosts"),
        ("target=fly.dev&module=hello", "fly.dev matches no name or pattern listed under allow.hosts"),
        ("target=198.51.100.1&module=hello", "198.51.100.1 is in no network listed under allow.networks"),
        ("target=169.254.169.254:80&module=hello", "169.254.169.254 is in no network listed under allow.networks"),
        ("target=[::1]:1848&module=hello", "::1 is in no network listed under allow.networks"),
    ],
)
def test_a_target_the_configuration_does_not_allow_is_a_403(query, text):
    assert answer(ExporterService(CONFIG), query) == line(403, text)


def test_a_bad_scrape_timeout_header_is_a_400():
    headers = {"x-prometheus-scrape-timeout-seconds": "soon"}
    assert answer(ExporterService(CONFIG), "target=a.fly.dev&module=hello", headers) == line(
        400, "X-Prometheus-Scrape-Timeout-Seconds must be a positive number of seconds, got 'soon'"
    )


def test_a_full_exporter_answers_503_at_once():
    service = ExporterService(CONFIG)
    service.running = CONFIG.max_concurrent  # as many probes as it runs at once, in flight
    busy = line(503, "busy: 2 probes are running (max_concurrent); try again later")
    assert answer(service, "target=a.fly.dev&module=hello") == Response(
        busy.status, busy.content_type, busy.body, (("Retry-After", "1"),)
    )


def test_a_bad_query_or_a_forbidden_target_is_answered_before_a_full_exporter_says_busy():
    service = ExporterService(CONFIG)
    service.running = CONFIG.max_concurrent
    assert [answer(service, q).status for q in ("target=bad_name!.fly.dev&module=hello",
                                                "target=example.com&module=hello", "target=a.fly.dev&module=x")] == [
        400, 403, 400]  # fmt: skip


def own_samples(service: ExporterService) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    body = asyncio.run(service.handle("/metrics", "", {})).body.decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(body)
        for s in family.samples
        if s.name.startswith("tcpreach_exporter_")
    }


def test_refusals_are_counted_by_reason_and_nothing_else_moves():
    service = ExporterService(CONFIG)
    answer(service, "")
    answer(service, "target=example.com&module=hello")
    answer(service, "target=example.org&module=hello")
    assert own_samples(service) == {
        ("tcpreach_exporter_requests_refused_total", (("reason", "bad_request"),)): 1,
        ("tcpreach_exporter_requests_refused_total", (("reason", "forbidden"),)): 2,
        ("tcpreach_exporter_errors_total", ()): 0,
        ("tcpreach_exporter_probes_in_flight", ()): 0,
        ("tcpreach_exporter_build_info", (("version", __import__("tcpreach").__version__),)): 1,
    }


def test_metrics_carry_the_process_series_of_the_client():
    body = asyncio.run(ExporterService(CONFIG).handle("/metrics", "", {})).body.decode()
    names = {family.name for family in text_string_to_metric_families(body)}
    assert {"process_resident_memory_bytes", "process_open_fds", "python_info", "python_gc_objects_collected"} <= names


def test_an_unknown_path_is_a_404():
    assert asyncio.run(ExporterService(CONFIG).handle("/probes", "", {})) == line(
        404, "no page at /probes: try /probe, /metrics or /"
    )


def test_the_status_page_lists_the_modules_before_any_probe():
    page = asyncio.run(ExporterService(CONFIG).handle("/", "", {}))
    assert (page.status, page.content_type) == (200, "text/html; charset=utf-8")
    text = page.body.decode()
    assert (
        "<tr><td>hello</td><td>port 1848, &#x27;hello\\n&#x27;, both families, timeout 3 s, 2 retries</td></tr>" in text
    )
    assert "<tr><td>tls</td><td>port 443, &#x27;hello\\n&#x27;, both families, timeout 3 s, 2 retries</td></tr>" in text
    assert '<tr><td colspan="8">no probe yet</td></tr>' in text


NOTHING_ALLOWED = ExporterConfig(modules={"hello": CheckOptions()})


@given(path=st.sampled_from(["/probe", "/probe/", "/", "/metrics", "/x"]), query=st.text(max_size=300))
def test_no_query_makes_the_service_raise_or_answer_more_than_one_line(path, query):
    # Nothing is allowed, so no query can reach DNS or a socket: every answer is a page or
    # one line, never an exception.
    found = asyncio.run(ExporterService(NOTHING_ALLOWED).handle(path, query, {}))
    if path in ("/", "/metrics"):
        assert found.status == 200
    else:
        assert found.status in (400, 403, 404)
        assert found.content_type == TEXT and found.body.decode().count("\n") == 1


def test_a_target_whose_label_ends_in_a_newline_is_a_bad_request():
    # '$' in a pattern also matches before a final newline: the name is checked whole
    assert answer(ExporterService(CONFIG), "target=name%0a.fly.dev&module=hello").status == 400
