"""The verdict rendered: verdict.json (the facts for machines), verdict.md (a release synthesis,
a section per phase, each phase's own renderers), and the bare verdict written when the full
report could not be. Each reads the tracker; none changes it."""

from __future__ import annotations

import json
from typing import Any

from ..parity import parity_json, parity_markdown
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
        lines += ["## Phase 3: cross-runtime parity", "", *parity_markdown(tracker.parity)]
    used = [g for g in tracker.gaps if g.id in verdict.gap_ids]
    if used:
        lines += ["## Cutover-blocking gaps", "", "Known gaps that this verdict relies on: each must be closed "
                  "before a cutover.", ""]
        states = tracker.comparison.gap_states if tracker.comparison else {}
        for i, g in enumerate(used, 1):
            expiry = f", expires {g.expires}" if g.expires else ""
            state = states.get(g.id, "first run of this config: nothing to compare with" if tracker.comparison is None
                               else "documented")
            lines.append(f"{i}. **{g.id}** — `{g.case}` {g.kind}: {g.note} (owner {g.owner}, opened {g.opened}{expiry}); "
                         f"{state}.")
        lines.append("")
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
