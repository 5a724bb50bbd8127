"""The scrum remembers: stable finding ids, new / recurring / resolved across waves, the
findings ledger, single-lineage BLOCKs, tokens and cost, SARIF that code scanning tracks."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import textwrap
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import jsonschema
import pytest

from probes.config import load_config
from probes.engine import Engine, select_phases
from probes.core._errors import ConfigError, GauntletError
from probes.core.events import (
    ArtifactWritten,
    BundleTallied,
    ComparedWithPrevious,
    DismissalRow,
    EventBus,
    LocationRow,
    PhaseFinished,
    PlannedBundle,
    PlannedReviewer,
    ReviewFinished,
    ScrumPlanned,
    TokenRow,
)
from probes.scrum._findings import finding_id, normalise_what
from probes.scrum._ledger import load_ledger, record_dismissal
from probes.verdict._history import open_store
from probes.verdict._judge import judge_run
from probes.scrum._board import ScrumBoard
from probes.scrum._render import lineage_table, summary_markdown
from probes.scrum._tally import Location, parse_review, tally

from ..cli import gauntlet
from ..conftest import REPO, run_engine

SCHEMA = REPO / "tests" / "fixtures" / "sarif-2.1.0-rtm.5.json"  # from the npm package @microsoft/jest-sarif (MIT)

CODE = """\
use std::fmt;

pub fn validate(input: &str) -> Result<(), String> {
    let n = input.len();
    if n > 10 {
        return Err("too long".into());
    }
    Ok(())
}

pub fn parse(input: &str) -> u32 {
    input.parse().unwrap()
}
"""
INSERTED = """\
pub fn helper() -> u32 {
    // a block inserted above the findings
    let x = 1;
    x + 1
}

