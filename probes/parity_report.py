"""The parity phase's state as the event stream tells it, and the reports made from it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from rich import box
from rich.console import Console, ConsoleOptions, RenderResult
from rich.table import Table
from rich.text import Text

from .compare import HEAD_KINDS, SEVERITY
from .events import Event, ParityCaseFinished, ParityPlanned
from .textsafe import md_cell

TICK, CROSS = "✓", "✗"


@dataclass
class ParityBoard:
    """Every case's latest result, in config order; feed it events with `apply`."""

    cases: list[str] = field(default_factory=list)
    targets: tuple[str, ...] = ()
    reference: str = ""
    results: dict[str, ParityCaseFinished] = field(default_factory=dict)

    def apply(self, t: float, event: Event) -> None:
        if isinstance(event, ParityPlanned):
            self.cases, self.targets, self.reference = list(event.cases), event.targets, event.reference
            self.results = {}
        elif isinstance(event, ParityCaseFinished):
            if event.case not in self.cases:
                self.cases.append(event.case)
            self.results[event.case] = event

    @property
    def candidates(self) -> list[str]:
        return [t for t in self.targets if t != self.reference]

    def done(self) -> list[ParityCaseFinished]:
        return [self.results[c] for c in self.cases if c in self.results]

    def errored(self) -> list[ParityCaseFinished]:
        return [r for r in self.done() if r.errors]

    def status_mismatches(self) -> list[ParityCaseFinished]:
        return [r for r in self.done() if not r.errors and not r.status_match]

    def body_divergent(self) -> list[ParityCaseFinished]:
        return [r for r in self.done() if not r.errors and not r.body_match]

    def headline(self) -> str:
        """`6/6 status codes match · 5/6 body shapes diverge` (errors named when any); a case
        whose status differs too still counts its body by the body's own kind."""
        done = self.done()
        n = len(done)
        statuses = sum(1 for r in done if r.status_match)
        divergent = self.body_divergent()
        only_shape = all(body_kinds(r) == ["shape"] for r in divergent)
        noun = "body shapes diverge" if only_shape else "bodies diverge"
        text = f"{statuses}/{n} status codes match · {len(divergent)}/{n} {noun}"
        if self.errored():
            text += f" · {len(self.errored())}/{n} could not be compared"
        return text

    def case_table(self) -> Table:
        table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
        # A name is what the operator looks for: narrow the headers before it (within reason).
        table.add_column("Case", no_wrap=True, min_width=min(40, max(map(len, self.cases), default=4)))
        for target in self.targets:
            table.add_column(f"{target} status", justify="right")
        for head in ("Status match", "Body match"):
            table.add_column(head)
        for case in self.cases:
            table.add_row(*self.row_cells(case))
        return table

    def row_cells(self, case: str, kind_style: Mapping[str, str] | None = None) -> tuple[Text | str, ...]:
        """A case's row, for the headless table and the TUI's pane alike: the case, a status
        per target, then the status match and the body match, each mark followed by its kind
        (one cell each, so the row fits 80 columns), kinds styled by `kind_style`."""
        r = self.results.get(case)
        if r is None:
            return (case, *(Text("…", style="dim") for _ in self.targets), Text("pending", style="dim"), "")
        statuses = [Text(_status(r, t), style="" if r.statuses.get(t) is not None else "parity.error")
                    for t in self.targets]
        return (case, *statuses, judged(r.status_match, status_kind(r), kind_style or {}),
                judged(r.body_match, body_kind(r), kind_style or {}))

    def table_markdown(self) -> list[str]:
        """The seed's table (`| Case | rust status | go status | Status match | Body match |`)
        and each case's status kind and body kind."""
        lines = ["| Case | " + " | ".join(f"{t} status" for t in self.targets)
                 + " | Status match | Body match | Status kind | Body kind |",
                 "|---|" + "---:|" * len(self.targets) + ":---:|:---:|---|---|"]
        for r in self.done():
            statuses = " | ".join(_status(r, t) for t in self.targets)
            lines.append(f"| {md_cell(r.case)} | {statuses} | {TICK if r.status_match else CROSS} | "
                         f"{TICK if r.body_match else CROSS} | {status_kind(r)} | {body_kind(r)} |")
        return lines

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self.case_table()
        yield Text("")
        yield Text(self.headline(), style="bold")

    def report_markdown(self, title: str) -> str:
        """parity/report.md: the seed's table, the headline, then each divergence."""
        lines = [f"# Parity: {title}", "", f"Reference: `{self.reference}`; candidates: "
                 + ", ".join(f"`{c}`" for c in self.candidates), "", *self.table_markdown(),
                 "", f"**{self.headline()}**", ""]
        for r in self.done():
            if r.status_match and r.body_match:
                continue
            lines += [f"## {r.case}", ""]
            for target, error in r.errors.items():
                lines.append(f"- **{target}**: {md_cell(error)}")
            for failure in r.expect_failures:
                lines.append(f"- {md_cell(failure)}")
            for t in r.kinds:
                if r.status_kinds.get(t):
                    lines.append(f"- `{t}` {r.status_kinds[t]} differs")
                if r.kinds[t]:
                    lines.append(f"- `{t}` body {r.kinds[t]} divergence, fingerprint `{r.fingerprints.get(t)}`")
            if r.diffs:
                lines += ["", "| Target | Kind | Path | " + f"{r.reference} | candidate |", "|---|---|---|---|---|"]
                for d in r.diffs:
                    flag = " (noise)" if d.noise else " (ignored)" if d.ignored else ""
                    lines.append(f"| {d.target} | {d.kind}{flag} | `{md_cell(d.path)}` | "
                                 f"`{md_cell(d.ref)}` | `{md_cell(d.cand)}` |")
                if r.more_diffs:
                    lines.append(f"\n…and {r.more_diffs} more in results.json")
            lines.append("")
        return "\n".join(lines) + "\n"


def match_mark(ok: bool) -> Text:
    return Text(TICK, style="parity.match") if ok else Text(CROSS, style="parity.mismatch")


def judged(ok: bool, kind: str, kind_style: Mapping[str, str]) -> Text:
    """A match mark and, after it, what differs."""
    return Text.assemble(match_mark(ok), (f" {kind}" if kind else "", kind_style.get(kind.split(",")[0], "")))


def head_kinds(r: ParityCaseFinished) -> list[str]:
    """What differs in the candidates' heads (status, header), most severe first; an expected
    status not answered is a status kind too. Runs recorded before `status_kinds` carried
    these in `kinds`, so they are read from there as well."""
    kinds = {k for k in (*r.status_kinds.values(), *r.kinds.values()) if k in HEAD_KINDS}
    if r.expect_failures:
        kinds.add("status")
    return sorted(kinds, key=SEVERITY.__getitem__)


def body_kinds(r: ParityCaseFinished) -> list[str]:
    """How the candidates' bodies diverge (shape, type, value), most severe first."""
    return sorted({k for k in r.kinds.values() if k and k not in HEAD_KINDS}, key=SEVERITY.__getitem__)


def status_kind(r: ParityCaseFinished) -> str:
    """The status kind cell: `error` when a target could not be compared, else the head kinds."""
    return "error" if r.errors else ", ".join(head_kinds(r))


def body_kind(r: ParityCaseFinished) -> str:
    """The body kind cell: empty when the bodies match or could not be compared."""
    return ", ".join(body_kinds(r))


def _status(r: ParityCaseFinished, target: str) -> str:
    status = r.statuses.get(target)
    return "error" if status is None else str(status)
