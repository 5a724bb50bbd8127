"""What report.html shows, gathered: the boards as the tracker holds them, and what only the run
directory keeps — each divergence class's example laid out side by side from the parity record,
the diff hunks the scrum's findings point into, the trend of the config's earlier runs.

The page stays small at any scale (classes and examples, not every case): classes beyond
CLASSES_SHOWN are counted, not listed, and examples are laid out while their rows fit
EXAMPLE_BYTES; one that does not is named with the command that shows it. Everything here is
in declared order (classes by size, then candidate and class; findings by weight, then the
bundles' and the diff's order), so the same run gives the same page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core import FindingState, GauntletError
from ..core.events import (
    ClassEntry,
    DiffRow,
    DismissalRow,
    LatencyRow,
    LocationRow,
    NoiseEndpointRow,
    NoisePathRow,
    ResolvedRow,
    RunStarted,
)
from ..parity import (
    GAP,
    CaseRow,
    CaseView,
    ClassGroup,
    case_view,
    read_cases,
    worst_ratio,
)
from ..scrum import DiffHunk, read_hunks, seen
from ._history import STORE_NAME, HistoryStore, HistoryUnavailable, TrendRow
from ._verdict import Verdict, VerdictTracker

CLASSES_SHOWN = 500  # classes listed one by one; the rest are counted (verdict.json lists every one)
CASES_NAMED = 10  # example cases named per class
ENTRIES_SHOWN = 20  # a class's paths listed
EXAMPLE_ROWS = 400  # rows of one example laid out: its hunks of differing lines, with context
EXAMPLE_BYTES = 2_500_000  # about what every example's rows may weigh on the page together
LINE_CHARS = 400  # a body line longer than this is cut on the page
ROW_BYTES = 160  # what a row's markup weighs besides its text, for the budget
LISTED = 200  # rows of the tables of cases that were not compared, latency and noise
SEVERITY_RANK = {"BLOCK": 0, "WARN": 1, "INFO": 2}


@dataclass(frozen=True)
class SideRow:
    """One row of an example: each side's line number and text (None: a gap on that side), the
    kind of the difference covering it ("" equal, "changed" differing unrecorded), dimmed when
    that difference is noise or ignored; `anchors` are the differences that begin here."""

    left_no: int | None
    left: str
    right_no: int | None
    right: str
    kind: str
    dimmed: bool
    anchors: tuple[int, ...] = ()


@dataclass(frozen=True)
class Example:
    """A class's example case, reference beside candidate: the hunks of its bodies (or its
    headers) around each difference, the equal rows between them counted; or, when the bodies
    cannot be laid out, the differences alone and why."""

    case: str
    reference: str
    candidate: str
    statuses: tuple[Any, Any] = (None, None)
    hunks: tuple[tuple[int, tuple[SideRow, ...]], ...] = ()  # (equal rows skipped before, rows)
    skipped_after: int = 0
    differences: tuple[DiffRow, ...] = ()
    cut: int = 0  # rows left out past EXAMPLE_ROWS
    missing: str = ""  # why the bodies are not laid out here

    @property
    def laid_out(self) -> bool:
        return bool(self.hunks)


@dataclass(frozen=True)
class ClassView:
    group: ClassGroup
    share: float  # of the cases compared
    entries: tuple[ClassEntry, ...]
    example: Example | None


@dataclass(frozen=True)
class FindingView:
    bundle: str
    loc: LocationRow
    seen: str
    dismissed: DismissalRow | None
    hunk: str  # the anchor of its hunk on the page, "" when the run kept no diff


@dataclass(frozen=True)
class LatencyView:
    """A timed case's candidate beside the reference, and their timings' distributions over the
    same span: per bin, the share of each side's tallest bin (0 to 1)."""

    case: str
    reference: LatencyRow
    candidate: LatencyRow
    bars: tuple[tuple[float, float], ...]


