"""The faces at scale: a parity phase of thousands of cases in the headless printer, in the
parity pane (grouped by class, filtered, searched, scrolled) and replayed by `watch`."""

from __future__ import annotations

import asyncio
import io
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from probes.core.events import ParityCaseFinished, ParityPlanned, read_events
from probes.parity._render import TABLE_ROWS
from probes.parity._twins import GO, RUST, twin_handler
from probes.verdict._verdict import VerdictTracker
from tui.app import GauntletApp
from tui.headless import CASE_LINES, HeadlessPrinter
from tui.model import RunModel
from tui.panes.parity import ParityPane
from tui.screens.diff import DiffScreen
from tui.sources import FileSource
from tui.widgets.row_list import RowList

from ..conftest import REPO, Stopwatch, until
from ..fixtures.synthetic_run import CLASSES, parity_events, write_run
from .test_theme_keys import THEME_A, THEME_B, colour
from ..tui_helpers import DEMO_RUN, ScriptedSource, settle, shown_text

PAYLOADS = (  # four shapes of request: a match, two schema failures (one class), a phantom reference
    '{ kind = "playbook", fingerprint = "pb_0123456789abcdef", endorsed = ["ops"] }',
    '{ kind = "playbook", endorsed = ["ops"] }',
    '{ kind = "playbook", fingerprint = "fp_0123456789abcdef", endorsed = ["ops"] }',
    '{ kind = "fill", playbook = "pb_ffffffffffffffff", qty = 3 }',
)


@pytest.fixture(scope="module")
def run_5000(tmp_path_factory) -> Path:
    return write_run(tmp_path_factory.mktemp("scale") / "run", 5000)


def screen_lines(app: GauntletApp) -> list[str]:
    return shown_text(app.query_one("#parity-list", RowList)).splitlines()


# ---- headless --------------------------------------------------------------------------------


def test_500_cases_headless_print_the_tables_not_a_line_each(servers, write_config, tmp_path):
    rust, go = servers.serve_http(twin_handler(RUST)), servers.serve_http(twin_handler(GO))
    cases = "".join(f'[[parity.case]]\nname = "c{i:03d}"\nmethod = "POST"\npath = "/v1/validate"\n'
                    f"json = {PAYLOADS[i % len(PAYLOADS)]}\n" for i in range(500))
    config = write_config(f'[parity]\nreference = "rust"\nconcurrency = 16\n'
                          f'[parity.targets]\nrust = "{rust}"\ngo = "{go}"\n{cases}')

    def parity(*flags: str) -> list[str]:
        proc = subprocess.run([sys.executable, "-m", "tui.cli", "parity", str(config), "--headless",
                               "--out", str(tmp_path / "out"), *flags], cwd=REPO, capture_output=True, text=True,
                              env={"COLUMNS": "120", "PATH": "", "TZ": "UTC"}, timeout=120)
        assert proc.returncode == 1, proc.stderr  # the shapes diverge: BLOCK
        return proc.stdout.splitlines()

    lines = parity()
    assert len(lines) < TABLE_ROWS + 50, "\n".join(lines)  # the table's rows, the classes, the verdict
    assert f"{TABLE_ROWS} of 500 cases" in "\n".join(lines)
    assert not [line for line in lines if line.startswith(("MATCH ", "DIVERGE "))]
    assert "500 cases: progress only" in "\n".join(lines)
    table = lines.index(next(line for line in lines if line.strip() == "Divergence classes"))
    rows = [line.split() for line in lines[table + 3:] if line.startswith("go ")]
    # two classes: the schema failures (either one) and the phantom reference, cases counted
    assert sorted(int(row[1]) for row in rows) == [125, 250]
    assert "375/500 body shapes diverge" in "\n".join(lines)
    assert lines[-3].startswith("verdict: BLOCK")  # and one reason per class after it
    verbose = parity("--verbose")
    assert len([line for line in verbose if line.startswith(("MATCH ", "DIVERGE "))]) == 500


