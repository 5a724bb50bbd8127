"""The files a person or a CI diff reads are byte-stable: one config run twice, its cases landing
in another order each time, writes the same verdict.md, verdict.json, parity/report.md,
scrum/findings.sarif and report.html, times and run ids aside. Cases are listed in the order the config
declares them, never in the order they landed."""

from __future__ import annotations

import asyncio
import json
import random
import re

from probes.config import load_config
from probes.parity import LATENCY_CLASS, OK, SLOWER

from ..conftest import run_engine
from ..unit.test_tally import DIFF

# Declared on purpose out of alphabetical order, so neither landing nor sorting by name passes for it.
STATUS = ("s_kilo", "s_alpha", "s_golf", "s_bravo", "s_echo")  # the candidate answers 400
SHAPE = ("h_lima", "h_charlie", "h_foxtrot", "h_delta", "h_hotel")  # the candidate renames a key
VALUE = ("v_mike", "v_india", "v_juliet")  # the candidate answers another value
SAME = ("m_oscar", "m_november")
CASES = (*STATUS, *SHAPE, *VALUE, *SAME)
ARTIFACTS = ("verdict.md", "verdict.json", "parity/report.md", "scrum/findings.sarif", "report.html")


def shuffled(seed: int, candidate: bool):
    """A target that answers each case after its own delay, drawn from `seed`: another seed,
    another landing order."""
    delays = {name: random.Random(f"{seed}:{candidate}:{name}").uniform(0.0, 0.08) for name in CASES}

    async def handle(method, path, headers, body):
        name = path.strip("/")
        await asyncio.sleep(delays[name])
        if candidate and name in STATUS:
            return 400, {"Content-Type": "application/json"}, b'{"error": "bad"}'
        if candidate and name in SHAPE:
            return 200, {"Content-Type": "application/json"}, b'{"Id": 1, "ok": true}'
        if candidate and name in VALUE:
            return 200, {"Content-Type": "application/json"}, b'{"id": 2, "ok": true}'
        return 200, {"Content-Type": "application/json"}, b'{"id": 1, "ok": true}'

    return handle


def configure(write_config, tmp_path, ref: str, cand: str, out: str):
    (tmp_path / "saved").mkdir(exist_ok=True)
    for bundle in ("b_zulu", "b_alpha"):
        (tmp_path / f"{bundle}.diff").write_text(DIFF)
        (tmp_path / "saved" / f"{bundle}_opus.md").write_text(
            "WHERE: crates/validatord/src/lib.rs:43\nSEVERITY: WARN\nWHAT: b changed\n\n"
            "WHERE: go/validatord/errors.go:3\nSEVERITY: INFO\nWHAT: a new type\n")
        (tmp_path / "saved" / f"{bundle}_kimi.md").write_text(
            "WHERE: crates/validatord/src/lib.rs:44\nSEVERITY: WARN\nWHAT: b again\n")
    cases = "".join(f'\n[[parity.case]]\nname = "{n}"\nmethod = "GET"\npath = "/{n}"\n' for n in CASES)
    return write_config(f"""
        [gauntlet]
        name = "stable"
        out_dir = "{out}"
        [parity]
        reference = "rust"
        concurrency = {len(CASES)}
        timeout = "5s"
        [parity.targets]
        rust = "{ref}"
        go = "{cand}"
        [scrum]
        [[scrum.bundle]]
        name = "b_zulu"
        diff = "b_zulu.diff"
        [[scrum.bundle]]
        name = "b_alpha"
        diff = "b_alpha.diff"
        [[scrum.reviewer]]
        name = "opus"
        lineage = "anthropic"
        kind = "replay"
        file = "saved/{{bundle}}_opus.md"
        [[scrum.reviewer]]
        name = "kimi"
        lineage = "moonshot"
        kind = "replay"
        file = "saved/{{bundle}}_kimi.md"
    """ + cases, name=f"{out}.toml")


def masked(text: str, run_id: str) -> str:
    """The file without what differs between two runs of one config by nature: the run id and
    the times."""
    text = text.replace(run_id, "RUN")
    text = re.sub(r'"(duration_seconds|wall_seconds|duration)": [0-9.]+', r'"\1": 0', text)
    text = re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?[+-]\d\d:\d\d", "START", text)
    return re.sub(r"\b\d+\.\d+s\b", "Ts", text)


