"""Divergence classes: thousands of cases that diverge the same way are one class, one
sentence in the verdict and one known gap; a case that moves to another class is caught."""

from __future__ import annotations

import json

import pytest

from probes.parity._compare import diff_json
from probes.parity._classes import classify
from probes.core.events import DivergenceClassFound, ParityCaseFinished, read_events
from tests.conftest import only_run
from tui.cli import main

N = 300  # cases per payload shape: hundreds alike


def _pair(servers, go_moves: set[str] = frozenset()):
    """Rust answers a tagged error; Go a flat one. A `fill` answers the same on both, and
    cases named in `go_moves` get a Go answer of yet another shape."""

    async def rust(method, path, headers, body):
        kind = json.loads(body)["kind"]
        if kind == "fill":
            return 200, {"content-type": "application/json"}, b'{"valid": true}'
        return 422, {"content-type": "application/json"}, json.dumps(
            {"Schema": {"field": kind, "reason": f"bad {kind}"}}).encode()

    async def go(method, path, headers, body):
        request = json.loads(body)
        kind = request["kind"]
        if kind == "fill":
            return 200, {"content-type": "application/json"}, b'{"valid": true}'
        if request["name"] in go_moves:
            return 422, {"content-type": "application/json"}, json.dumps({"error": kind, "code": 7}).encode()
        return 422, {"content-type": "application/json"}, json.dumps(
            {"Kind": "schema", "Field": kind, "Reason": f"bad {kind}"}).encode()

    return servers.serve_http(rust), servers.serve_http(go)


def _config(parity_config, tmp_path, rust: str, go: str, per_shape: int = N):
    lines = []
    for shape in ("playbook", "fingerprint", "fill"):
        for i in range(per_shape):
            name = f"{shape}_{i:04d}"
            lines += ["[[case]]", f'name = "{name}"', 'method = "POST"', 'path = "/v1/validate"',
                      f'json = {{kind = "{shape}", name = "{name}"}}', ""]
    (tmp_path / "cases.toml").write_text("\n".join(lines))
    (tmp_path / "gaps.toml").write_text("# none yet\n")
    return parity_config(rust, go, parity='concurrency = 16\ncases_file = "cases.toml"',
                         after='[verdict]\nknown_gaps = "gaps.toml"')


def test_a_class_is_the_structure_of_a_divergence_without_the_case():
    a = classify(diff_json({"Schema": {"field": "x", "reason": "r1"}}, {"Kind": "s", "Field": "x", "Reason": "r1"}))
    b = classify(diff_json({"Schema": {"field": "y", "reason": "r2"}}, {"Kind": "t", "Field": "y", "Reason": "r9"}))
    c = classify(diff_json({"Schema": {"field": "y"}}, {"Kind": 3, "Field": "y"}))
    arrays = [classify(diff_json({"e": [1, 2, 3]}, {"e": [1, "2", 3]})), classify(diff_json({"e": [1]}, {"e": ["1"]}))]
    assert a is not None and b is not None and c is not None
    assert a.id == b.id and a.kind == "shape"  # values are not part of a class
    assert c.id != a.id  # another type on one side is another class
    assert arrays[0].id == arrays[1].id  # array indexes are wildcarded
    assert a.describe() == "`$.Field` `$.Kind` `$.Reason` added, `$.Schema` absent (shape)"
    assert classify(diff_json({"a": 1}, {"a": 1})) is None


def test_hundreds_of_cases_diverging_alike_are_one_class_one_reason_and_one_gap(servers, parity_config, tmp_path):
    rust, go = _pair(servers)
    config = _config(parity_config, tmp_path, rust, go)
    assert main(["parity", str(config), "--headless"]) == 1
    run = only_run(tmp_path / "out")
    events = [e for _, e in read_events(str(run / "events.jsonl"))]
    found = [e for e in events if isinstance(e, DivergenceClassFound)]
    assert len(found) == 1 and found[0].kind == "shape"
    cases = [e for e in events if isinstance(e, ParityCaseFinished)]
    assert len(cases) == 3 * N
    assert {e.classes["go"] for e in cases if not e.case.startswith("fill")} == {found[0].id}
    verdict = json.loads((run / "verdict.json").read_text())
    assert verdict["verdict"] == "BLOCK"
    assert len(verdict["reasons"]) == 1, verdict["reasons"]
    assert verdict["reasons"][0].startswith(f"parity: {2 * N} cases (")
    assert f"not covered by a known gap (class {found[0].id}: `$.Field` `$.Kind` `$.Reason` added, `$.Schema` absent" \
        in verdict["reasons"][0]
    assert verdict["phases"]["parity"]["classes"] == [
        {"target": "go", "class": found[0].id, "kind": "shape", "description": found[0].description,
         "cases_total": 2 * N, "cases": verdict["phases"]["parity"]["classes"][0]["cases"]}]

    assert main(["gap", "add", str(run), "playbook_0000", "--note", "flat vs tagged", "--owner", "validatord"]) == 0
    gaps = (tmp_path / "gaps.toml").read_text()
    assert f'classes = [\n    "{found[0].id}",\n]' in gaps or f'classes = ["{found[0].id}"]' in gaps
    assert "fingerprint" not in gaps
    rejudged = json.loads((run / "verdict.json").read_text())
    assert rejudged["verdict"] == "SHIP_WITH_KNOWN_GAP"
    assert len(rejudged["known_gaps"]) == 1 and rejudged["known_gaps"][0].startswith(f"parity: {2 * N} cases")


@pytest.mark.slow
def test_a_case_that_moves_to_another_class_is_a_regression_never_hidden(servers, parity_config, tmp_path):
    """One case of three hundred moving to another class, in a run probed three times (a
    hundred of each shape: hidden among the ninety-nine of its own that did not move)."""
    rust, go = _pair(servers)
    config = _config(parity_config, tmp_path, rust, go, per_shape=100)
    main(["parity", str(config), "--headless"])
    first = only_run(tmp_path / "out")
    main(["gap", "add", str(first), "playbook_0000", "--id", "wire", "--note", "n", "--owner", "o"])
    assert main(["parity", str(config), "--headless"]) == 0  # covered: SHIP_WITH_KNOWN_GAP

    rust, go = _pair(servers, go_moves={"playbook_0007"})
    text = config.read_text()
    config.write_text(text[:text.index("rust = ")] + f'rust = "{rust}"\ngo = "{go}"\n'
                      + text[text.index("[verdict]"):])
    assert main(["parity", str(config), "--headless"]) == 1
    third = max((p for p in (tmp_path / "out").iterdir() if p.is_dir()), key=lambda p: p.name)
    verdict = json.loads((third / "verdict.json").read_text())
    reasons = "\n".join(verdict["reasons"])
    assert "parity case playbook_0007: go shape divergence not covered by a known gap (class cls:" in reasons
    assert "known gap wire regressed: playbook_0007 (go) diverges differently" in reasons
    lines = verdict["comparison"]["lines"]
    assert any(line.startswith("parity playbook_0007 (go): divergence changed (moved from cls:") for line in lines)