def test_cases_streamed_from_a_file_are_told_one_by_one_only_at_first():
    out = io.StringIO()
    printer = HeadlessPrinter(Console(file=out, width=120))
    for t, event in parity_events(200, Path("/runs/r")):
        if isinstance(event, ParityPlanned):  # cases from a JSON Lines file are not announced
            event = ParityPlanned((), event.targets, event.reference, event.concurrency)
        printer.apply(t, event)
    printer.close()
    text = out.getvalue()
    assert len([line for line in text.splitlines() if line.startswith(("MATCH ", "DIVERGE "))]) == CASE_LINES
    assert "more cases: progress only" in text and "Divergence classes" in text


# ---- the parity pane -------------------------------------------------------------------------


async def test_a_pane_out_of_sight_folds_the_cases_when_it_is_shown_not_before(run_5000):
    app = GauntletApp(FileSource(run_5000, follow=False), clock=False)
    async with app.run_test(size=(80, 24)) as pilot:  # narrow: one pane at a time, the smokes first
        await asyncio.wait_for(app.source_finished.wait(), 30)
        await pilot.pause()
        pane = app.query_one(ParityPane)
        assert app.model.verdict is not None and "BLOCK" in str(app.query_one("#header")._shown_key)
        assert len(pane.index) == 0, "the hidden parity list folded the cases nobody was looking at"
        await pilot.press("3")
        await pilot.pause()
        assert len(pane.index.facts) == 5000  # every case folded, at once, when shown
        assert "/5000 status codes match" in shown_text(app.query_one("#parity-headline")).replace(",", "")


