"""Widgets and helpers shared across panes and screens."""

from __future__ import annotations

from typing import Any

from textual.widgets import DataTable, Static


def update_static(widget: Static, content: Any, *, key: object = None, layout: bool = True) -> None:
    """Update a Static only when what it shows changed: each update costs a layout pass of
    the whole screen, and the panes redraw ten times a second."""
    key = key if key is not None else (content.plain if hasattr(content, "plain") else content)
    if getattr(widget, "_shown_key", None) == key:
        return
    widget._shown_key = key  # type: ignore[attr-defined]
    widget.update(content, layout=layout)


def selected_key(table: DataTable, keys: list[str]) -> str | None:
    """The key of the row under the table's cursor (keys in row order), if any."""
    row = table.cursor_row
    return keys[row] if keys and row is not None and 0 <= row < len(keys) else None
