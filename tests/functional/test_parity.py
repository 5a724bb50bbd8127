"""The parity probe against real loopback servers: every kind of difference, every fault."""

from __future__ import annotations

import gzip
import json
import shutil
import socket
import struct
from pathlib import Path

import pytest

from probes.config import load_config
from probes.core.events import ParityCaseFinished
from probes.parity._results import entries, stored_answer

from ..cli import gauntlet
from ..conftest import REPO, free_port, only_run, run_engine


def json_answer(payload, status=200, headers=None, raw: bytes | None = None):
    body = raw if raw is not None else json.dumps(payload).encode()

    async def handle(method, path, req_headers, req_body):
        return status, {"Content-Type": "application/json", **(headers or {})}, body

    return handle


def probe(parity_config, ref_url: str, cand_url: str, cases: str, parity_extra: str = "",
          timeout: str = "2s", **engine_kw):
    path = parity_config(ref_url, cand_url, parity=f'timeout = "{timeout}"\n{parity_extra}', after=cases)
    config = load_config(path, env={})
    outcome, seen = run_engine(config, **engine_kw)
    results = {e.case: e for e in seen if isinstance(e, ParityCaseFinished)}
    return outcome, results


ONE_CASE = '\n[[parity.case]]\nname = "c"\nmethod = "POST"\npath = "/v1/validate"\njson = { a = 1 }\n'


@pytest.mark.parametrize("ref,cand,expected", [
    ({"a": 1}, {"a": 2}, {("$.a", "value")}),
    ({"a": 1}, {"a": "1"}, {("$.a", "type")}),
    ({"Schema": {"field": "f"}}, {"Kind": "schema", "Field": "f"},
     {("$.Schema", "shape"), ("$.Kind", "shape"), ("$.Field", "shape")}),
    ({"a": {"b": 1}}, {"a": [1]}, {("$.a", "shape")}),
    ({"list": [1, 2, 3]}, {"list": [1, 2, 4]}, {("$.list[2]", "value")}),
], ids=["value", "type", "shape-envelope", "shape-nesting", "value-in-array"])
def test_body_differences_have_path_and_kind(servers, parity_config, ref, cand, expected):
    outcome, results = probe(parity_config, servers.serve_http(json_answer(ref)),
                             servers.serve_http(json_answer(cand)), ONE_CASE)
    result = results["c"]
    assert {(d.path, d.kind) for d in result.diffs} == expected
    assert result.status_match and not result.body_match
    assert outcome.verdict.verdict == "BLOCK"


def test_whitespace_and_key_order_do_not_count(servers, parity_config):
    ref = servers.serve_http(json_answer(None, raw=b'{"ok":true,"n":[1,2]}'))
    cand = servers.serve_http(json_answer(None, raw=b'{ "n" : [1, 2],\n  "ok": true }'))
    outcome, results = probe(parity_config, ref, cand, ONE_CASE)
    assert results["c"].body_match and results["c"].diffs == ()
    assert outcome.verdict.verdict == "SHIP"


def test_status_and_header_differences(servers, parity_config):
    ref = servers.serve_http(json_answer({"a": 1}, 200, {"X-Mode": "a"}))
    cand = servers.serve_http(json_answer({"a": 1}, 500, {"X-Mode": "b"}))
    _, results = probe(parity_config, ref, cand, ONE_CASE, 'compare_headers = ["x-mode"]')
    result = results["c"]
    assert {(d.path, d.kind) for d in result.diffs} == {("status", "status"), ("header x-mode", "header")}
    assert result.statuses == {"rust": 200, "go": 500}
    assert not result.status_match and result.body_match
    assert result.status_kinds == {"go": "status"} and result.kinds == {"go": None}


def test_text_bodies_get_a_line_diff(servers, parity_config):
    async def text(body):
        async def handle(*_):
            return 200, {"Content-Type": "text/plain"}, body
        return handle

    ref = servers.serve_http(servers.run(text(b"one\ntwo\nthree\n")))
    cand = servers.serve_http(servers.run(text(b"one\nTWO\nthree\n")))
    _, results = probe(parity_config, ref, cand, ONE_CASE)
    assert [(d.path, d.ref, d.cand) for d in results["c"].diffs] == [("line 2", "two", "TWO")]


def test_expect_status_is_checked_on_every_target(servers, parity_config):
    url = servers.serve_http(json_answer({"a": 1}, 200))
    case = ONE_CASE + "expect_status = 422\n"
    outcome, results = probe(parity_config, url, url, case)
    assert not results["c"].status_match
    assert any("expected 422" in r for r in outcome.verdict.reasons)


