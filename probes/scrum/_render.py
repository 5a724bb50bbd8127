"""The scrum board rendered: the tables a terminal shows (rich renderables), scrum/summary.md
(the per-bundle, reviewer-engagement and token tables, each finding with its wave), the scrum
part of verdict.json, and scrum/findings.sarif (SARIF 2.1.0, a finding's stable id as its
fingerprint). Each reads the board; none changes it."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from rich import box
from rich.console import Console, ConsoleOptions, RenderResult
from rich.table import Table
from rich.text import Text

from ..core import FindingState, md_cell
from ..core.events import LocationRow, ReviewFinished
from ._board import ANY_LINEAGE, BundleState, ScrumBoard, seen
from ._findings import TokenSum, total

SARIF_LEVEL = {"BLOCK": "error", "WARN": "warning", "INFO": "note"}


def bundle_notes(board: ScrumBoard, b: BundleState) -> list[str]:
    """A tallied bundle's notes: the tally's own, then what the waves and the ledger say of it."""
    assert b.tally is not None
    said = list(b.tally.notes)
    states = [loc.state for loc in b.tally.locations]
    if board.previous_run_id and b.tally.locations + b.tally.resolved:
        waves = sorted({loc.waves for loc in b.tally.locations if loc.state == FindingState.RECURRING})
        span = f" ({waves[0]}{'–' + str(waves[-1]) if len(waves) > 1 else ''} waves)" if waves else ""
        said.append(f"{states.count(FindingState.NEW)} new, {states.count(FindingState.RECURRING)} recurring{span}, "
                    f"{len(b.tally.resolved)} resolved")
    dismissed = len(b.tally.locations) - len(board.counted(b))
    if dismissed:
        said.append(f"{dismissed} dismissed")
    return said


def tokens_line(board: ScrumBoard) -> str:
    return f"tokens this wave: {total(board.token_rows()).text()}" + (
        f" · previous wave ({board.previous_run_id}): {total(board.previous_tokens).text()}"
        if board.previous_run_id else "")


# ---- a terminal's tables -----------------------------------------------------------------------

def bundle_table(board: ScrumBoard) -> Table:
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column("Bundle")
    table.add_column("KB", justify="right")
    table.add_column("Convergent", justify="right")
    table.add_column("Distinct", justify="right")
    table.add_column("Notes")
    for b in board.bundles.values():
        kb = Text(f"{b.kb:.0f}", style="" if b.guard == "ok" else f"bundle.{b.guard}")
        if b.tally is None:
            table.add_row(b.name, kb, "", "", Text(b.reason or "…", style="bundle.refusal" if b.guard in ("refused", "error") else "dim"))
            continue
        convergent, distinct = board.counts(b)
        table.add_row(b.name, kb, str(convergent), str(distinct), "; ".join(bundle_notes(board, b)))
    return table


def engagement_table(board: ScrumBoard) -> Table:
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, title="Reviewer engagement (tokens out)")
    table.add_column("Bundle")
    table.add_column("KB", justify="right")
    for reviewer in board.reviewers:
        table.add_column(reviewer.name, justify="right")
    for b in board.bundles.values():
        cells = []
        for name in (reviewer.name for reviewer in board.reviewers):
            r = b.reviews.get(name)
            cells.append(Text("…" if r is None and name in b.reviews else _tokens(r), style=_token_style(b, name)))
        table.add_row(b.name, f"{b.kb:.0f}", *cells)
    return table


def lineage_table(board: ScrumBoard) -> Table:
    """Tokens (and cost) per lineage, this wave beside the previous one."""
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False,
                  title="Tokens per lineage" + (" (~ estimated)" if board.estimated() else ""))
    table.add_column("Lineage")
    if board.previous_run_id:
        table.add_column("Previous wave", justify="right")
    table.add_column("This wave", justify="right")
    for lineage, before, now in board.lineage_waves():
        previous = [before.text() if before else "–"] if board.previous_run_id else []
        table.add_row(lineage, *previous, now.text())
    return table


class ScrumTables:
    """The scrum as a terminal shows it: the bundles, the reviewers' engagement, the tokens
    per lineage, the headline."""

    def __init__(self, board: ScrumBoard) -> None:
        self.board = board

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield bundle_table(self.board)
        yield Text("")
        yield engagement_table(self.board)
        yield Text("")
        yield lineage_table(self.board)
        yield Text("")
        yield Text(self.board.headline(), style="bold")
        yield Text(tokens_line(self.board))


# ---- Markdown ------------------------------------------------------------------------------------

def tables_markdown(board: ScrumBoard) -> list[str]:
    """The tables (per bundle; reviewer engagement; tokens per lineage), the headline,
    and the BLOCKs from a single lineage."""
    names = [reviewer.name for reviewer in board.reviewers]
    lines = ["| Bundle | KB | Convergent (≥2 lineages) | Distinct | Notes |", "|---|---:|---:|---:|---|"]
    for b in board.bundles.values():
        if b.tally is None:
            lines.append(f"| {b.name} | {b.kb:.0f} | – | – | {md_cell(b.reason or 'not tallied')} |")
        else:
            convergent, distinct = board.counts(b)
            lines.append(f"| {b.name} | {b.kb:.0f} | {convergent} | {distinct} | "
                         f"{md_cell('; '.join(bundle_notes(board, b)))} |")
    lines += ["", "| Bundle | Bundle KB | " + " | ".join(f"{n} tokens out" for n in names) + " | Tokens in / out |",
              "|---|---:|" + "---:|" * len(names) + "---:|"]
    for b in board.bundles.values():
        cells = [_tokens(b.reviews.get(n)) + (" (thin)" if board.thin(b, n) else "") for n in names]
        lines.append(f"| {b.name} | {b.kb:.0f} | " + " | ".join(cells) + f" | {board.bundle_tokens(b).text()} |")
    previous = ["Previous wave"] if board.previous_run_id else []
    lines += ["", "| Lineage | " + " | ".join([*previous, "This wave"]) + " |",
              "|---|" + "---:|" * (len(previous) + 1)]
    for lineage, before, now in board.lineage_waves():
        cells = [before.text() if before else "–"] if previous else []
        lines.append(f"| {lineage} | " + " | ".join([*cells, now.text()]) + " |")
    lines.append("| **run** | " + " | ".join(
        ([total(board.previous_tokens).text()] if previous else []) + [total(board.token_rows()).text()]) + " |")
    lines += ["", f"**{board.headline()}**", "",
              tokens_line(board) + (" (~ estimated: the gateway sent no usage)" if board.estimated() else ""), ""]
    lost = board.lost_lineages()
    if lost:
        lines += [f"Lineages lost (every review failed; {len(board.lineages()) - len(lost)} of "
                  f"{len(board.lineages())} reviewed, {board.lineages_needed()} needed):", ""]
        lines += [f"- lineage {md_cell(lineage)} lost: {md_cell(error)}" for lineage, error in lost]
        lines.append("")
    unverified = board.unverified_blocks()
    if unverified:
        blocking = board.block_on == ANY_LINEAGE
        lines += [f"Unverified BLOCKs (one lineage; {'they block: block_on = any-lineage' if blocking else 'not blocking'}):",
                  ""]
        lines += [f"- {bundle} `{md_cell(loc.where)}` ({loc.lineages[0]}, {loc.id or 'no id'}): {md_cell(loc.what)}"
                  for bundle, loc in unverified]
        lines.append("")
    return lines


def summary_markdown(board: ScrumBoard, title: str) -> str:
    """scrum/summary.md: the tables, then each bundle's findings with their wave."""
    lines = [f"# Scrum: {title}", "", *tables_markdown(board)]
    if board.previous_run_id:
        lines += [f"Compared with the previous wave, run `{board.previous_run_id}`.", ""]
    for b in board.bundles.values():
        t = b.tally
        if t and (t.locations or t.resolved):
            lines += [f"## {b.name}", "", f"`{t.line}`", "", "| Id | Location | Lineages | Severity | Seen | What |",
                      "|---|---|---|---|---|---|"]
            for loc in t.locations:
                mark = " **convergent**" if loc.convergent else ""
                gone = board.dismissal(loc)
                what = md_cell(loc.what) + (f" — *dismissed: {md_cell(gone.reason)} ({md_cell(gone.owner)}"
                                            + (f", until {gone.expires}" if gone.expires else "") + ")*"
                                            if gone else "")
                lines.append(f"| `{loc.id or '–'}` | `{md_cell(loc.where)}` | {', '.join(loc.lineages)}{mark} | "
                             f"{loc.severity} | {seen(loc, 'markdown')} | {what} |")
            lines += [f"| `{r.id}` | `{md_cell(r.where)}` | {', '.join(r.lineages)} | {r.severity} | "
                      f"{FindingState.RESOLVED} (seen {r.waves} wave{'s' if r.waves != 1 else ''}) | {md_cell(r.what)} |"
                      for r in t.resolved]
            if t.unanchored:
                lines += ["", "Unanchored (shown, never counted):", ""]
                lines += [f"- `{md_cell(u.where)}` ({u.reviewer}, {u.severity}): {md_cell(u.why)}"
                          for u in t.unanchored]
            lines.append("")
    return "\n".join(lines) + "\n"


