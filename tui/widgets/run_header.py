"""The header: the gauntlet's name, run id, elapsed time, each phase's state, the verdict
(the verdict so far, marked so, until the run finishes)."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from ..model import RunModel
from . import Themed
from .badge import badge

PHASE_ICON = {"pending": ("·", "dim"), "running": ("▶", "phase.running"), "done": ("✔", "phase.done"),
              "incomplete": ("■", "phase.incomplete"), "off": ("", "")}


def header_text(model: RunModel, elapsed: float, read_only: bool) -> Themed:
    """Most important first, so a narrow terminal cuts only the least: the verdict badge
    and the phases before the run id."""
    run = model.run
    text = Text.assemble((" gauntlet ", "bold reverse"))  # a span: a Text's own style would cover all appended
    v = model.verdict
    text.append(" ")
    text.append_text(badge(v.verdict if v else None, v.complete if v else True, running=model.running))
    text.append(f" {elapsed:.1f}s", style="bold")
    if read_only:
        text.append(" watch", style="run.watch")
    if model.abandoned:
        text.append(" abandoned", style="verdict.BLOCK")
    for phase in (run.phases if run else ()):
        if phase == "verdict":
            continue
        state = model.phase_state(phase)
        icon, style = PHASE_ICON.get(state, ("?", ""))
        text.append(f" {icon}{phase}", style=style)
        if phase == "parity" and state == "running":  # a phase of 100,000 cases: how far it is
            landed, planned = len(model.tracker.parity.cases), model.parity_planned
            text.append(f" {landed:,}" + (f"/{planned:,}" if planned else ""), style=style)
    if run:
        text.append(f"  {run.name}", style="bold")
        text.append(f"  run {run.run_id}", style="dim")
    return Themed(text)


class RunHeader(Static):
    """The header line: its own class, for the stylesheet and for the app to find it."""
