"""The parity board rendered: the tables a terminal shows after the phase (rich renderables),
parity/report.md, the parity part of verdict.md and of verdict.json. Each reads the board
and lists cases in the order the config declares them; none changes the board. (The live
pane's rows are the TUI's own rendering of the same board.)"""

from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Console, ConsoleOptions, RenderResult
from rich.table import Table
from rich.text import Text

from ..core import md_cell
from ._board import INCONCLUSIVE, CaseRow, ParityBoard, body_kind, examples, status_kind
from ._latency_render import latency_cell, latency_markdown
from ._noise_report import noise_markdown

TICK, CROSS = "✓", "✗"
TABLE_ROWS = 200  # cases listed in a report's table; the rest are in parity/results.jsonl.gz
CASES_LISTED = 200  # cases named in verdict.json; parity/results.jsonl.gz has every one


# ---- a terminal's tables -----------------------------------------------------------------------

def _judged(ok: bool, kind: str) -> Text:
    """A match mark and, after it, what differs."""
    return Text.assemble(Text(TICK, style="parity.match") if ok else Text(CROSS, style="parity.mismatch"),
                         f" {kind}" if kind else "")


def _cells(board: ParityBoard, r: CaseRow) -> tuple[Text | str, ...]:
    """A case's row: the case, a status per target, then the status match and the body match,
    each mark followed by its kind (one cell each, so the row fits 80 columns)."""
    statuses = [Text(r.status_word(t), style="" if r.statuses.get(t) is not None else "parity.error")
                for t in board.targets]
    body = Text(f"? {INCONCLUSIVE}", style="parity.inconclusive") if r.unsure else _judged(r.body_match, body_kind(r))
    return (r.case, *statuses, _judged(r.status_match, status_kind(r)), body)


def case_table(board: ParityBoard) -> Table:
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    shown = board.done()[:TABLE_ROWS]
    # A name is what the operator looks for: narrow the headers before it (within reason).
    table.add_column("Case", no_wrap=True, min_width=min(40, max((len(r.case) for r in shown), default=4)))
    for target in board.targets:
        table.add_column(f"{target} status", justify="right")
    for head in ("Status match", "Body match"):
        table.add_column(head)
    timed = board.latency.plan is not None
    if timed:
        table.add_column("Latency")
    for r in shown:
        table.add_row(*_cells(board, r), *((latency_cell(board.latency, r.case)[0],) if timed else ()))
    if len(board.cases) > len(shown):
        table.caption = f"{len(shown)} of {len(board.cases)} cases; every case is in parity/results.jsonl.gz"
    return table


def class_table(board: ParityBoard) -> Table:
    """One row per (candidate, divergence class): how many cases, what differs, examples."""
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, title="Divergence classes")
    for head, justify in (("Target", "left"), ("Cases", "right"), ("Class", "left"), ("What differs", "left"),
                          ("Examples", "left")):
        table.add_column(head, justify=justify)  # type: ignore[arg-type]
    for g in board.class_groups():
        table.add_row(g.target, str(g.weight), g.class_id or "–", Text(g.description, style=f"kind.{g.kind}"),
                      g.named)
    return table


class ParityTables:
    """The parity phase as a terminal shows it once it ends: the cases, the divergence
    classes, the headline."""

    def __init__(self, board: ParityBoard) -> None:
        self.board = board

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield case_table(self.board)
        if self.board.class_groups():
            yield Text("")
            yield class_table(self.board)
        yield Text("")
        yield Text(self.board.headline(), style="bold")


# ---- Markdown ------------------------------------------------------------------------------------

def table_markdown(board: ParityBoard) -> list[str]:
    """The table (`| Case | rust status | go status | Status match | Body match |`) and
    each case's status kind and body kind, for the first cases; then the classes, then the
    latency table when the cases were timed."""
    classes = classes_markdown(board)
    return [*cases_markdown(board), *(["", *classes] if classes else []),
            *(["", *latency_markdown(board.latency)] if board.latency.plan is not None else [])]


def cases_markdown(board: ParityBoard) -> list[str]:
    """The cases' table, the first TABLE_ROWS of them, and a line saying where the rest are."""
    lines = ["| Case | " + " | ".join(f"{t} status" for t in board.targets)
             + " | Status match | Body match | Status kind | Body kind |",
             "|---|" + "---:|" * len(board.targets) + ":---:|:---:|---|---|"]
    done = board.done()
    for r in done[:TABLE_ROWS]:
        statuses = " | ".join(r.status_word(t) for t in board.targets)
        lines.append(f"| {md_cell(r.case)} | {statuses} | {TICK if r.status_match else CROSS} | "
                     f"{'?' if r.unsure else TICK if r.body_match else CROSS} | {status_kind(r)} | "
                     f"{INCONCLUSIVE if r.unsure else body_kind(r)} |")
    if len(done) > TABLE_ROWS:
        lines += ["", f"{TABLE_ROWS} of {len(done)} cases shown; every case is in `parity/results.jsonl.gz`."]
    return lines


