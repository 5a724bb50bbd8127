"""The scrum phase's state as the event stream tells it, and the reports made from it:
scrum/summary.md (the per-bundle and reviewer-engagement tables) and scrum/findings.sarif (SARIF 2.1.0)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from rich import box
from rich.console import Console, ConsoleOptions, RenderResult
from rich.table import Table
from rich.text import Text

from .events import BundleTallied, Event, LocationRow, PlannedReviewer, ReviewFinished, ReviewStarted, ScrumPlanned
from .textsafe import md_cell

SARIF_LEVEL = {"BLOCK": "error", "WARN": "warning", "INFO": "note"}


@dataclass
class BundleState:
    name: str
    kb: float
    sent_kb: float
    guard: str  # ok | warn | refused | error
    reason: str
    reviews: dict[str, ReviewFinished | None] = field(default_factory=dict)  # None = running
    tally: BundleTallied | None = None

    def unreviewed_reason(self) -> str:
        """Why no review of this bundle finished, for the verdict."""
        statuses = [r.status for r in self.reviews.values() if r is not None]
        cut, failed = statuses.count("partial"), statuses.count("error")
        if not cut:
            return "every reviewer failed"
        return f"no review finished ({cut} cut short" + (f", {failed} failed)" if failed else ")")


@dataclass
class ScrumBoard:
    bundles: dict[str, BundleState] = field(default_factory=dict)
    reviewers: tuple[PlannedReviewer, ...] = ()
    min_tokens_out: int = 100

    def apply(self, t: float, event: Event) -> None:
        if isinstance(event, ScrumPlanned):
            self.reviewers = event.reviewers
            self.min_tokens_out = event.min_tokens_out
            self.bundles = {b.name: BundleState(b.name, b.kb, b.kb_sent, b.guard, b.reason) for b in event.bundles}
        elif isinstance(event, ReviewStarted) and event.bundle in self.bundles:
            self.bundles[event.bundle].reviews[event.reviewer] = None
        elif isinstance(event, ReviewFinished) and event.bundle in self.bundles:
            self.bundles[event.bundle].reviews[event.reviewer] = event
        elif isinstance(event, BundleTallied) and event.bundle in self.bundles:
            self.bundles[event.bundle].tally = event

    def refused(self) -> list[BundleState]:
        return [b for b in self.bundles.values() if b.guard in ("refused", "error")]

    def unreviewed(self) -> list[BundleState]:
        """Tallied bundles without one finished review. A review cut short is kept and
        tallied, but it read part of an answer: alone it does not make the bundle reviewed."""
        return [b for b in self.bundles.values() if b.tally is not None and b.reviews
                and not any(r is not None and r.status == "ok" for r in b.reviews.values())]

    def convergent_blocks(self) -> list[tuple[str, LocationRow]]:
        return [(b.name, loc) for b in self.bundles.values() if b.tally
                for loc in b.tally.locations if loc.convergent and loc.severity == "BLOCK"]

    def headline(self) -> str:
        tallied = [b.tally for b in self.bundles.values() if b.tally]
        convergent = sum(t.convergent for t in tallied)
        distinct = sum(t.distinct for t in tallied)
        reviewed = len(tallied) - len(self.unreviewed())
        text = f"{reviewed}/{len(self.bundles)} bundles reviewed · {convergent} convergent / {distinct} distinct"
        if self.refused():
            text += f" · {len(self.refused())} refused"
        return text

    def bundle_table(self) -> Table:
        table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
        table.add_column("Bundle")
        table.add_column("KB", justify="right")
        table.add_column("Convergent", justify="right")
        table.add_column("Distinct", justify="right")
        table.add_column("Notes")
        for b in self.bundles.values():
            kb = Text(f"{b.kb:.0f}", style="" if b.guard == "ok" else f"bundle.{b.guard}")
            if b.tally is None:
                table.add_row(b.name, kb, "", "", Text(b.reason or "…", style="bundle.refusal" if b.guard in ("refused", "error") else "dim"))
                continue
            table.add_row(b.name, kb, str(b.tally.convergent), str(b.tally.distinct), "; ".join(b.tally.notes))
        return table

    def engagement_table(self) -> Table:
        table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, title="Reviewer engagement (tokens out)")
        table.add_column("Bundle")
        table.add_column("KB", justify="right")
        for reviewer in self.reviewers:
            table.add_column(reviewer.name, justify="right")
        for b in self.bundles.values():
            cells = []
            for name in (reviewer.name for reviewer in self.reviewers):
                r = b.reviews.get(name)
                cells.append(Text("…" if r is None and name in b.reviews else _tokens(r), style=_token_style(b, name)))
            table.add_row(b.name, f"{b.kb:.0f}", *cells)
        return table

    def _thin(self, b: BundleState, reviewer: str) -> bool:
        row = next((r for r in (b.tally.reviewers if b.tally else ()) if r.reviewer == reviewer), None)
        return bool(row and row.thin)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self.bundle_table()
        yield Text("")
        yield self.engagement_table()
        yield Text("")
        yield Text(self.headline(), style="bold")

    def tables_markdown(self) -> list[str]:
        """The two tables (per bundle; reviewer engagement) and the headline."""
        names = [reviewer.name for reviewer in self.reviewers]
        lines = ["| Bundle | KB | Convergent (≥2 lineages) | Distinct | Notes |", "|---|---:|---:|---:|---|"]
        for b in self.bundles.values():
            if b.tally is None:
                lines.append(f"| {b.name} | {b.kb:.0f} | – | – | {md_cell(b.reason or 'not tallied')} |")
            else:
                lines.append(f"| {b.name} | {b.kb:.0f} | {b.tally.convergent} | {b.tally.distinct} | "
                             f"{md_cell('; '.join(b.tally.notes))} |")
        lines += ["", "| Bundle | Bundle KB | " + " | ".join(f"{n} tokens out" for n in names) + " |",
                  "|---|---:|" + "---:|" * len(names)]
        for b in self.bundles.values():
            cells = []
            for n in names:
                r = b.reviews.get(n)
                cells.append(_tokens(r) + (" (thin)" if self._thin(b, n) else ""))
            lines.append(f"| {b.name} | {b.kb:.0f} | " + " | ".join(cells) + " |")
        lines += ["", f"**{self.headline()}**", ""]
        return lines

    def summary_markdown(self, title: str) -> str:
        """scrum/summary.md: the tables, then each bundle's locations."""
        lines = [f"# Scrum: {title}", "", *self.tables_markdown()]
        for b in self.bundles.values():
            if b.tally and b.tally.locations:
                lines += [f"## {b.name}", "", f"`{b.tally.line}`", "", "| Location | Lineages | Severity | What |",
                          "|---|---|---|---|"]
                for loc in b.tally.locations:
                    mark = " **convergent**" if loc.convergent else ""
                    lines.append(f"| `{md_cell(loc.where)}` | {', '.join(loc.lineages)}{mark} | {loc.severity} | "
                                 f"{md_cell(loc.what)} |")
                if b.tally.unanchored:
                    lines += ["", "Unanchored (shown, never counted):", ""]
                    lines += [f"- `{md_cell(u.where)}` ({u.reviewer}, {u.severity}): {md_cell(u.why)}"
                              for u in b.tally.unanchored]
                lines.append("")
        return "\n".join(lines) + "\n"

    def sarif(self) -> str:
        """One result per anchored location, lineages and convergence in its properties."""
        results = []
        for b in self.bundles.values():
            if b.tally is None:
                continue
            for loc in b.tally.locations:
                location: dict[str, Any] = {"physicalLocation": {"artifactLocation": {"uri": loc.path}}}
                if loc.start:
                    location["physicalLocation"]["region"] = {"startLine": loc.start,
                                                              "endLine": max(loc.end or loc.start, loc.start)}
                results.append({
                    "ruleId": "scrum/convergent" if loc.convergent else "scrum/single-lineage",
                    "level": SARIF_LEVEL.get(loc.severity, "note"),
                    "message": {"text": loc.what or f"{loc.severity} finding from {', '.join(loc.reviewers)}"},
                    "locations": [location],
                    "partialFingerprints": {"gauntletLocation/v1": f"{b.name}:{loc.where}"},
                    "properties": {"bundle": b.name, "lineages": loc.lineages, "reviewers": loc.reviewers,
                                   "convergent": loc.convergent, "severity": loc.severity},
                })
        rules = [{"id": "scrum/convergent", "name": "ConvergentFinding",
                  "shortDescription": {"text": "Flagged by two or more distinct reviewer lineages"}},
                 {"id": "scrum/single-lineage", "name": "SingleLineageFinding",
                  "shortDescription": {"text": "Flagged by one reviewer lineage only"}}]
        sarif = {"$schema": "https://json.schemastore.org/sarif-2.1.0.json", "version": "2.1.0",
                 "runs": [{"tool": {"driver": {"name": "gauntlet-scrum", "version": "0.1.0", "rules": rules}},
                           "results": results}]}
        return json.dumps(sarif, indent=2, ensure_ascii=False) + "\n"


def _tokens(r: ReviewFinished | None) -> str:
    if r is None:
        return "–"
    if r.status == "error":
        return "error"
    return f"{'~' if r.tokens_estimated else ''}{r.tokens_out}" + (" (partial)" if r.status == "partial" else "")


def _token_style(b: BundleState, name: str) -> str:
    r = b.reviews.get(name)
    if r is None:
        return "dim"
    return "review.error" if r.status == "error" else "review.partial" if r.status == "partial" else ""