async def test_the_pane_groups_5000_cases_by_class_and_scrolls_to_the_end(run_5000):
    app = GauntletApp(FileSource(run_5000, follow=False), clock=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await asyncio.wait_for(app.source_finished.wait(), 30)
        await pilot.press("3")
        await settle(app, pilot)
        board = app.model.tracker.parity
        lines = screen_lines(app)
        assert lines[0].startswith("▾ could not be compared  24 cases")
        assert lines[1].split()[:3] == ["case000000", "200", "error"]
        pane = app.query_one(ParityPane)
        headers = [pane.index.row(i, 80).plain for i in range(len(pane.index)) if pane.index.is_header(i)]
        for group in board.class_groups():
            assert any(h.startswith(f"▾ {group.target} {group.kind}  {len(group.cases):,} cases  "
                                    f"{group.description}") for h in headers), group
        assert headers[-1].startswith("▾ match") and len(headers) == 3 + len(CLASSES)
        await pilot.press("end")
        await settle(app, pilot)
        lines = screen_lines(app)
        assert lines[-1].split()[0] == board.cases[-1]  # case004999 matches: the last group's last
        assert pane.selected() == "case004999"
        await pilot.press("g", "home")  # landing order
        await settle(app, pilot)
        assert [line.split()[0] for line in screen_lines(app)[:3]] == ["case000000", "case000001", "case000002"]
        await pilot.press("end")
        await settle(app, pilot)
        assert screen_lines(app)[-1].split()[0] == "case004999"


async def test_the_pane_filters_by_status_kind_and_class(run_5000):
    app = GauntletApp(FileSource(run_5000, follow=False), clock=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await asyncio.wait_for(app.source_finished.wait(), 30)
        await pilot.press("3")
        await settle(app, pilot)
        pane = app.query_one(ParityPane)
        board = app.model.tracker.parity

        def cases() -> list[str]:
            return [c for i in range(len(pane.index)) if (c := pane.index.case_at(i)) is not None]

        await pilot.press("f")  # only matches
        assert set(cases()) == {r.case for r in board.done() if not r.errors and r.status_match and r.body_match
                                and not r.status_kinds.get("go")}
        await pilot.press("f")  # only status mismatches
        assert set(cases()) == {r.case for r in board.status_mismatches()} and len(cases()) == 51
        await pilot.press("f", "f")  # errors, then the inconclusive cases (none: no noise was sampled)
        assert pane.index.status == "inconclusive" and cases() == []
        await pilot.press("f")  # every case again
        assert len(set(cases())) == 5000
        await pilot.press("k")  # the most severe kind first: status
        assert pane.index.kind == "status"
        await pilot.press("k")
        assert pane.index.kind == "shape"
        assert set(cases()) == {c for g in board.class_groups() if g.kind == "shape" for c in g.cases}
        await pilot.press("escape", "home", "right_square_bracket", "right_square_bracket")  # past errors and statuses
        await settle(app, pilot)
        group = pane.index.group_at(app.query_one(RowList).cursor)
        assert group.key == ("go", board.class_groups()[0].class_id)  # the class of the most cases
        await pilot.press("c")
        await settle(app, pilot)
        assert cases() == group.cases and len(group.cases) > 1
        assert "class " in str(app.query_one("#parity-status").render())
        await pilot.press("c")
        assert len(set(cases())) == 5000


async def test_search_narrows_as_each_key_is_typed(run_5000):
    app = GauntletApp(FileSource(run_5000, follow=False), clock=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await asyncio.wait_for(app.source_finished.wait(), 30)
        await pilot.press("3")
        await settle(app, pilot)
        pane = app.query_one(ParityPane)
        await pilot.press("slash", "0", "0", "4", "2")
        assert app.focused is app.query_one("#parity-search")
        assert pane.index.search == "0042" and pane.index.describe().endswith("111 of 5,000 cases")
        await pilot.press("1")
        assert pane.index.search == "00421" and app.active_pane == "parity"  # typed, not a pane key
        await settle(app, pilot)
        names = {line.split()[0] for line in screen_lines(app) if line.startswith("  case")}
        assert names == {"case000421", *(f"case00421{i}" for i in range(10))}
        await pilot.press("enter")  # keeps the search, back to the list
        assert isinstance(app.focused, RowList) and pane.index.search == "00421"
        assert "/00421" in str(app.query_one("#parity-status").render())
        await pilot.press("slash", "escape")  # clears it
        assert pane.index.search == "" and isinstance(app.focused, RowList)
        await pilot.press("home", "enter")  # a group's header folds it
        await settle(app, pilot)
        assert screen_lines(app)[0].startswith("▸ could not be compared") and screen_lines(app)[1].startswith("▾ status")
        await pilot.press("enter", "down", "enter")  # unfolds it; a case opens its diff
        await pilot.pause()
        assert isinstance(app.screen, DiffScreen) and app.screen.case == "case000000"


async def test_the_highlighted_case_stays_put_while_cases_land_above_it():
    source = ScriptedSource()
    app = GauntletApp(source, clock=False)
    events = parity_events(3000, Path("/runs/r"))
    first = [e for e in events if not isinstance(e[1], ParityCaseFinished)][:3]  # the run, the phase, the plan
    cases = [e for e in events if isinstance(e[1], ParityCaseFinished)]
    async with app.run_test(size=(100, 30)) as pilot:
        for item in first + cases[:300]:
            source.push(*item)
        await pilot.press("3")
        await until(lambda: len(app.model.tracker.parity.cases) >= 300, pilot, 30, "300 cases on the board")
        await settle(app, pilot)
        rows = app.query_one(RowList)
        pane = app.query_one(ParityPane)
        await pilot.press("end")  # the last of the matches, under every class
        before = pane.selected()
        for item in cases[300:]:
            source.push(*item)
        await until(lambda: len(app.model.tracker.parity.cases) >= 3000, pilot, 30, "3000 cases on the board")
        await settle(app, pilot)
        assert pane.selected() == before and rows.cursor > 300
        assert before in shown_text(rows)
        source.close()


# ---- watch -----------------------------------------------------------------------------------


def test_the_live_verdict_is_judged_at_redraws_not_at_each_result(monkeypatch):
    events = parity_events(2000, Path("/runs/r"))[:1000]
    judged = []
    current = VerdictTracker.current
    monkeypatch.setattr(VerdictTracker, "current", lambda self, **kw: judged.append(1) or current(self, **kw))
    model = RunModel()
    for t, event in events:
        model.apply(t, event)
    assert judged == [] and model.verdict_stale
    model.catch_up()
    assert len(judged) == 1 and model.verdict.verdict == "BLOCK" and not model.verdict_stale


async def test_a_20000_case_replay_shows_its_verdict_within_seconds_and_paints_on_the_way(tmp_path):
    run = write_run(tmp_path / "run", 20000)
    final = next(e for _, e in reversed(list(read_events(str(run / "events.jsonl")))) if type(e).__name__ == "VerdictChanged")
    app = GauntletApp(FileSource(run, follow=False), clock=False)
    headers: list[str] = []
    write_frame = app._display

    def display(screen, renderable):  # every frame the app writes to its terminal
        headers.append(str(getattr(app.query_one("#header"), "_shown_key", "")))
        return write_frame(screen, renderable)

    app._display = display
    clock = Stopwatch()  # the app's own time: the seconds its thread waited for a busy CPU left out
    async with app.run_test(size=(120, 40)) as pilot:
        while app.model.verdict != final or "BLOCK" not in str(app.query_one("#header")._shown_key):
            assert clock.seconds() < 10, "the verdict was not on screen within 10 s"
            await pilot.pause(0.05)
    midway = [h for h in headers if "▶parity" in h and "/20,000" in h and "20,000/20,000" not in h]
    assert midway, "no frame showed the replay under way"
    assert len({h.split("▶parity ")[1].split()[0] for h in midway}) > 1  # the count moved on screen


async def test_a_backlog_is_judged_live_once_read_not_while_it_is_being_read(tmp_path, monkeypatch):
    run = write_run(tmp_path / "run", 20000)
    lines = (run / "events.jsonl").read_text().splitlines(keepends=True)
    going = tmp_path / "going"  # the same run with its verdict and end yet to come
    going.mkdir()
    (going / "events.jsonl").write_text("".join(line for line in lines
                                                if '"VerdictChanged"' not in line and '"RunFinished"' not in line))
    source = FileSource(going, follow=False)
    reading: list[bool] = []  # at each live judging, whether the backlog was still being read
    current = VerdictTracker.current
    monkeypatch.setattr(VerdictTracker, "current",
                        lambda self, **kw: reading.append(source.catching_up) or current(self, **kw))
    seen_catching_up = []
    app = GauntletApp(source, clock=False)
    apply = app.model.apply
    app.model.apply = lambda t, event: seen_catching_up.append(source.catching_up) or apply(t, event)
    async with app.run_test(size=(120, 40)) as pilot:
        await asyncio.wait_for(app.source_finished.wait(), 60)
        await pilot.pause()
        assert any(seen_catching_up), "20,000 cases were read in one slice: no backlog to judge around"
        assert reading and not any(reading), f"judged {reading.count(True)} time(s) while the backlog was read"
        assert app.model.verdict is not None and app.model.verdict.verdict == "BLOCK"
        assert "BLOCK" in str(app.query_one("#header")._shown_key)


async def test_lines_written_while_a_backlog_is_read_are_news_not_backlog(tmp_path):
    """A writer that keeps the reader busy (a flood) must not keep the app from judging live:
    only what was in the file when the read began is backlog."""
    run = write_run(tmp_path / "run", 20000)
    lines = (run / "events.jsonl").read_bytes().splitlines(keepends=True)
    ending = [line for line in lines if b'"RunFinished"' in line]
    backlog = [line for line in lines if line not in ending]
    news = [line for line in backlog if b'"ParityCaseFinished"' in line] + ending
    going = tmp_path / "going"
    going.mkdir()
    (going / "events.jsonl").write_bytes(b"".join(backlog))
    source = FileSource(going, follow=False)
    flags: list[bool] = []  # at each event delivered, whether the source said it was catching up
    with open(going / "events.jsonl", "ab") as writer:
        def deliver(t, event):
            flags.append(source.catching_up)
            if len(flags) <= len(news):  # the writer adds a line for each one read: it keeps pace
                writer.write(news[len(flags) - 1])
                writer.flush()

        assert await source.run(deliver) == 0
    assert len(flags) == len(backlog) + len(news)
    assert any(flags[:len(backlog)]), "the backlog was read in one slice: nothing to tell apart"
    assert not any(flags[len(backlog) + len(news) // 2:]), "lines written during the read were taken for backlog"


async def test_the_list_draws_each_kind_in_the_themes_colour():
    app = GauntletApp(FileSource(DEMO_RUN, follow=False), theme=THEME_A, clock=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await asyncio.wait_for(app.source_finished.wait(), 30)
        await pilot.press("3")
        await settle(app, pilot)
        rows = app.query_one(RowList)
        drawn = {}
        for theme in (THEME_A, THEME_B):
            app.theme = theme
            await pilot.pause()
            shape = next(s for s in rows.render_line(1) if s.text == " shape")  # row 0 has the cursor
            assert shape.style.color.name == colour(app, "text-warning")
            drawn[theme] = shape.style
        assert drawn[THEME_A] != drawn[THEME_B]
