"""The parity pane's cases, as a list can show them: folded into groups (each divergence
class of each candidate, the latency groups, and the cases no class names) as they land,
the filters and the search over them, and the rows they make, drawn only when on screen
(it is the RowList's source).

Built for 100,000 cases: each redraw folds in only the cases landed since the last one, a
row is found by bisecting the groups' first rows, and cases alike share one Facts.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from rich.text import Text

from probes.parity import CaseRow, body_kinds, divergences, group_head, head_kinds, latency_cell
from themes.palette import KIND_TONE, LATENCY_STYLE

from .model import RunModel
from .parity_cells import row_cells

KIND_STYLE = {**{kind: f"kind.{kind}" for kind in KIND_TONE}, "error": "parity.error", "match": "parity.match",
              "inconclusive": "parity.inconclusive"}
# What a case comes to, as a whole: an inconclusive case (its reference answer all noise) is
# neither a match nor a divergence, and is never listed with the matches.
MATCH, STATUS, ERROR, DIVERGE, INCONCLUSIVE = "match", "status", "error", "diverge", "inconclusive"
STATUS_FILTERS = (None, MATCH, STATUS, ERROR, INCONCLUSIVE)
STATUS_WORDS = {MATCH: "matches", STATUS: "status mismatches", ERROR: "errors", INCONCLUSIVE: "inconclusive"}
# The groups of the cases no divergence class names, and their place among the classes.
OUTSIDE = {ERROR: "could not be compared", STATUS: "status differs", MATCH: "match",
           INCONCLUSIVE: "inconclusive: the reference's answer is all noise"}
PLACE = {ERROR: 0, STATUS: 1, INCONCLUSIVE: 2, MATCH: 3}
STATUS_WIDTH, BODY_MIN, INDENT = 9, 14, 2
LATENCY_WIDTH = 23  # `1.82× ▁▂█▃▁▁▁▁│▁▁▁▂█▅▁▁`: the ratio, then the reference's timings and the candidate's
LATENCY_NARROW = 7  # `1.82×` or `no data`, when the timings would cut the names short

GroupKey = tuple[str, str]  # (candidate, class key), or ("", ERROR | STATUS | MATCH)


@dataclass(frozen=True)
class Facts:
    """What the filters and the groups ask of a case; one object for every case alike."""

    outcome: str  # MATCH | STATUS | ERROR | DIVERGE | INCONCLUSIVE
    kinds: frozenset[str]
    groups: tuple[tuple[GroupKey, str], ...]  # each group the case is listed in, with its kind


@dataclass
class Group:
    key: GroupKey
    kind: str
    cases: list[str] = field(default_factory=list)  # landing order
    shown: list[str] = field(default_factory=list)  # those the filters let through (`cases` without filters)


@dataclass(frozen=True)
class Columns:
    name: int
    statuses: tuple[int, ...]
    status: int
    latency: int = 0  # with `[parity.latency]`


def facts_of(r: CaseRow, latency: tuple[tuple[GroupKey, str], ...]
             ) -> tuple[str, frozenset[str], tuple[tuple[GroupKey, str], ...]]:
    """A case's outcome, kinds and groups: under each class it diverges in and each latency
    group it is in (`latency`: slower, or no data, with the latency kind, so that the kind
    filter finds both), and a case whose status differs or that could not be compared under
    that too (it blocks on its own)."""
    classes = (*(((target, key), kind) for target, key, kind in divergences(r)), *latency)
    outcome = ERROR if r.errors else STATUS if not r.status_match else DIVERGE if classes else \
        INCONCLUSIVE if r.inconclusive else MATCH
    own = (((("", outcome), outcome),) if outcome != DIVERGE else ())
    return outcome, frozenset((*body_kinds(r), *head_kinds(r), *(kind for _, kind in latency))), (*own, *classes)


def _cell(text: Text | str, width: int, justify: str = "left") -> Text:
    cell = Text(text) if isinstance(text, str) else text.copy()
    cell.truncate(width, overflow="ellipsis")
    if justify == "right":
        cell.pad_left(width - cell.cell_len)
    else:
        cell.pad_right(width - cell.cell_len)
    return cell


class CaseIndex:
    """The board's cases folded into groups as they land, the filters over them, and the rows
    they make (the list's source): a row is found by bisecting the groups' first rows."""

    def __init__(self) -> None:
        self.grouped = True
        self.status: str | None = None
        self.kind: str | None = None
        self.only: GroupKey | None = None
        self.search = ""
        self.folded: set[GroupKey] = set()
        self.model = RunModel()
        self._reset()

    def _reset(self) -> None:
        self.facts: dict[str, Facts] = {}
        self.groups: dict[GroupKey, Group] = {}
        self.kinds: set[str] = set()
        self.name_width = 4
        self._alike: dict[tuple[object, ...], Facts] = {}
        self._order: list[str] = []  # landing order
        self._flat: list[str] = []  # landing order, the filters applied
        self._seen, self._generation = 0, -1
        self._layout: list[Group] = []
        self._starts: list[int] = []  # each laid-out group's header row
        self._place: dict[GroupKey, int] = {}
        self._rows = 0

    # ---- cases as they land --------------------------------------------------------------------

    @property
    def filtered(self) -> bool:
        return bool(self.status or self.kind or self.only or self.search)

    def update(self, model: RunModel) -> None:
        """Fold in the cases landed since the last look (every case again after a new plan
        or a case probed twice)."""
        self.model = model
        board = model.tracker.parity
        if model.parity_generation != self._generation:
            self._reset()
            self._generation = model.parity_generation
        new, self._seen = board.cases[self._seen:], len(board.cases)
        for case in new:
            self._add(case, board.results[case])
        self._lay_out()

    def _add(self, case: str, r: CaseRow) -> None:
        latency = self.model.tracker.parity.latency
        outcome, kinds, groups = facts_of(r, tuple((key, latency.kind) for key in latency.groups(case)))
        key = (outcome, kinds, groups)
        facts = self._alike.get(key) or self._alike.setdefault(key, Facts(*key))
        self.facts[case] = facts
        self.kinds |= facts.kinds
        self.name_width = max(self.name_width, len(case))
        self._order.append(case)
        passes = self.filtered and self._passes(case, facts)
        for group_key, kind in facts.groups:
            group = self.groups.get(group_key)
            if group is None:
                group = self.groups[group_key] = Group(group_key, kind)
                group.shown = [] if self.filtered else group.cases
            group.cases.append(case)
            if passes:
                group.shown.append(case)
        if passes:
            self._flat.append(case)

    def _passes(self, case: str, facts: Facts) -> bool:
        return ((self.status is None or facts.outcome == self.status)
                and (self.kind is None or self.kind in facts.kinds)
                and (self.only is None or any(key == self.only for key, _ in facts.groups))
                and (not self.search or self.search in case.lower()))

    def refilter(self) -> None:
        """The filters changed: every group's shown cases again (one pass over the cases)."""
        if not self.filtered:
            for group in self.groups.values():
                group.shown = group.cases
            self._flat = []
        else:
            passing = {case for case in self._order if self._passes(case, self.facts[case])}
            for group in self.groups.values():
                group.shown = [case for case in group.cases if case in passing]
            self._flat = [case for case in self._order if case in passing]
        self._lay_out()

    def fold(self, key: GroupKey) -> None:
        """Fold a group to its header, or unfold it."""
        self.folded ^= {key}
        self._lay_out()

    def _lay_out(self) -> None:
        groups = [g for g in self.groups.values() if g.shown and (self.only is None or g.key == self.only)]
        groups.sort(key=lambda g: (PLACE.get(g.key[1], 2) if not g.key[0] else 2, -len(g.cases), g.key))
        self._layout, self._starts, self._place, row = groups, [], {}, 0
        for i, group in enumerate(groups):
            self._starts.append(row)
            self._place[group.key] = i
            row += 1 + (0 if group.key in self.folded else len(group.shown))
        self._rows = row

    # ---- rows -------------------------------------------------------------------------------

    def __len__(self) -> int:
        return self._rows if self.grouped else len(self._landed())

    def _landed(self) -> list[str]:
        return self._flat if self.filtered else self._order

    def _locate(self, row: int) -> tuple[Group, int]:
        """The group a row is in, and the row's place in it (-1: its header)."""
        i = bisect.bisect_right(self._starts, row) - 1
        return self._layout[i], row - self._starts[i] - 1

    def is_header(self, row: int) -> bool:
        return self.grouped and self._locate(row)[1] < 0

    def case_at(self, row: int) -> str | None:
        if not 0 <= row < len(self):
            return None
        if not self.grouped:
            return self._landed()[row]
        group, offset = self._locate(row)
        return group.shown[offset] if offset >= 0 else None

    def group_at(self, row: int) -> Group | None:
        """The group of a row (a header's own; in landing order, the case's first class)."""
        if not 0 <= row < len(self):
            return None
        if self.grouped:
            return self._locate(row)[0]
        case = self._landed()[row]
        keys = [key for key, _ in self.facts[case].groups]
        return self.groups[next((k for k in keys if k[0]), keys[0])]

    def anchor(self, row: int) -> tuple[GroupKey | None, int]:
        """Where a row is, in terms that survive cases landing above it."""
        if not self.grouped or not self._layout:
            return None, row
        group, offset = self._locate(max(0, min(row, self._rows - 1)))
        return group.key, offset

    def row_of(self, anchor: tuple[GroupKey | None, int]) -> int:
        key, offset = anchor
        if key is None:
            return offset
        i = self._place.get(key)
        if i is None:
            return 0
        group = self._layout[i]
        shown = 0 if group.key in self.folded else len(group.shown)
        return self._starts[i] + 1 + min(offset, shown - 1)

    def find(self, case: str | None, near: GroupKey | None) -> int | None:
        """The row of a case (in the group `near` when it is listed there too), if it is shown."""
        if case is None:
            return None if near is None or near not in self._place else self._starts[self._place[near]]
        if not self.grouped:
            try:
                return self._landed().index(case)
            except ValueError:
                return None
        keys = [key for key, _ in self.facts[case].groups]
        for key in sorted(keys, key=lambda k: k != near):
            i = self._place.get(key)
            if i is not None and key not in self.folded:
                try:
                    return self._starts[i] + 1 + self._layout[i].shown.index(case)
                except ValueError:
                    continue
        return None

    def jump(self, row: int, step: int) -> int:
        """The header of the next (or previous) group from a row."""
        if not self.grouped or not self._starts:
            return row
        i = bisect.bisect_right(self._starts, row) - 1
        if step < 0 and self._starts[i] < row:
            return self._starts[i]
        return self._starts[max(0, min(len(self._starts) - 1, i + step))]

    def columns(self, width: int) -> Columns:
        """The name gets what the longest one needs, the body's kinds what is left (at least
        a few words' worth); latency shows its timings only when the names still fit beside them."""
        targets = self.model.tracker.parity.targets
        statuses = tuple(max(len(t), 5) for t in targets)
        indent = INDENT if self.grouped else 0
        fixed = sum(w + 1 for w in statuses) + STATUS_WIDTH + 1
        latency = 0
        if self.model.tracker.parity.latency.plan is not None:
            fits = width - fixed - LATENCY_WIDTH - 1 - BODY_MIN >= self.name_width + indent
            latency = LATENCY_WIDTH if fits else LATENCY_NARROW
            fixed += latency + 1
        name = max(8, min(self.name_width + indent, width - fixed - BODY_MIN))
        return Columns(name, statuses, STATUS_WIDTH, latency)

    def heading(self, width: int) -> Text:
        cols = self.columns(width)
        line = Text(" " * (INDENT if self.grouped else 0))
        line.append_text(_cell("Case", cols.name - len(line)))
        for target, w in zip(self.model.tracker.parity.targets, cols.statuses):
            line.append(" ")
            line.append_text(_cell(target, w, "right"))
        line.append(" ")
        line.append_text(_cell("Status", cols.status))
        if cols.latency:
            line.append(" ")
            line.append_text(_cell("Latency", cols.latency))
        line.append(" Body")
        return line

    def row(self, index: int, width: int) -> Text:
        if not self.grouped:
            return self._case_row(self._landed()[index], width)
        group, offset = self._locate(index)
        return self._header_row(group) if offset < 0 else self._case_row(group.shown[offset], width)

    def _header_row(self, group: Group) -> Text:
        total = len(group.cases)
        count = (f"{total:,} case{'' if total == 1 else 's'}" if group.shown is group.cases
                 else f"{len(group.shown):,} of {total:,} cases")
        mark = "▸ " if group.key in self.folded else "▾ "
        target, key = group.key
        if not target:
            return Text.assemble(mark, (OUTSIDE[key], KIND_STYLE[key]), "  ", count)
        latency = self.model.tracker.parity.latency
        if group.kind == latency.kind:
            label, state, words, class_id = group_head(latency, target, key)
            return Text.assemble(mark, (label, LATENCY_STYLE[state]), "  ", count, "  ", (words, "not bold"),
                                 ("  " + class_id if class_id else "", "dim"))
        g = self.model.tracker.parity.group(target, key, group.kind, group.cases)
        return Text.assemble(mark, (f"{target} {g.kind}", KIND_STYLE.get(g.kind, "")), "  ", count, "  ",
                             (g.description, "not bold"), ("  " + (g.class_id or ""), "dim"))

    def _case_row(self, case: str, width: int) -> Text:
        """The board's row, its kinds coloured and a known gap covering the body named."""
        tracker = self.model.tracker
        r = tracker.parity.results[case]
        name, *statuses, status, body = row_cells(r, tracker.parity.targets, KIND_STYLE)
        if any(tracker.gap_for(r, t)[0] for t, k in r.kinds.items() if k):
            body = Text.assemble(body, (" (known gap)", "dim"))
        cols = self.columns(width)
        line = Text(" " * (INDENT if self.grouped else 0))
        line.append_text(_cell(name, cols.name - len(line)))
        for cell, w in zip(statuses, cols.statuses):
            line.append(" ")
            line.append_text(_cell(cell, w, "right"))
        line.append(" ")
        line.append_text(_cell(status, cols.status))
        if cols.latency:
            text, state = latency_cell(tracker.parity.latency, case, sparks=cols.latency == LATENCY_WIDTH)
            line.append(" ")
            line.append_text(_cell(Text(text, style=LATENCY_STYLE.get(state, "")), cols.latency))
        line.append(" ")
        line.append_text(body)
        return line

    def describe(self) -> str:
        """The mode and the filters in words, and how many cases they let through."""
        parts = ["by class" if self.grouped else "landing order"]
        if self.status:
            parts.append(f"only {STATUS_WORDS[self.status]}")
        if self.kind:
            parts.append(f"kind {self.kind}")
        if self.only:
            parts.append(f"class {self.only[1] if self.only[0] else OUTSIDE[self.only[1]]}")
        if self.search:
            parts.append(f"/{self.search}")
        total = len(self._order)
        shown = len(self._flat) if self.filtered else total
        parts.append(f"{shown:,} of {total:,} cases" if self.filtered else f"{total:,} case{'' if total == 1 else 's'}")
        return " · ".join(parts)

    def kinds_in_order(self) -> list[str]:
        """The kinds met, most severe first (the palette's order), latency last."""
        return [kind for kind in (*KIND_TONE, self.model.tracker.parity.latency.kind) if kind in self.kinds]
