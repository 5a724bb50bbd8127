"""The smoke board rendered: the tables a terminal shows (rich renderables), smokes/summary.txt
and smokes/junit.xml. Each reads the board; none changes it."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from typing import Any

from rich import box
from rich.console import Console, ConsoleOptions, RenderResult
from rich.table import Table
from rich.text import Text

from ..core import SmokeStatus
from ._board import COUNTED, STATUS_WORD, SmokeBoard

# Meanings, not colours: themes/palette.py gives each its colour in the theme or console.
STATUS_STYLE = {status: f"smoke.{status}" for status in STATUS_WORD}
NOT_RUN = (SmokeStatus.SKIPPED, SmokeStatus.INTERRUPTED, SmokeStatus.PENDING, SmokeStatus.RUNNING)


def layer_table(board: SmokeBoard) -> Table:
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column("Layer")
    for head in ("Smokes", "Pass", "Fail", "Timeout", "Skipped", "Time"):
        table.add_column(head, justify="right")
    for layer, rows in board.layers().items():
        counts = [sum(1 for r in rows if r.status == s) for s in COUNTED]
        table.add_row(layer, str(len(rows)), *map(str, counts), f"{sum(r.duration for r in rows):.1f}s")
    return table


def smoke_table(board: SmokeBoard) -> Table:
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for head, justify in (("Status", "left"), ("Smoke", "left"), ("Layer", "left"),
                          ("Time", "right"), ("Note", "left")):
        table.add_column(head, justify=justify)  # type: ignore[arg-type]
    for row in board.rows.values():
        table.add_row(Text(STATUS_WORD[row.status], style=STATUS_STYLE[row.status]),
                      row.name, row.layer, f"{row.duration:.1f}s", Text(row.reason))
    return table


class SmokeTables:
    """The chain as a terminal shows it: each smoke, each layer, the headline."""

    def __init__(self, board: SmokeBoard) -> None:
        self.board = board

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield smoke_table(self.board)
        yield Text("")
        yield layer_table(self.board)
        yield Text("")
        yield Text(self.board.headline(), style="smokes.failed" if self.board.failed() else "smokes.passed")


def summary_text(board: SmokeBoard, title: str) -> str:
    """smokes/summary.txt: the per-smoke lines, the per-layer table and the headline."""
    buffer = io.StringIO()
    console = Console(file=buffer, width=100, color_system=None, force_terminal=False,
                      legacy_windows=False, emoji=False, highlight=False)
    console.print(title, highlight=False)
    console.print()
    console.print(SmokeTables(board))
    return "\n".join(line.rstrip() for line in buffer.getvalue().splitlines()) + "\n"


def junit_xml(board: SmokeBoard, name: str) -> str:
    """smokes/junit.xml: one testsuite per layer; a failure's message is its last output lines."""
    root = ET.Element("testsuites", name=name, tests=str(len(board.rows)),
                      failures=str(len(board.failed())), time=f"{board.wall:.3f}")
    for layer, rows in board.layers().items():
        failures = [r for r in rows if r.status.failed]
        skipped = [r for r in rows if r.status in NOT_RUN]
        suite = ET.SubElement(root, "testsuite", name=layer, tests=str(len(rows)),
                              failures=str(len(failures)), errors="0", skipped=str(len(skipped)),
                              time=f"{sum(r.duration for r in rows):.3f}")
        for row in rows:
            case = ET.SubElement(suite, "testcase", classname=layer, name=row.name,
                                 time=f"{row.duration:.3f}")
            if row.status.failed:
                last = row.tail.strip().splitlines()[-5:]
                message = row.reason + (": " + " | ".join(last) if last else "")
                failure = ET.SubElement(case, "failure", message=message, type=str(row.status))
                failure.text = row.tail
            elif row.status != SmokeStatus.PASS:
                ET.SubElement(case, "skipped", message=row.reason or STATUS_WORD[row.status])
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def layers_markdown(board: SmokeBoard) -> list[str]:
    """The smoke section of verdict.md: the headline and a row per layer."""
    lines = [f"**{board.headline()}**", "",
             "| Layer | Smokes | Pass | Fail | Timeout | Skipped |", "|---|---:|---:|---:|---:|---:|"]
    for layer, rows in board.layers().items():
        counts = [sum(1 for r in rows if r.status == s) for s in COUNTED]
        lines.append(f"| {layer} | {len(rows)} | " + " | ".join(map(str, counts)) + " |")
    return lines


def smokes_json(board: SmokeBoard) -> dict[str, Any]:
    """The smoke chain in verdict.json."""
    return {
        "total": len(board.rows),
        "passed": board.count(SmokeStatus.PASS),
        "failed": board.count(SmokeStatus.FAIL),
        "timed_out": board.count(SmokeStatus.TIMEOUT),
        "skipped": board.count(SmokeStatus.SKIPPED),
        "wall_seconds": round(board.wall, 3),
        "headline": board.headline(),
        "smokes": [{"name": r.name, "layer": r.layer, "status": r.status,
                    "duration": round(r.duration, 3), "exit_code": r.exit_code, "reason": r.reason}
                   for r in board.rows.values()],
    }
