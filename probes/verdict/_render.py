"""The verdict rendered: verdict.json (the facts for machines), verdict.md (a release synthesis,
a section per phase, each phase's own renderers), and the bare verdict written when the full
report could not be. Each reads the tracker; none changes it."""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from ..core import InputError, md_cell
from ..parity import (
    cases_markdown,
    classes_markdown,
    latency_markdown,
    noise_markdown,
    parity_json,
    parity_markdown,
)
from ..scrum import scrum_json, tables_markdown
from ..smokes import layers_markdown, smokes_json
from ._verdict import Verdict, VerdictTracker

SCHEMA_VERSION = 1


def verdict_json(tracker: VerdictTracker, verdict: Verdict, *, interrupted: bool,
                 duration: float) -> str:
    """verdict.json: the facts for machines (schema_version, verdict, reasons, complete, phases)."""
    phases: dict[str, Any] = {}
    for name, st in tracker.phases.items():
        if name != "verdict":  # this file is the verdict phase's own result
            phases[name] = {"state": st.state, "summary": st.summary, "reason": st.reason}
    if "smokes" in phases:
        phases["smokes"].update(smokes_json(tracker.smokes))
    if "scrum" in phases:
        phases["scrum"].update(scrum_json(tracker.scrum))
    if "parity" in phases:
        phases["parity"].update(parity_json(tracker.parity))
        if tracker.mirror.plan is not None:
            phases["parity"]["mirror"] = {"listen": tracker.mirror.plan.listen, "sink": tracker.mirror.plan.sink,
                                          "max_dropped": str(tracker.mirror.limit), **asdict(tracker.mirror.counts)}
    comparison = tracker.comparison
    payload = {
        "schema_version": SCHEMA_VERSION,
        "run_id": tracker.run.run_id if tracker.run else None,
        "name": tracker.run.name if tracker.run else None,
        "verdict": verdict.verdict,
        "reasons": list(verdict.reasons),
        "complete": verdict.complete,
        "internal_error": verdict.internal_error,
        "interrupted": interrupted,
        "duration_seconds": round(duration, 3),
        "known_gaps": list(verdict.known_gaps),
        "phases": phases,
        "comparison": None if comparison is None else {
            "previous_run_id": comparison.previous_run_id, "lines": [line.text for line in comparison.lines],
            "regressed": list(comparison.regressed),
            "engagement": [{"wave": row.wave, "kb": row.kb, "tokens_out": row.tokens} for row in comparison.engagement]},
    }
    return json.dumps(payload, indent=2, ensure_ascii=False) + "\n"


def bare_verdict(verdict: Verdict, name: str) -> str:
    """The verdict alone, for when the full report could not be rendered: never no verdict."""
    if name.endswith(".html"):
        items = "".join(f"<li>{html.escape(reason)}</li>" for reason in verdict.reasons)
        return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" '
                f'content="default-src \'none\'"><title>{verdict.verdict}</title></head><body><h1>{verdict.verdict}'
                f'{"" if verdict.complete else " (incomplete)"}</h1><ul>{items}</ul></body></html>\n')
    if name.endswith(".json"):
        return json.dumps({"schema_version": SCHEMA_VERSION, "verdict": verdict.verdict,
                           "reasons": list(verdict.reasons), "complete": verdict.complete,
                           "internal_error": verdict.internal_error}, indent=2, ensure_ascii=False) + "\n"
    return "\n".join(["# Gauntlet verdict", "", f"**{verdict.verdict}**"
                      + ("" if verdict.complete else " (incomplete)"), "",
                      *(f"- {reason}" for reason in verdict.reasons)]) + "\n"


