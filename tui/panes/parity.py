"""Parity: every case, grouped under its divergence class (or in landing order), filtered by
status, kind or class and searched by name; Enter opens the highlighted case's diff. A case
slower than the reference, or whose timing could not be measured, is listed under its
candidate's latency group too, and is no longer a match. The cases and their rows are the
CaseIndex's (tui/case_index.py); the pane draws them and turns keys into its filters.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, Static

from probes.core.events import NoiseSettled

from ..case_index import STATUS_FILTERS, CaseIndex
from ..keymap import PARITY_BINDINGS, PARITY_SEARCH_BINDINGS, KeysInForce
from ..model import RunModel
from ..parity_cells import noise_lines
from ..widgets import Themed, update_static
from ..widgets.row_list import RowList


class SearchBox(Input):
    """The search: every key narrows the list at once; Enter keeps it, Esc clears it."""

    BINDINGS = PARITY_SEARCH_BINDINGS

    class Cancelled(Message):
        pass

    def action_cancel(self) -> None:
        self.post_message(self.Cancelled())


# The keys the status line names, with their word (the keys as they are in force).
HINTS = (("parity.search", "search"), ("parity.group", "group"), ("parity.status", "status"), ("parity.kind", "kind"),
         ("parity.class", "class"))


class ParityPane(Vertical):
    BINDINGS = PARITY_BINDINGS

    class CaseChosen(Message):
        """Enter on a case: the app opens its diff."""

        def __init__(self, case: str) -> None:
            super().__init__()
            self.case = case

    def __init__(self, keys: KeysInForce) -> None:
        super().__init__(id="parity")
        self.border_title = "Parity"
        self.index = CaseIndex()
        self._hint = "  ".join(f"{label} {word}" for binding, word in HINTS if (label := keys.label(binding)))
        self._clear_key = keys.label("parity.search_clear")
        self._headline_lines = 0
        self._noise: NoiseSettled | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="parity-columns")
        yield RowList(self.index, id="parity-list")
        yield SearchBox(placeholder=f"search case names; Enter keeps, {self._clear_key} clears", id="parity-search")
        yield Static(id="parity-status")
        yield Static(id="parity-headline")
        yield Static(id="parity-noise")

    @property
    def rows(self) -> RowList:
        return self.query_one(RowList)

    def selected(self) -> str | None:
        return self.index.case_at(self.rows.cursor)

    def refresh_from(self, model: RunModel) -> None:
        """Fold in the cases that landed, the highlighted row and the first one on screen
        kept where they were in their class. A list nobody has moved stays at its start:
        which class is first changes as cases land, and the first row's class followed down
        the list would end wherever the class stood when the view happened to be drawn."""
        rows = self.rows
        moved = rows.cursor != 0 or rows.top != 0
        cursor, top = self.index.anchor(rows.cursor), self.index.anchor(rows.top)
        self.index.update(model)
        if moved:
            rows.rows_changed(self.index.row_of(cursor), self.index.row_of(top))
        else:
            rows.rows_changed()
        self._describe()

    def _describe(self) -> None:
        """The column heads, the mode and filters, the headline. Each redraw while cases land
        changes the headline's counts: only a change in how many lines it takes costs the
        screen a layout pass."""
        board = self.index.model.tracker.parity
        columns = self.rows.size.width or self.size.width
        update_static(self.query_one("#parity-columns", Static), Themed(self.index.heading(columns)), layout=False)
        width = max(1, self.size.width - 2)  # the padding of the lines below
        described, hint = self.index.describe(), self._hint
        room = width - len(described) - len(hint)
        status = Text.assemble(described, (" " * room + hint, "dim") if room >= 2 else "")
        update_static(self.query_one("#parity-status", Static), status, layout=False)
        tally = board.tally
        headline = tally.headline() if tally.cases else ("probing…" if board.targets else "no parity yet")
        mirror = self.index.model.tracker.mirror
        if mirror.plan is not None:  # live requests: how many came, were copied, judged, dropped
            headline = f"{headline}\nmirror on {mirror.plan.listen}: {mirror.line()}"
        lines = sum(-(-len(part) // width) for part in headline.split("\n"))
        update_static(self.query_one("#parity-headline", Static), Text(headline, style="bold"),
                      layout=lines != self._headline_lines)
        self._headline_lines = lines
        if board.noise is not self._noise:  # learned, or gone (a mirror's next run)
            self._noise = board.noise
            noise = self.query_one("#parity-noise", Static)
            lines_of_noise = noise_lines(board.noise) if board.noise is not None else Text()
            update_static(noise, lines_of_noise, layout=True)
            noise.set_class(bool(lines_of_noise), "-learned")

    def on_resize(self) -> None:
        self._describe()

    # ---- what the keys do ---------------------------------------------------------------------

    def _rearranged(self, change: Callable[[], None]) -> None:
        """Apply a change of mode or filters, keeping the highlighted case (or group) in view."""
        rows = self.rows
        case, group = self.index.case_at(rows.cursor), self.index.group_at(rows.cursor)
        change()
        found = self.index.find(case, group.key if group else None)
        rows.rows_changed()
        rows.move_to(found if found is not None else 0)
        self._describe()

    def action_toggle_grouping(self) -> None:
        def change() -> None:
            self.index.grouped = not self.index.grouped

        self._rearranged(change)

    def _filter(self, **filters: object) -> None:
        def change() -> None:
            for name, value in filters.items():
                setattr(self.index, name, value)
            self.index.refilter()

        self._rearranged(change)

    def action_cycle_status(self) -> None:
        self._filter(status=STATUS_FILTERS[(STATUS_FILTERS.index(self.index.status) + 1) % len(STATUS_FILTERS)])

    def action_cycle_kind(self) -> None:
        kinds = [None, *self.index.kinds_in_order()]
        current = kinds.index(self.index.kind) if self.index.kind in kinds else 0
        self._filter(kind=kinds[(current + 1) % len(kinds)])

    def action_only_class(self) -> None:
        if self.index.only is not None:
            self._filter(only=None)
            return
        group = self.index.group_at(self.rows.cursor)
        if group is not None:
            self._filter(only=group.key)

    def action_clear_filters(self) -> None:
        if self.index.filtered:
            self.query_one(SearchBox).value = ""
            self._filter(status=None, kind=None, only=None, search="")

    def action_jump_group(self, step: int) -> None:
        self.rows.move_to(self.index.jump(self.rows.cursor, step), to_top=True)

    def action_search(self) -> None:
        box = self.query_one(SearchBox)
        box.add_class("-active")
        box.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._filter(search=event.value.strip().lower())

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._end_search()

    def on_search_box_cancelled(self, event: SearchBox.Cancelled) -> None:
        event.stop()
        self.query_one(SearchBox).value = ""
        self._filter(search="")
        self._end_search()

    def _end_search(self) -> None:
        self.query_one(SearchBox).remove_class("-active")
        self.rows.focus()

    def on_row_list_chosen(self, event: RowList.Chosen) -> None:
        event.stop()
        case = self.index.case_at(event.row)
        if case is not None:
            self.post_message(self.CaseChosen(case))
            return
        group = self.index.group_at(event.row)
        if group is not None:
            self._rearranged(lambda: self.index.fold(group.key))
