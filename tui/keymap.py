"""Every key of the app in one place, so they can be remapped later."""

from __future__ import annotations

from textual.binding import Binding

PANES = ("smokes", "scrum", "parity", "verdict")

APP_BINDINGS = [
    Binding("1", "show_pane('smokes')", "Smokes", key_display="1"),
    Binding("2", "show_pane('scrum')", "Scrum", key_display="2"),
    Binding("3", "show_pane('parity')", "Parity", key_display="3"),
    Binding("4", "show_pane('verdict')", "Verdict", key_display="4"),
    Binding("question_mark", "help", "Help", key_display="?"),
    Binding("q", "request_quit", "Quit"),
    Binding("ctrl+c", "interrupt", "Interrupt", show=False, priority=True),
]

CONFIRM_BINDINGS = [
    Binding("y", "confirm", "Yes"),
    Binding("n,escape", "cancel", "No"),
]
