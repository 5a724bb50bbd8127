"""`gauntlet diff --headless` and `gauntlet parity --case --headless`: the side-by-side
view as a rich rendering that fits the terminal, differing hunks with a little context."""

from __future__ import annotations

from rich import box
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from probes import GAP, CaseView
from themes.palette import CONSOLE_THEME


def render(view: CaseView, width: int) -> RenderableType:
    ref_status, cand_status = view.statuses
    head = Text.assemble((f"{view.case}", "bold"), f"  {view.reference} {ref_status} vs {view.candidate} {cand_status}"
                         f"  · {len(view.differences)} differences")
    table = Table(box=box.SIMPLE, expand=True, show_edge=False, pad_edge=False)
    table.add_column(f"{view.reference} (reference)", ratio=1, overflow="fold")
    table.add_column("", width=1)
    table.add_column(view.candidate, ratio=1, overflow="fold")
    a = view.alignment
    for n, (lo, hi) in enumerate(view.hunks()):
        if n:
            table.add_row(Text("…", style="dim"), "", Text("…", style="dim"))
        for r in range(lo, hi):
            left = view.left.lines[a.left[r]] if a.left[r] != GAP else ""
            right = view.right.lines[a.right[r]] if a.right[r] != GAP else ""
            same = not view.differs(r)
            style_l = "" if same else ("side.reference" if a.left[r] != GAP else "")
            style_r = "" if same else ("side.candidate" if a.right[r] != GAP else "")
            table.add_row(Text(left, style=style_l), Text(" " if same else "│", style="side.mark"),
                          Text(right, style=style_r))
    listing = Text()
    for d in view.differences:
        flag = " (noise)" if d.noise else " (ignored)" if d.ignored else ""
        listing.append(f"  {d.path}  {d.kind}{flag}  {d.ref} → {d.cand}\n")
    return Group(head, table, listing)


def print_case(view: CaseView, console: Console | None = None) -> None:
    console = console or Console(highlight=False)
    with console.use_theme(CONSOLE_THEME):  # the styles name meanings; the theme gives their ANSI colours
        console.print(render(view, console.width))