"""
SHIFT = len(INSERTED.splitlines())


def new_file_diff(text: str, path: str = "src/lib.rs") -> str:
    lines = text.splitlines()
    return (f"diff --git a/{path} b/{path}\nnew file mode 100644\n--- /dev/null\n+++ b/{path}\n"
            f"@@ -0,0 +1,{len(lines)} @@\n" + "".join(f"+{line}\n" for line in lines))


WAVE_1 = new_file_diff(CODE)
WAVE_2 = new_file_diff(CODE.replace("\npub fn validate", "\n" + INSERTED + "pub fn validate", 1))


def review(*findings: tuple[int, str, str]) -> str:
    return "".join(f"WHERE: src/lib.rs:{line}\nSEVERITY: {severity}\nWHAT: {what}\n\n" for line, severity, what in findings)


def test_an_id_survives_a_block_inserted_above_and_names_no_reviewer():
    first = tally("b", 1.0, WAVE_1, [parse_review(review((5, "WARN", "length check off by one at line 5")),
                                                  "opus", "anthropic")], tolerance=3, min_tokens_out=0)
    moved = tally("b", 1.0, WAVE_2, [parse_review(review((5 + SHIFT, "WARN",
                                                          f"Length check: off by one, at line {5 + SHIFT}!")),
                                                  "kimi", "moonshot")], tolerance=3, min_tokens_out=0)
    (a,), (b,) = first.locations, moved.locations
    assert (a.start, b.start) == (5, 5 + SHIFT)
    assert a.id == b.id and a.id.startswith("fnd:")
    assert normalise_what("Length check: off by one (line 11)") == "length check off by one line #"
    # the enclosing symbol and the words make the id, not the line number
    assert a.id == finding_id("src/lib.rs", "pub fn validate(input: &str) -> Result<(), String>",
                              "length check off by one at line 5")
    other = tally("b", 1.0, WAVE_1, [parse_review(review((12, "WARN", "length check off by one at line 5")),
                                                  "opus", "anthropic")], tolerance=3, min_tokens_out=0)
    assert other.locations[0].id != a.id  # the same words in another function: another finding


def test_the_same_place_from_two_lineages_is_one_id_whoever_said_it_first():
    one = parse_review(review((5, "BLOCK", "overflow")), "opus", "anthropic")
    two = parse_review(review((6, "WARN", "an overflow here")), "kimi", "moonshot")
    ab = tally("b", 1.0, WAVE_1, [one, two], tolerance=3, min_tokens_out=0).locations
    ba = tally("b", 1.0, WAVE_1, [parse_review(review((6, "WARN", "an overflow here")), "kimi", "moonshot"),
                                  parse_review(review((5, "BLOCK", "overflow")), "opus", "anthropic")],
               tolerance=3, min_tokens_out=0).locations
    assert len(ab) == 1 and ab[0].convergent and ab[0].id == ba[0].id and len(ab[0].ids) == 2


# ---- a config of saved reviews, run wave after wave ------------------------------------------

def scrum_project(tmp_path: Path, extra: str = "", reviewers: str = "", ledger: str = "findings_ignore.toml") -> Path:
    (tmp_path / "reviews" / "b").mkdir(parents=True, exist_ok=True)
    config = tmp_path / "gauntlet.toml"
    config.write_text(textwrap.dedent(f"""
        [gauntlet]
        name = "waves"
        out_dir = "out"
        [scrum]
        findings_ignore = "{ledger}"
        {extra}
        [[scrum.reviewer]]
        name = "opus"
        lineage = "anthropic"
        kind = "replay"
        file = "reviews/{{bundle}}/opus.md"
        price_per_mtok = {{ input = 3.0, output = 15.0 }}
        [[scrum.reviewer]]
        name = "kimi"
        lineage = "moonshot"
        kind = "replay"
        file = "reviews/{{bundle}}/kimi.md"
        {reviewers}
        [[scrum.bundle]]
        name = "b"
        diff = "b.diff"
    """))
    return config


def wave(tmp_path: Path, diff: str, opus: str, kimi: str, **kw):
    (tmp_path / "b.diff").write_text(diff)
    (tmp_path / "reviews" / "b" / "opus.md").write_text(opus)
    (tmp_path / "reviews" / "b" / "kimi.md").write_text(kimi)
    config = load_config(tmp_path / "gauntlet.toml", env={})
    outcome, seen = run_engine(config, **kw)
    return outcome, next(e for e in seen if isinstance(e, BundleTallied)), seen


FIRST = (review((5, "BLOCK", "length check off by one at line 5"), (12, "WARN", "unwrap panics on bad input")),
         review((6, "WARN", "Off-by-one in the length check (line 6)")))
SECOND = (review((5 + SHIFT, "BLOCK", f"length check off by one at line {5 + SHIFT}")),
          review((6 + SHIFT, "WARN", f"Off-by-one in the length check (line {6 + SHIFT})")))


def test_two_waves_a_moved_finding_recurs_and_a_removed_one_is_resolved(tmp_path):
    scrum_project(tmp_path)
    first, tallied, _ = wave(tmp_path, WAVE_1, *FIRST)
    assert [(loc.where, loc.state, loc.waves) for loc in tallied.locations] == [("src/lib.rs:5-6", "", 1),
                                                                                  ("src/lib.rs:12", "", 1)]
    assert first.verdict.verdict == "BLOCK"  # the convergent BLOCK at the length check
    ids = [loc.id for loc in tallied.locations]
    second, tallied, seen = wave(tmp_path, WAVE_2, *SECOND)
    (loc,) = tallied.locations
    assert (loc.where, loc.id, loc.state, loc.waves, loc.since) == (
        f"src/lib.rs:{5 + SHIFT}-{6 + SHIFT}", ids[0], "recurring", 2, first.run_dir.name)
    assert [(r.id, r.where, r.what) for r in tallied.resolved] == [(ids[1], "src/lib.rs:12", "unwrap panics on bad input")]
    reason = next(r for r in second.verdict.reasons if r.startswith("convergent BLOCK"))
    assert reason.endswith(f"recurring for 2 waves, since run {first.run_dir.name}")
    summary = (second.run_dir / "scrum" / "summary.md").read_text()
    assert f"| `{ids[0]}` | `src/lib.rs:{5 + SHIFT}-{6 + SHIFT}` |" in summary
    assert f"recurring (2 waves, since `{first.run_dir.name}`)" in summary
    assert f"| `{ids[1]}` | `src/lib.rs:12` | anthropic | WARN | resolved (seen 1 wave) |" in summary
    assert "0 new, 1 recurring (2 waves), 1 resolved" in summary
    lines = [line.text for line in next(e for e in seen if isinstance(e, ComparedWithPrevious)).lines]
    assert "scrum b: 0 new, 1 recurring, 1 resolved finding(s)" in lines
    assert f"scrum b: convergent BLOCK at src/lib.rs:{5 + SHIFT}-{6 + SHIFT} still there since {first.run_dir.name}" in lines
    assert "scrum b: 0 new, 1 recurring, 1 resolved finding(s)" in (second.run_dir / "verdict.md").read_text()
    third, tallied, _ = wave(tmp_path, WAVE_2, *SECOND)
    assert (tallied.locations[0].state, tallied.locations[0].waves) == ("recurring", 3)
    compared = gauntlet("compare", str(first.run_dir), str(third.run_dir))
    assert "scrum b: 0 new, 1 recurring, 1 resolved finding(s)" in compared.stdout, compared.stdout + compared.stderr


def test_a_dismissal_holds_in_the_next_wave_and_lapses_when_it_expires(tmp_path):
    scrum_project(tmp_path)
    first, tallied, _ = wave(tmp_path, WAVE_1, *FIRST)
    block = tallied.locations[0].id
    proc = gauntlet("finding", "dismiss", str(first.run_dir), block, "--reason", "answered: the bound is inclusive",
                    "--owner", "validatord", "--expires", (date.today() + timedelta(days=1)).isoformat())
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"dismissed {block}" in proc.stdout and "SHIP" in proc.stdout
    rejudged = json.loads((first.run_dir / "verdict.json").read_text())
    assert rejudged["verdict"] == "SHIP"  # the convergent BLOCK no longer counts
    assert [d["id"] for d in rejudged["phases"]["scrum"]["dismissed"]] == [block]
    assert "dismissed: answered: the bound is inclusive" in (first.run_dir / "scrum" / "summary.md").read_text()
    sarif = json.loads((first.run_dir / "scrum" / "findings.sarif").read_text())
    suppressed = [r for r in sarif["runs"][0]["results"] if r.get("suppressions")]
    assert [r["partialFingerprints"]["gauntletFinding/v1"] for r in suppressed] == [block]
    second, tallied, _ = wave(tmp_path, WAVE_2, *SECOND)
    assert second.verdict.verdict == "SHIP" and tallied.locations[0].id == block
    assert tallied.distinct == 0 and "(1 dismissed)" in tallied.line
    after = judge_run(second.run_dir, today=date.today() + timedelta(days=2))
    assert after.verdict.verdict == "BLOCK"  # the entry expired: the finding is back
    assert any(r.startswith("convergent BLOCK in b at") for r in after.verdict.reasons)
    again = gauntlet("finding", "dismiss", str(second.run_dir), "fnd:000000000000", "--reason", "r", "--owner", "o")
    assert again.returncode == 2 and "has no scrum finding 'fnd:000000000000'" in again.stderr
    assert "Traceback" not in again.stderr


def test_dismissals_from_processes_at_once_all_land(tmp_path):
    scrum_project(tmp_path)
    findings = [(n, "WARN", f"finding number {chr(97 + n)}") for n in (1, 5, 9, 13)]
    first, tallied, _ = wave(tmp_path, WAVE_1, review(*findings), "No findings.")
    ids = [loc.id for loc in tallied.locations]
    assert len(set(ids)) == 4
    code = ("import sys; from pathlib import Path; from probes import record_dismissal; "
            "record_dismissal(Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3]), reason='r ' + sys.argv[2], owner='o')")
    ledger = tmp_path / "findings_ignore.toml"
    procs = [subprocess.Popen([sys.executable, "-c", code, str(first.run_dir), i, str(ledger)], cwd=REPO) for i in ids]
    assert [p.wait(60) for p in procs] == [0, 0, 0, 0]
    assert sorted(row.id for row in load_ledger(ledger)) == sorted(ids)
    with pytest.raises(GauntletError, match="dismissed already"):
        record_dismissal(first.run_dir, ids[0], ledger, reason="again", owner="o")


def test_a_broken_ledger_is_named_with_its_key_path(tmp_path):
    ledger = tmp_path / "findings_ignore.toml"
    ledger.write_text('[[finding]]\nid = "nope"\nreason = "r"\nopened = "yesterday"\n')
    with pytest.raises(ConfigError) as caught:
        load_ledger(ledger)
    said = "\n".join(map(str, caught.value.problems))
    assert "finding[0].id" in said and "finding[0].owner" in said and "finding[0].opened" in said


def check(config: Path) -> subprocess.CompletedProcess[str]:
    return gauntlet("check", str(config))


def test_check_validates_the_ledger_with_its_file_and_key_paths_and_a_missing_one_is_none_dismissed(tmp_path):
    config = scrum_project(tmp_path)
    (tmp_path / "b.diff").write_text(WAVE_1)
    ledger = tmp_path / "findings_ignore.toml"
    assert not ledger.exists()
    proc = check(config)
    assert proc.returncode == 0, proc.stderr  # no ledger yet: nothing dismissed, nothing wrong
    ledger.write_text('[[finding]]\nid = "nope"\nreason = "r"\nopened = "yesterday"\n')
    proc = check(config)
    assert proc.returncode == 2, proc.stdout
    assert "Traceback" not in proc.stderr + proc.stdout
    said = proc.stderr.replace("\n", " ")
    for key in ("finding[0].id", "finding[0].owner", "finding[0].opened"):
        assert f"{ledger}: {key}:" in said
    ledger.write_text("[[finding]\n")
    proc = check(config)
    assert proc.returncode == 2 and f"{ledger}: invalid TOML" in proc.stderr and "Traceback" not in proc.stderr
    ledger.unlink()
    ledger.mkdir()
    proc = check(config)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert f"{ledger}: is a directory" in proc.stderr.replace("\n", " ")
    ledger.rmdir()
    gaps = tmp_path / "gaps.toml"  # the known-gaps file is read the same way
    gaps.write_text('[[gap]]\nid = "g"\nnote = "n"\nopened = "today"\n')
    config.write_text(config.read_text() + '[verdict]\nknown_gaps = "gaps.toml"\n')
    proc = check(config)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    said = proc.stderr.replace("\n", " ")
    assert f"{gaps}: gap[0].owner:" in said and f"{gaps}: gap[0].opened:" in said


def test_a_single_lineage_block_is_listed_and_blocks_only_when_asked(tmp_path):
    scrum_project(tmp_path)
    lone = review((12, "BLOCK", "unwrap panics on bad input"))
    outcome, tallied, _ = wave(tmp_path, WAVE_1, lone, "No findings.")
    assert outcome.verdict.verdict == "SHIP"
    synthesis = (outcome.run_dir / "verdict.md").read_text()
    assert "Unverified BLOCKs (one lineage; not blocking):" in synthesis
    assert f"- b `src/lib.rs:12` (anthropic, {tallied.locations[0].id}): unwrap panics on bad input" in synthesis
    data = json.loads((outcome.run_dir / "verdict.json").read_text())
    assert [u["where"] for u in data["phases"]["scrum"]["unverified_blocks"]] == ["src/lib.rs:12"]
    scrum_project(tmp_path, extra='block_on = "any-lineage"')
    outcome, _, _ = wave(tmp_path, WAVE_1, lone, "No findings.")
    assert outcome.verdict.verdict == "BLOCK"
    assert any(r.startswith("unverified BLOCK in b at src/lib.rs:12 (anthropic only") for r in outcome.verdict.reasons)
    retracted = lone + "On reflection, I retract the BLOCK on src/lib.rs: the input is validated upstream.\n"
    outcome, _, _ = wave(tmp_path, WAVE_1, retracted, "No findings.")
    assert outcome.verdict.verdict == "SHIP"  # a BLOCK its author took back blocks nothing


def test_price_and_block_on_are_checked_with_their_key_paths(tmp_path):
    scrum_project(tmp_path, extra='block_on = "sometimes"', reviewers="price_per_mtok = { input = -1 }")
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "gauntlet.toml", env={})
    said = "\n".join(map(str, caught.value.problems))
    assert "scrum.block_on" in said and "scrum.reviewer[1].price_per_mtok.input" in said
    assert "scrum.reviewer[1].price_per_mtok.output: is required" in said


def test_tokens_and_cost_per_bundle_lineage_and_run_against_the_previous_wave(tmp_path):
    scrum_project(tmp_path)
    first, tallied, _ = wave(tmp_path, WAVE_1, *FIRST)
    opus = next(r for r in tallied.reviewers if r.reviewer == "opus")
    assert opus.tokens_estimated and opus.tokens_in > 100  # the prompt a saved review answered, estimated
    assert opus.cost == pytest.approx((opus.tokens_in * 3.0 + opus.tokens_out * 15.0) / 1e6, abs=1e-6)
    kimi = next(r for r in tallied.reviewers if r.reviewer == "kimi")
    assert kimi.cost is None  # no price given
    second, _, _ = wave(tmp_path, WAVE_2, *SECOND)
    summary = (second.run_dir / "scrum" / "summary.md").read_text()
    assert "| Lineage | Previous wave | This wave |" in summary
    assert f"| anthropic | ~{opus.tokens_in} in / ~{opus.tokens_out} out · ${opus.cost:.4f} |" in summary
    verdict = json.loads((second.run_dir / "verdict.json").read_text())
    tokens = verdict["phases"]["scrum"]["tokens"]
    assert tokens["previous_run"]["tokens_out"] == opus.tokens_out + kimi.tokens_out
    assert set(tokens["lineages"]) == {"anthropic", "moonshot"} and tokens["run"]["estimated"] is True
    store = open_store(tmp_path / "out")
    (summary_row,) = [r for r in store.runs() if r.run_id == first.run_dir.name]
    store.close()
    kept = summary_row.bundles["b"]["reviewers"]["opus"]
    assert (kept["tokens_in"], kept["tokens_out"], kept["estimated"]) == (opus.tokens_in, opus.tokens_out, True)
    assert kept["cost"] == opus.cost
    assert [f["id"] for f in summary_row.bundles["b"]["findings"]] == [loc.id for loc in tallied.locations]
    shown = gauntlet("history", str(tmp_path / "out"), env={"COLUMNS": "200"})
    spent = f"~{opus.tokens_in + kimi.tokens_in}/~{opus.tokens_out + kimi.tokens_out} ${opus.cost:.4f}"
    assert spent in shown.stdout, shown.stdout  # the first wave's row


def test_sarif_validates_against_the_2_1_0_schema_with_suppressions(tmp_path):
    scrum_project(tmp_path)
    first, tallied, _ = wave(tmp_path, WAVE_1, *FIRST)
    record_dismissal(first.run_dir, tallied.locations[1].id, tmp_path / "findings_ignore.toml", reason="known",
                     owner="o")
    judge_run(first.run_dir)
    sarif = json.loads((first.run_dir / "scrum" / "findings.sarif").read_text())
    jsonschema.Draft4Validator(json.loads(SCHEMA.read_text())).validate(sarif)
    run = sarif["runs"][0]
    assert [e["name"] for e in run["tool"]["extensions"]] == ["anthropic", "moonshot"]
    assert run["tool"]["extensions"][0]["properties"]["reviewers"] == ["opus"]
    convergent, lone = run["results"]
    assert convergent["partialFingerprints"] == {"gauntletFinding/v1": tallied.locations[0].id}
    assert convergent["properties"]["lineages"] == ["anthropic", "moonshot"]
    assert convergent["properties"]["convergent"] is True and convergent["properties"]["reviewers"] == ["kimi", "opus"]
    assert "suppressions" not in convergent
    assert lone["suppressions"] == [{"kind": "external", "status": "accepted", "justification": "known",
                                     "properties": {"owner": "o", "opened": date.today().isoformat()}}]
    broken = dict(sarif, runs=[dict(run, results=[dict(lone, suppressions=[{"status": "accepted"}])])])
    with pytest.raises(jsonschema.ValidationError):  # the schema does check what it is given
        jsonschema.Draft4Validator(json.loads(SCHEMA.read_text())).validate(broken)


# ---- tokens from a real stream, and the scrum pane ---------------------------------------------

def gateway_project(tmp_path: Path, url: str) -> Path:
    from ..unit.test_tally import DIFF

    (tmp_path / "c1.diff").write_text(DIFF)
    config = tmp_path / "gauntlet.toml"
    config.write_text(textwrap.dedent(f"""
        [gauntlet]
        name = "tokens"
        out_dir = "out"
        [scrum]
        gateway = "{url}"
        api_key_env = "TEST_GATEWAY_KEY"
        [[scrum.reviewer]]
        name = "opus"
        lineage = "anthropic"
        model = "normal:opus"
        price_per_mtok = {{ input = 3.0, output = 15.0 }}
        [[scrum.reviewer]]
        name = "kimi"
        lineage = "moonshot"
        model = "nousage:kimi"
        [[scrum.bundle]]
        name = "c1"
        diff = "c1.diff"
    """))
    return config


async def test_usage_from_the_stream_lands_in_the_tally_the_pane_and_history(gateway, gateway_key, tmp_path):
    from textual.widgets import Static

    from tui.app import GauntletApp
    from tui.sources import FileSource

    from ..tui_helpers import settle, shown_text

    config = load_config(gateway_project(tmp_path, gateway.url))
    outcome = await Engine(config, select_phases(config)).run()
    assert all(r["body"]["stream_options"] == {"include_usage": True} for r in gateway.requests)
    tally_json = json.loads((outcome.run_dir / "scrum" / "c1" / "tally.json").read_text())
    opus, kimi = tally_json["reviewers"]
    assert (opus["tokens_in"], opus["tokens_out"], opus["tokens_estimated"]) == (10, 250, False)
    assert opus["cost"] == pytest.approx((10 * 3.0 + 250 * 15.0) / 1e6)
    # the gateway sent no usage: both sides estimated from the text, and marked so
    assert kimi["tokens_estimated"] is True and kimi["tokens_in"] > 100 and kimi["cost"] is None
    store = open_store(tmp_path / "out")
    (kept,) = store.runs()
    store.close()
    assert kept.bundles["c1"]["reviewers"]["opus"]["tokens_in"] == 10
    assert kept.bundles["c1"]["reviewers"]["kimi"]["estimated"] is True
    app = GauntletApp(FileSource(outcome.run_dir, follow=False), clock=False)
    async with app.run_test(size=(160, 50)) as pilot:
        await asyncio.wait_for(app.source_finished.wait(), 30)
        await pilot.press("2")
        await settle(app, pilot)
        summary = str(app.query_one("#scrum-summary", Static).content)
        assert "anthropic 10/250 $0.0038" in summary
        assert f"moonshot ~{kimi['tokens_in']}/~{kimi['tokens_out']}" in summary
        bars = str(app.query_one("#token-bars", Static).content)
        assert f"tokens in/out ~{10 + kimi['tokens_in']}/~{250 + kimi['tokens_out']} $0.0038" in bars
        assert "kimi" in shown_text(app.query_one("#token-bars"))


async def test_the_pane_shows_waves_dims_a_dismissal_and_dismisses_with_d(tmp_path):
    from textual.widgets import DataTable, Input, Static

    from tui.app import GauntletApp
    from tui.sources import FileSource

    from ..conftest import until
    from ..tui_helpers import settle

    scrum_project(tmp_path)
    await asyncio.to_thread(wave, tmp_path, WAVE_1, *FIRST)
    second, tallied, _ = await asyncio.to_thread(wave, tmp_path, WAVE_2, *SECOND)
    assert second.verdict.verdict == "BLOCK"
    app = GauntletApp(FileSource(second.run_dir, follow=False), clock=False)
    async with app.run_test(size=(200, 50)) as pilot:
        await asyncio.wait_for(app.source_finished.wait(), 30)
        await pilot.press("2")
        await settle(app, pilot)
        table = app.query_one("#tally-table", DataTable)
        assert [str(c) for c in table.get_row_at(0)][3] == "2 waves"
        assert [str(c) for c in table.get_row_at(1)][3:] == ["resolved", "gone since the previous wave — "
                                                             "unwrap panics on bad input"]
        summary = str(app.query_one("#scrum-summary", Static).content)
        assert f"{tallied.locations[0].id} d dismiss" in summary
        assert "tokens in/out: anthropic ~" in summary and "(previous ~" in summary
        await pilot.press("d")
        await settle(app, pilot)
        form = app.screen
        form.query_one("#form-reason", Input).value = "answered in review: inclusive bound"
        form.query_one("#form-owner", Input).value = "validatord"
        form.query_one("#form-expires", Input).value = "not a date"
        form.query_one("#form-expires", Input).focus()
        await pilot.press("enter")  # on the last field, Enter saves
        await settle(app, pilot)
        assert app.screen is form and not (tmp_path / "findings_ignore.toml").exists()  # a bad date: nothing written
        form.query_one("#form-expires", Input).value = ""
        await pilot.press("enter")
        await until(lambda: app.model.verdict is not None and app.model.verdict.verdict == "SHIP", pilot, 30,
                    "the verdict after the dismissal")
        await settle(app, pilot)
        row = [str(c) for c in table.get_row_at(0)]
        assert row[4].startswith("dismissed: answered in review: inclusive bound (validatord) — length check")
        assert app.query_one("#bundle-table", DataTable).get_row_at(0)[-2] == "0"  # distinct: dismissed never counts
    assert [r.id for r in load_ledger(tmp_path / "findings_ignore.toml")] == [tallied.locations[0].id]
    assert json.loads((second.run_dir / "verdict.json").read_text())["verdict"] == "SHIP"


def lone(i: int, severity: str = "BLOCK", lineages: tuple[str, ...] = ("anthropic",)) -> LocationRow:
    return LocationRow(f"src/m{i}.rs:{i}", f"src/m{i}.rs", i, i, lineages, ("opus", "kimi")[:len(lineages)],
                       len(lineages) > 1, severity, f"finding number {i} here", id=f"fnd:{i:012x}")


async def test_the_verdict_pane_lists_unverified_blocks_a_screenful_at_most(tmp_path):
    from tui.app import GauntletApp

    from ..tui_helpers import ScriptedSource, settle, shown_text

    lone_blocks = [lone(i) for i in range(1, 15)]  # 14: more than the pane lists
    others = [lone(90, lineages=("anthropic", "moonshot")), lone(91, "WARN"), lone(92)]
    source = ScriptedSource()
    app = GauntletApp(source, clock=False)
    async with app.run_test(size=(160, 60)) as pilot:
        source.start("scrum")
        source.push(0, ScrumPlanned((PlannedBundle("c1", 4.0, 5.0, "ok"),),
                                    (PlannedReviewer("opus", "anthropic", "replay"),
                                     PlannedReviewer("kimi", "moonshot", "replay")),
                                    dismissed=(DismissalRow("fnd:00000000005c", "answered", "ana", "2026-05-01"),)))
        source.push(1, BundleTallied("c1", 4.0, 1, 17, "c1: …", (), (), (*lone_blocks, *others), (), 1))
        await pilot.press("4")
        await settle(app, pilot)
        shown = shown_text(app.query_one("#verdict-body"))
        assert "Unverified BLOCKs  (one lineage; not blocking)" in shown
        for loc in lone_blocks[:12]:
            assert f"  • finding number {loc.start} here  anthropic only · c1 {loc.where}" in shown
        assert "finding number 13 " not in shown and "finding number 14 " not in shown
        assert "… and 2 more (verdict.md lists them all)" in shown
        assert "finding number 90 here  " not in shown  # convergent: a reason, not unverified
        assert "convergent BLOCK in c1 at src/m90.rs:90" in shown
        assert "finding number 91" not in shown and "finding number 92" not in shown  # a WARN; a dismissed one
        source.close()


def test_the_demo_run_twice_shows_its_findings_recurring_and_tokens_per_lineage_for_both_waves(tmp_path, demo_ports):
    from ..conftest import demo_copy

    config = demo_copy(tmp_path / "sample_configs", demo_ports)
    outputs, runs = [], []
    for _ in range(2):
        before = set((tmp_path / "runs").iterdir()) if (tmp_path / "runs").is_dir() else set()
        proc = gauntlet("run", str(config), "--only", "scrum", "--headless", "--out", str(tmp_path / "runs"),
                        cwd=tmp_path)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
        outputs.append(proc.stdout)
        (new,) = [p for p in (tmp_path / "runs").iterdir() if p.is_dir() and p not in before]
        runs.append(new)  # in the order run: two ids of the same second sort by their random tail
    first, second = runs
    assert "Tokens per lineage" in outputs[0] and "Previous wave" not in outputs[0]
    assert "c1_validatord (46KB) → 0 convergent / 11 distinct" in outputs[1]
    for bundle, count in (("c1_validatord", 11), ("c2_vectord_substrate", 10), ("c3_materializer", 6),
                          ("c4_replay", 10)):
        assert f"scrum {bundle}: 0 new, {count} recurring, 0 resolved finding(s)" in outputs[1]
    summary = (second / "scrum" / "summary.md").read_text()
    assert summary.count(f"recurring (2 waves, since `{first.name}`)") == 37
    assert "0 new, 11 recurring (2 waves), 0 resolved" in summary
    header = next(line for line in outputs[1].splitlines() if line.startswith("Lineage"))
    assert header.split() == ["Lineage", "Previous", "wave", "This", "wave"]
    for lineage in ("anthropic", "moonshot", "qwen"):
        row = next(line for line in outputs[1].splitlines() if line.startswith(lineage))
        assert row.count(" in / ") == 2, row  # the previous wave and this one
        assert f"scrum tokens {lineage}: ~" in outputs[1]
    verdict = json.loads((second / "verdict.json").read_text())
    assert verdict["phases"]["scrum"]["tokens"]["previous_run"]["tokens_out"] > 0


# ---- review round 3: ids that hold, the wave compared with, live dismissals, outside text ----

SETTINGS = """\
def helper():
    return 1


