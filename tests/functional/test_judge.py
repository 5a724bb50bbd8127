"""One source of truth for the verdict: a run's events plus its gaps file, re-judged offline."""

from __future__ import annotations

import json

from probes.core.events import RunFinished, read_events
from tests.conftest import only_run
from tui.cli import main

CONFIG = """
[parity]
reference = "rust"
[parity.targets]
rust = "{rust}"
go = "{go}"
[[parity.case]]
name = "tagged"
path = "/v1/validate"
method = "POST"
json = {{kind = "playbook"}}

[verdict]
known_gaps = "gaps.toml"
"""


def _divergent_pair(servers) -> tuple[str, str]:
    def answer(body: bytes):
        async def handle(method, path, headers, req):
            return 422, {"content-type": "application/json"}, body
        return handle

    return (servers.serve_http(answer(b'{"Schema": {"field": "fingerprint"}}')),
            servers.serve_http(answer(b'{"Kind": "schema", "Field": "fingerprint"}')))


def test_a_gap_recorded_after_the_run_rewrites_its_verdict_and_the_exit_code_follows(servers, write_config,
                                                                                       tmp_path, capsys):
    rust, go = _divergent_pair(servers)
    config = write_config(CONFIG.format(rust=rust, go=go))
    (tmp_path / "gaps.toml").write_text("# known gaps\n")
    assert main(["parity", str(config), "--headless"]) == 1
    run = only_run(tmp_path / "out")
    assert json.loads((run / "verdict.json").read_text())["verdict"] == "BLOCK"
    events_before = (run / "events.jsonl").read_bytes()

    assert main(["verdict", str(run)]) == 1  # nothing changed yet: the same verdict
    assert main(["gap", "add", str(run), "tagged", "--note", "flat vs tagged error", "--owner", "validatord"]) == 0
    verdict = json.loads((run / "verdict.json").read_text())
    assert verdict["verdict"] == "SHIP_WITH_KNOWN_GAP" and verdict["complete"] is True
    assert "**SHIP_WITH_KNOWN_GAP**" in (run / "verdict.md").read_text()
    assert (run / "events.jsonl").read_bytes() == events_before  # the record of the run is not rewritten
    assert main(["verdict", str(run)]) == 0
    assert main(["verdict", str(run), "--strict"]) == 1
    out = capsys.readouterr().out
    assert "SHIP_WITH_KNOWN_GAP" in out and "covered by known gap" in out


def test_judging_a_run_gives_what_the_run_wrote(servers, write_config, tmp_path):
    rust, go = _divergent_pair(servers)
    config = write_config(CONFIG.format(rust=rust, go=go))
    (tmp_path / "gaps.toml").write_text("# known gaps\n")
    main(["parity", str(config), "--headless"])
    run = only_run(tmp_path / "out")
    written = (run / "verdict.json").read_text(), (run / "verdict.md").read_text()
    finished = [e for _, e in read_events(str(run / "events.jsonl")) if isinstance(e, RunFinished)][0]
    assert main(["verdict", str(run)]) == finished.exit_code
    assert ((run / "verdict.json").read_text(), (run / "verdict.md").read_text()) == written


def test_verdict_on_what_is_not_a_run_says_so(tmp_path, capsys):
    assert main(["verdict", str(tmp_path)]) == 2
    assert "not a run directory" in capsys.readouterr().err


def test_a_gap_written_while_the_run_goes_on_counts_in_its_verdict(servers, write_config, tmp_path):
    import asyncio

    from probes.config import load_config
    from probes.engine import Engine, select_phases
    from probes.core.events import ParityCaseFinished

    rust, go = _divergent_pair(servers)
    (tmp_path / "gaps.toml").write_text("# none yet\n")
    config = load_config(write_config(CONFIG.format(rust=rust, go=go)))
    engine = Engine(config, select_phases(config))

    def record_on_screen(t, event):
        if isinstance(event, ParityCaseFinished):  # as an operator would, from the diff viewer
            (tmp_path / "gaps.toml").write_text(
                f'[[gap]]\nid = "wire"\ncase = "tagged"\nkind = "shape"\nowner = "o"\nopened = 2026-11-27\n'
                f'fingerprint = "{event.fingerprints["go"]}"\n')

    engine.bus.subscribe(record_on_screen)
    outcome = asyncio.run(engine.run())
    assert outcome.verdict.verdict == "SHIP_WITH_KNOWN_GAP" and outcome.exit_code == 0
    assert json.loads((outcome.run_dir / "verdict.json").read_text())["verdict"] == "SHIP_WITH_KNOWN_GAP"