def verdict_markdown(tracker: VerdictTracker, verdict: Verdict, *, interrupted: bool) -> str:
    """verdict.md: reads like a release synthesis, one section per phase."""
    name = tracker.run.name if tracker.run else "gauntlet"
    run_id = tracker.run.run_id if tracker.run else "?"
    lines = [f"# Gauntlet verdict: {name}", "", f"Run `{run_id}`"
             + (" — **interrupted**" if interrupted else ""), ""]
    if "smokes" in tracker.phases:
        lines += ["## Phase 1: smoke chain", "", *layers_markdown(tracker.smokes), ""]
    if "scrum" in tracker.phases:
        lines += ["## Phase 2: per-component scrum", "", *tables_markdown(tracker.scrum)]
    if "parity" in tracker.phases:
        lines += ["## Phase 3: cross-runtime parity", "", *_mirror_lines(tracker), *parity_markdown(tracker.parity)]
    gaps = _gap_lines(tracker, verdict)
    if gaps:
        lines += ["## Cutover-blocking gaps", "", "Known gaps that this verdict relies on: each must be closed "
                  "before a cutover.", "", *gaps, ""]
    if tracker.comparison is not None:
        c = tracker.comparison
        lines += [f"## Compared with the previous run (`{c.previous_run_id}`)", ""]
        lines += [f"- {line.text}" for line in c.lines[1:]]
        if c.engagement:
            reviewers = sorted({r for row in c.engagement for r in row.tokens})
            lines += ["", "| Wave | Bundle KB | " + " | ".join(f"{r} tokens out" for r in reviewers) + " |",
                      "|---|---:|" + "---:|" * len(reviewers)]
            for row in c.engagement:
                lines.append(f"| {row.wave} | {row.kb:.0f} | "
                             + " | ".join(str(row.tokens.get(r, "–")) for r in reviewers) + " |")
        lines.append("")
    lines += ["## Verdict", "", f"**{verdict.verdict}**" + ("" if verdict.complete else " (incomplete)"), ""]
    lines += [f"- {reason}" for reason in verdict.reasons]
    return "\n".join(lines) + "\n"


def _gap_lines(tracker: VerdictTracker, verdict: Verdict) -> list[str]:
    """A numbered line per known gap the verdict relies on, with what became of it since the
    previous run."""
    states = tracker.comparison.gap_states if tracker.comparison else {}
    lines = []
    for i, g in enumerate((g for g in tracker.gaps if g.id in verdict.gap_ids), 1):
        expiry = f", expires {g.expires}" if g.expires else ""
        state = states.get(g.id, "first run of this config: nothing to compare with" if tracker.comparison is None
                           else "documented")
        lines.append(f"{i}. **{g.id}** — `{g.case}` {g.kind}: {g.note} (owner {g.owner}, opened {g.opened}{expiry}); "
                     f"{state}.")
    return lines


# ---- Markdown that fits: a CI summary, a pull request's comment -----------------------------------

GITHUB_STEP_SUMMARY_BYTES = 1024 * 1024  # what GitHub keeps of one step's summary
MIN_LIMIT = 200  # below it not even the verdict and its footing fit


@dataclass(frozen=True)
class _Block:
    """Part of a fitted summary: `lines`, the first `keep` of which (a heading, a table's head)
    stand or fall together; past them a line at a time may be cut, said by `more`."""

    name: str
    lines: list[str]
    keep: int = 0
    more: str = "- … and {n:,} more"


