"""Run history: what changed since the previous run, the store, and its faults."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

import pytest

from probes.config import load_config
from probes.core.events import ComparedWithPrevious, DeltaLine, Notice
from probes.verdict._history import open_store, rebuild
from probes.parity._results import entries

from ..cli import gauntlet
from ..conftest import REPO, run_engine
from .test_parity import json_answer

RUST = {"Schema": {"field": "fingerprint", "reason": "missing"}}
GO = {"Kind": "schema", "Field": "fingerprint", "Reason": "missing"}
GO_CHANGED = {"Kind": "schema", "Field": "fingerprint", "Reason": "missing", "Code": 7}


def run(config_path, **kw):
    config = load_config(config_path, env={})
    outcome, seen = run_engine(config, **kw)
    return outcome, seen


def comparison(seen) -> ComparedWithPrevious | None:
    return next((e for e in seen if isinstance(e, ComparedWithPrevious)), None)


def one_case_config(parity_config, tmp_path, rust_url, go_url, gaps=True):
    if gaps:
        (tmp_path / "gaps.toml").write_text("")
    return parity_config(rust_url, go_url, after="""
        [verdict]
        known_gaps = "gaps.toml"
        [[parity.case]]
        name = "playbook_missing"
        method = "POST"
        path = "/v1/validate"
    """)


def test_a_changed_body_under_a_known_gap_is_regressed_and_blocks(servers, parity_config, tmp_path):
    go_body = {"value": GO}

    async def go(method, path, headers, body):
        return 422, {"Content-Type": "application/json"}, json.dumps(go_body["value"]).encode()

    path = one_case_config(parity_config, tmp_path, servers.serve_http(json_answer(RUST, 422)), servers.serve_http(go))
    first, seen = run(path)
    assert comparison(seen) is None  # the first run has nothing to compare with
    fingerprint = next(entries(first.run_dir))["fingerprints"]["go"]
    (tmp_path / "gaps.toml").write_text(f'[[gap]]\nid = "wire"\ncase = "playbook_*"\nkind = "shape"\n'
                                        f'fingerprint = "{fingerprint}"\nnote = "flat vs tagged"\nowner = "validatord"\n'
                                        'opened = 2026-05-02\n')
    second, seen = run(path)
    assert second.verdict.verdict == "SHIP_WITH_KNOWN_GAP"
    assert "known gap wire: documented, not regressed" in [line.text for line in comparison(seen).lines]
    synthesis = (second.run_dir / "verdict.md").read_text()
    assert "documented, not regressed" in synthesis
    go_body["value"] = GO_CHANGED
    third, seen = run(path)
    c = comparison(seen)
    assert any(line.text.startswith("parity playbook_missing (go): divergence changed") and line.tone == "worse"
               for line in c.lines)
    assert third.verdict.verdict == "BLOCK"
    assert any(r.startswith("known gap wire regressed: playbook_missing (go) diverges differently")
               for r in third.verdict.reasons)
    assert "regressed" in (third.run_dir / "verdict.md").read_text()


def test_a_smoke_newly_failing_and_slower(write_config, script, tmp_path):
    flag = tmp_path / "broken"
    script("flaky.sh", f"#!/bin/sh\n[ -e {flag} ] && exit 1\nexit 0\n")
    path = write_config('[smokes]\nstop_on_fail = false\n[[smoke]]\nname = "flaky"\nrun = "./scripts/flaky.sh"\n')
    run(path)
    flag.touch()
    outcome, seen = run(path)
    assert DeltaLine("smoke flaky newly failing", "worse") in comparison(seen).lines
    flag.unlink()
    outcome, seen = run(path)
    assert DeltaLine("smoke flaky newly passing", "better") in comparison(seen).lines
    data = json.loads((outcome.run_dir / "verdict.json").read_text())
    assert "smoke flaky newly passing" in data["comparison"]["lines"]


def test_reviewer_engagement_across_two_waves(write_config, tmp_path):
    from ..unit.test_tally import DIFF

    (tmp_path / "c1.diff").write_text(DIFF)
    reviews = tmp_path / "reviews"
    reviews.mkdir()
    (reviews / "kimi.md").write_text("Looks fine.")  # the previous wave: a thin answer
    path = write_config("""
        [[scrum.reviewer]]
        name = "kimi"
        lineage = "moonshot"
        kind = "replay"
        file = "reviews/kimi.md"
        [[scrum.bundle]]
        name = "c1"
        diff = "c1.diff"
    """)
    run(path)
    engaged = "WHERE: go/validatord/errors.go:3\nSEVERITY: WARN\nWHAT: " + "detail " * 150
    (reviews / "kimi.md").write_text(engaged)
    outcome, seen = run(path)
    rows = comparison(seen).engagement
    tokens = round(len(engaged) / 4)  # replayed reviews are estimated at about four characters a token
    assert [(row.wave, row.tokens["kimi"]) for row in rows] == [("previous, c1", 3), ("this, c1", tokens)]
    synthesis = (outcome.run_dir / "verdict.md").read_text()
    assert "| Wave | Bundle KB | kimi tokens out |" in synthesis and f"| this, c1 | 1 | {tokens} |" in synthesis


def test_rebuild_equals_the_live_store(write_config, script, tmp_path):
    script("ok.sh", "#!/bin/sh\necho ok\n")
    path = write_config('[[smoke]]\nname = "a"\nlayer = "L"\nrun = "./scripts/ok.sh"\n')
    for _ in range(3):
        run(path)
    store = open_store(tmp_path / "out")
    live = store.dump()
    store.close()
    assert len(live["runs"]) == 3
    assert rebuild(tmp_path / "out", pytest.fail) == 3
    store = open_store(tmp_path / "out")
    assert store.dump() == live
    store.close()


@pytest.mark.parametrize("damage", ["corrupt", "newer"])
def test_a_broken_store_is_said_once_and_never_fails_the_run(write_config, tmp_path, damage):
    (tmp_path / "out").mkdir()
    store_path = tmp_path / "out" / "history.sqlite"
    if damage == "corrupt":
        store_path.write_bytes(b"this is not a database" * 100)
    else:
        db = sqlite3.connect(store_path)
        db.execute("PRAGMA user_version = 99")
        db.close()
    path = write_config('[[smoke]]\nname = "a"\nrun = "true"\n')
    outcome, seen = run(path)
    notices = [e for e in seen if isinstance(e, Notice) and "history unavailable" in e.message]
    assert len(notices) == 1
    assert ("newer than this gauntlet" in notices[0].message) == (damage == "newer")
    assert outcome.verdict.verdict == "SHIP" and outcome.exit_code == 0
    assert (outcome.run_dir / "verdict.json").is_file()


def test_two_runs_at_once_both_land(write_config, script, tmp_path):
    script("slowish.sh", "#!/bin/sh\nsleep 0.3\n")
    path = write_config('[[smoke]]\nname = "a"\nrun = "./scripts/slowish.sh"\n')
    procs = [subprocess.Popen([sys.executable, "-m", "tui.cli", "smokes", str(path), "--headless"], cwd=REPO,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for _ in range(2)]
    assert [p.wait(60) for p in procs] == [0, 0]
    store = open_store(tmp_path / "out")
    runs = store.runs()
    store.close()
    assert len(runs) == 2 and all(r.finished and r.verdict == "SHIP" for r in runs)


def test_history_and_compare_commands(servers, parity_config, tmp_path):
    go_body = {"value": GO}

    async def go(method, path, headers, body):
        return 422, {"Content-Type": "application/json"}, json.dumps(go_body["value"]).encode()

    path = one_case_config(parity_config, tmp_path, servers.serve_http(json_answer(RUST, 422)), servers.serve_http(go))
    first, _ = run(path)
    go_body["value"] = GO_CHANGED
    second, _ = run(path)
    proc = gauntlet("history", str(path), "--last", "5")
    assert proc.returncode == 0, proc.stderr
    assert first.run_dir.name in proc.stdout and second.run_dir.name in proc.stdout
    assert proc.stdout.count("BLOCK") == 2 and "1/1 · 1/1" in proc.stdout
    cmp = gauntlet("compare", str(first.run_dir), str(second.run_dir))
    assert "parity playbook_missing (go): divergence changed" in cmp.stdout


def test_a_locked_store_is_said_once_and_the_run_goes_on(write_config, tmp_path, monkeypatch):
    import probes.verdict._history

    monkeypatch.setattr(probes.verdict._history, "BUSY_TIMEOUT_MS", 200)
    (tmp_path / "out").mkdir()
    open_store(tmp_path / "out").close()  # a valid store, then another process holds it
    holder = sqlite3.connect(tmp_path / "out" / "history.sqlite", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        path = write_config('[[smoke]]\nname = "a"\nrun = "true"\n')
        outcome, seen = run(path)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    notices = [e for e in seen if isinstance(e, Notice) and "history unavailable" in e.message]
    assert len(notices) == 1 and "locked" in notices[0].message
    assert outcome.exit_code == 0 and (outcome.run_dir / "verdict.json").is_file()
