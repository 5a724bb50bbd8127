"""The live TUI: four panes an operator can watch in tmux.

The app is one more consumer of the engine's events (or of a run's events.jsonl, for
`gauntlet watch`). Events only update the RunModel; the view is redrawn from it ten
times a second when something moved, so a smoke printing 50,000 lines a second costs the
screen no more than one that prints nothing.

The app alone changes the model: the panes and screens get it (or what they show of it)
handed down, and tell the app what they did by messages (a case chosen, a finding
dismissed, a gap recorded).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from typing import Any, Protocol
from pathlib import Path

from textual.app import ComposeResult, SystemCommand
from textual.containers import Container
from textual.events import Resize
from textual.screen import Screen
from textual.widgets import Footer, Tab, Tabs

from probes import KnownGap
from themes.gauntlet import THEMES

from .base import BaseApp
from .keymap import APP_BINDINGS, PANES
from .model import RunModel
from .panes.parity import ParityPane
from .panes.scrum import ScrumPane
from .panes.smokes import SmokesPane
from .panes.verdict import VerdictPane
from .screens.confirm import ConfirmScreen
from .screens.diff import DiffScreen
from .screens.help import HelpScreen
from .sources import FileSource, Source
from .widgets import update_static
from .widgets.run_header import RunHeader, header_text


class Pane(Protocol):
    """What the app asks of each of its four panes: redraw from the run model, when on screen."""

    @property
    def display(self) -> bool: ...

    def refresh_from(self, model: RunModel) -> None: ...


REFRESH_EVERY = 0.1
BACKLOG_REFRESH_EVERY = 0.5  # while a file's backlog is read: each redraw of the past is time taken from reading it
WIDE_COLUMNS = 160


class GauntletApp(BaseApp):
    BINDINGS = APP_BINDINGS
    TITLE = "gauntlet"

    def __init__(self, source: Source, *, theme: str | None = None,
                 gaps: Iterable[KnownGap] = (), clock: bool = True, pane: str = "smokes") -> None:
        super().__init__(theme=theme)
        self.source = source
        self.model = RunModel()
        self.model.tracker.gaps = list(gaps)
        self.active_pane = pane  # the pane shown first (a mirror has parity alone)
        self.exit_code = 0
        self._source_done = False
        self.source_finished = asyncio.Event()  # set once the source has no more events
        self._quitting = False
        self._shown: dict[int, int] = {}  # each pane (by its place) -> the model's version it last showed
        self._backlog_shown = 0.0  # when the panes last showed a backlog being read
        self._started = time.monotonic()
        self._clock = clock  # live runs show wall time; replays show the events' own time
        self._main: Screen[object] | None = None  # the panes' screen, set on mount

    # ---- layout -------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield RunHeader(id="header")
        yield Tabs(*(Tab(f"{i} {name.capitalize()}", id=f"tab-{name}") for i, name in enumerate(PANES, 1)),
                   id="pane-tabs")
        with Container(id="panes"):
            yield SmokesPane()
            yield ScrumPane(self.keys)
            yield ParityPane(self.keys)
            yield VerdictPane()
        yield Footer()

    def on_mount(self) -> None:
        # Held, not queried: a query looks at the top screen, which may be help or a diff.
        self._main = self.screen
        self._header = self.query_one(RunHeader)
        self._panes: list[Pane] = [self.query_one(SmokesPane), self.query_one(ScrumPane), self.query_one(ParityPane),
                                    self.query_one(VerdictPane)]
        self._layout(self.size.width)
        self.action_show_pane(self.active_pane)
        self.set_interval(REFRESH_EVERY, self.refresh_view)
        self.run_worker(self._drive(), name="source", exit_on_error=True)

    def on_resize(self, event: Resize) -> None:
        if self._main is not None:
            self._layout(event.size.width)

    @property
    def panes_screen(self) -> Screen[object]:
        """The screen the four panes are on (the top screen may be the help or a diff)."""
        assert self._main is not None, "set on mount"
        return self._main

    def _layout(self, width: int) -> None:
        wide = width >= WIDE_COLUMNS
        if wide != self.panes_screen.has_class("-wide"):
            self.panes_screen.set_class(wide, "-wide")
            for pane in PANES:
                self.panes_screen.query_one(f"#{pane}").display = wide or pane == self.active_pane
            self._refresh_panes()

    @property
    def wide(self) -> bool:
        return self.panes_screen.has_class("-wide")

    # ---- the event source ---------------------------------------------------------------

    async def _drive(self) -> None:
        self.exit_code = await self.source.run(self.model.apply)
        if isinstance(self.source, FileSource) and self.source.abandoned:
            self.model.abandon(self.source.abandoned)
        self._source_done = True
        self.refresh_view()
        self.source_finished.set()
        if self._quitting:
            self.exit(self.exit_code)

    def refresh_view(self) -> None:
        """Redraw from the model when it moved (and the clock, which always moves)."""
        if not self._header.is_attached:
            return  # shutting down
        if self.source.catching_up:
            # Reading what was written before: shown twice a second, and judged live once read.
            if time.monotonic() < self._backlog_shown + BACKLOG_REFRESH_EVERY:
                return
            self._backlog_shown = time.monotonic()
        else:
            self.model.catch_up()
        update_static(self._header, header_text(self.model, self.elapsed(), self.source.read_only), layout=False)
        self._refresh_panes()

    def _refresh_panes(self) -> None:
        """Each pane on screen, when the model moved since it last showed it. A pane out of
        sight catches up when it is shown: folding 100,000 cases into a list nobody is looking
        at would hold back the verdict everyone is."""
        for place, pane in enumerate(self._panes):
            if pane.display and self._shown.get(place) != self.model.version:
                self._shown[place] = self.model.version
                pane.refresh_from(self.model)

    def elapsed(self) -> float:
        if self.model.finished is not None:
            return self.model.finished.duration
        return time.monotonic() - self._started if self._clock and self.model.running else self.model.elapsed

    # ---- actions ------------------------------------------------------------------------

    def action_show_pane(self, name: str) -> None:
        self.active_pane = name
        if self.screen is not self._main:
            self.pop_screen()  # 1-4 from a pushed screen go back to the panes
        # Inline display, not a class: a class change restyles every descendant of the
        # four panes (hundreds of milliseconds); display touches only the pane itself.
        for pane in PANES:
            self.panes_screen.query_one(f"#{pane}").display = self.wide or pane == name
        self.panes_screen.query_one(Tabs).active = f"tab-{name}"
        self._refresh_panes()
        target = self.panes_screen.query_one(f"#{name}")
        focusable = target.query("DataTable, RowList")
        (focusable.first() if focusable else target).focus()

    def on_tabs_tab_activated(self, event: Tabs.TabActivated) -> None:
        """A tab clicked. The tabs also answer each pane key this way, later: an answer the
        tabs have moved on from since (a key pressed meanwhile) is stale, and acting on it
        would switch back, and the next answer back again."""
        if event.tab.id != event.tabs.active:
            return
        name = event.tab.id.removeprefix("tab-") if event.tab.id else None
        if name in PANES and name != self.active_pane:
            self.action_show_pane(name)

    def action_help(self) -> None:
        self.push_screen(HelpScreen(self.keys))

    def action_request_quit(self) -> None:
        if self._source_done or self.source.read_only:
            self._quit()
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._quit()

        self.push_screen(ConfirmScreen(self.source.stop_question, self.keys), answered)

    def action_interrupt(self) -> None:
        """Ctrl-C, SIGINT, SIGTERM, SIGHUP, the terminal gone: stop the children, write the
        verdict, quit."""
        self._quit()

    def _quit(self) -> None:
        self._quitting = True
        if self._source_done:
            self.exit(self.exit_code)
        else:
            self.source.interrupt()

    def on_parity_pane_case_chosen(self, event: ParityPane.CaseChosen) -> None:
        self.open_case(event.case)

    def open_case(self, case: str) -> None:
        run = self.model.run
        if run is None or case not in self.model.tracker.parity.results:
            self.notify(f"{case} has not been probed yet", severity="warning")
            return
        self.push_screen(DiffScreen(Path(run.run_dir), case))

    def on_diff_screen_gap_recorded(self, event: DiffScreen.GapRecorded) -> None:
        self.model.adopt(event.judgement)

    def on_scrum_pane_finding_dismissed(self, event: ScrumPane.FindingDismissed) -> None:
        self.model.tracker.scrum.ledger = event.ledger
        self.model.adopt(event.judgement)

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for i, name in enumerate(PANES, 1):
            yield SystemCommand(f"Show {name}", f"Switch to the {name} pane (key {i})",
                                lambda name=name: self.action_show_pane(name))
        for theme in THEMES:
            yield SystemCommand(f"Theme: {theme}", "Use this theme (remembered)",
                                lambda theme=theme: setattr(self, "theme", theme))
        yield SystemCommand("Interrupt the run", "Stop the children, write the verdict (incomplete), quit",
                            self.action_interrupt)

