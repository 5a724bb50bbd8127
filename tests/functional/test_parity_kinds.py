"""A case whose status and body both differ says both: the status kind and the body kind
apart, in the events, the parity record, every table and the verdict.

The scenario is two mock servers of one contract disagreeing on validation errors: one
answers 422 with a problem+json carrying `validation[]`, the other 400 `about:blank`.
"""

from __future__ import annotations

import asyncio
import json
import re

from probes.core.events import ParityCaseFinished, from_json
from probes.verdict._gaps import record_gap
from probes.parity._results import entries
from tui.app import GauntletApp
from tui.sources import FileSource

from ..cli import gauntlet
from .test_parity import probe
from ..tui_helpers import DEMO_RUN, settle, shown_text

VALIDATION = {"type": "https://contract.test/problems/validation", "title": "Unprocessable Entity", "status": 422,
              "detail": "the request body does not match the schema",
              "validation": [{"in": "body", "path": "/name", "message": "is required"}]}
ABOUT_BLANK = {"type": "about:blank", "title": "Bad Request", "status": 400,
               "detail": "request body has an error: doesn't match schema: property 'name' is missing"}
BAD = ("bad_name", "bad_email", "bad_age")
GOOD = ("good_create", "good_list")


def contract_server(bad_status: int, bad_body: dict):
    """A mock of the contract: `/bad/...` fails validation its own way, anything else is fine."""

    async def handle(method, path, headers, body):
        if path.startswith("/bad/"):
            return bad_status, {"Content-Type": "application/problem+json"}, json.dumps(bad_body).encode()
        return 200, {"Content-Type": "application/json"}, b'{"ok": true}'

    return handle


def cases(*names: str) -> str:
    return "".join(f'\n[[parity.case]]\nname = "{n}"\nmethod = "POST"\n'
                   f'path = "/{"bad" if n.startswith("bad") else "good"}/{n}"\njson = {{ a = 1 }}\n' for n in names)


def contract_pair(servers, cand_status: int = 400) -> tuple[str, str]:
    return (servers.serve_http(contract_server(422, VALIDATION)),
            servers.serve_http(contract_server(cand_status, ABOUT_BLANK)))


def test_status_and_body_kinds_are_reported_apart(servers, parity_config):
    ref, cand = contract_pair(servers)
    outcome, results = probe(parity_config, ref, cand, cases(*GOOD, *BAD))
    for name in BAD:
        r = results[name]
        assert r.statuses == {"rust": 422, "go": 400}
        assert r.status_kinds == {"go": "status"} and r.kinds == {"go": "shape"}
        assert not r.status_match and not r.body_match
    assert results["good_list"].status_kinds == {"go": None} and results["good_list"].kinds == {"go": None}

    parity = outcome.run_dir / "parity"
    report = (parity / "report.md").read_text()
    assert "| Case | rust status | go status | Status match | Body match | Status kind | Body kind |" in report
    assert "| bad_name | 422 | 400 | ✗ | ✗ | status | shape |" in report
    assert "| good_list | 200 | 200 | ✓ | ✓ |  |  |" in report
    assert "**2/5 status codes match · 3/5 body shapes diverge**" in report
    stored = {c["case"]: c for c in entries(outcome.run_dir)}
    assert stored["bad_age"]["status_kinds"] == {"go": "status"} and stored["bad_age"]["kinds"] == {"go": "shape"}

    reasons = outcome.verdict.reasons
    assert outcome.verdict.verdict == "BLOCK"
    # One sentence per way of failing, however many cases share it.
    assert "parity: 3 cases (bad_name, bad_email, bad_age): status codes differ (rust 422, go 400)" in reasons
    assert any(r.startswith("parity: 3 cases (bad_name, bad_email, bad_age): go shape divergence not covered by a "
                            "known gap (class cls:") for r in reasons)


def test_the_headless_table_shows_both_kinds(servers, parity_config):
    ref, cand = contract_pair(servers)
    config = parity_config(ref, cand, after=cases(*GOOD, *BAD))
    proc = gauntlet("parity", str(config), "--headless", env={"COLUMNS": "80"})
    out = proc.stdout
    assert proc.returncode == 1, out + proc.stderr
    assert re.search(r"bad_name\s+422\s+400\s+✗ status\s+✗ shape *\n", out), out
    assert re.search(r"good_list\s+200\s+200\s+✓\s+✓ *\n", out), out
    assert re.search(r"DIVERGE\s+bad_age\s+rust 422  go 400\s+status · body shape\n", out), out
    assert "2/5 status codes match · 3/5 body shapes diverge" in out


async def test_the_parity_pane_shows_both_kinds(servers, parity_config, monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    ref, cand = contract_pair(servers)
    outcome, _ = await asyncio.to_thread(probe, parity_config, ref, cand, cases(*GOOD, *BAD))
    app = GauntletApp(FileSource(outcome.run_dir, follow=False), clock=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await asyncio.wait_for(app.source_finished.wait(), 30)
        await pilot.press("3")
        await settle(app, pilot)
        heads = shown_text(app.query_one("#parity-columns")).split()
        lines = [line.split() for line in shown_text(app.query_one("#parity-list")).splitlines()]
        row = next(line for line in lines if line[:1] == ["bad_name"])
        good = next(line for line in lines if line[:1] == ["good_create"])
        headline = str(app.query_one("#parity-headline").render())
    assert heads[-2:] == ["Status", "Body"]
    assert row[-4:] == ["✗", "status", "✗", "shape"]
    assert good[-2:] == ["✓", "✓"]
    assert headline == "2/5 status codes match · 3/5 body shapes diverge"


def test_a_body_divergence_is_judged_as_such_when_the_status_differs_too(servers, parity_config, tmp_path):
    """A gap recorded while both answered 422 still covers the body divergence once the
    candidate answers 400; the status mismatch blocks on its own."""
    agreeing = contract_pair(servers, cand_status=422)
    first, before = probe(parity_config, *agreeing, cases("bad_name"))
    gaps = tmp_path / "gaps.toml"
    record_gap(first.run_dir, "bad_name", gaps, note="problem+json vs about:blank", owner="contract")

    with_gaps = cases("bad_name") + '\n[verdict]\nknown_gaps = "gaps.toml"\n'
    outcome, after = probe(parity_config, *contract_pair(servers), with_gaps)
    assert after["bad_name"].fingerprints == before["bad_name"].fingerprints
    assert after["bad_name"].kinds == before["bad_name"].kinds == {"go": "shape"}
    assert outcome.verdict.verdict == "BLOCK"
    assert outcome.verdict.reasons == ("parity case bad_name: status codes differ (rust 422, go 400)",)
    assert outcome.verdict.gap_ids == ("bad_name-shape",)


def test_events_recorded_before_status_kinds_still_load():
    lines = [line for line in (DEMO_RUN / "events.jsonl").read_text().splitlines() if "ParityCaseFinished" in line]
    assert lines and all('"status_kinds"' not in line for line in lines)
    events = [from_json(line)[1] for line in lines]
    assert all(isinstance(e, ParityCaseFinished) and e.status_kinds == {"go": None} for e in events)  # none said
