"""Bodies that parse badly or ambiguously, against real loopback servers: a body nested
deeper than the probe walks is that case's error (the phase goes on), and a key given twice
in one object is a divergence of its own kind."""

from __future__ import annotations

import json

from probes.compare import MAX_DEPTH
from probes.events import ParityCaseFinished, read_events
from probes.sidebyside import pretty
from tui.cli import main

from .conftest import only_run

PLAIN = b'{"ok": true}'


def nested(levels: int, leaf: bytes = b"1") -> bytes:
    """A valid JSON body: `leaf` inside `levels` arrays."""
    return b"[" * levels + leaf + b"]" * levels


def by_path(bodies: dict[str, bytes]):
    """A handler answering each case's path with its body (PLAIN for any other path)."""

    async def handle(method, path, headers, body):
        return 200, {"Content-Type": "application/json"}, bodies.get(path, PLAIN)

    return handle


def run_cases(servers, write_config, ref: dict[str, bytes], cand: dict[str, bytes], names: list[str],
              capsys) -> tuple[int, dict[str, ParityCaseFinished], str]:
    """`gauntlet run --headless` over one case per name (path `/name`): the exit code, each
    case's event, what reached the console."""
    cases = "".join(f'\n[[parity.case]]\nname = "{n}"\npath = "/{n}"\n' for n in names)
    config = write_config(f'[parity]\nreference = "rust"\nconcurrency = 2\n[parity.targets]\n'
                          f'rust = "{servers.serve_http(by_path(ref))}"\n'
                          f'go = "{servers.serve_http(by_path(cand))}"\n' + cases)
    code = main(["run", str(config), "--headless"])
    captured = capsys.readouterr()
    events = [e for _, e in read_events(str(only_run(config.parent / "out") / "events.jsonl"))]
    return code, {e.case: e for e in events if isinstance(e, ParityCaseFinished)}, captured.out + captured.err


def test_a_body_nested_too_deep_is_that_cases_error_and_the_phase_goes_on(servers, write_config, capsys):
    """`[` x 100,000 (never closed) and 5,000 valid levels are each one case's error, named
    as such; the cases around them are probed and judged, and the run blocks (exit 1, not 3)."""
    names = ["before", "unclosed", "valid_deep", "both_deep", "after"]
    cand = {"/unclosed": b"[" * 100_000, "/valid_deep": nested(5000), "/both_deep": nested(MAX_DEPTH + 1),
            "/after": b'{"ok": false}'}
    ref = {"/both_deep": nested(MAX_DEPTH + 1)}
    code, results, shown = run_cases(servers, write_config, ref, cand, names, capsys)
    assert code == 1, shown
    assert "Traceback" not in shown and "RecursionError" not in shown
    assert sorted(results) == sorted(names)  # every case was probed and judged
    deeper = f"nested deeper than {MAX_DEPTH} levels"
    assert set(results["unclosed"].errors) == {"go"} and deeper in results["unclosed"].errors["go"]
    assert set(results["valid_deep"].errors) == {"go"} and deeper in results["valid_deep"].errors["go"]
    assert set(results["both_deep"].errors) == {"rust", "go"}
    assert results["before"].body_match and not results["before"].errors
    assert results["after"].kinds == {"go": "value"} and not results["after"].errors
    assert "could not be compared" in shown


def test_a_body_as_deep_as_the_limit_is_compared(servers, write_config, capsys):
    """At the limit itself the walk still finds the one difference at the bottom."""
    code, results, shown = run_cases(servers, write_config, {"/deep": nested(MAX_DEPTH, b"1")},
                                     {"/deep": nested(MAX_DEPTH, b"2")}, ["deep"], capsys)
    assert code == 1, shown
    deep = results["deep"]
    assert not deep.errors and deep.kinds == {"go": "value"}
    assert [d.path for d in deep.diffs] == ["$" + "[0]" * MAX_DEPTH]
    assert json.loads(deep.diffs[0].cand) == 2


def test_a_fault_comparing_one_answer_is_that_cases_error(servers, write_config, capsys, monkeypatch):
    """Whatever one answer makes the comparison raise stays that case's error: the others
    are probed and judged, and the run blocks on it (exit 1), naming it."""
    import probes.parity

    real = probes.parity.diff_json

    def fragile(ref, cand, rules=None):
        if cand == {"poison": True}:
            raise ValueError("a fault planted in the comparison")
        return real(ref, cand, rules)

    monkeypatch.setattr(probes.parity, "diff_json", fragile)
    code, results, shown = run_cases(servers, write_config, {}, {"/poisoned": b'{"poison": true}'},
                                     ["before", "poisoned", "after"], capsys)
    assert code == 1, shown
    assert sorted(results) == ["after", "before", "poisoned"]
    assert results["poisoned"].errors == {"go": "gauntlet could not compare this answer: "
                                                "ValueError: a fault planted in the comparison"}
    assert results["before"].body_match and results["after"].body_match


def test_the_viewer_shows_a_body_too_deep_to_lay_out_as_received():
    """orjson parses 1,000 levels; the viewer shows them as text rather than recursing."""
    for levels in (MAX_DEPTH + 1, 1000):
        body = pretty(nested(levels), "application/json")
        assert not body.is_json and body.lines == [nested(levels).decode()]
    assert pretty(nested(MAX_DEPTH), "application/json").is_json