settings = load()
timeout = settings["timeout"] * 1000
"""


def located(diff: str, where: str, what: str = "timeout scaled twice") -> Location:
    (loc,) = tally("b", 1.0, diff, [parse_review(f"WHERE: {where}\nSEVERITY: WARN\nWHAT: {what}\n", "opus", "anthropic")],
                   tolerance=0, min_tokens_out=0).locations
    return loc


@pytest.mark.parametrize("inserted", ["# tuning, in milliseconds", "type = settings['type']", "record = {}",
                                      "object.x()", "module.exports = {}"])
def test_a_comment_or_an_assignment_inserted_above_a_finding_keeps_its_id(inserted):
    before = located(new_file_diff(SETTINGS, "app.py"), "app.py:6")
    after = located(new_file_diff(SETTINGS.replace("timeout =", f"{inserted}\ntimeout ="), "app.py"), "app.py:7")
    assert before.id == after.id == finding_id("app.py", "def helper()", "timeout scaled twice")


def test_a_markdown_heading_is_a_symbol_in_a_markdown_file_only():
    doc = "# Guide\n\n## Install\n\nRun the installer twice.\n"
    for path, symbol in (("docs/guide.md", "## Install"), ("docs/GUIDE.markdown", "## Install"), ("setup.sh", "")):
        assert located(new_file_diff(doc, path), f"{path}:5", "say why").id == finding_id(path, symbol, "say why"), path


def test_a_line_after_a_large_deletion_takes_its_symbol_from_its_own_side_of_the_diff(tmp_path):
    old = ["import os", "", "def removed():", *(f"    x{i} = {i}" for i in range(30)), "", "def kept():",
           *(f"    a{i} = {i}" for i in range(20)), "    return a0"]
    new = ["import os", "", "def kept():", *(f"    a{i} = {i}" for i in range(16)), "    extra = 1",
           *(f"    a{i} = {i}" for i in range(16, 20)), "    return a0"]
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "app.py").write_text("\n".join(old) + "\n")
    subprocess.run(["git", "init", "-q", "."], cwd=repo, check=True)
    subprocess.run(["git", "add", "app.py"], cwd=repo, check=True)
    (repo / "app.py").write_text("\n".join(new) + "\n")
    diff = subprocess.run(["git", "diff", "--no-color", "--no-ext-diff"], cwd=repo, check=True, capture_output=True,
                          text=True).stdout
    assert "@@ -1,37 +1,5 @@" in diff and "@@ def kept():" in diff  # line 20 is new-side of the second hunk only
    assert located(diff, "app.py:20", "extra is never used").id == finding_id("app.py", "def kept()",
                                                                              "extra is never used")
    # a line only the old side has (deleted) still takes its symbol from there
    assert located(diff, "app.py:30", "x27 was used").id == finding_id("app.py", "def removed()", "x27 was used")


def test_the_previous_wave_is_the_last_run_that_had_a_scrum_not_any_run(tmp_path):
    scrum_project(tmp_path)
    with (tmp_path / "gauntlet.toml").open("a") as config_file:  # the run between checks something else
        config_file.write('[[smoke]]\nname = "up"\nrun = ["true"]\n')
    first, _, _ = wave(tmp_path, WAVE_1, *FIRST)
    config = load_config(tmp_path / "gauntlet.toml", env={})
    between = asyncio.run(Engine(config, select_phases(config, skip=("scrum",))).run())
    assert between.verdict.complete and not (between.run_dir / "scrum").exists()
    third, tallied, seen = wave(tmp_path, WAVE_2, *SECOND)
    planned = next(e for e in seen if isinstance(e, ScrumPlanned))
    assert planned.previous_run_id == first.run_dir.name and planned.previous_tokens
    (loc,) = tallied.locations
    assert (loc.state, loc.waves, loc.since) == ("recurring", 2, first.run_dir.name)
    assert [r.where for r in tallied.resolved] == ["src/lib.rs:12"]
    # the comparison of runs still faces the run just before, whatever it ran
    compared = next(e for e in seen if isinstance(e, ComparedWithPrevious))
    assert compared.previous_run_id == between.run_dir.name


def test_a_dismissal_made_while_the_run_is_live_reaches_the_summary_and_the_sarif(tmp_path):
    scrum_project(tmp_path)
    (tmp_path / "b.diff").write_text(WAVE_1)
    (tmp_path / "reviews" / "b" / "opus.md").write_text(FIRST[0])
    (tmp_path / "reviews" / "b" / "kimi.md").write_text(FIRST[1])
    config = load_config(tmp_path / "gauntlet.toml", env={})
    ledger, blocks, seen = tmp_path / "findings_ignore.toml", [], []

    def dismiss_after_the_scrum(t: float, event) -> None:
        seen.append(event)
        if isinstance(event, BundleTallied):
            blocks.append(event.locations[0].id)
        elif isinstance(event, PhaseFinished) and event.phase == "scrum":  # its reports are written by now
            ledger.write_text(f'[[finding]]\nid = "{blocks[0]}"\nreason = "answered while it ran"\nowner = "ana"\n'
                              f"opened = {date.today().isoformat()}\n")

    bus = EventBus()
    bus.subscribe(dismiss_after_the_scrum)
    outcome = asyncio.run(Engine(config, select_phases(config), bus=bus).run())
    assert outcome.verdict.verdict == "SHIP"  # the convergent BLOCK was dismissed before the verdict
    summary = (outcome.run_dir / "scrum" / "summary.md").read_text()
    assert "dismissed: answered while it ran (ana)" in summary and "1 dismissed" in summary
    sarif = json.loads((outcome.run_dir / "scrum" / "findings.sarif").read_text())
    suppressed = [r["partialFingerprints"]["gauntletFinding/v1"] for r in sarif["runs"][0]["results"]
                  if r.get("suppressions")]
    assert suppressed == blocks
    written = [e.path for e in seen if isinstance(e, ArtifactWritten)]
    assert written.count("scrum/summary.md") == 1 and written.count("scrum/findings.sarif") == 1  # listed once


def test_the_estimated_note_is_there_only_when_a_count_was_estimated():
    def board(estimated: bool, previous: tuple[TokenRow, ...] = ()) -> ScrumBoard:
        b = ScrumBoard()
        b.apply(0, ScrumPlanned((PlannedBundle("c1", 4.0, 5.0, "ok"),), (PlannedReviewer("opus", "anthropic", "openai"),),
                                previous_run_id="r0" if previous else "", previous_tokens=previous))
        b.apply(1, ReviewFinished("c1", "opus", "anthropic", "ok", 250, estimated, 0, tokens_in=10))
        return b

    exact = board(False)
    assert "estimated" not in summary_markdown(exact, "t") and lineage_table(exact).title == "Tokens per lineage"
    assert "| anthropic | 10 in / 250 out |" in summary_markdown(exact, "t")
    for guessed in (board(True), board(False, (TokenRow("c1", "opus", "anthropic", 5, 100, True, None),))):
        assert "(~ estimated: the gateway sent no usage)" in summary_markdown(guessed, "t")
        assert lineage_table(guessed).title == "Tokens per lineage (~ estimated)"


async def test_reviewer_text_in_the_tally_is_shown_as_written_never_as_markup():
    from tui.app import GauntletApp

    from ..conftest import until
    from ..tui_helpers import ScriptedSource, settle, shown_text

    where, what = "src/[id]/page.tsx:3", "the regex `[/\\w+/]` and [reverse]x[/reverse]"
    loc = LocationRow(where, "src/[id]/page.tsx", 3, 3, ("anthropic",), ("opus",), False, "WARN", what,
                      id="fnd:0000000000aa", ids=("fnd:0000000000aa",))
    source = ScriptedSource()
    app = GauntletApp(source, clock=False)
    async with app.run_test(size=(400, 40), notifications=True) as pilot:  # the tally is one column of several
        source.start("scrum")
        source.push(0, ScrumPlanned((PlannedBundle("c1", 4.0, 5.0, "ok"),), (PlannedReviewer("opus", "anthropic", "replay"),)))
        source.push(1, BundleTallied("c1", 4.0, 0, 1, "c1: …", (), (), (loc,), (), 0))
        await pilot.press("2")
        await settle(app, pilot)
        # the table sizes its columns on a later refresh: on a loaded machine, after the first draw
        await until(lambda: where in shown_text(app.query_one("#tally-table")), pilot, 10, "the tally's location")
        shown = shown_text(app.query_one("#tally-table"))
        assert where in shown and what in shown
        await pilot.press("d")  # the scripted run names no ledger: said with its brackets, not as markup
        await until(lambda: toast_drawn(app, "names no [scrum] findings_ignore file"), pilot, 10, "the missing ledger")
        source.close()


async def test_the_tally_s_columns_fit_their_text_when_drawn_before_the_table_measured_them():
    """A DataTable measures its columns when it is next idle, and keeps the lines it drew
    before that: on a loaded machine the tally was drawn between its rows' arrival and that
    measure, and its columns stayed at their titles' widths (`src/[id]` for
    `src/[id]/page.tsx:3`) until the tally next changed. Drawn at that moment on purpose here."""
    from textual.widgets import DataTable

    from tui.app import GauntletApp
    from tui.panes.scrum import ScrumPane

    from ..conftest import until
    from ..tui_helpers import ScriptedSource, settle, shown_text

    where = "src/[id]/deeper/page.tsx:3"
    loc = LocationRow(where, "src/[id]/deeper/page.tsx", 3, 3, ("anthropic",), ("opus",), False, "WARN",
                      "a long enough summary of what the reviewer saw", id="fnd:0000000000ab", ids=("fnd:0000000000ab",))
    source = ScriptedSource()
    app = GauntletApp(source, clock=False)
    async with app.run_test(size=(400, 40)) as pilot:
        source.start("scrum")
        source.push(0, ScrumPlanned((PlannedBundle("c1", 4.0, 5.0, "ok"),), (PlannedReviewer("opus", "anthropic", "replay"),)))
        source.push(1, BundleTallied("c1", 4.0, 0, 1, "c1: …", (), (), (loc,), (), 0))
        await pilot.press("2")
        await settle(app, pilot)
        await until(lambda: app.model.tracker.scrum.bundles["c1"].tally is not None, pilot, 10, "the tally")
        board = app.model.tracker.scrum
        table = app.query_one("#tally-table", DataTable)
        bundle = board.bundles["c1"]
        assert bundle.tally is not None
        longer = replace(loc, where=where + "0" * 40, what=loc.what + " and more")  # wider than anything measured
        app.query_one(ScrumPane)._fill_tally(board, replace(bundle, tally=replace(bundle.tally, locations=(longer,))))
        shown_text(table)  # the new row drawn before the table is next idle
        await until(lambda: longer.where in shown_text(table), pilot, 10, "the whole location")
        source.close()


def error_said(app, text: str) -> bool:
    """`text` is in a notification the app raised."""
    return any(text in str(n.message) for n in app._notifications)


def toast_drawn(app, text: str) -> bool:
    """`text` is in a notification as its toast draws it (the app runs with notifications shown)."""
    return any(text in toast.render().plain for toast in app.screen.query("Toast"))


async def test_a_ledger_that_cannot_be_written_is_a_clear_error_in_the_cli_and_the_pane(tmp_path):
    from textual.widgets import Input

    from tui.app import GauntletApp
    from tui.sources import FileSource

    from ..conftest import until
    from ..tui_helpers import settle

    scrum_project(tmp_path, ledger="ledgers/findings_ignore.toml")  # no such directory yet: an empty ledger
    first, tallied, _ = await asyncio.to_thread(wave, tmp_path, WAVE_1, *FIRST)
    (tmp_path / "ledgers").write_text("a regular file where the ledger's directory should be\n")
    ledger, block = tmp_path / "ledgers" / "findings_ignore.toml", tallied.locations[0].id
    with pytest.raises(GauntletError, match=re.escape(str(ledger))):
        record_dismissal(first.run_dir, block, ledger, reason="r", owner="o")
    proc = await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "tui.cli", "finding", "dismiss",
                                                    str(first.run_dir), block, "--reason", "r", "--owner", "o"],
                                   cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 2 and str(ledger) in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr
    app = GauntletApp(FileSource(first.run_dir, follow=False), clock=False)
    async with app.run_test(size=(200, 50)) as pilot:
        await asyncio.wait_for(app.source_finished.wait(), 30)
        await pilot.press("2")
        await settle(app, pilot)
        await pilot.press("d")
        await settle(app, pilot)
        app.screen.query_one("#form-reason", Input).value = "answered"
        app.screen.query_one("#form-owner", Input).value = "validatord"
        app.screen.query_one("#form-expires", Input).focus()
        await pilot.press("enter")
        await until(lambda: error_said(app, str(ledger)), pilot, 30, "the ledger's error in the pane")
        assert app.is_running and app.model.verdict is not None and app.model.verdict.verdict == "BLOCK"


async def test_a_gaps_file_that_cannot_be_written_is_a_clear_error_in_the_diff_viewer(servers, write_config, tmp_path,
                                                                                       monkeypatch):
    from tui.screens.diff import DiffApp, GapForm

    from ..conftest import until
    from .test_diff_view import probe_run

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    run = await probe_run(servers, write_config, {"rust": {"a": 1}, "go": {"a": 2}}, gaps=True)
    gaps = run.parent.parent / "known_gaps.toml"
    (gaps.parent / f".{gaps.name}.lock").mkdir()  # the lock beside it cannot be opened, even by root
    app = DiffApp(run, "c")
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press("a")
        assert isinstance(app.screen, GapForm)
        await pilot.click("#gap-note")
        await pilot.press(*"flat vs tagged", "enter", *"validatord", "enter")
        await until(lambda: error_said(app, str(gaps)), pilot, 30, "the gaps file's error in the viewer")
        assert app.is_running
    assert gaps.read_text() == "# gaps\n"
    run = await probe_run(servers, write_config, {"rust": {"a": 1}, "go": {"a": 2}})  # no known_gaps file named
    app = DiffApp(run, "c")
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await pilot.pause()
        await pilot.press("a")
        await pilot.click("#gap-note")
        await pilot.press(*"n", "enter", *"o", "enter")
        await until(lambda: toast_drawn(app, "names no [verdict] known_gaps file"), pilot, 30, "the missing gaps file")
