"""Known gaps: loading, validation, and `gap add` writing entries and tracker rows."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from probes.core._errors import ConfigError
from probes.verdict._gaps import load_gaps, record_gap

from ..cli import gauntlet
from ..conftest import REPO

EXAMPLE = REPO / "tests" / "fixtures" / "contract" / "known_gaps.toml"  # copy of shared/examples


def fake_run(tmp_path: Path, cases: list[dict], config: Path | None = None) -> Path:
    """A run directory as the engine leaves it: events.jsonl and parity/results.jsonl."""
    run = tmp_path / "run"
    (run / "parity").mkdir(parents=True)
    lines = [{"reference": "rust", "targets": {"rust": "http://r", "go": "http://g"}}, *cases]
    (run / "parity" / "results.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    started = {"t": 0, "type": "RunStarted", "run_id": "r1", "name": "n", "config": str(config or tmp_path / "none"),
               "run_dir": str(run), "phases": ["parity", "verdict"], "started_at": "2026-11-26T00:00:00+00:00"}
    (run / "events.jsonl").write_text(json.dumps(started) + "\n")
    return run


CASE = {"case": "playbook_missing_fingerprint", "kinds": {"go": "shape"},
        "fingerprints": {"go": "sha256:088ee675c7aac57c"}, "statuses": {"rust": 422, "go": 422}}


def test_the_contract_example_is_read_apart_from_its_placeholder(tmp_path):
    """The shared example's fingerprint is a placeholder ("sha256:…"): it must be named."""
    with pytest.raises(ConfigError) as info:
        load_gaps(EXAMPLE)
    assert [str(p) for p in info.value.problems] == ["gap[0].fingerprint: expected 'sha256:' and hex digits, got 'sha256:…'"]


def test_bad_gaps_are_reported_with_key_paths(tmp_path):
    path = tmp_path / "gaps.toml"
    path.write_text('[[gap]]\nid = "a"\ncase = "x"\nkind = "shapes"\nowner = "o"\nfingerprint = "sha256:0123456789abcdef"\n'
                    'opened = "yesterday"\n[[gap]]\nid = "a"\ncase = "y"\nkind = "value"\n')
    with pytest.raises(ConfigError) as info:
        load_gaps(path)
    problems = [str(p) for p in info.value.problems]
    assert "gap[0].kind: expected one of status, shape, type, value, duplicate-key, header, latency, got 'shapes'" in problems
    assert "gap[0].opened: expected a date like 2026-05-02, got 'yesterday'" in problems
    assert any(p.startswith("gap[1].id: duplicate gap id 'a'") for p in problems)
    assert any(p.startswith("gap[1].owner: is required") for p in problems)
    assert any(p.startswith("gap[1].classes: is required") for p in problems)


def test_a_class_gap_covers_its_classes_in_the_cases_it_names(tmp_path):
    path = tmp_path / "gaps.toml"
    path.write_text('[[gap]]\nid = "wire"\nclasses = ["cls:d0538b5eaacb"]\ncases = "playbook_*"\nkind = "shape"\n'
                    'owner = "o"\nopened = 2026-11-01\n[[gap]]\nid = "mixed"\nclasses = ["cls:0123456789ab"]\n'
                    'case = "x"\nfingerprint = "sha256:0123456789abcdef"\nowner = "o"\n'
                    '[[gap]]\nid = "bad"\nclasses = ["sha256:0123"]\nowner = "o"\n')
    with pytest.raises(ConfigError) as info:
        load_gaps(path)
    problems = [str(p) for p in info.value.problems]
    assert any(p.startswith("gap[1].case: belongs to the per-case form") for p in problems)
    assert any(p.startswith("gap[1].fingerprint: belongs to the per-case form") for p in problems)
    assert "gap[2].classes: expected 'cls:' and hex digits, got 'sha256:0123'" in problems
    path.write_text(path.read_text().split("[[gap]]\nid = \"mixed\"")[0])
    (wire,) = load_gaps(path)
    today = date(2026, 11, 27)
    assert wire.covers("playbook_happy", "shape", None, "cls:d0538b5eaacb", today)
    assert wire.covers("playbook_other", "value", "sha256:ffffffffffffffff", "cls:d0538b5eaacb", today)
    assert not wire.covers("fill_phantom", "shape", None, "cls:d0538b5eaacb", today)  # outside the glob
    assert not wire.covers("playbook_happy", "shape", None, "cls:ffffffffffff", today)  # another class


