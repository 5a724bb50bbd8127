"""The scrum phase's state as the event stream tells it, and the reports made from it:
scrum/summary.md (the per-bundle, reviewer-engagement and token tables, each finding with
its wave) and scrum/findings.sarif (SARIF 2.1.0, a finding's stable id as its fingerprint).

Which findings count is decided here, at the moment it is asked: the findings ledger as the
run started comes with the plan, and whoever judges the run again later sets the ledger as
it is now (`ledger`), so a dismissal made after the run changes its counts and its verdict.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any, Literal

from rich import box
from rich.console import Console, ConsoleOptions, RenderResult
from rich.table import Table
from rich.text import Text

from ..core import md_cell
from ..core.events import (
    BundleTallied,
    DismissalRow,
    Event,
    LocationRow,
    PlannedReviewer,
    ReviewFinished,
    ReviewStarted,
    ScrumPlanned,
    TokenRow,
)
from ._findings import TokenSum, token_sums, total
from ._ledger import active, dismissal

SARIF_LEVEL = {"BLOCK": "error", "WARN": "warning", "INFO": "note"}
ANY_LINEAGE = "any-lineage"


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


def seen(loc: LocationRow, form: Literal["cell", "markdown", "reason"] = "cell") -> str:
    """A finding's wave, in the one wording every report shares. `cell` (the pane): `new`,
    `2 waves`, nothing when there was no earlier wave; `markdown`: `recurring (2 waves, since
    `run`)`, `–` with no earlier wave; `reason` (a verdict reason's tail): ` — recurring for
    2 waves, since run …`, nothing for a new finding."""
    if loc.state != "recurring":
        return {"cell": loc.state, "markdown": loc.state or "–", "reason": ""}[form]
    waves = f"{loc.waves} waves"
    return {"cell": waves, "markdown": f"recurring ({waves}, since `{loc.since}`)",
            "reason": f" — recurring for {waves}, since run {loc.since}"}[form]


@dataclass
class ScrumBoard:
    bundles: dict[str, BundleState] = field(default_factory=dict)
    reviewers: tuple[PlannedReviewer, ...] = ()
    min_tokens_out: int = 100
    block_on: str = "convergent"
    ledger_path: str = ""
    recorded: tuple[DismissalRow, ...] = ()  # the ledger as the run started
    ledger: list[DismissalRow] | None = None  # the ledger as it is now, when someone read it since
    today: date = field(default_factory=date.today)
    previous_run_id: str = ""
    previous_tokens: tuple[TokenRow, ...] = ()
    min_lineages: int = 0  # 0: every planned lineage must review
    _in_force: tuple[object, date, dict[str, DismissalRow]] | None = field(default=None, init=False, repr=False, compare=False)

    def apply(self, t: float, event: Event) -> None:
        if isinstance(event, ScrumPlanned):
            self.reviewers = event.reviewers
            self.min_tokens_out = event.min_tokens_out
            self.block_on, self.ledger_path, self.recorded = event.block_on, event.ledger, event.dismissed
            self.previous_run_id, self.previous_tokens = event.previous_run_id, event.previous_tokens
            self.min_lineages = event.min_lineages
            self.bundles = {b.name: BundleState(b.name, b.kb, b.kb_sent, b.guard, b.reason) for b in event.bundles}
        elif isinstance(event, ReviewStarted) and event.bundle in self.bundles:
            self.bundles[event.bundle].reviews[event.reviewer] = None
        elif isinstance(event, ReviewFinished) and event.bundle in self.bundles:
            self.bundles[event.bundle].reviews[event.reviewer] = event
        elif isinstance(event, BundleTallied) and event.bundle in self.bundles:
            self.bundles[event.bundle].tally = event

    # ---- which findings count ----------------------------------------------------------

    def dismissal(self, loc: LocationRow) -> DismissalRow | None:
        """Asked once per location per redraw: the entries in force are worked out again only
        when the ledger (replaced whole, never changed in place) or the day changes."""
        rows = self.recorded if self.ledger is None else self.ledger
        if self._in_force is None or self._in_force[0] is not rows or self._in_force[1] != self.today:
            self._in_force = (rows, self.today, active(rows, self.today))
        return dismissal(loc, self._in_force[2])

    def counted(self, b: BundleState) -> list[LocationRow]:
        return [loc for loc in b.tally.locations if self.dismissal(loc) is None] if b.tally else []

    def locations(self) -> Iterator[tuple[str, LocationRow]]:
        """Every counted location of every tallied bundle."""
        for b in self.bundles.values():
            yield from ((b.name, loc) for loc in self.counted(b))

    def refused(self) -> list[BundleState]:
        return [b for b in self.bundles.values() if b.guard in ("refused", "error")]

    def unreviewed(self) -> list[BundleState]:
        """Tallied bundles without one finished review. A review cut short is kept and
        tallied, but it read part of an answer: alone it does not make the bundle reviewed."""
        return [b for b in self.bundles.values() if b.tally is not None and b.reviews
                and not any(r is not None and r.status == "ok" for r in b.reviews.values())]

    def lost_lineages(self) -> list[tuple[str, str]]:
        """(lineage, its last error) of each planned lineage every review of which failed (one
        cut short still read part of an answer, and is tallied): convergence rested on the
        others. In plan order, the last error by the bundles' order, so the words do not
        depend on which review failed last."""
        last: dict[str, str | None] = {}  # lineage -> None once a review of it finished
        for reviewer in self.reviewers:
            for b in self.bundles.values():
                r = b.reviews.get(reviewer.name)
                if r is None:
                    continue
                if r.status != "error":
                    last[r.lineage] = None
                elif last.get(r.lineage, "") is not None:
                    last[r.lineage] = f"{reviewer.name}: {r.error}"
        return [(lineage, error) for lineage, error in last.items() if error is not None]

    def lineages(self) -> list[str]:
        return list(dict.fromkeys(r.lineage for r in self.reviewers))

    def lineages_needed(self) -> int:
        return self.min_lineages or len(self.lineages())

    def lineage_reasons(self) -> list[str]:
        """The scrum is incomplete when fewer lineages reviewed than it needs (`min_lineages`,
        by default every lineage configured): each lost lineage named with its last error.
        With `min_lineages`, a bundle reviewed by fewer lineages is incomplete too."""
        lost, planned = self.lost_lineages(), len(self.lineages())
        needed = self.lineages_needed()
        reasons = []
        if lost and 0 < planned - len(lost) < needed:  # none at all: each bundle says every reviewer failed
            told = (f"{planned - len(lost)} of {planned} lineages reviewed, [scrum] min_lineages = {needed}"
                    if self.min_lineages else
                    f"{planned - len(lost)} of {planned} lineages reviewed; [scrum] min_lineages says how many suffice")
            reasons += [f"incomplete: scrum lineage {lineage} lost: every review failed ({error}); {told}"
                        for lineage, error in lost]
        if self.min_lineages:
            for b in self.bundles.values():
                done = {r.lineage for r in b.reviews.values() if r is not None and r.status == "ok"}
                if b.tally is not None and 0 < len(done) < self.min_lineages:
                    reasons.append(f"incomplete: scrum bundle {b.name}: reviewed by {len(done)} lineage(s) "
                                   f"({', '.join(sorted(done))}), [scrum] min_lineages = {self.min_lineages}")
        return reasons

    def reviewed(self) -> int:
        """Bundles that at least one review finished: what the scrum checked."""
        unreviewed = {b.name for b in self.unreviewed()}
        return sum(1 for b in self.bundles.values() if b.tally is not None and b.name not in unreviewed)

    def convergent_blocks(self) -> list[tuple[str, LocationRow]]:
        return [(name, loc) for name, loc in self.locations() if loc.convergent and loc.severity == "BLOCK"]

    def unverified_blocks(self) -> list[tuple[str, LocationRow]]:
        """BLOCKs from one lineage (not taken back): they block only under `block_on = "any-lineage"`."""
        return [(name, loc) for name, loc in self.locations() if not loc.convergent and loc.severity == "BLOCK"]

    def block_reasons(self) -> list[str]:
        """The verdict's scrum reasons: every convergent BLOCK (since when, when it recurs),
        and every unverified one too when the config says any lineage blocks."""
        reasons = [f"convergent BLOCK in {bundle} at {loc.where} ({' + '.join(loc.lineages)}): {loc.what}"
                   + seen(loc, "reason") for bundle, loc in self.convergent_blocks()]
        if self.block_on == ANY_LINEAGE:
            reasons += [f"unverified BLOCK in {bundle} at {loc.where} ({loc.lineages[0]} only; "
                        f'[scrum] block_on = "{ANY_LINEAGE}"): {loc.what}' + seen(loc, "reason")
                        for bundle, loc in self.unverified_blocks()]
        return reasons

    def counts(self, b: BundleState) -> tuple[int, int]:
        """(convergent, distinct) of a tallied bundle, dismissed findings left out."""
        counted = self.counted(b)
        return sum(1 for loc in counted if loc.convergent), len(counted)

    def notes(self, b: BundleState) -> list[str]:
        """The tally's notes, then what the waves and the ledger say of the bundle."""
        assert b.tally is not None
        notes = list(b.tally.notes)
        states = [loc.state for loc in b.tally.locations]
        if self.previous_run_id and b.tally.locations + b.tally.resolved:
            waves = sorted({loc.waves for loc in b.tally.locations if loc.state == "recurring"})
            span = f" ({waves[0]}{'–' + str(waves[-1]) if len(waves) > 1 else ''} waves)" if waves else ""
            notes.append(f"{states.count('new')} new, {states.count('recurring')} recurring{span}, "
                         f"{len(b.tally.resolved)} resolved")
        dismissed = len(b.tally.locations) - len(self.counted(b))
        if dismissed:
            notes.append(f"{dismissed} dismissed")
        return notes

    def headline(self) -> str:
        tallied = [b for b in self.bundles.values() if b.tally]
        counts = [self.counts(b) for b in tallied]
        reviewed = len(tallied) - len(self.unreviewed())
        text = (f"{reviewed}/{len(self.bundles)} bundles reviewed · {sum(c for c, _ in counts)} convergent / "
                f"{sum(d for _, d in counts)} distinct")
        if self.refused():
            text += f" · {len(self.refused())} refused"
        lost = self.lost_lineages()
        if lost:
            text += f" · lineage {', '.join(lineage for lineage, _ in lost)} lost"
        return text

    # ---- tokens ------------------------------------------------------------------------------

    def token_rows(self) -> list[TokenRow]:
        """This wave's reviews that finished, with their tokens and cost."""
        return [TokenRow(b.name, name, r.lineage, r.tokens_in, r.tokens_out, r.tokens_estimated, r.cost)
                for b in self.bundles.values() for name, r in b.reviews.items() if r is not None]

    def bundle_tokens(self, b: BundleState) -> TokenSum:
        return total(row for row in self.token_rows() if row.bundle == b.name)

    def lineage_waves(self) -> list[tuple[str, TokenSum | None, TokenSum]]:
        """Per lineage: (lineage, the previous wave's tokens or None, this wave's)."""
        before = token_sums(self.previous_tokens, "lineage")
        now = token_sums(self.token_rows(), "lineage")
        return [(lineage, before.get(lineage), now.get(lineage, TokenSum()))
                for lineage in dict.fromkeys([*now, *before])]

    def estimated(self) -> bool:
        """Some count shown, of this wave or the previous one, is an estimate (marked `~`)."""
        return total([*self.token_rows(), *self.previous_tokens]).estimated

    def tokens_line(self) -> str:
        return f"tokens this wave: {total(self.token_rows()).text()}" + (
            f" · previous wave ({self.previous_run_id}): {total(self.previous_tokens).text()}"
            if self.previous_run_id else "")

    # ---- tables --------------------------------------------------------------------------------

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
            convergent, distinct = self.counts(b)
            table.add_row(b.name, kb, str(convergent), str(distinct), "; ".join(self.notes(b)))
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

    def lineage_table(self) -> Table:
        """Tokens (and cost) per lineage, this wave beside the previous one."""
        table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False,
                      title="Tokens per lineage" + (" (~ estimated)" if self.estimated() else ""))
        table.add_column("Lineage")
        if self.previous_run_id:
            table.add_column("Previous wave", justify="right")
        table.add_column("This wave", justify="right")
        for lineage, before, now in self.lineage_waves():
            previous = [before.text() if before else "–"] if self.previous_run_id else []
            table.add_row(lineage, *previous, now.text())
        return table

    def _thin(self, b: BundleState, reviewer: str) -> bool:
        row = next((r for r in (b.tally.reviewers if b.tally else ()) if r.reviewer == reviewer), None)
        return bool(row and row.thin)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self.bundle_table()
        yield Text("")
        yield self.engagement_table()
        yield Text("")
        yield self.lineage_table()
        yield Text("")
        yield Text(self.headline(), style="bold")
        yield Text(self.tokens_line())

    def tables_markdown(self) -> list[str]:
        """The tables (per bundle; reviewer engagement; tokens per lineage), the headline,
        and the BLOCKs from a single lineage."""
        names = [reviewer.name for reviewer in self.reviewers]
        lines = ["| Bundle | KB | Convergent (≥2 lineages) | Distinct | Notes |", "|---|---:|---:|---:|---|"]
        for b in self.bundles.values():
            if b.tally is None:
                lines.append(f"| {b.name} | {b.kb:.0f} | – | – | {md_cell(b.reason or 'not tallied')} |")
            else:
                convergent, distinct = self.counts(b)
                lines.append(f"| {b.name} | {b.kb:.0f} | {convergent} | {distinct} | "
                             f"{md_cell('; '.join(self.notes(b)))} |")
        lines += ["", "| Bundle | Bundle KB | " + " | ".join(f"{n} tokens out" for n in names) + " | Tokens in / out |",
                  "|---|---:|" + "---:|" * len(names) + "---:|"]
        for b in self.bundles.values():
            cells = []
            for n in names:
                r = b.reviews.get(n)
                cells.append(_tokens(r) + (" (thin)" if self._thin(b, n) else ""))
            lines.append(f"| {b.name} | {b.kb:.0f} | " + " | ".join(cells) + f" | {self.bundle_tokens(b).text()} |")
        previous = ["Previous wave"] if self.previous_run_id else []
        lines += ["", "| Lineage | " + " | ".join([*previous, "This wave"]) + " |",
                  "|---|" + "---:|" * (len(previous) + 1)]
        for lineage, before, now in self.lineage_waves():
            cells = [before.text() if before else "–"] if previous else []
            lines.append(f"| {lineage} | " + " | ".join([*cells, now.text()]) + " |")
        lines.append("| **run** | " + " | ".join(
            ([total(self.previous_tokens).text()] if previous else []) + [total(self.token_rows()).text()]) + " |")
        lines += ["", f"**{self.headline()}**", "",
                  self.tokens_line() + (" (~ estimated: the gateway sent no usage)" if self.estimated() else ""), ""]
        lost = self.lost_lineages()
        if lost:
            lines += [f"Lineages lost (every review failed; {len(self.lineages()) - len(lost)} of "
                      f"{len(self.lineages())} reviewed, {self.lineages_needed()} needed):", ""]
            lines += [f"- lineage {md_cell(lineage)} lost: {md_cell(error)}" for lineage, error in lost]
            lines.append("")
        unverified = self.unverified_blocks()
        if unverified:
            blocking = self.block_on == ANY_LINEAGE
            lines += [f"Unverified BLOCKs (one lineage; {'they block: block_on = any-lineage' if blocking else 'not blocking'}):",
                      ""]
            lines += [f"- {bundle} `{md_cell(loc.where)}` ({loc.lineages[0]}, {loc.id or 'no id'}): {md_cell(loc.what)}"
                      for bundle, loc in unverified]
            lines.append("")
        return lines

    def summary_markdown(self, title: str) -> str:
        """scrum/summary.md: the tables, then each bundle's findings with their wave."""
        lines = [f"# Scrum: {title}", "", *self.tables_markdown()]
        if self.previous_run_id:
            lines += [f"Compared with the previous wave, run `{self.previous_run_id}`.", ""]
        for b in self.bundles.values():
            t = b.tally
            if t and (t.locations or t.resolved):
                lines += [f"## {b.name}", "", f"`{t.line}`", "", "| Id | Location | Lineages | Severity | Seen | What |",
                          "|---|---|---|---|---|---|"]
                for loc in t.locations:
                    mark = " **convergent**" if loc.convergent else ""
                    gone = self.dismissal(loc)
                    what = md_cell(loc.what) + (f" — *dismissed: {md_cell(gone.reason)} ({md_cell(gone.owner)}"
                                                + (f", until {gone.expires}" if gone.expires else "") + ")*"
                                                if gone else "")
                    lines.append(f"| `{loc.id or '–'}` | `{md_cell(loc.where)}` | {', '.join(loc.lineages)}{mark} | "
                                 f"{loc.severity} | {seen(loc, 'markdown')} | {what} |")
                lines += [f"| `{r.id}` | `{md_cell(r.where)}` | {', '.join(r.lineages)} | {r.severity} | "
                          f"resolved (seen {r.waves} wave{'s' if r.waves != 1 else ''}) | {md_cell(r.what)} |"
                          for r in t.resolved]
                if t.unanchored:
                    lines += ["", "Unanchored (shown, never counted):", ""]
                    lines += [f"- `{md_cell(u.where)}` ({u.reviewer}, {u.severity}): {md_cell(u.why)}"
                              for u in t.unanchored]
                lines.append("")
        return "\n".join(lines) + "\n"

    def verdict_json(self) -> dict[str, Any]:
        """The scrum phase in verdict.json."""
        def finding(bundle: str, loc: LocationRow) -> dict[str, Any]:
            return {"bundle": bundle, "id": loc.id, "where": loc.where, "lineages": list(loc.lineages),
                    "what": loc.what, "state": loc.state, "waves": loc.waves, "since": loc.since}

        def tokens(s: TokenSum) -> dict[str, Any]:
            return {"tokens_in": s.tokens_in, "tokens_out": s.tokens_out, "estimated": s.estimated, "cost": s.cost}

        dismissed = [dict(finding(b.name, loc), reason=d.reason, owner=d.owner, expires=d.expires)
                     for b in self.bundles.values() for loc in (b.tally.locations if b.tally else ())
                     if (d := self.dismissal(loc)) is not None]
        return {
            "headline": self.headline(),
            "block_on": self.block_on,
            "previous_run_id": self.previous_run_id or None,
            "bundles": [{"bundle": b.name, "kb": b.kb, "guard": b.guard, "reason": b.reason,
                         "convergent": self.counts(b)[0] if b.tally else None,
                         "distinct": self.counts(b)[1] if b.tally else None,
                         "convergent_blocks": sum(1 for n, _ in self.convergent_blocks() if n == b.name)
                         if b.tally else None,
                         "notes": self.notes(b) if b.tally else [],
                         "reviewers": [asdict(r) for r in b.tally.reviewers] if b.tally else [],
                         "tokens": tokens(self.bundle_tokens(b)),
                         "findings": [finding(b.name, loc) for loc in self.counted(b)],
                         "resolved": [asdict(r) for r in b.tally.resolved] if b.tally else []}
                        for b in self.bundles.values()],
            "unverified_blocks": [finding(bundle, loc) for bundle, loc in self.unverified_blocks()],
            "dismissed": dismissed,
            "tokens": {"run": tokens(total(self.token_rows())),
                       "lineages": {lineage: tokens(now) for lineage, _, now in self.lineage_waves()},
                       "previous_run": tokens(total(self.previous_tokens)) if self.previous_run_id else None},
        }

    def sarif(self) -> str:
        """One result per anchored location: its stable id as the fingerprint code scanning
        tracks it by, lineages, convergence and reviewers in its properties, a suppression
        when the ledger dismissed it; each lineage a tool extension naming its models."""
        results = []
        for b in self.bundles.values():
            if b.tally is None:
                continue
            for loc in b.tally.locations:
                results.append(self._sarif_result(b.name, loc))
        rules = [{"id": "scrum/convergent", "name": "ConvergentFinding",
                  "shortDescription": {"text": "Flagged by two or more distinct reviewer lineages"}},
                 {"id": "scrum/single-lineage", "name": "SingleLineageFinding",
                  "shortDescription": {"text": "Flagged by one reviewer lineage only"}}]
        extensions = []
        for lineage in dict.fromkeys(r.lineage for r in self.reviewers):
            mine = [r for r in self.reviewers if r.lineage == lineage]
            extensions.append({"name": lineage, "properties": {
                "reviewers": [r.name for r in mine], "kinds": sorted({r.kind for r in mine}),
                "models": [r.model for r in mine if r.model]}})
        tool: dict[str, Any] = {"driver": {"name": "gauntlet-scrum", "version": "0.1.0", "rules": rules}}
        if extensions:
            tool["extensions"] = extensions
        sarif = {"$schema": "https://json.schemastore.org/sarif-2.1.0.json", "version": "2.1.0",
                 "runs": [{"tool": tool, "results": results}]}
        return json.dumps(sarif, indent=2, ensure_ascii=False) + "\n"

    def _sarif_result(self, bundle: str, loc: LocationRow) -> dict[str, Any]:
        location: dict[str, Any] = {"physicalLocation": {"artifactLocation": {"uri": loc.path}}}
        if loc.start:
            location["physicalLocation"]["region"] = {"startLine": loc.start, "endLine": max(loc.end or loc.start, loc.start)}
        result: dict[str, Any] = {
            "ruleId": "scrum/convergent" if loc.convergent else "scrum/single-lineage",
            "level": SARIF_LEVEL.get(loc.severity, "note"),
            "message": {"text": loc.what or f"{loc.severity} finding from {', '.join(loc.reviewers)}"},
            "locations": [location],
            "partialFingerprints": {"gauntletFinding/v1": loc.id or f"{bundle}:{loc.where}"},
            "properties": {"bundle": bundle, "id": loc.id, "lineages": list(loc.lineages),
                           "reviewers": list(loc.reviewers), "convergent": loc.convergent, "severity": loc.severity,
                           "state": loc.state, "waves": loc.waves, "since": loc.since},
        }
        gone = self.dismissal(loc)
        if gone is not None:
            result["suppressions"] = [{"kind": "external", "status": "accepted", "justification": gone.reason,
                                       "properties": {"owner": gone.owner, "opened": gone.opened,
                                                      **({"expires": gone.expires} if gone.expires else {})}}]
        return result


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