# ---- JSON and SARIF ------------------------------------------------------------------------------

def scrum_json(board: ScrumBoard) -> dict[str, Any]:
    """The scrum phase in verdict.json."""
    def finding(bundle: str, loc: LocationRow) -> dict[str, Any]:
        return {"bundle": bundle, "id": loc.id, "where": loc.where, "lineages": list(loc.lineages),
                "what": loc.what, "state": loc.state, "waves": loc.waves, "since": loc.since}

    def tokens(s: TokenSum) -> dict[str, Any]:
        return {"tokens_in": s.tokens_in, "tokens_out": s.tokens_out, "estimated": s.estimated, "cost": s.cost}

    dismissed = [dict(finding(b.name, loc), reason=d.reason, owner=d.owner, expires=d.expires)
                 for b in board.bundles.values() for loc in (b.tally.locations if b.tally else ())
                 if (d := board.dismissal(loc)) is not None]
    return {
        "headline": board.headline(),
        "block_on": board.block_on,
        "previous_run_id": board.previous_run_id or None,
        "bundles": [{"bundle": b.name, "kb": b.kb, "guard": b.guard, "reason": b.reason,
                     "convergent": board.counts(b)[0] if b.tally else None,
                     "distinct": board.counts(b)[1] if b.tally else None,
                     "convergent_blocks": sum(1 for n, _ in board.convergent_blocks() if n == b.name)
                     if b.tally else None,
                     "notes": bundle_notes(board, b) if b.tally else [],
                     "reviewers": [asdict(r) for r in b.tally.reviewers] if b.tally else [],
                     "tokens": tokens(board.bundle_tokens(b)),
                     "findings": [finding(b.name, loc) for loc in board.counted(b)],
                     "resolved": [asdict(r) for r in b.tally.resolved] if b.tally else []}
                    for b in board.bundles.values()],
        "unverified_blocks": [finding(bundle, loc) for bundle, loc in board.unverified_blocks()],
        "dismissed": dismissed,
        "tokens": {"run": tokens(total(board.token_rows())),
                   "lineages": {lineage: tokens(now) for lineage, _, now in board.lineage_waves()},
                   "previous_run": tokens(total(board.previous_tokens)) if board.previous_run_id else None},
    }


