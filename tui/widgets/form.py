"""A small modal form of text fields: what the diff viewer and the scrum pane ask before they
write a ledger entry (a known gap, a dismissed finding). A screen, kept with the widgets
because a pane and a screen both build on it, and neither imports the other."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static


@dataclass(frozen=True)
class Field:
    name: str
    placeholder: str
    required: bool = True


class EntryForm(ModalScreen[dict[str, str] | None]):
    """Its fields in order (Enter moves on, on the last one saves); `check` says what is
    wrong with the answers, or nothing. A subclass binds its `cancel` key (None) and may
    name its widgets' ids (`PREFIX`-field, `PREFIX`-save)."""

    PREFIX = "form"

    def __init__(self, title: str | Text, fields: Sequence[Field], save: str,
                 check: Callable[[dict[str, str]], str] = lambda _: "") -> None:
        super().__init__()
        self.title_text, self.fields, self.save_label, self.check = title, list(fields), save, check

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.title_text, markup=False)
            for f in self.fields:
                yield Input(placeholder=f.placeholder, id=f"{self.PREFIX}-{f.name}")
            yield Button(self.save_label, id=f"{self.PREFIX}-save", variant="primary")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        names = [f"{self.PREFIX}-{f.name}" for f in self.fields]
        at = names.index(event.input.id or "")
        if at + 1 < len(names):
            self.query_one(f"#{names[at + 1]}", Input).focus()
        else:
            self._save()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self._save()

    def _save(self) -> None:
        answers = {f.name: self.query_one(f"#{self.PREFIX}-{f.name}", Input).value.strip() for f in self.fields}
        missing = [f.name for f in self.fields if f.required and not answers[f.name]]
        problem = f"{' and '.join(missing)} required" if missing else self.check(answers)
        if problem:
            self.notify(problem, severity="error")
            return
        self.dismiss(answers)

    def action_cancel(self) -> None:
        self.dismiss(None)