def test_a_config_run_twice_in_another_landing_order_writes_the_same_files(servers, write_config, tmp_path):
    written, landed = [], []
    for seed in (1, 2):
        ref, cand = servers.serve_http(shuffled(seed, False)), servers.serve_http(shuffled(seed, True))
        config = load_config(configure(write_config, tmp_path, ref, cand, f"out{seed}"), env={})
        outcome, seen = run_engine(config)
        landed.append([e.case for e in seen if type(e).__name__ == "ParityCaseFinished"])
        run_id = outcome.run_dir.name
        written.append({name: masked((outcome.run_dir / name).read_text(), run_id) for name in ARTIFACTS})
    assert landed[0] != landed[1] and sorted(landed[0]) == sorted(CASES)  # the test shuffles indeed
    assert [name for name in ARTIFACTS if written[0][name] != written[1][name]] == []

    verdict = json.loads(written[0]["verdict.json"])
    assert [c["case"] for c in verdict["phases"]["parity"]["cases"]] == list(CASES)
    assert ("parity: 5 cases (s_kilo, s_alpha, s_golf and 2 more): status codes differ (rust 200, go 400)"
            in verdict["reasons"])
    report = written[0]["parity/report.md"]
    assert [line.split(" | ")[0][2:] for line in report.splitlines() if re.match(r"\| [a-z]_", line)] == list(CASES)
    assert "Cases: h_lima, h_charlie, h_foxtrot, h_delta, h_hotel" in report


def _landed(seed: int, with_index: bool):
    """One parity phase's events, its cases landing in an order drawn from `seed`: three
    classes of divergence, status mismatches, a case that could not be compared, and slower
    candidates. `with_index`: the events carry each case's place, as they do since they were
    given one; without, a board goes by the plan, as it must for a run recorded before."""

    from probes.core.events import (
        DiffRow,
        DivergenceClassFound,
        LatencyPlanned,
        LatencyRow,
        ParityCaseFinished,
        ParityPlanned,
    )

    names = [f"c{n}" for n in (9, 3, 7, 1, 8, 2, 6, 4, 5, 0, 11, 10)]  # declared order, on purpose unsorted
    events = []
    for i, name in enumerate(names):
        kind = ("shape", "value", "type", None)[i % 4]
        rows = (DiffRow("go", kind, f"$.{kind}", f"<{name}>", "x", False, False),) if kind else ()
        slower = i % 3 == 0
        latency = (LatencyRow("rust", 30, 10.0), LatencyRow("go", 30, 20.0, ratio=2.0, low=1.8, high=2.2, p_value=0.001,
                                                            state=SLOWER if slower else OK,
                                                            class_id=LATENCY_CLASS if slower else None))
        event = ParityCaseFinished(name, "rust", {"rust": 200, "go": 200 if i % 5 else 500},
                                   {"go": "refused"} if i == 7 else {}, {"go": kind}, {"go": kind and f"fp-{kind}"},
                                   bool(i % 5), kind is None, rows, classes={"go": kind and f"cls:{kind}"},
                                   latency=latency, index=i if with_index else -1)
        events.append(event)
    random.Random(seed).shuffle(events)
    classes = [DivergenceClassFound(f"cls:{k}", k, (), f"`$.{k}` differs ({k})") for k in ("shape", "value", "type")]
    plan = ParityPlanned(tuple(names), ("rust", "go"), "rust", 12)
    return names, [plan, LatencyPlanned(30, 3, 1.25, True), *classes,
                   *events]


def test_the_boards_list_cases_in_declared_order_whatever_order_they_landed_in():
    from probes.parity import parity_json, report_markdown
    from probes.verdict._verdict import VerdictTracker

    for with_index in (True, False):
        told = []
        for seed in (1, 2, 3):
            names, events = _landed(seed, with_index)
            tracker = VerdictTracker()
            for event in events:
                tracker.apply(0.0, event)
            assert tracker.parity.declared() == names
            told.append((report_markdown(tracker.parity, "t"), json.dumps(parity_json(tracker.parity)),
                         tracker.current().reasons))
        assert told[0] == told[1] == told[2]
    reasons = told[0][2]
    assert "parity: 3 cases (c9, c2, c11): status codes differ (rust 200, go 500)" in reasons, reasons
    assert any(r.startswith("parity: 3 cases (c3, c2, c0): go value divergence") for r in reasons), reasons
    assert any(r.startswith("latency: go p50 2.00× rust on c9") and "(c9, c1, c6 and 1 more)" in r
               for r in reasons), reasons
    # A class's example is its first declared case's differences, whichever case landed first.
    assert "Differences in `c7`:" in told[0][0] and "| `$.type` | `<c7>` |" in told[0][0]
