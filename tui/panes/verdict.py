"""Verdict: the live verdict with its reasons, what to read next, and every artifact's path."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from probes.scrum import ANY_LINEAGE

from ..model import RunModel
from ..widgets import Themed, update_static
from ..widgets.badge import badge

LISTED = 12  # entries of a list the pane shows; the run's files have them all


class VerdictPane(VerticalScroll):
    def __init__(self) -> None:
        super().__init__(id="verdict")
        self.border_title = "Verdict"

    def compose(self) -> ComposeResult:
        yield Static(id="verdict-body")

    def refresh_from(self, model: RunModel) -> None:
        parts: list[Text] = []
        v = model.verdict
        title = Text("Verdict ", style="bold")
        title.append_text(badge(v.verdict if v else None, v.complete if v else True, running=model.running))
        if model.running:
            title.append("  (live: phases still running)", style="dim")
        elif model.abandoned:
            title.append("  (abandoned: it will never finish)", style="verdict.BLOCK")
        parts.append(title)
        if v is not None:
            for reason in v.reasons:
                parts.append(Text(f"  • {reason}", style="verdict.reason.BLOCK" if v.verdict == "BLOCK" else ""))
        for phase, st in model.tracker.phases.items():
            if phase != "verdict" and st.summary:
                parts.append(Text(f"  {phase}: {st.summary}", style="dim"))
        parts += unverified_blocks(model)
        comparison = model.tracker.comparison
        if comparison is not None:
            parts.append(Text(""))
            parts.append(Text(f"Against {comparison.previous_run_id}", style="bold"))
            for line in comparison.lines[1:]:
                parts.append(Text(f"  {line.text}", style=f"delta.{line.tone}" if line.tone else ""))
        warnings = [n for n in model.notices if n.level in ("warn", "error")]
        if warnings:
            parts.append(Text(""))
            parts.append(Text("Notices", style="bold"))
            for n in warnings[-LISTED:]:
                parts.append(Text(f"  {n.phase}: {n.message}", style=f"notice.{n.level}"))
        if model.finished is not None and model.run is not None:
            parts.append(Text(""))
            parts.append(Text(f"Artifacts in {model.run.run_dir}", style="bold"))
            for a in model.artifacts:
                parts.append(Text(f"  {a.path}", style="artifact").append(f"  {a.what}", style="dim"))
            parts.append(Text(f"\nexit code {model.finished.exit_code}"
                              + ("  (interrupted)" if model.finished.interrupted else ""), style="dim"))
        update_static(self.query_one("#verdict-body", Static), Themed(Text("\n").join(parts)))


def unverified_blocks(model: RunModel) -> list[Text]:
    """BLOCKs from one lineage, not taken back: by default they do not block, but nobody
    should learn of them only from verdict.md. The first few, then how many more."""
    board = model.tracker.scrum
    blocks = board.unverified_blocks()
    if not blocks:
        return []
    blocking = board.block_on == ANY_LINEAGE
    lines = [Text(""), Text.assemble(("Unverified BLOCKs", "bold"), (
        f"  (one lineage; {'they block: block_on = any-lineage' if blocking else 'not blocking'})", "dim"))]
    for bundle, loc in blocks[:LISTED]:
        lines.append(Text.assemble("  • ", (loc.what, "verdict.reason.BLOCK" if blocking else ""),
                                   (f"  {loc.lineages[0]} only · {bundle} {loc.where}", "dim")))
    if len(blocks) > LISTED:
        lines.append(Text(f"  … and {len(blocks) - LISTED} more (verdict.md lists them all)", style="dim"))
    return lines