@dataclass
class Report:
    tracker: VerdictTracker
    verdict: Verdict
    run_dir: Path
    interrupted: bool
    duration: float
    classes: list[ClassView] = field(default_factory=list)
    classes_more: int = 0
    findings: list[FindingView] = field(default_factory=list)
    resolved: list[tuple[str, ResolvedRow]] = field(default_factory=list)
    hunks: list[tuple[str, list[tuple[str, DiffHunk]]]] = field(default_factory=list)  # bundle -> (anchor, hunk)
    trend: list[TrendRow] = field(default_factory=list)
    latency: list[LatencyView] = field(default_factory=list)
    latency_more: int = 0
    noise: list[tuple[NoiseEndpointRow, NoisePathRow | None]] = field(default_factory=list)
    noise_more: int = 0
    unmatched: list[CaseRow] = field(default_factory=list)  # not compared, or the status differs
    unmatched_more: int = 0

    @property
    def run(self) -> RunStarted | None:
        return self.tracker.run


def gather(tracker: VerdictTracker, verdict: Verdict, run_dir: Path, *, interrupted: bool,
           duration: float) -> Report:
    report = Report(tracker, verdict, run_dir, interrupted, duration)
    _parity(report)
    _scrum(report)
    run = tracker.run
    if run is not None:
        report.trend = read_trend(run_dir.parent, run.name, run.started_at)
    return report


def read_trend(out_dir: Path, config_name: str, before: str) -> list[TrendRow]:
    """The config's earlier runs from the history beside the run; none when there is no history
    or it cannot be read now (a report is never held up by it)."""
    if not (out_dir / STORE_NAME).is_file():
        return []
    try:
        store = HistoryStore(out_dir / STORE_NAME)
    except HistoryUnavailable:
        return []
    try:
        return store.trend(config_name, before)
    except HistoryUnavailable:
        return []
    finally:
        store.close()


# ---- parity: classes and their examples ---------------------------------------------------------

def _parity(report: Report) -> None:
    board = report.tracker.parity
    _latency(report)
    if board.noise is not None:
        rows = [(e, p) for e in board.noise.endpoints for p in (e.paths or (None,))]
        report.noise, report.noise_more = rows[:LISTED], max(0, len(rows) - LISTED)
    unmatched = [r for r in board.done() if r.errors or not r.status_match]
    report.unmatched, report.unmatched_more = unmatched[:LISTED], max(0, len(unmatched) - LISTED)
    groups = board.class_groups()
    shown, report.classes_more = groups[:CLASSES_SHOWN], max(0, len(groups) - CLASSES_SHOWN)
    if not shown:
        return
    compared = max(1, report.tracker.parity_compared())
    try:
        head, lines = read_cases(report.run_dir, {g.cases[0] for g in shown})
    except GauntletError as exc:  # no record (a run that kept none, or made before it), or a damaged one
        head, lines, why = {}, {}, str(exc)
    else:
        why = ""
    budget = EXAMPLE_BYTES
    for g in shown:
        found = board.classes.get(g.class_id or "")
        entries = found.entries[:ENTRIES_SHOWN] if found else ()
        example = _example(report.run_dir, head, lines.get(g.cases[0]), g, why, budget, board.reference)
        budget -= _weight(example)
        report.classes.append(ClassView(g, g.weight / compared, entries, example))


def _example(run_dir: Path, head: dict[str, Any], entry: dict[str, Any] | None, g: ClassGroup, why: str,
             budget: int, reference: str) -> Example:
    bare = Example(g.cases[0], reference, g.target, differences=g.example_diffs)
    if entry is None:
        return _missing(bare, why or "its line is not in parity/results.jsonl.gz")
    try:
        view = case_view(run_dir, head, entry, candidate=g.target, headers=g.kind == "header")
    except GauntletError as exc:  # its answers were not kept, or the pack is damaged
        return _missing(bare, str(exc))
    example = laid_out(view)
    if _weight(example) > budget:
        return _missing(bare, "not laid out here, to keep the page small")
    return example


