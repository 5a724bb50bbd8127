"""The TUI with Textual's Pilot: navigation, live updates, quitting, safe text, themes."""

from __future__ import annotations

import asyncio
import json

from textual.widgets import DataTable, Log

from probes.config import load_config
from probes.engine import Engine, select_phases
from probes.core.events import (
    PhaseStarted,
    PlannedBundle,
    PlannedReviewer,
    PlannedSmoke,
    RunStarted,
    SmokeFinished,
    SmokeOutput,
    SmokesPlanned,
    SmokeStarted,
)
from tui.app import GauntletApp
from tui.screens.confirm import ConfirmScreen
from tui.screens.help import HelpScreen
from tui.sources import FileSource, LiveSource

from ..tui_helpers import ScriptedSource, demo_run_copy, scrolled_to_end, settle, shown_text


async def test_number_keys_switch_panes_at_80_columns(tmp_path):
    app = GauntletApp(FileSource(demo_run_copy(tmp_path), follow=False), clock=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await asyncio.wait_for(app.source_finished.wait(), 30)
        await settle(app, pilot)
        assert not app.wide
        for key, pane in (("2", "scrum"), ("3", "parity"), ("4", "verdict"), ("1", "smokes")):
            await pilot.press(key)
            assert app.active_pane == pane
            assert app.query_one(f"#{pane}").display
            others = [p for p in ("smokes", "scrum", "parity", "verdict") if p != pane]
            assert not any(app.query_one(f"#{p}").display for p in others)


async def test_all_four_panes_at_160_columns(tmp_path):
    app = GauntletApp(FileSource(demo_run_copy(tmp_path), follow=False), clock=False)
    async with app.run_test(size=(200, 50)) as pilot:
        await asyncio.wait_for(app.source_finished.wait(), 30)
        await settle(app, pilot)
        assert app.wide
        regions = {p: app.query_one(f"#{p}").region for p in ("smokes", "scrum", "parity", "verdict")}
        assert all(app.query_one(f"#{p}").display for p in regions)
        # a 2x2 grid: smokes|scrum on top, parity|verdict below, none overlapping
        assert regions["smokes"].y == regions["scrum"].y < regions["parity"].y == regions["verdict"].y
        assert regions["smokes"].x == regions["parity"].x < regions["scrum"].x == regions["verdict"].x
        assert not any(a.overlaps(b) for a in regions.values() for b in regions.values() if a is not b)


async def test_panes_follow_a_scripted_event_stream():
    source = ScriptedSource()
    app = GauntletApp(source, clock=False)
    async with app.run_test(size=(100, 30)) as pilot:
        source.start("smokes")
        source.push(0.1, PhaseStarted("smokes"))
        source.push(0.1, SmokesPlanned((PlannedSmoke("d1", "Substrate"), PlannedSmoke("d2", "Substrate")), 1))
        source.push(0.2, SmokeStarted("d1", "Substrate", "./d1"))
        source.push(0.3, SmokeOutput("d1", "checking health\n"))
        await pilot.pause()
        await settle(app, pilot)
        table = app.query_one("#smoke-table", DataTable)
        assert table.row_count == 2
        assert str(table.get_cell_at((0, 1))) == "▶"
        assert "checking health" in str(table.get_cell_at((0, 4)))
        source.push(0.9, SmokeFinished("d1", "Substrate", "fail", 0.7, 1, "exit code 1", "boom", 10))
        await pilot.pause()
        await settle(app, pilot)
        assert str(table.get_cell_at((0, 1))) == "✘"
        assert str(table.get_cell_at((0, 2))) == "0.7s"
        assert "exit code 1" in str(table.get_cell_at((0, 4)))
        assert "0/2 PASS, 1 FAIL" in str(app.query_one("#smoke-summary").render())
        source.close()


async def test_escape_sequences_in_output_never_reach_the_terminal():
    source = ScriptedSource()
    app = GauntletApp(source, clock=False)
    async with app.run_test(size=(100, 30)) as pilot:
        source.start("smokes")
        source.push(0, SmokesPlanned((PlannedSmoke("evil", "L"),), 1))
        source.push(0, SmokeStarted("evil", "L", "x"))
        # the engine neutralises output; the app must show even a raw sequence as text
        source.push(0, SmokeOutput("evil", "title \x1b]0;owned\x07 clear \x1b[2J done\n"))
        await pilot.pause()
        await settle(app, pilot)
        screen = app.export_screenshot()
        assert "\x1b]0;owned" not in screen and "\x1b[2J" not in screen
        lines = app.query_one("#smoke-output", Log).lines
        assert any("done" in line for line in lines)
        source.close()


async def test_help_and_quit_confirmation_while_running():
    source = ScriptedSource()
    app = GauntletApp(source, clock=False)
    async with app.run_test(size=(100, 30)) as pilot:
        source.start("smokes")
        await pilot.pause()
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await pilot.press("q")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        assert not isinstance(app.screen, ConfirmScreen) and not source.interrupted
        await pilot.press("q")
        await pilot.press("y")
        await pilot.pause()
        assert source.interrupted


async def test_quitting_a_live_run_writes_the_verdict_and_stops_children(tmp_path, write_config, script):
    from ..conftest import pid_alive

    pidfile = tmp_path / "child.pid"
    script("slow.sh", f"#!/bin/sh\nsleep 300 &\necho $! > {pidfile}\necho started\nwait\n")
    config = load_config(write_config('[[smoke]]\nname = "slow"\nrun = "./scripts/slow.sh"\n'), env={})
    engine = Engine(config, select_phases(config))
    app = GauntletApp(LiveSource(engine))
    async with app.run_test(size=(100, 30)) as pilot:
        while "slow" not in app.model.tails:  # the smoke said it started: its child exists
            await pilot.pause(0.05)
        await pilot.press("q")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await asyncio.wait_for(app.source_finished.wait(), 30)
    verdict = json.loads((engine.run_dir.path / "verdict.json").read_text())
    assert verdict["complete"] is False and verdict["interrupted"] is True
    assert app.exit_code == 130
    assert not pid_alive(int(pidfile.read_text()))


async def test_scrum_pane_streams_the_selected_reviewer_and_cycles(tmp_path):
    app = GauntletApp(FileSource(demo_run_copy(tmp_path), follow=False), clock=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await asyncio.wait_for(app.source_finished.wait(), 30)
        await pilot.press("2")
        await settle(app, pilot)
        text = app.query_one("#review-text").text
        assert text.startswith("# Review of c1_validatord") and "WHERE:" in text
        await pilot.press("right")
        await settle(app, pilot)
        assert app.query_one("#review-text").text == app.model.reviews[("c1_validatord", "kimi")]
        tally = app.query_one("#tally-table", DataTable)
        assert tally.row_count == 11 + 1  # 11 distinct locations and qwen's unanchored one


async def test_enter_on_a_parity_case_opens_its_diff(tmp_path):
    from tui.screens.diff import DiffScreen

    app = GauntletApp(FileSource(demo_run_copy(tmp_path, keep_paths=True), follow=False), clock=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await asyncio.wait_for(app.source_finished.wait(), 30)
        await pilot.press("3")
        await settle(app, pilot)
        await pilot.press("down", "enter")
        await pilot.pause()
        assert isinstance(app.screen, DiffScreen) and app.screen.case == "playbook_missing_fingerprint"
        await pilot.press("escape")
        assert not isinstance(app.screen, DiffScreen)


async def test_theme_from_the_command_line_is_remembered(tmp_path):
    from themes import THEME_NAMES
    from tui.settings import load_settings

    app = GauntletApp(FileSource(demo_run_copy(tmp_path), follow=False), theme="gauntlet-light", clock=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.theme == "gauntlet-light"
        app.theme = "gauntlet-high-contrast"
        await pilot.pause()
    assert load_settings(THEME_NAMES).theme == "gauntlet-high-contrast"
    again = GauntletApp(FileSource(demo_run_copy(tmp_path / "b"), follow=False), clock=False)
    async with again.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert again.theme == "gauntlet-high-contrast"


async def test_watch_follows_a_run_being_written(tmp_path):
    source_dir = demo_run_copy(tmp_path)
    lines = (source_dir / "events.jsonl").read_text().splitlines(keepends=True)
    live = tmp_path / "live"
    live.mkdir()
    events = live / "events.jsonl"
    events.write_text("".join(lines[:20]))
    app = GauntletApp(FileSource(live, follow=True), clock=False)
    async with app.run_test(size=(100, 30)) as pilot:
        while app.model.version < 20:
            await pilot.pause(0.05)
        assert app.model.running and app.model.finished is None
        with events.open("a") as fh:
            fh.write("".join(lines[20:]))
        await asyncio.wait_for(app.source_finished.wait(), 10)
        await settle(app, pilot)
        assert app.model.finished is not None and app.model.verdict.verdict == "SHIP_WITH_KNOWN_GAP"


async def test_verdict_pane_shows_the_deltas_against_the_previous_run():
    from probes.core.events import ComparedWithPrevious, DeltaLine

    source = ScriptedSource()
    app = GauntletApp(source, clock=False)
    async with app.run_test(size=(120, 40)) as pilot:
        source.push(0, RunStarted("r2", "s", "c.toml", "/runs/r2", ("smokes", "verdict"), "x"))
        source.push(1, ComparedWithPrevious("r1", (DeltaLine("compared with r1"), DeltaLine("smoke d3 newly failing", "worse"),
                                                   DeltaLine("known gap wire: documented, not regressed")), ()))
        await pilot.pause()
        await pilot.press("4")
        await settle(app, pilot)
        body = app.export_screenshot().replace("&#160;", " ")
        assert "Against r1" in body and "smoke d3 newly failing" in body
        assert "known gap wire: documented, not regressed" in body
        source.close()


async def test_the_verdict_badge_turns_as_soon_as_a_smoke_fails():
    source = ScriptedSource()
    app = GauntletApp(source, clock=False)
    async with app.run_test(size=(100, 30)) as pilot:
        source.start("smokes")
        source.push(0, PhaseStarted("smokes"))
        source.push(0, SmokesPlanned((PlannedSmoke("d1", "L"), PlannedSmoke("d2", "L")), 1))
        source.push(0.5, SmokeFinished("d1", "L", "fail", 0.5, 1, "exit code 1", "", 0))
        await pilot.pause()
        await settle(app, pilot)
        assert app.model.verdict.verdict == "BLOCK"  # before the phase (and the engine's verdict) ends
        assert "BLOCK" in app.export_screenshot()
        source.close()


async def test_a_review_streams_into_its_tab_piece_by_piece():
    from probes.core.events import ReviewChunk, ReviewStarted, ScrumPlanned

    source = ScriptedSource()
    app = GauntletApp(source, clock=False)
    async with app.run_test(size=(120, 40)) as pilot:
        source.start("scrum")
        source.push(0, ScrumPlanned((PlannedBundle("c1", 46.0, 47.0, "ok"),), (PlannedReviewer("kimi", "moonshot", "openai"),)))
        source.push(0, ReviewStarted("c1", "kimi", "openai"))
        await pilot.press("2")
        pieces = ["WHERE: a.rs:3\n", "SEVERITY: WARN\n", "WHAT: \x1b[31mred\x1b[0m text\n"]
        for piece in pieces:
            source.push(1, ReviewChunk("c1", "kimi", piece))
            await pilot.pause()
            await settle(app, pilot)
            assert app.query_one("#review-text").text == app.model.reviews[("c1", "kimi")]
        assert app.query_one("#review-text").text == "WHERE: a.rs:3\nSEVERITY: WARN\nWHAT: ␛[31mred␛[0m text\n"
        source.close()


async def test_arrows_cycle_reviewers_only_while_the_scrum_pane_has_the_focus(tmp_path):
    app = GauntletApp(FileSource(demo_run_copy(tmp_path), follow=False), clock=False)
    async with app.run_test(size=(200, 50)) as pilot:
        await asyncio.wait_for(app.source_finished.wait(), 30)
        await pilot.press("2")
        await settle(app, pilot)
        scrum = app.query_one("#scrum")
        reviewers = scrum._reviewers
        await pilot.press("left")  # wraps round to the last reviewer
        assert scrum.reviewer_index == len(reviewers) - 1
        assert app.query_one("#review-text").text == app.model.reviews[("c1_validatord", reviewers[-1])]
        await pilot.click("#smoke-table")  # all four panes are on screen: the focus moves to the smokes
        await pilot.press("right")
        assert scrum.reviewer_index == len(reviewers) - 1


async def test_pane_keys_typed_faster_than_the_tabs_answer_leave_the_last_pane_shown(tmp_path, monkeypatch):
    """Each pane key moves the tabs, and the tabs answer (TabActivated) later: an answer to
    an earlier key is stale by then and must not switch back, or two panes take turns."""
    from textual import events

    app = GauntletApp(FileSource(demo_run_copy(tmp_path), follow=False), clock=False)
    shown: list[str] = []
    show = app.action_show_pane
    monkeypatch.setattr(app, "action_show_pane", lambda name: (shown.append(name), show(name)))
    async with app.run_test(size=(80, 24)) as pilot:
        await asyncio.wait_for(app.source_finished.wait(), 30)
        await settle(app, pilot)
        shown.clear()
        for key in ("2", "1"):  # both queued before the app handles either
            app.post_message(events.Key(key, key))
        await pilot.pause()
        await pilot.pause()
        assert shown == ["scrum", "smokes"]
        assert app.active_pane == "smokes" and app.query_one("#pane-tabs").active == "tab-smokes"
        assert app.query_one("#smokes").display and not app.query_one("#scrum").display


async def test_a_review_streamed_while_its_pane_was_hidden_is_shown_at_its_end(tmp_path):
    """The review text follows the review to its end; while the pane is hidden the area has
    no size to scroll by, so it must still be at the end once shown, not wherever it was."""
    app = GauntletApp(FileSource(demo_run_copy(tmp_path), follow=False), clock=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await asyncio.wait_for(app.source_finished.wait(), 30)
        await settle(app, pilot)  # drawn into the scrum pane while the smokes pane is shown
        await pilot.press("2")
        await settle(app, pilot)
        area = app.query_one("#review-text")
        await scrolled_to_end(area, pilot)
        assert "VERDICT: SHIP" in shown_text(area)


async def test_a_review_streaming_on_screen_stays_at_its_end():
    from probes.core.events import ReviewChunk, ReviewStarted, ScrumPlanned

    source = ScriptedSource()
    app = GauntletApp(source, clock=False)
    async with app.run_test(size=(80, 24)) as pilot:
        source.start("scrum")
        source.push(0, ScrumPlanned((PlannedBundle("c1", 46.0, 47.0, "ok"),), (PlannedReviewer("kimi", "moonshot", "openai"),)))
        source.push(0, ReviewStarted("c1", "kimi", "openai"))
        await pilot.press("2")
        area = app.query_one("#review-text")
        for n in range(1, 31):
            source.push(1, ReviewChunk("c1", "kimi", f"line {n}\n"))
            await pilot.pause()
            await settle(app, pilot)
        await scrolled_to_end(area, pilot)
        assert "line 30" in shown_text(area)
        source.close()


async def test_a_review_shown_as_the_tables_around_it_fill_stays_at_its_end(tmp_path):
    """All four panes on screen, drawn once before the scrum began: the review lands in the
    same redraw as the bundles, whose table then grows and leaves the review less room."""
    from probes.core.events import event_of_line

    source = ScriptedSource()
    app = GauntletApp(source, clock=False)
    events = [event_of_line(line) for line in (demo_run_copy(tmp_path) / "events.jsonl").read_bytes().splitlines()]
    async with app.run_test(size=(200, 50)) as pilot:
        source.push(*events[0])
        await pilot.pause()
        await settle(app, pilot)
        for t, event in events[1:]:
            source.push(t, event)
        source.close()
        await asyncio.wait_for(app.source_finished.wait(), 30)
        await settle(app, pilot)
        area = app.query_one("#review-text")
        await scrolled_to_end(area, pilot)
        assert "VERDICT: SHIP" in shown_text(area)


async def test_an_untouched_parity_list_stays_at_its_start_as_cases_land(tmp_path):
    """Which class is first changes as cases land; a list nobody moved shows its first row
    highlighted, whichever class that is when the view was last drawn."""
    from probes.core.events import ParityCaseFinished, event_of_line

    source = ScriptedSource()
    app = GauntletApp(source, clock=False)
    lines = (demo_run_copy(tmp_path) / "events.jsonl").read_bytes().splitlines()
    events = [event_of_line(line) for line in lines]
    first_case = next(i for i, (_, event) in enumerate(events) if isinstance(event, ParityCaseFinished))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("3")
        for t, event in events[:first_case + 1]:  # a match: the only class, so far
            source.push(t, event)
        await pilot.pause()
        await settle(app, pilot)
        pane = app.query_one("#parity")
        assert pane.index.is_header(0) and pane.rows.cursor == 0
        for t, event in events[first_case + 1:]:  # the shape classes, bigger, go before it
            source.push(t, event)
        source.close()
        await asyncio.wait_for(app.source_finished.wait(), 30)
        await settle(app, pilot)
        assert pane.rows.cursor == 0 and pane.rows.top == 0
        assert pane.index.group_at(0).key != pane.index.group_at(len(pane.index) - 1).key


async def test_a_summary_updated_while_a_layout_is_pending_gets_its_new_height():
    """Textual measures a widget once per layout request it counts, and counts a request
    only if none is pending. Under load a layout pass can come between a resize (which
    leaves a request pending until the widget's own turn) and an update: the forced order
    below is that one, and the new text must not be drawn in the old text's height."""
    from textual.app import App
    from textual.widgets import Static

    from tui.widgets import update_static

    class OneLine(App[None]):
        CSS = "Static { height: auto; }"

        def compose(self):
            yield Static(id="line")

    app = OneLine()
    async with app.run_test(size=(20, 10)) as pilot:
        line = app.query_one("#line", Static)
        line.refresh(layout=True)  # pending, as after a resize
        app.screen._clear_arrangement_cache()
        app.screen._refresh_layout()  # a layout pass before the widget's turn: measures ""
        update_static(line, "x" * 30)  # two lines at 20 columns
        await pilot.pause()
        assert line.size.height == 2
