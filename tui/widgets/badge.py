"""The verdict as a badge: in the header and at the top of the verdict pane."""

from __future__ import annotations

from rich.text import Text


def badge(verdict: str | None, complete: bool = True, *, running: bool = False) -> Text:
    """The verdict as a badge; while the run goes on, visibly the verdict *so far* (never the
    final badge's colours: a glance at tmux must not read it as the end)."""
    if verdict is None:
        return Text(" … ", style="reverse")
    if running:
        return Text(f" running · {verdict} so far ", style="badge.provisional")
    return Text(f" {verdict}{'' if complete else ' (incomplete)'} ", style=f"badge.{verdict}")