def test_ignore_rules_and_noise_check(servers, parity_config):
    counter = iter(range(1000))

    async def noisy(method, path, headers, body):
        n = next(counter)
        return 200, {"Content-Type": "application/json"}, json.dumps(
            {"request_id": f"r{n}", "at": n, "value": 1}).encode()

    async def other(method, path, headers, body):
        return 200, {"Content-Type": "application/json"}, json.dumps(
            {"request_id": "x", "at": 999, "value": 2}).encode()

    _, results = probe(parity_config, servers.serve_http(noisy), servers.serve_http(other), ONE_CASE,
                       'noise_check = true\nignore = ["$.request_id"]')
    result = results["c"]
    flags = {d.path: (d.noise, d.ignored) for d in result.diffs}
    assert flags["$.request_id"][1] is True
    assert flags["$.at"] == (True, False)
    assert flags["$.value"] == (False, False)
    assert "$.at" in result.noise
    assert result.kinds == {"go": "value"}


def _reset_mid_body(reader, writer):
    async def go():
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"partial\":")
        await writer.drain()
        writer.transport.abort()
    return go()


def _rst_mid_body(reader, writer):
    """Headers and part of the body, then a TCP reset (SO_LINGER 0): httpx's error has no words."""
    async def go():
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"partial\":")
        await writer.drain()
        writer.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()
    return go()


def _never_answers(reader, writer):
    async def go():
        await reader.read()  # until the client gives up and closes
        writer.close()
    return go()


def _gzip_answer(payload: bytes, corrupt: bool = False):
    async def handle(*_):
        data = gzip.compress(payload)
        if corrupt:
            data = data[:10] + b"garbage" + data[10:]
        return 200, {"Content-Type": "application/json", "Content-Encoding": "gzip"}, data
    return handle