def findings_sarif(board: ScrumBoard) -> str:
    """scrum/findings.sarif: one result per anchored location, its stable id as the fingerprint
    code scanning tracks it by, lineages, convergence and reviewers in its properties, a
    suppression when the ledger dismissed it; each lineage a tool extension naming its models."""
    results = [_sarif_result(board, b.name, loc) for b in board.bundles.values() if b.tally is not None
               for loc in b.tally.locations]
    rules = [{"id": "scrum/convergent", "name": "ConvergentFinding",
              "shortDescription": {"text": "Flagged by two or more distinct reviewer lineages"}},
             {"id": "scrum/single-lineage", "name": "SingleLineageFinding",
              "shortDescription": {"text": "Flagged by one reviewer lineage only"}}]
    extensions = []
    for lineage in board.lineages():
        mine = [r for r in board.reviewers if r.lineage == lineage]
        extensions.append({"name": lineage, "properties": {
            "reviewers": [r.name for r in mine], "kinds": sorted({r.kind for r in mine}),
            "models": [r.model for r in mine if r.model]}})
    tool: dict[str, Any] = {"driver": {"name": "gauntlet-scrum", "version": "0.1.0", "rules": rules}}
    if extensions:
        tool["extensions"] = extensions
    sarif = {"$schema": "https://json.schemastore.org/sarif-2.1.0.json", "version": "2.1.0",
             "runs": [{"tool": tool, "results": results}]}
    return json.dumps(sarif, indent=2, ensure_ascii=False) + "\n"


def _sarif_result(board: ScrumBoard, bundle: str, loc: LocationRow) -> dict[str, Any]:
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
    gone = board.dismissal(loc)
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
