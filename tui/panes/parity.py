"""Parity: the case table (status per target, matches, kind) and the headline; Enter
opens the selected case's diff."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from ..model import RunModel
from ..widgets import selected_key, update_static

KIND_STYLE = {"status": "bold red", "shape": "bold yellow", "type": "yellow", "value": "cyan", "header": "magenta",
              "error": "bold red", "match": "green"}


class ParityPane(Vertical):
    DEFAULT_CSS = """
    ParityPane { height: 1fr; }
    ParityPane DataTable { height: 1fr; }
    ParityPane #parity-headline { height: auto; padding: 0 1; }
    """

    def __init__(self) -> None:
        super().__init__(id="parity")
        self.border_title = "Parity"
        self._cases: list[str] = []
        self._targets: tuple[str, ...] = ()

    def compose(self) -> ComposeResult:
        yield DataTable(id="parity-table", cursor_type="row", zebra_stripes=True)
        yield Static(id="parity-headline")

    def selected(self) -> str | None:
        return selected_key(self.query_one(DataTable), self._cases)

    def refresh_from(self, model: RunModel) -> None:
        board = model.tracker.parity
        table = self.query_one(DataTable)
        if board.cases != self._cases or board.targets != self._targets:
            table.clear(columns=True)
            table.add_columns("Case", *(f"{t}" for t in board.targets), "Status", "Body", "Kind")
            for case in board.cases:
                table.add_row(*self._cells(model, case), key=case)
            self._cases, self._targets = list(board.cases), board.targets
        else:
            for case in board.cases:
                for col, value in zip(table.columns, self._cells(model, case)):
                    table.update_cell(case, col, value, update_width=True)
        headline = board.headline() if board.results else ("probing…" if board.cases else "no parity yet")
        update_static(self.query_one("#parity-headline", Static), Text(headline, style="bold"))

    def _cells(self, model: RunModel, case: str) -> tuple[Text | str, ...]:
        board = model.tracker.parity
        r = board.results.get(case)
        if r is None:
            return (case, *(Text("…", style="dim") for _ in board.targets), "", "", Text("pending", style="dim"))
        statuses = [Text(str(r.statuses.get(t)) if r.statuses.get(t) is not None else "error",
                         style="" if r.statuses.get(t) is not None else "bold red") for t in board.targets]
        kinds = sorted({k for k in r.kinds.values() if k}) or (["error"] if r.errors else ["match"])
        kind = ", ".join(kinds)
        covered = any(model.tracker.gap_for(r, t)[0] for t in r.kinds if r.kinds[t])
        label = Text(kind, style=KIND_STYLE.get(kinds[0], ""))
        if covered:
            label.append(" (known gap)", style="dim")
        return (case, *statuses, _mark(r.status_match), _mark(r.body_match), label)


def _mark(ok: bool) -> Text:
    return Text("✓", style="green") if ok else Text("✗", style="bold red")
