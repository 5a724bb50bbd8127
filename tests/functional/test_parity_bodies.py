"""Bodies that parse badly or ambiguously, against real loopback servers: a body nested
deeper than the probe walks is that case's error (the phase goes on), and a key given twice
in one object is a divergence of its own kind."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from probes.parity._compare import MAX_DEPTH, Difference, Repeat, load_json, mark
from probes.core.events import DivergenceClassFound, ParityCaseFinished, read_events
from probes.verdict._gaps import record_gap
from probes.parity._sidebyside import pretty
from tui.cli import main

from ..conftest import REPO

PLAIN = b'{"ok": true}'


def nested(levels: int, leaf: bytes = b"1") -> bytes:
    """A valid JSON body: `leaf` inside `levels` arrays."""
    return b"[" * levels + leaf + b"]" * levels


def by_path(bodies: dict[str, bytes]):
    """A handler answering each case's path with its body (PLAIN for any other path)."""

    async def handle(method, path, headers, body):
        return 200, {"Content-Type": "application/json"}, bodies.get(path, PLAIN)

    return handle


def run_cases(servers, parity_config, ref: dict[str, bytes], cand: dict[str, bytes], names: list[str],
              capsys, head: str = "") -> tuple[int, dict[str, ParityCaseFinished], str, Path]:
    """`gauntlet run --headless` over one case per name (path `/name`), `head` before the
    parity table: the exit code, each case's event, what reached the console, the run."""
    cases = "".join(f'\n[[parity.case]]\nname = "{n}"\npath = "/{n}"\n' for n in names)
    config = parity_config(servers.serve_http(by_path(ref)), servers.serve_http(by_path(cand)),
                           parity="concurrency = 2", after=head + cases)
    code = main(["run", str(config), "--headless"])
    captured = capsys.readouterr()
    run = max((p for p in (config.parent / "out").iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime_ns)
    events = [e for _, e in read_events(str(run / "events.jsonl"))]
    return code, {e.case: e for e in events if isinstance(e, ParityCaseFinished)}, captured.out + captured.err, run


def test_a_body_nested_too_deep_is_that_cases_error_and_the_phase_goes_on(servers, parity_config, capsys):
    """`[` x 100,000 (never closed) and 5,000 valid levels are each one case's error, named
    as such; the cases around them are probed and judged, and the run blocks (exit 1, not 3)."""
    names = ["before", "unclosed", "valid_deep", "both_deep", "after"]
    cand = {"/unclosed": b"[" * 100_000, "/valid_deep": nested(5000), "/both_deep": nested(MAX_DEPTH + 1),
            "/after": b'{"ok": false}'}
    ref = {"/both_deep": nested(MAX_DEPTH + 1)}
    code, results, shown, run = run_cases(servers, parity_config, ref, cand, names, capsys)
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


def test_a_body_as_deep_as_the_limit_is_compared(servers, parity_config, capsys):
    """At the limit itself the walk still finds the one difference at the bottom."""
    code, results, shown, run = run_cases(servers, parity_config, {"/deep": nested(MAX_DEPTH, b"1")},
                                     {"/deep": nested(MAX_DEPTH, b"2")}, ["deep"], capsys)
    assert code == 1, shown
    deep = results["deep"]
    assert not deep.errors and deep.kinds == {"go": "value"}
    assert [d.path for d in deep.diffs] == ["$" + "[0]" * MAX_DEPTH]
    assert json.loads(deep.diffs[0].cand) == 2


def test_a_fault_comparing_one_answer_is_that_cases_error(servers, parity_config, capsys, monkeypatch):
    """Whatever one answer makes the comparison raise stays that case's error: the others
    are probed and judged, and the run blocks on it (exit 1), naming it."""
    import probes.parity._probe

    real = probes.parity._probe.diff_json

    def fragile(ref, cand, rules=None):
        if cand == {"poison": True}:
            raise ValueError("a fault planted in the comparison")
        return real(ref, cand, rules)

    monkeypatch.setattr(probes.parity._probe, "diff_json", fragile)
    code, results, shown, run = run_cases(servers, parity_config, {}, {"/poisoned": b'{"poison": true}'},
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


def test_a_key_given_twice_is_a_divergence_of_its_own_kind(servers, parity_config, capsys):
    """`{"a":1,"a":2}` against `{"a":2}` parses equal here, yet serde refuses it and
    encoding/json keeps the last: a key given twice, on either side, is a `duplicate-key`
    divergence at the key's path, in the event, the class, the report and the viewer."""
    ref = {"/cand_repeats": b'{"a": 2}', "/ref_repeats": b'{"items": [{"id": 7, "id": 7}], "n": 1}',
           "/colon": b'{"t": "12:30", "u": {"v": "a:b:c"}}'}
    cand = {"/cand_repeats": b'{"a": 1, "a": 2}', "/ref_repeats": b'{"items": [{"id": 7}], "n": 1}',
            "/colon": b'{"t": "12:30", "u": {"v": "a:b:c"}}'}
    code, results, shown, run = run_cases(servers, parity_config, ref, cand, ["cand_repeats", "ref_repeats", "colon"],
                                     capsys)
    assert code == 1, shown
    assert results["colon"].body_match  # colons in strings are no keys
    cand_case, ref_case = results["cand_repeats"], results["ref_repeats"]
    assert cand_case.kinds == {"go": "duplicate-key"} and not cand_case.body_match and cand_case.status_match
    assert [(d.path, d.kind, d.ref, d.cand) for d in cand_case.diffs] == [("$.a", "duplicate-key", "2",
                                                                          "given 2 times: 1, 2")]
    assert [(d.path, d.ref, d.cand) for d in ref_case.diffs] == [("$.items[0].id", "given 2 times: 7, 7", "7")]
    events = [e for _, e in read_events(str(run / "events.jsonl"))]
    classes = {e.id: e for e in events if isinstance(e, DivergenceClassFound)}
    cand_class = classes[cand_case.classes["go"]]
    assert cand_class.kind == "duplicate-key"
    assert [(e.kind, e.path, e.ref, e.cand) for e in cand_class.entries] == [("duplicate-key", "$.a", "integer", "repeated")]
    assert cand_class.description == "`$.a` repeated by the candidate (duplicate-key)"
    assert [(e.kind, e.path, e.ref, e.cand) for e in classes[ref_case.classes["go"]].entries] == [
        ("duplicate-key", "$.items[*].id", "repeated", "integer")]
    assert "duplicate-key" in (run / "parity" / "report.md").read_text()
    proc = subprocess.run([sys.executable, "-m", "tui.cli", "diff", str(run), "cand_repeats", "--headless"],
                          cwd=REPO, capture_output=True, text=True, env={"COLUMNS": "120", "PATH": ""})
    assert proc.returncode == 0, proc.stderr
    assert "$.a  duplicate-key  2 → given 2 times: 1, 2" in proc.stdout


def test_a_known_gap_covers_a_duplicate_key_class(servers, parity_config, capsys, tmp_path):
    """The class of a key given twice is what a known gap covers: recorded from the run, the
    next run ships with the gap named; a candidate repeating another key still blocks."""
    gaps = tmp_path / "known_gaps.toml"
    gaps.write_text("# gaps\n")
    head = '[verdict]\nknown_gaps = "known_gaps.toml"\n'
    ref, cand = {"/c": b'{"a": 2, "b": 3}'}, {"/c": b'{"a": 1, "a": 2, "b": 3}'}
    code, _, shown, run = run_cases(servers, parity_config, ref, cand, ["c"], capsys, head)
    assert code == 1, shown
    [gap] = record_gap(run, "c", gaps, note="Go keeps the last a", owner="validatord")
    assert gap.kind == "duplicate-key"
    code, results, shown, _ = run_cases(servers, parity_config, ref, cand, ["c"], capsys, head)
    assert code == 0 and "SHIP_WITH_KNOWN_GAP" in shown, shown
    code, results, shown, _ = run_cases(servers, parity_config, ref, {"/c": b'{"a": 2, "b": 3, "b": 3}'}, ["c"],
                                        capsys, head)
    assert code == 1 and results["c"].kinds == {"go": "duplicate-key"}, shown


@pytest.mark.parametrize("raw,repeats", [
    (b'{"a": 1, "b": {"c": [{"d": 1, "d": {"e": 2}}]}, "a": 3}', [(("a",), (1, 3)), (("b", "c", 0, "d"), (1, {"e": 2}))]),
    (b'{"t": "12:30", "u": ["a:b"], "v": {"w:x": ":"}}', []),
    # A colon spelled as an escape is counted in the parsed strings only: the count cannot tell.
    (b'{"a\\u003a": 1, "a\\u003a": 2}', [(("a:",), (1, 2))]),
    (b'{"a": 18446744073709551616, "a": 1}', [(("a",), (18446744073709551616, 1))]),  # beyond orjson
    ('{"\u00e9": 1, "\u00e9": 2}'.encode("utf-16"), [(("\u00e9",), (1, 2))]),  # 0x3A bytes are not all colons
    (b'{"x": {"a": 1, "a": 2}, "x": 0}', [(("x",), ({"a": 2}, 0))]),  # in a value dropped: said once, with it
], ids=["nested", "colons-in-strings", "escaped-colon", "big-int", "utf-16", "in-a-dropped-value"])
def test_load_json_finds_every_key_given_twice(raw, repeats):
    value, found = load_json(raw)
    assert value == json.loads(raw)
    assert [(r.path, r.values) for r in found] == repeats


def test_learned_noise_never_hides_a_key_given_twice():
    """A path whose value the reference varies is noise; a key given twice there is not."""
    [d] = mark([Difference("duplicate-key", ("ts",), 1, Repeat(("ts",), (1, 2)))], None, {"$.ts"})
    assert d.counts


def test_a_case_named_beyond_ascii_is_found_in_the_record(tmp_path):
    """The record keeps names as written (`café`, not `caf\\u00e9`): reading one case back
    matches them as written, as reading many does."""
    from probes.parity import RESULTS, RecordFile, read_case, read_cases, record_line

    (tmp_path / "parity").mkdir()
    record = RecordFile(tmp_path / "parity" / RESULTS, {"reference": "rust"})
    record.add(record_line({"case": "café ünïcode", "statuses": {"rust": 200}}))
    record.close()
    assert read_case(tmp_path, "café ünïcode")[1]["statuses"] == {"rust": 200}
    assert list(read_cases(tmp_path, ["café ünïcode"])[1]) == ["café ünïcode"]