def classes_markdown(board: ParityBoard) -> list[str]:
    """A row per (candidate, divergence class), most cases first; nothing when none diverges."""
    groups = board.class_groups()
    if not groups:
        return []
    lines = ["| Target | Cases | Class | What differs | Examples |", "|---|---:|---|---|---|"]
    for g in groups:
        lines.append(f"| {g.target} | {g.weight} | `{g.class_id or '–'}` | {md_cell(g.description)} | "
                     f"{md_cell(g.named)} |")
    return lines


def report_markdown(board: ParityBoard, title: str) -> str:
    """parity/report.md: the table, the headline, each divergence class with an example,
    then the cases that could not be compared or whose status differs."""
    lines = [f"# Parity: {title}", "", f"Reference: `{board.reference}`; candidates: "
             + ", ".join(f"`{c}`" for c in board.candidates), "", *table_markdown(board),
             "", f"**{board.headline()}**", ""]
    for g in board.class_groups():
        lines += [f"## {g.target}: {g.weight} case(s) in class `{g.class_id or '–'}`", "",
                  f"{md_cell(g.description)}", "", f"Cases: {md_cell(examples(g.cases, 20, g.weight))}", ""]
        if g.example_diffs:
            lines += [f"Differences in `{md_cell(g.cases[0])}`:", "",
                      "| Kind | Path | " + f"{board.reference} | {g.target} |", "|---|---|---|---|"]
            for d in g.example_diffs:
                flag = " (noise)" if d.noise else " (ignored)" if d.ignored else ""
                lines.append(f"| {d.kind}{flag} | `{md_cell(d.path)}` | `{md_cell(d.ref)}` | `{md_cell(d.cand)}` |")
            lines.append("")
    lines += noise_markdown(board.noise)
    unmatched = [r for r in board.done() if r.errors or not r.status_match]
    if unmatched:
        lines += ["## Not compared, or the status differs", ""]
        for r in unmatched[:TABLE_ROWS]:
            detail = [f"{t}: {e}" for t, e in r.errors.items()] + list(r.expect_failures)
            statuses = ", ".join(f"{t} {r.status_word(t)}" for t in board.targets)
            lines.append(f"- `{md_cell(r.case)}` ({statuses})" + (f": {md_cell('; '.join(detail))}" if detail else ""))
        if len(unmatched) > TABLE_ROWS:
            lines.append(f"- … and {len(unmatched) - TABLE_ROWS} more in `parity/results.jsonl.gz`")
        lines.append("")
    return "\n".join(lines) + "\n"


def parity_markdown(board: ParityBoard) -> list[str]:
    """The parity section of verdict.md: the headline, the tables, the learned noise."""
    return [f"**{board.headline()}**", "", *table_markdown(board), "", *noise_markdown(board.noise)]


# ---- JSON ------------------------------------------------------------------------------------------

def parity_json(board: ParityBoard) -> dict[str, Any]:
    """The parity phase in verdict.json: the counts, the candidate noise, the classes and the
    first cases, in declared order."""
    done = board.done()
    return {
        "reference": board.reference,
        "targets": list(board.targets),
        "cases_total": board.tally.cases,
        "status_match": board.tally.status_match,
        "body_divergent": board.tally.divergent,
        "errors": board.tally.errored,
        "headline": board.headline(),
        "candidate_noise": {target: [{"path": path, "cases_total": count, "cases": named}
                                     for path, count, named in paths]
                            for target, paths in board.tally.candidate_noise().items()},
        "classes": [{"target": g.target, "class": g.class_id, "kind": g.kind, "description": g.description,
                     "cases_total": g.weight, "cases": g.cases[:CASES_LISTED]}
                    for g in board.class_groups()],
        "cases": [{"case": r.case, "statuses": r.statuses, "errors": r.errors,
                   "status_match": r.status_match, "body_match": r.body_match,
                   "kinds": r.kinds, "status_kinds": r.status_kinds, "classes": r.classes,
                   "fingerprints": r.fingerprints}
                  for r in done[:CASES_LISTED]],
        "cases_listed": min(CASES_LISTED, len(done)),
    }
