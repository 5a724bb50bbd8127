"""Parity: the case table (status per target, the status and body matches with their kinds)
and the headline; Enter opens the selected case's diff."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from themes.palette import KIND_TONE

from ..model import RunModel
from ..widgets import Themed, selected_key, update_static

KIND_STYLE = {**{kind: f"kind.{kind}" for kind in KIND_TONE}, "error": "parity.error", "match": "parity.match"}


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
            table.add_columns("Case", *(f"{t}" for t in board.targets), "Status", "Body")
            for case in board.cases:
                table.add_row(*self._row(model, case), key=case)
            self._cases, self._targets = list(board.cases), board.targets
        else:
            for case in board.cases:
                for col, value in zip(table.columns, self._row(model, case)):
                    table.update_cell(case, col, value, update_width=True)
        headline = board.headline() if board.results else ("probing…" if board.cases else "no parity yet")
        update_static(self.query_one("#parity-headline", Static), Text(headline, style="bold"))

    @classmethod
    def _row(cls, model: RunModel, case: str) -> tuple[Themed | str, ...]:
        """The cells in the theme's colours."""
        return tuple(Themed(c) if isinstance(c, Text) else c for c in cls._cells(model, case))

    @staticmethod
    def _cells(model: RunModel, case: str) -> tuple[Text | str, ...]:
        """The board's row, its kinds coloured and a known gap covering the body named."""
        *cells, body = model.tracker.parity.row_cells(case, KIND_STYLE)
        r = model.tracker.parity.results.get(case)
        if r is None:
            return (*cells, body)
        if any(model.tracker.gap_for(r, t)[0] for t, k in r.kinds.items() if k):
            body = Text.assemble(body, (" (known gap)", "dim"))
        return (*cells, body)
