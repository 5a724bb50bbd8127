"""A list of rows with a cursor, drawn through Textual's line API: only the rows on screen are
ever rendered, so 100,000 rows open, grow and scroll like twenty (a DataTable builds the
cells of every row up front, and re-sorts them all as rows land)."""

from __future__ import annotations

from typing import Any, Protocol

from rich.segment import Segment
from rich.text import Text
from textual import events
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ..keymap import ROW_LIST_BINDINGS
from . import Themed


class RowSource(Protocol):
    """What the list shows: rows by index, their styles naming meanings (themes/palette.py)."""

    def __len__(self) -> int: ...

    def row(self, index: int, width: int) -> Text: ...

    def is_header(self, index: int) -> bool: ...


class RowList(ScrollView, can_focus=True):
    BINDINGS = ROW_LIST_BINDINGS
    COMPONENT_CLASSES = {"row-list--cursor", "row-list--header"}
    # Beside the widget, not in app.tcss: render_line draws the cursor and the group heads
    # in these component classes' styles, so any RowList, wherever mounted, needs them.
    DEFAULT_CSS = """
    RowList { height: 1fr; background: $surface; overflow-x: hidden; }
    RowList > .row-list--header { background: $panel; text-style: bold; }
    RowList > .row-list--cursor {
        background: $block-cursor-blurred-background;
        color: $block-cursor-blurred-foreground;
        text-style: $block-cursor-blurred-text-style;
    }
    RowList:focus > .row-list--cursor {
        background: $block-cursor-background;
        color: $block-cursor-foreground;
        text-style: $block-cursor-text-style;
    }
    """

    class Chosen(Message):
        """Enter (or a click on the highlighted row) on a row."""

        def __init__(self, row_list: RowList, row: int) -> None:
            super().__init__()
            self.row_list, self.row = row_list, row

    def __init__(self, source: RowSource, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.source = source
        self.cursor = 0

    def rows_changed(self, cursor: int | None = None, top: int | None = None) -> None:
        """The source changed: its length, and where the cursor and the first row on screen
        now are (rows may have landed above them)."""
        count = len(self.source)
        self.virtual_size = Size(self.size.width, count)
        self.cursor = max(0, min(count - 1, self.cursor if cursor is None else cursor))
        if top is not None and top != self.scroll_offset.y:
            self.scroll_to(y=max(0, min(count - self.size.height, top)), animate=False, immediate=True)
        self.refresh()

    @property
    def top(self) -> int:
        return self.scroll_offset.y

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        row = self.scroll_offset.y + y
        if row >= len(self.source):
            return Strip.blank(width, self.get_visual_style().rich_style)
        text = self.source.row(row, width)
        if row == self.cursor:
            # One colour on the cursor row, as a DataTable draws it: readable on any theme.
            return Strip([Segment(text.plain, self.get_visual_style("row-list--cursor").rich_style)]
                         ).adjust_cell_length(width, self.get_visual_style("row-list--cursor").rich_style)
        base = self.get_visual_style("row-list--header") if self.source.is_header(row) else self.get_visual_style()
        parse = self.app.stylesheet.parse_style
        segments = [Segment(part, style.rich_style)
                    for part, style in Themed(text).content.render(base, end="", parse_style=parse)]
        return Strip(segments).adjust_cell_length(width, base.rich_style)

    def on_resize(self) -> None:
        self.virtual_size = Size(self.size.width, len(self.source))

    def move_to(self, row: int, *, to_top: bool = False) -> None:
        """Put the cursor on `row` and the row on screen (at its top: a group and what follows)."""
        self.cursor = max(0, min(len(self.source) - 1, row))
        height = max(1, self.size.height)
        top = self.scroll_offset.y
        if self.cursor < top or to_top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor >= top + height:
            self.scroll_to(y=self.cursor - height + 1, animate=False, immediate=True)
        self.refresh()

    def action_move(self, rows: float) -> None:
        self.move_to(self.cursor + int(max(-1e9, min(1e9, rows))))

    def action_page(self, pages: int) -> None:
        self.action_move(pages * max(1, self.size.height - 1))

    def action_choose(self) -> None:
        if len(self.source):
            self.post_message(self.Chosen(self, self.cursor))

    def on_click(self, event: events.Click) -> None:
        row = self.scroll_offset.y + event.y
        if row >= len(self.source):
            return
        if row == self.cursor:
            self.action_choose()
        else:
            self.move_to(row)
