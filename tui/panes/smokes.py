"""Smokes: the chain as a table updating live, the summary, and the selected smoke's output."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Log, Static

from ..model import RunModel
from ..widgets import Themed, selected_key, update_static

ICON = {"pass": "✔", "fail": "✘", "timeout": "⏱", "skipped": "⤼", "interrupted": "■", "running": "▶", "pending": "·"}


class SmokesPane(Vertical):
    def __init__(self) -> None:
        super().__init__(id="smokes")
        self.border_title = "Smokes"
        self._rows: list[str] = []
        self._shown: tuple[str | None, int] = (None, 0)

    def compose(self) -> ComposeResult:
        with Horizontal(id="smoke-body"):
            table: DataTable[Text | str] = DataTable(id="smoke-table", cursor_type="row", zebra_stripes=True)
            table.add_columns("Smoke", " ", "Time", "Layer", "Last output")
            yield table
            yield Log(id="smoke-output", max_lines=400, auto_scroll=True)
        yield Static(id="smoke-summary")

    def refresh_from(self, model: RunModel) -> None:
        board = model.tracker.smokes
        table = self.query_one(DataTable)
        names = list(board.rows)
        if names != self._rows:
            table.clear()
            for row in board.rows.values():
                table.add_row(*self._cells(model, row.name), key=row.name)
            self._rows = names
        else:
            for name in names:
                for col, value in zip(table.columns, self._cells(model, name)):
                    table.update_cell(name, col, value, update_width=True)
        summary = Text(board.headline() if board.rows else "no smokes yet", style="bold")
        for layer, rows in board.layers().items():
            passed = sum(1 for r in rows if r.status == "pass")
            summary.append(f"   {layer} {passed}/{len(rows)}", style="dim" if passed < len(rows) else "smoke.pass")
        update_static(self.query_one("#smoke-summary", Static), Themed(summary))
        self._show_output(model)

    def _cells(self, model: RunModel, name: str) -> tuple[Themed | Text | str, ...]:
        row = model.tracker.smokes.rows[name]
        last = row.reason if row.status in ("fail", "timeout", "skipped") and row.reason else model.last_line(name)
        return (name, Themed(ICON.get(row.status, "?"), f"smoke.{row.status}"),
                f"{row.duration:.1f}s" if row.status not in ("pending", "running") else "",
                Text(row.layer, style="dim"), Text(last[:120], no_wrap=True, overflow="ellipsis"))

    def selected(self) -> str | None:
        return selected_key(self.query_one(DataTable), self._rows)

    def _show_output(self, model: RunModel) -> None:
        """Append only what is new for the selected smoke; start over when it changes."""
        name = self.selected()
        log = self.query_one(Log)
        total = model.tail_count.get(name or "", 0)
        previous, shown = self._shown
        if name != previous or total < shown:
            log.clear()
            log.border_title = f"output: {name}" if name else "output"
            shown = 0
        if total > shown:
            tail = model.tails[name or ""]
            log.write_lines(list(tail)[-min(total - shown, len(tail)):])
        self._shown = (name, total)
