"""A yes/no question, for quitting while phases still run."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from ..keymap import CONFIRM_BINDINGS, KeysInForce


class ConfirmScreen(ModalScreen[bool]):
    BINDINGS = CONFIRM_BINDINGS

    def __init__(self, question: str, keys: KeysInForce) -> None:
        super().__init__()
        self.question = question
        self.answers = Text.assemble((keys.label("confirm.yes"), "bold"), " yes    ", (keys.label("confirm.no"), "bold"),
                                     " no")

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.question)
            yield Static(self.answers, classes="keys")

    def action_confirm(self) -> None:
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)
