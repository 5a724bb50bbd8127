"""Help: the prose is Markdown beside this module; the keys are generated from the keymap."""

from __future__ import annotations

from importlib import resources

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

from ..keymap import HELP_BINDINGS, SECTIONS, section_rows

KEYS_PLACEHOLDER = "<!-- keys: generated from tui/keymap.py -->"


def keys_markdown() -> str:
    """One table of keys per section of the keymap."""
    lines = ["## Keys"]
    for title, lists in SECTIONS.items():
        lines += ["", f"### {title}", "", "| Key | Does |", "|---|---|"]
        lines += [f"| {' '.join(f'`{k}`' for k in keys)} | {what} |" for keys, what in section_rows(lists)]
    return "\n".join(lines)


def help_markdown() -> str:
    prose = resources.files("tui.screens").joinpath("help.md").read_text("utf-8")
    return prose.replace(KEYS_PLACEHOLDER, keys_markdown())


class HelpScreen(ModalScreen[None]):
    BINDINGS = HELP_BINDINGS
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 90%; max-width: 100; height: 90%; border: thick $primary; background: $surface; }
    """

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Markdown(help_markdown())
