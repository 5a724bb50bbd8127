"""Faults of gauntlet itself: a crash inside a phase or a consumer is a result (exit 3,
crash.txt, an incomplete verdict), never a traceback on the console nor a run without an end;
and every consumer sees the events in the order events.jsonl holds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from probes.config import load_config
from probes.engine import Engine, select_phases
from probes.core.events import Event, InternalError, Notice, RunFinished, RunStarted, read_events
from tests.conftest import only_run
from tui.cli import main

SMOKE_AND_PARITY = """
[[smoke]]
name = "ok"
run = ["true"]

[parity]
reference = "a"
[parity.targets]
a = "{url}"
b = "{url}"
[[parity.case]]
name = "one"
path = "/x"
"""


def _json_server(servers) -> str:
    async def handle(method, path, headers, body):
        return 200, {"content-type": "application/json"}, b'{"ok": true}'

    return servers.serve_http(handle)


def test_a_crash_inside_a_phase_is_an_incomplete_verdict_and_exit_3(servers, write_config, tmp_path,
                                                                    monkeypatch, capsys):
    config = write_config(SMOKE_AND_PARITY.format(url=_json_server(servers)))

    async def broken(*args, **kwargs):
        raise ValueError("a fault planted inside the parity phase")

    monkeypatch.setattr("probes.parity.run_parity", broken)
    code = main(["run", str(config), "--headless"])
    captured = capsys.readouterr()
    assert code == 3
    assert "Traceback" not in captured.out + captured.err
    run = only_run(tmp_path / "out")
    events = [e for _, e in read_events(str(run / "events.jsonl"))]
    assert isinstance(events[-1], RunFinished) and events[-1].exit_code == 3 and not events[-1].complete
    errors = [e for e in events if isinstance(e, InternalError)]
    assert [(e.phase, e.message) for e in errors] == [("parity", "ValueError: a fault planted inside the parity phase")]
    crash = (run / "crash.txt").read_text()
    assert "Traceback" in crash and "a fault planted inside the parity phase" in crash and "broken" in crash
    verdict = json.loads((run / "verdict.json").read_text())
    assert verdict["verdict"] == "BLOCK" and verdict["complete"] is False and verdict["internal_error"] is True
    assert any("parity" in r and "internal error: ValueError" in r and "crash.txt" in r for r in verdict["reasons"])
    assert verdict["phases"]["smokes"]["state"] == "done"  # the phases before it still count


def test_a_consumer_that_raises_costs_nothing_but_exit_3(servers, write_config, tmp_path):
    config = load_config(write_config(SMOKE_AND_PARITY.format(url=_json_server(servers))))
    engine = Engine(config, select_phases(config))
    seen: list[str] = []

    def fragile(t: float, event: Event) -> None:
        seen.append(event.event_type)
        if event.event_type == "SmokeFinished":
            raise KeyError("a consumer's own bug")

    engine.bus.subscribe(fragile)
    import asyncio

    outcome = asyncio.run(engine.run())
    assert outcome.exit_code == 3 and outcome.verdict.verdict == "BLOCK"
    assert seen[-1] == "RunFinished" and "ParityCaseFinished" in seen  # it kept receiving
    events = [e for _, e in read_events(str(outcome.run_dir / "events.jsonl"))]
    assert any(isinstance(e, InternalError) and "fragile" in e.message and "SmokeFinished" in e.message for e in events)
    assert "KeyError" in (outcome.run_dir / "crash.txt").read_text()


def test_every_consumer_sees_the_order_events_jsonl_holds(servers, write_config, tmp_path):
    config = load_config(write_config(SMOKE_AND_PARITY.format(url=_json_server(servers))))
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "history.sqlite").write_bytes(b"not a database at all" * 100)
    engine = Engine(config, select_phases(config))
    live: list[tuple[str, str]] = []
    echoed = False

    def first(t: float, event: Event) -> None:
        nonlocal echoed
        if isinstance(event, RunStarted) and not echoed:
            echoed = True  # a subscriber that emits while an event is being delivered
            engine.bus.emit(Notice("verdict", "info", "said while RunStarted was being delivered"))

    engine.bus.subscribe(first)
    engine.bus.subscribe(lambda t, e: live.append((e.event_type, json.dumps(e.__dict__, default=str))))
    import asyncio

    outcome = asyncio.run(engine.run())
    recorded = [(e.event_type, json.dumps(e.__dict__, default=str))
                for _, e in read_events(str(outcome.run_dir / "events.jsonl"))]
    assert live == recorded
    assert [kind for kind, _ in live[:2]] == ["RunStarted", "Notice"]
    assert any("history unavailable" in payload for kind, payload in live if kind == "Notice")


def test_an_internal_error_is_told_apart_from_block_by_exit_code():
    from probes.core import VerdictWord
    from probes.verdict._verdict import Verdict

    assert Verdict(VerdictWord.BLOCK, ("x",), False).exit_code() == 1
    assert Verdict(VerdictWord.BLOCK, ("x",), False, internal_error=True).exit_code() == 3


@pytest.mark.parametrize("where", ["verdict_markdown", "verdict_json", "report_html"])
def test_a_verdict_that_cannot_be_rendered_is_still_written(servers, write_config, tmp_path, monkeypatch, where):
    config = load_config(write_config(SMOKE_AND_PARITY.format(url=_json_server(servers))))

    def broken(*args, **kwargs):
        raise RuntimeError("renderer fault")

    monkeypatch.setattr(f"probes.engine.{where}", broken)
    import asyncio

    outcome = asyncio.run(Engine(config, select_phases(config)).run())
    assert outcome.exit_code == 3
    run: Path = outcome.run_dir
    name = {"verdict_markdown": "verdict.md", "verdict_json": "verdict.json", "report_html": "report.html"}[where]
    text = (run / name).read_text()
    assert "BLOCK" in text and "renderer fault" in text
    events = [e for _, e in read_events(str(run / "events.jsonl"))]
    assert isinstance(events[-1], RunFinished) and events[-1].verdict == "BLOCK"


def test_a_fault_outside_a_run_is_one_line_and_exit_3(tmp_path, monkeypatch, capsys):
    import probes

    def broken(*args, **kwargs):
        raise AttributeError("planted in the diff loader")

    # Planted where the CLI looks it up (`from probes import load_case`): once any module has
    # imported the name, lazy_loader keeps it in the package's namespace, so a plant in the
    # phase package alone is never seen after an earlier test imported the faces.
    monkeypatch.setattr(probes, "load_case", broken)
    code = main(["diff", str(tmp_path), "case", "--headless"])
    err = capsys.readouterr().err
    assert code == 3 and "Traceback" not in err
    assert "internal error: AttributeError: planted in the diff loader" in err
    kept = Path(err.split("traceback in ")[1].split(")")[0].strip().replace("\n", ""))
    assert "planted in the diff loader" in kept.read_text()
