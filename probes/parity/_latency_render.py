"""The latency board rendered: a case's cell in the tables, the heading of a latency group, the
report's latency table, and the diff viewer's line of a case's timings. Each reads the board
or a case's stored rows; none changes them."""

from __future__ import annotations

from collections.abc import Sequence

from ..core import LatencyState, md_cell
from ..core.events import LatencyRow
from ._latency import LATENCY, LISTED, NO_DATA, OK, SLOWER, LatencyBoard, ms, p_text, times, worst_ratio

SPARK = "▁▂▃▄▅▆▇█"


def sparkline(hist: Sequence[int]) -> str:
    """A histogram as block characters, its tallest bin full height."""
    tallest = max(hist, default=0) or 1
    return "".join(SPARK[0] if not c else SPARK[max(1, round(c / tallest * (len(SPARK) - 1)))] for c in hist)


def latency_cell(board: LatencyBoard, case: str, *, sparks: bool = True) -> tuple[str, str]:
    """(text, state) of a case's latency cell: the worst candidate's ratio and (`sparks`,
    where the case's rows are kept) its timings as sparklines (the reference's, then its),
    or `no data`; ("", "") when not timed."""
    if case in board.ratios:
        return times(board.ratios[case]), OK
    rows = board.candidates(case)
    if not rows:
        return "", ""
    worst = max(rows, key=lambda r: (r.state == SLOWER, r.state == NO_DATA, r.ratio or 0.0))
    if worst.state == NO_DATA:
        return NO_DATA, NO_DATA
    if not sparks:
        return times(worst.ratio), worst.state
    return f"{times(worst.ratio)} {sparkline(board.reference_row(case).hist)}│{sparkline(worst.hist)}", worst.state


def group_head(board: LatencyBoard, target: str, key: str) -> tuple[str, LatencyState, str, str]:
    """(label, state, words, class id) of a latency group's heading: `go latency · slower`,
    `p50 over 1.25× rust`, the class; or `go latency · no data` and why."""
    if key == NO_DATA:
        return f"{target} {LATENCY} · {NO_DATA}", NO_DATA, "timing could not be measured", ""
    words = f"p50 over {board.plan.max_ratio:g}× {board.reference}" if board.plan else ""
    return f"{target} {LATENCY} · {SLOWER}", SLOWER, words, key


def latency_markdown(board: LatencyBoard) -> list[str]:
    """The latency table: per case and candidate, both medians and p95s, the ratio, its
    interval, the test and the state; the highest ratios first, equal ones in declared order."""
    if board.plan is None:
        return []
    plan = board.plan
    lines = [f"### Latency ({board.timing()}, "
             f"slower above {plan.max_ratio:g}× with 95 % confidence; "
             f"{'blocks' if plan.blocking else 'reported, never blocking'})", "",
             "| Case | Candidate | ref p50 | ref p95 | p50 | p95 | Ratio | 95 % CI | Mann–Whitney | State | Timings |",
             "|---|---|---:|---:|---:|---:|---:|---|---|---|---|"]
    cases = sorted(board.cases(), key=lambda c: -worst_ratio(board.candidates(c)))
    for case in cases[:LISTED]:
        ref = board.reference_row(case)
        for r in board.candidates(case):
            interval = "–" if r.low is None else f"{r.low:.2f}–{r.high:.2f}×"
            state = f"{r.state}: {r.why}" if r.why else r.state
            lines.append(f"| {md_cell(case)} | {r.target} | {ms(ref.p50)} | {ms(ref.p95)} | {ms(r.p50)} | "
                         f"{ms(r.p95)} | {times(r.ratio)} | {interval} | {p_text(r.p_value)} | "
                         f"{md_cell(state)} | {sparkline(ref.hist)}│{sparkline(r.hist)} |")
    if board.timed() > LISTED:
        lines += ["", f"The {LISTED} slowest of {board.timed()} timed cases; every case is in "
                  "`parity/results.jsonl.gz`."]
    return lines + [""]


def latency_parts(rows: Sequence[LatencyRow], reference: str) -> list[tuple[str, str]]:
    """The diff viewer's latency line from a case's stored rows: each target's median, p95 and
    sparkline (the reference's first), and each candidate's ratio with its interval."""
    parts: list[tuple[str, str]] = []
    for r in sorted(rows, key=lambda r: r.target != reference):
        parts.append((f"{r.target} p50 {ms(r.p50)} p95 {ms(r.p95)} {sparkline(r.hist)}  ", ""))
        if r.target != reference:
            if r.state == NO_DATA:
                parts.append((f"no data: {r.why}  ", NO_DATA))
            else:
                parts.append((f"{times(r.ratio)} {reference} (95 % CI {r.low:.2f}–{r.high:.2f}×, "
                              f"{p_text(r.p_value)}) {r.state}  ", r.state))
    return parts
