"""Help: the prose is Markdown beside this module; the keys are generated from the keymap,
as they are in force (the user's rebound keys over the defaults), each with the id that
rebinds it."""

from __future__ import annotations

from importlib import resources

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

from ..keymap import HELP_BINDINGS, SECTIONS, KeysInForce

KEYS_PLACEHOLDER = "<!-- keys: generated from tui/keymap.py -->"


def keys_markdown(keys: KeysInForce) -> str:
    """One table of keys per section of the keymap."""
    lines = ["## Keys"]
    for title, lists in SECTIONS.items():
        lines += ["", f"### {title}", "", "| Key | Does | Id |", "|---|---|---|"]
        lines += [f"| {' '.join(f'`{k}`' for k in row.keys)} | {row.does} | {' '.join(f'`{i}`' for i in row.ids)} |"
                  for row in keys.section_rows(lists)]
    return "\n".join(lines)


def help_markdown(keys: KeysInForce | None = None) -> str:
    prose = resources.files("tui.screens").joinpath("help.md").read_text("utf-8")
    return prose.replace(KEYS_PLACEHOLDER, keys_markdown(keys or KeysInForce()))


class HelpScreen(ModalScreen[None]):
    BINDINGS = HELP_BINDINGS

    def __init__(self, keys: KeysInForce) -> None:
        super().__init__()
        self.keys = keys

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Markdown(help_markdown(self.keys))