FAULTS = {
    "connection refused": (lambda s: f"http://127.0.0.1:{free_port()}", "cannot connect"),
    "reset mid-body": (lambda s: s.serve(_reset_mid_body), "connection broken mid-answer"),
    "RST mid-body": (lambda s: s.serve(_rst_mid_body),
                     "connection broken mid-answer: the connection was reset or closed (ReadError)"),
    "timeout": (lambda s: s.serve(_never_answers), "timed out after 0.3s"),
    "non-JSON under JSON": (lambda s: s.serve_http(json_answer(None, raw=b"<html>oops</html>")),
                            "not JSON under application/json"),
    "invalid UTF-8": (lambda s: s.serve_http(json_answer(None, raw=b'{"a": "\xff\xfe"}')),
                      "invalid UTF-8 under application/json at byte 7"),
    "corrupt gzip": (lambda s: s.serve_http(_gzip_answer(b'{"a": 1}', corrupt=True)), "cannot decode the body"),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_faults_are_the_targets_error_not_a_crash(servers, parity_config, fault):
    make, message = FAULTS[fault]
    ref = servers.serve_http(json_answer({"a": 1}))
    outcome, results = probe(parity_config, ref, make(servers), ONE_CASE, timeout="300ms")
    result = results["c"]
    assert set(result.errors) == {"go"}
    assert message in result.errors["go"], result.errors
    assert not result.status_match and not result.body_match
    assert outcome.verdict.verdict == "BLOCK"
    assert any("could not be compared" in r for r in outcome.verdict.reasons)
    meta, _ = stored_answer(outcome.run_dir, "c", "go")
    assert message in meta["error"]


def test_gzip_body_equals_the_plain_one(servers, parity_config):
    ref = servers.serve_http(json_answer({"a": [1, 2, 3]}))
    cand = servers.serve_http(_gzip_answer(json.dumps({"a": [1, 2, 3]}).encode()))
    _, results = probe(parity_config, ref, cand, ONE_CASE)
    assert results["c"].body_match and not results["c"].errors


def test_a_gzip_body_is_stored_decoded_and_its_meta_says_so(servers, parity_config):
    plain = json.dumps({"a": [1, 2, 3]}).encode()
    wire = gzip.compress(json.dumps({"a": [1, 2, 4]}).encode())
    outcome, _ = probe(parity_config, servers.serve_http(json_answer(None, raw=plain)),
                       servers.serve_http(_gzip_answer(gzip.decompress(wire))), ONE_CASE)
    meta, stored = stored_answer(outcome.run_dir, "c", "go")
    assert json.loads(stored) == {"a": [1, 2, 4]}
    assert meta["headers"]["content-encoding"] == "gzip"  # the headers stay as received
    assert meta["decoded"] == ["gzip"] and meta["body_bytes"] == len(stored)
    assert meta["wire_bytes"] == int(meta["headers"]["content-length"]) == len(wire) != len(stored)
    ref_meta, _ = stored_answer(outcome.run_dir, "c", "rust")
    assert ref_meta["decoded"] == [] and ref_meta["wire_bytes"] == ref_meta["body_bytes"] == len(plain)
    proc = gauntlet("diff", str(outcome.run_dir), "c", "--headless", env={"COLUMNS": "100"})
    assert proc.returncode == 0, proc.stderr
    assert "$.a[2]  value  3 → 4" in proc.stdout


def test_twenty_megabyte_bodies(servers, parity_config):
    big = {"rows": [{"i": i, "name": f"row-{i}", "pad": "x" * 150} for i in range(110_000)]}
    raw = json.dumps(big).encode()
    assert len(raw) > 20_000_000
    changed = json.loads(raw)
    changed["rows"][77_777]["name"] = "changed"
    outcome, results = probe(parity_config, servers.serve_http(json_answer(None, raw=raw)),
                             servers.serve_http(json_answer(changed)), ONE_CASE, timeout="20s")
    assert [(d.path, d.kind) for d in results["c"].diffs] == [("$.rows[77777].name", "value")]
    assert stored_answer(outcome.run_dir, "c", "rust")[1] == raw


def test_a_target_that_dies_mid_run(servers, parity_config):
    state = {"served": 0}
    holder = {}

    async def dying(method, path, headers, body):
        state["served"] += 1
        if state["served"] == 1:
            holder["server"].close()  # stop listening: later cases find nobody there
        return 200, {"Content-Type": "application/json", "Connection": "close"}, b'{"a": 1}'

    from probes.parity._twins import serve_http, server_url

    server = servers.run(serve_http(dying))
    holder["server"] = server
    cand = server_url(server)
    ref = servers.serve_http(json_answer({"a": 1}))
    cases = "".join(f'\n[[parity.case]]\nname = "c{i}"\npath = "/x"\n' for i in range(3))
    _, results = probe(parity_config, ref, cand, cases, "concurrency = 1")
    errored = [name for name, r in results.items() if r.errors]
    clean = [name for name, r in results.items() if not r.errors]
    assert len(clean) == 1 and len(errored) == 2
    assert all("cannot connect" in results[n].errors["go"] for n in errored)


def test_artifacts_report_and_results(servers, parity_config):
    ref = servers.serve_http(json_answer({"Schema": {"field": "f"}}, 422))
    cand = servers.serve_http(json_answer({"Kind": "schema", "Field": "f"}, 422))
    outcome, _ = probe(parity_config, ref, cand, ONE_CASE)
    parity = outcome.run_dir / "parity"
    report = (parity / "report.md").read_text()
    assert "| Case | rust status | go status | Status match | Body match |" in report
    assert "| c | 422 | 422 | ✓ | ✗ |" in report
    assert "1/1 status codes match · 1/1 body shapes diverge" in report
    [case] = entries(outcome.run_dir)
    assert case["fingerprints"]["go"].startswith("sha256:")
    assert {d["path"] for d in case["differences"]} == {"$.Schema", "$.Kind", "$.Field"}
    assert json.loads(stored_answer(outcome.run_dir, "c", "rust")[1]) == {"Schema": {"field": "f"}}
    assert stored_answer(outcome.run_dir, "c", "go")[0]["status"] == 422


def test_a_cookie_one_answer_sets_is_never_sent_with_another_case(servers, parity_config):
    """The cases land in any order, over whichever connection is free: a Set-Cookie kept and
    sent with the cases after it would make a case's request, and so its answers, depend on
    what happened to land before it."""
    async def handle(method, path, headers, body):
        if path == "/login":
            return 200, {"Content-Type": "application/json", "Set-Cookie": "sid=from-login; Path=/"}, b"{}"
        return 200, {"Content-Type": "application/json"}, json.dumps({"cookie": headers.get("cookie")}).encode()

    cases = "".join(f'\n[[parity.case]]\nname = "{name}"\npath = "/{name}"\n' for name in ("login", "whoami"))
    outcome, results = probe(parity_config, servers.serve_http(handle), servers.serve_http(handle), cases,
                             "concurrency = 1")  # one request at a time: the login lands first
    assert list(results) == ["login", "whoami"] and results["whoami"].body_match
    for target in ("rust", "go"):
        assert json.loads(stored_answer(outcome.run_dir, "whoami", target)[1]) == {"cookie": None}


def _text_answer(body: bytes, note: str):
    async def handle(*_):
        return 200, {"Content-Type": "text/plain", "X-Note": note}, body
    return handle


def test_response_text_never_reaches_the_terminal_raw(servers, parity_config):
    """Raw ESC in a text body and in a compared header (JSON would escape it anyway) is
    shown as a visible stand-in where the operator reads it: the headless output, the report."""
    ref = servers.serve_http(_text_answer(b"title \x1b]0;owned\x07 set\n", "plain"))
    cand = servers.serve_http(_text_answer(b"screen \x1b[2J cleared\n", "red \x1b[31m here"))
    config = parity_config(ref, cand, parity='compare_headers = ["x-note"]', after=ONE_CASE)
    proc = gauntlet("parity", str(config), "--headless", "--case", "c", env={"COLUMNS": "200"})
    assert "line 1" in proc.stdout and "header x-note" in proc.stdout, proc.stdout + proc.stderr
    assert "\x1b" not in proc.stdout + proc.stderr
    assert "screen ␛[2J cleared" in proc.stdout and "red ␛[31m here" in proc.stdout
    report = (only_run(config.parent / "out") / "parity" / "report.md").read_text()
    assert "\x1b" not in report and "screen ␛[2J cleared" in report


def twins_config(tmp_path, twins) -> Path:
    """The shipped demo_parity.toml, pointed at twins on free ports."""
    text = (REPO / "sample_configs" / "demo_parity.toml").read_text()
    text = text.replace('"http://127.0.0.1:3100"', f'"{twins["rust"]}"').replace('"http://127.0.0.1:4110"',
                                                                            f'"{twins["go"]}"')
    text = text.replace('out_dir = "../gauntlet-runs"', 'out_dir = "out"')
    shutil.copytree(REPO / "sample_configs" / "parity", tmp_path / "parity")  # cases_file is relative
    config = tmp_path / "demo_parity.toml"
    config.write_text(text)
    return config


@pytest.fixture
def twins_parity(twins, tmp_path):
    return twins_config(tmp_path, twins)


def test_demo_parity_against_the_twins_reports_the_seed_headline(twins_parity, tmp_path):
    config = twins_parity
    proc = gauntlet("parity", str(config), "--headless")
    assert "6/6 status codes match · 5/6 body shapes diverge" in proc.stdout, proc.stdout + proc.stderr
    assert proc.returncode == 1  # no known gaps given: the divergences block
    run_dir = only_run(tmp_path / "out")
    body = json.loads(stored_answer(run_dir, "playbook_missing_fingerprint", "go")[1])
    assert body == {"Kind": "schema", "Field": "fingerprint",
                    "Reason": "missing — required for Phase 25 validity window"}
    rust = json.loads(stored_answer(run_dir, "playbook_missing_fingerprint", "rust")[1])
    assert rust == {"Schema": {"field": "fingerprint", "reason": "missing — required for Phase 25 validity window"}}


def test_parity_case_flag_probes_one_case_and_lists_its_differences(twins_parity):
    config = twins_parity
    proc = gauntlet("parity", str(config), "--headless", "--case", "playbook_missing_fingerprint")
    assert "0/1 status codes match" not in proc.stdout
    assert "1/1 status codes match · 1/1 body shapes diverge" in proc.stdout
    assert "$.Schema" in proc.stdout and "$.Kind" in proc.stdout
    bad = gauntlet("parity", str(config), "--headless", "--case", "nope")
    assert bad.returncode == 2 and "no parity case 'nope'" in bad.stderr


def test_a_key_with_a_terminal_control_in_it_is_shown_as_text(servers, write_config):
    """JSON escapes C0 controls in a key, not C1 ones: a key holding CSI (U+009B) must reach
    the headless output, the class table and the report as a visible stand-in."""
    async def cand(*_):
        return 200, {"Content-Type": "application/json"}, '{"a\u009b2Jb": 1}'.encode()

    async def ref(*_):
        return 200, {"Content-Type": "application/json"}, b'{"a": 1}'

    config = write_config(f'[parity]\nreference = "rust"\n[parity.targets]\nrust = "{servers.serve_http(ref)}"\n'
                          f'go = "{servers.serve_http(cand)}"\n' + ONE_CASE)
    shown = ""
    for extra in ([], ["--case", "c"]):
        proc = gauntlet("parity", str(config), "--headless", *extra, env={"COLUMNS": "200"})
        assert proc.returncode == 1, proc.stderr
        shown += proc.stdout + proc.stderr
    report = "".join((run / "parity" / "report.md").read_text() for run in (config.parent / "out").iterdir()
                     if run.is_dir())
    assert "\u009b" not in shown + report
    assert "a\\u009b2Jb" in shown, shown
