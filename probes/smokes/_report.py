"""The smoke chain's state as the event stream tells it, and the reports made from it.

Built from events (not from the runner's return value) so the live printer, the TUI,
`watch` and the artifact writers all see the same thing, interrupted runs included.
"""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from rich import box
from rich.console import Console, ConsoleOptions, RenderResult
from rich.table import Table
from rich.text import Text

from ..core.events import Event, SmokeFinished, SmokesPlanned, SmokeStarted

STATUS_WORD = {"pass": "PASS", "fail": "FAIL", "timeout": "TIMEOUT", "skipped": "SKIP",
               "interrupted": "INTERRUPTED", "running": "RUNNING", "pending": "PENDING"}
# Meanings, not colours: themes/palette.py gives each its colour in the theme or console.
STATUS_STYLE = {status: f"smoke.{status}" for status in STATUS_WORD}


@dataclass
class SmokeRow:
    name: str
    layer: str
    status: str = "pending"
    duration: float = 0.0
    exit_code: int | None = None
    reason: str = ""
    tail: str = ""
    started_at: float | None = None


@dataclass
class SmokeBoard:
    """Every smoke's latest state, in run order; feed it events with `apply`."""

    rows: dict[str, SmokeRow] = field(default_factory=dict)
    started_at: float | None = None
    finished_at: float | None = None

    def apply(self, t: float, event: Event) -> None:
        if isinstance(event, SmokesPlanned):
            self.rows = {s.name: SmokeRow(s.name, s.layer) for s in event.smokes}
            self.started_at = t
        elif isinstance(event, SmokeStarted):
            row = self.rows.setdefault(event.name, SmokeRow(event.name, event.layer))
            row.status, row.started_at = "running", t
        elif isinstance(event, SmokeFinished):
            row = self.rows.setdefault(event.name, SmokeRow(event.name, event.layer))
            row.status, row.duration, row.exit_code = event.status, event.duration, event.exit_code
            row.reason, row.tail = event.reason, event.tail
            self.finished_at = t

    @property
    def wall(self) -> float:
        if self.started_at is None or self.finished_at is None:
            return 0.0
        return self.finished_at - self.started_at

    def count(self, status: str) -> int:
        return sum(1 for r in self.rows.values() if r.status == status)

    def failed(self) -> list[SmokeRow]:
        return [r for r in self.rows.values() if r.status in ("fail", "timeout")]

    def layers(self) -> dict[str, list[SmokeRow]]:
        out: dict[str, list[SmokeRow]] = {}
        for row in self.rows.values():
            out.setdefault(row.layer, []).append(row)
        return out

    def headline(self) -> str:
        """`21/21 PASS in 60.2s`, with the other outcomes named when there are any."""
        total = len(self.rows)
        parts = [f"{self.count('pass')}/{total} PASS"]
        for status in ("fail", "timeout", "skipped", "interrupted"):
            n = self.count(status)
            if n:
                parts.append(f"{n} {STATUS_WORD[status]}")
        return f"{', '.join(parts)} in {self.wall:.1f}s"

    def layer_table(self) -> Table:
        table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
        table.add_column("Layer")
        for head in ("Smokes", "Pass", "Fail", "Timeout", "Skipped", "Time"):
            table.add_column(head, justify="right")
        for layer, rows in self.layers().items():
            counts = [sum(1 for r in rows if r.status == s) for s in ("pass", "fail", "timeout", "skipped")]
            table.add_row(layer, str(len(rows)), *map(str, counts),
                          f"{sum(r.duration for r in rows):.1f}s")
        return table

    def smoke_table(self) -> Table:
        table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
        for head, justify in (("Status", "left"), ("Smoke", "left"), ("Layer", "left"),
                              ("Time", "right"), ("Note", "left")):
            table.add_column(head, justify=justify)  # type: ignore[arg-type]
        for row in self.rows.values():
            table.add_row(Text(STATUS_WORD[row.status], style=STATUS_STYLE[row.status]),
                          row.name, row.layer, f"{row.duration:.1f}s", Text(row.reason))
        return table

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self.smoke_table()
        yield Text("")
        yield self.layer_table()
        yield Text("")
        yield Text(self.headline(), style="smokes.failed" if self.failed() else "smokes.passed")


def summary_text(board: SmokeBoard, title: str) -> str:
    """smokes/summary.txt: the per-smoke lines, the per-layer table and the headline."""
    buffer = io.StringIO()
    console = Console(file=buffer, width=100, color_system=None, force_terminal=False,
                      legacy_windows=False, emoji=False, highlight=False)
    console.print(title, highlight=False)
    console.print()
    console.print(board)
    return "\n".join(line.rstrip() for line in buffer.getvalue().splitlines()) + "\n"


def junit_xml(board: SmokeBoard, name: str) -> str:
    """smokes/junit.xml: one testsuite per layer; a failure's message is its last output lines."""
    root = ET.Element("testsuites", name=name, tests=str(len(board.rows)),
                      failures=str(len(board.failed())), time=f"{board.wall:.3f}")
    for layer, rows in board.layers().items():
        failures = [r for r in rows if r.status in ("fail", "timeout")]
        skipped = [r for r in rows if r.status in ("skipped", "interrupted", "pending", "running")]
        suite = ET.SubElement(root, "testsuite", name=layer, tests=str(len(rows)),
                              failures=str(len(failures)), errors="0", skipped=str(len(skipped)),
                              time=f"{sum(r.duration for r in rows):.3f}")
        for row in rows:
            case = ET.SubElement(suite, "testcase", classname=layer, name=row.name,
                                 time=f"{row.duration:.3f}")
            if row.status in ("fail", "timeout"):
                last = row.tail.strip().splitlines()[-5:]
                message = row.reason + (": " + " | ".join(last) if last else "")
                failure = ET.SubElement(case, "failure", message=message, type=row.status)
                failure.text = row.tail
            elif row.status != "pass":
                ET.SubElement(case, "skipped", message=row.reason or STATUS_WORD[row.status])
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
