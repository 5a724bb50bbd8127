"""Widgets and helpers shared across panes and screens."""

from __future__ import annotations

from typing import Any

from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.style import Style as RichStyle
from rich.text import Text
from textual.content import Content, Span
from textual.style import Style
from textual.widgets import DataTable, Static

from themes.palette import STYLES


def _theme_style(style: str | RichStyle) -> str | Style:
    """A meaning (themes/palette.py) as its theme-variable style; anything else as given."""
    return STYLES.get(style, style) if isinstance(style, str) else Style.from_rich_style(style)


class Themed:
    """Rich text whose styles name meanings, drawn in the current theme's colours.

    Textual resolves a `$variable` style each time it draws, against the theme of that
    moment, so a theme switch recolours it without anyone updating it. A Static takes it
    as Content; DataTable draws rich renderables only, so it is one of those too (and
    DataTable redraws its cells when the theme changes).
    """

    def __init__(self, text: Text | str, style: str = "") -> None:
        text = Text(text, style=style) if isinstance(text, str) else text
        content = Content(text.plain, [Span(s.start, s.end, _theme_style(s.style)) for s in text.spans])
        self.content = content.stylize_before(_theme_style(text.style)) if text.style else content

    @property
    def plain(self) -> str:
        return self.content.plain

    def __str__(self) -> str:
        return self.plain

    def visualize(self) -> Content:
        return self.content

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement(self.content.cell_length, self.content.cell_length)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield from self.content.render_segments()


def update_static(widget: Static, content: Any, *, key: object = None, layout: bool = True) -> None:
    """Update a Static only when what it shows changed: each update costs a layout pass of
    the whole screen, and the panes redraw ten times a second.

    With a layout, the widget is measured again whatever else is pending. Textual keeps a
    widget's measured box under a count that a layout request bumps only when no request is
    pending already; a resize leaves one pending until the widget's own turn, and on a
    loaded machine a layout pass can come first and measure the text shown then. Without
    the bump, the new text is drawn in that old height, clipped, until the next resize."""
    key = key if key is not None else (content.plain if hasattr(content, "plain") else content)
    if getattr(widget, "_shown_key", None) == key:
        return
    widget._shown_key = key  # type: ignore[attr-defined]
    widget.update(content, layout=layout)
    if layout:
        widget._layout_updates += 1


def selected_key(table: DataTable[Any], keys: list[str]) -> str | None:
    """The key of the row under the table's cursor (keys in row order), if any."""
    row = table.cursor_row
    return keys[row] if keys and row is not None and 0 <= row < len(keys) else None