def _latency(report: Report) -> None:
    """The timed cases, the highest ratio first (equal ones in declared order), LISTED at most."""
    board = report.tracker.parity.latency
    if board.plan is None:
        return
    cases = sorted(board.cases(), key=lambda c: -worst_ratio(board.candidates(c)))
    views = []
    for case in cases:
        ref = board.reference_row(case)
        for cand in board.candidates(case):
            tallest = max((*ref.hist, *cand.hist), default=0) or 1
            bars = tuple((a / tallest, b / tallest) for a, b in zip(ref.hist, cand.hist, strict=False))
            views.append(LatencyView(case, ref, cand, bars))
    report.latency, report.latency_more = views[:LISTED], max(0, board.timed() - len(cases)) + max(0, len(views) - LISTED)


def _missing(bare: Example, why: str) -> Example:
    return Example(bare.case, bare.reference, bare.candidate, differences=bare.differences, missing=why)


def _weight(example: Example) -> int:
    return sum(ROW_BYTES + len(r.left) + len(r.right) for _, rows in example.hunks for r in rows)


def laid_out(view: CaseView) -> Example:
    """The example's hunks as the page shows them: rows marked by kind, noise dimmed, each
    difference anchored at its first row, at most EXAMPLE_ROWS rows."""
    kinds = view.row_kinds()
    starts: dict[int, list[int]] = {}
    for i, d in enumerate(view.differences):
        if d.rows:
            starts.setdefault(d.rows[0], []).append(i)
    a = view.alignment
    hunks: list[tuple[int, tuple[SideRow, ...]]] = []
    shown, cut, end = 0, 0, 0
    for lo, hi in view.hunks():
        room = EXAMPLE_ROWS - shown
        if room <= 0:
            cut += hi - lo
            continue
        rows = []
        for r in range(lo, min(hi, lo + room)):
            kind, dimmed = kinds.get(r, ("", False))
            if not kind and view.differs(r):
                kind = "changed"
            left, right = a.left[r], a.right[r]
            rows.append(SideRow(None if left == GAP else left + 1, "" if left == GAP else _cut(view.left.lines[left]),
                                None if right == GAP else right + 1,
                                "" if right == GAP else _cut(view.right.lines[right]),
                                kind, dimmed, tuple(starts.get(r, ()))))
        cut += hi - lo - len(rows)
        shown += len(rows)
        hunks.append((lo - end, tuple(rows)))
        end = hi
    differences = tuple(view.differences)
    return Example(view.case, view.reference, view.candidate, view.statuses, tuple(hunks),
                   max(0, len(a) - end), differences, cut)


def _cut(line: str) -> str:
    return line if len(line) <= LINE_CHARS else line[:LINE_CHARS] + f"… ({len(line) - LINE_CHARS:,} more characters)"


# ---- scrum: findings in order, and the hunks they point into -------------------------------------

def _scrum(report: Report) -> None:
    board = report.tracker.scrum
    counted: list[tuple[tuple[Any, ...], FindingView]] = []
    dismissed: list[FindingView] = []
    for b_index, b in enumerate(board.bundles.values()):
        if b.tally is None:
            continue
        hunks = read_hunks(report.run_dir, b.name, b.tally.locations)
        anchors = [f"hunk-{b_index}-{i}" for i in range(len(hunks))]
        if hunks:
            report.hunks.append((b.name, list(zip(anchors, hunks, strict=True))))
        where = {id(loc): f"{anchor}-{line}" if (line := h.line_of(loc)) is not None else anchor
                 for anchor, h in zip(anchors, hunks, strict=True) for loc in h.locations}
        for l_index, loc in enumerate(b.tally.locations):
            gone = board.dismissal(loc)
            wave = seen(loc, "cell")
            view = FindingView(b.name, loc, f"recurring · {wave}" if loc.state == FindingState.RECURRING else wave,
                               gone, where.get(id(loc), ""))
            if gone is not None:
                dismissed.append(view)
            else:
                counted.append(((not loc.convergent, SEVERITY_RANK.get(loc.severity, 3), b_index, l_index), view))
        report.resolved += [(b.name, r) for r in b.tally.resolved]
    report.findings = [view for _, view in sorted(counted, key=lambda item: item[0])] + dismissed