def test_gap_add_appends_without_disturbing_the_others_and_adds_a_tracker_row(tmp_path):
    gaps = tmp_path / "known_gaps.toml"
    before = ('# Known gaps: keep this comment\n\n[[gap]]\nid = "older"\ncase = "x"\nkind = "value"\n'
              'fingerprint = "sha256:0123456789abcdef"\nnote = "n"\nowner = "o"\nopened = 2026-04-01\n')
    gaps.write_text(before)
    tracker = tmp_path / "ARCHITECTURE_COMPARISON.md"
    tracker_before = ("# Decisions\n\nIntro text.\n\n| Decision | Owner | Status |\n|---|---|---|\n"
                      "| use serde | core | _done_ |\n\n## Later\n\nMore text.\n")
    tracker.write_text(tracker_before)
    run = fake_run(tmp_path, [CASE])
    (gap,) = record_gap(run, "playbook_missing_fingerprint", gaps, note="flat vs tagged | fix MarshalJSON",
                        owner="validatord", gap_id="validator-wire-format", tracker=tracker, today=date(2026, 5, 2))
    text = gaps.read_text()
    assert text.startswith(before)
    loaded = load_gaps(gaps)
    assert [g.id for g in loaded] == ["older", "validator-wire-format"]
    assert loaded[1].fingerprints == ("sha256:088ee675c7aac57c",) and loaded[1].kind == "shape"
    assert loaded[1].opened == date(2026, 5, 2) and gap == loaded[1]
    lines = tracker.read_text().split("\n")
    assert lines[6] == "| use serde | core | _done_ |"
    assert lines[7] == "| flat vs tagged \\| fix MarshalJSON | validatord | _open_ |"
    assert "\n".join(lines[:7] + lines[8:]) == tracker_before  # the rest untouched, byte for byte


def test_gap_add_refuses_what_is_not_a_gap(tmp_path):
    from probes.core._errors import GauntletError

    run = fake_run(tmp_path, [{"case": "same", "kinds": {"go": None}, "fingerprints": {"go": None}},
                              {"case": "status", "kinds": {"go": "status"}, "fingerprints": {"go": "sha256:0123456789abcdef"}}])
    with pytest.raises(GauntletError, match="did not diverge"):
        record_gap(run, "same", tmp_path / "g.toml", note="n", owner="o")
    with pytest.raises(GauntletError, match="cannot be a known gap"):
        record_gap(run, "status", tmp_path / "g.toml", note="n", owner="o")
    with pytest.raises(GauntletError, match="no parity case 'nope'"):
        record_gap(run, "nope", tmp_path / "g.toml", note="n", owner="o")


def test_gap_add_command_uses_the_runs_config(tmp_path, write_config):
    config = write_config('[verdict]\nknown_gaps = "docs/known_gaps.toml"\ntracker = "docs/decisions.md"\n')
    (tmp_path / "docs").mkdir()
    run = fake_run(tmp_path, [CASE], config)
    proc = gauntlet("gap", "add", str(run), "playbook_missing_fingerprint", "--note", "wire format", "--owner", "validatord",
                    "--expires", "2027-01-31")
    assert proc.returncode == 0, proc.stderr
    gap = load_gaps(tmp_path / "docs" / "known_gaps.toml")[0]
    assert gap.id == "playbook_missing_fingerprint-shape" and gap.expires == date(2027, 1, 31)
    table = (tmp_path / "docs" / "decisions.md").read_text()
    assert "| playbook_missing_fingerprint-shape | playbook_missing_fingerprint | shape | validatord |" in table
    assert "_open_" in table
    again = gauntlet("gap", "add", str(run), "playbook_missing_fingerprint", "--note", "x", "--owner", "y")
    assert again.returncode == 2 and "exists already" in again.stderr and "Traceback" not in again.stderr


def test_a_latency_gap_for_a_case_named_like_a_glob_covers_that_case_alone(tmp_path):
    """A slowdown's gap names its case; a name with `*`, `?` or `[` in it must not turn into a
    pattern that covers the cases it happens to match."""
    from probes.parity._latency import LATENCY_CLASS, SLOWER

    slower = {"rust": {"latency": {"target": "rust", "n": 30, "state": ""}},
              "go": {"latency": {"target": "go", "n": 30, "state": SLOWER, "class_id": LATENCY_CLASS}}}
    run = fake_run(tmp_path, [{"case": "get[1]*", "statuses": {"rust": 200, "go": 200}, "answers": slower}])
    (gap,) = record_gap(run, "get[1]*", tmp_path / "g.toml", note="n", owner="o")
    (loaded,) = load_gaps(tmp_path / "g.toml")
    assert loaded == gap and loaded.classes == (LATENCY_CLASS,)
    assert loaded.covers("get[1]*", "latency", None, LATENCY_CLASS, date(2026, 5, 2))
    assert not loaded.covers("get1-and-more", "latency", None, LATENCY_CLASS, date(2026, 5, 2))


@pytest.mark.parametrize("where", ["under a file", "a directory"])
def test_gap_add_checks_the_tracker_before_it_writes_the_gap(tmp_path, where):
    """The tracker is written after the gap: found unwritable only then, the gap was in and the
    row was not (half a change, exit 3). As root a chmod 0o555 directory is still writable: the
    tracker here lies under a regular file, or is a directory itself."""
    run = fake_run(tmp_path, [CASE])
    gaps = tmp_path / "known_gaps.toml"
    gaps.write_text('[[gap]]\nid = "older"\nclasses = ["cls:0123456789abcdef"]\nkind = "shape"\nowner = "o"\n')
    before = gaps.read_bytes()
    (tmp_path / "a_file").write_text("in the way\n")
    tracker = tmp_path / "a_file" / "decisions.md" if where == "under a file" else tmp_path / "decisions"
    if where == "a directory":
        tracker.mkdir()
    proc = gauntlet("gap", "add", str(run), CASE["case"], "--note", "n", "--owner", "o", "--gaps", str(gaps),
                    "--tracker", str(tracker))
    assert proc.returncode == 2, proc.stderr
    assert f"{tracker}: cannot write it" in proc.stderr and "Traceback" not in proc.stderr
    assert gaps.read_bytes() == before