def fitted_markdown(tracker: VerdictTracker, verdict: Verdict, *, limit: int, measure: Callable[[str], int] = len,
                    interrupted: bool = False) -> str:
    """The verdict as Markdown within `limit` (as `measure` counts it: characters for a pull
    request's comment, UTF-8 bytes for GitHub's step summary), what matters first: the verdict
    and its reasons, each phase's headline, the divergence classes, the scrum's bundles, the
    known gaps, the comparison, and only then the cases, latency and noise tables. The first
    part that does not fit whole is cut a line at a time, and the parts after it are named as
    left out; InputError when `limit` cannot hold even the verdict."""
    name = tracker.run.name if tracker.run else "gauntlet"
    run_id = tracker.run.run_id if tracker.run else "?"
    head = [f"## Gauntlet verdict: {md_cell(name)}", "",
            f"**{verdict.verdict}**" + ("" if verdict.complete else " (incomplete)")
            + (" — interrupted" if interrupted else "") + f" · run `{run_id}`", ""]
    blocks = [_Block("reasons", [f"- {md_cell(reason)}" for reason in verdict.reasons] + [""],
                     more="- … and {n:,} more reasons (verdict.md)")]
    headlines = []
    if "smokes" in tracker.phases:
        headlines.append(f"- smokes: {tracker.smokes.headline()}")
    if "scrum" in tracker.phases:
        headlines.append(f"- scrum: {tracker.scrum.headline()}")
    if "parity" in tracker.phases:
        headlines.append(f"- parity: {tracker.parity.headline()}")
        if tracker.mirror.plan is not None:
            headlines.append(f"- mirror: {tracker.mirror.line()}")
    blocks.append(_Block("headlines", [*headlines, ""]))
    if "parity" in tracker.phases and (classes := classes_markdown(tracker.parity)):
        blocks.append(_Block("divergence classes", ["### Divergence classes", "", *classes, ""], keep=4,
                             more="| … | {n:,} more classes (verdict.json) | | | |"))
    if "scrum" in tracker.phases:
        bundles = tables_markdown(tracker.scrum)
        table = bundles[:bundles.index("") if "" in bundles else len(bundles)]
        blocks.append(_Block("scrum bundles", ["### Scrum", "", *table, ""], keep=4,
                             more="| … | {n:,} more bundles | | | |"))
    if "smokes" in tracker.phases:
        blocks.append(_Block("smoke layers", ["### Smokes", "", *layers_markdown(tracker.smokes)[2:], ""], keep=4,
                             more="| … {n:,} more layers | | | | | |"))
    gaps = _gap_lines(tracker, verdict)
    if gaps:
        blocks.append(_Block("known gaps", ["### Cutover-blocking gaps", "", *gaps, ""], keep=2,
                             more="… and {n:,} more gaps"))
    if tracker.comparison is not None:
        c = tracker.comparison
        blocks.append(_Block("comparison", [f"### Compared with run `{c.previous_run_id}`", "",
                                            *(f"- {md_cell(line.text)}" for line in c.lines[1:]), ""], keep=2))
    if "parity" in tracker.phases:
        table = cases_markdown(tracker.parity)
        table = table[:table.index("")] if "" in table else table  # the note on the rest: said by `more`
        blocks.append(_Block("cases", ["### Cases", "", *table, ""], keep=4,
                             more=f"| … {{n:,}} more rows; all {len(tracker.parity.done()):,} cases are in "
                                  "parity/results.jsonl.gz |"))
        if tracker.parity.latency.plan is not None:
            blocks.append(_Block("latency", [*latency_markdown(tracker.parity.latency)], keep=4,
                                 more="| … {n:,} more timed cases |"))
        if tracker.parity.noise is not None:
            blocks.append(_Block("learned noise", [*noise_markdown(tracker.parity.noise)], keep=4,
                                 more="| … {n:,} more rows (parity/noise.json) |"))
    return _fit(head, blocks, limit, measure, run_id)


def _fit(head: list[str], blocks: list[_Block], limit: int, measure: Callable[[str], int], run_id: str) -> str:
    """The head and the blocks in order while they fit whole; the first that does not, cut a line
    at a time, then a footing that names what was left out. Room for that footing is kept all
    along (naming fewer parts later, it only shrinks)."""
    def size(lines: list[str]) -> int:
        return measure("".join(line + "\n" for line in lines))

    whole = head + [line for block in blocks for line in block.lines]
    if size(whole) <= limit:
        return "\n".join(whole) + "\n"
    out = list(head)
    for i, block in enumerate(blocks):
        def footer(left_out: list[_Block]) -> list[str]:
            return ["", f"_Cut to fit {limit:,}: the whole verdict is in verdict.md and report.html of run `{run_id}`"
                        + (f"; left out: {', '.join(b.name for b in left_out)}" if left_out else "") + "._"]

        room = limit - size(footer(blocks[i:]))  # the longest footing from here on
        if size(out) > room:
            raise InputError(f"--max-chars {limit:,} is too small: the verdict alone takes "
                             f"{size(out + footer(blocks[i:])):,}")
        if size(out + block.lines) <= room:
            out += block.lines
            continue
        rows = block.lines[block.keep:]
        while rows and not rows[-1]:
            rows.pop()
        taken: list[str] = []
        for row in rows:
            if size(out + block.lines[:block.keep] + taken + [row, block.more.format(n=len(rows))]) > room:
                break
            taken.append(row)
        if taken:
            more = block.more.format(n=len(rows) - len(taken))
            out += block.lines[:block.keep] + taken + ([more] if len(taken) < len(rows) else [])
        return "\n".join(out + footer(blocks[i + 1:] if taken else blocks[i:])) + "\n"
    return "\n".join(out) + "\n"


def _mirror_lines(tracker: VerdictTracker) -> list[str]:
    """Where a mirror's cases came from: live requests, and how many were answered, copied, dropped."""
    plan = tracker.mirror.plan
    if plan is None:
        return []
    fed = "as a sink fed by another proxy" if plan.sink else "as a reverse proxy"
    return [f"Live requests mirrored {fed} on `{plan.listen}` (sample {plan.sample * 100:g}%, max_dropped "
            f"{tracker.mirror.limit}): {tracker.mirror.line()}.", ""]
