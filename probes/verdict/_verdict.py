"""Phase 4's verdict, computed from the event stream so it can be shown live.

The rules: BLOCK on any failed smoke, parity status mismatch, uncovered body divergence,
convergent BLOCK finding, or a phase asked for that could not run (reported as
*incomplete*, never as a pass); BLOCK too, incomplete, when the run could not see what it
was asked to judge: nothing checked at all, a reviewer lineage lost, a probe mostly
inconclusive, a misaimed target. SHIP_WITH_KNOWN_GAP when only covered divergences remain;
SHIP otherwise.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ..core.events import (
    ComparedWithPrevious,
    Event,
    InternalError,
    PhaseFinished,
    PhaseStarted,
    RunStarted,
)
from ..parity import CaseRow, ParityBoard, examples, noise_markdown
from ..scrum import ScrumBoard
from ..smokes import SmokeBoard
from ._gaps import KnownGap
from ._latency import latency_verdict

SHIP = "SHIP"
SHIP_WITH_KNOWN_GAP = "SHIP_WITH_KNOWN_GAP"
BLOCK = "BLOCK"
SCHEMA_VERSION = 1
EXIT_BLOCK = 1
CASES_LISTED = 200  # cases named in verdict.json; parity/results.jsonl.gz has every one
CANDIDATE_NOISE_PATHS = 5  # paths named per candidate in its candidate-noise reason
EXIT_INTERNAL = 3  # a fault of gauntlet itself, so a script can tell a crash from a BLOCK
EXIT_INTERRUPTED = 130


@dataclass(frozen=True)
class Verdict:
    verdict: str
    reasons: tuple[str, ...]
    complete: bool
    known_gaps: tuple[str, ...] = ()  # what each covering gap covers, in words
    gap_ids: tuple[str, ...] = ()  # the ids of the known gaps this verdict relies on
    internal_error: bool = False  # gauntlet itself failed somewhere in the run

    def exit_code(self, *, strict: bool = False) -> int:
        if self.internal_error:
            return EXIT_INTERNAL
        if self.verdict == BLOCK or (strict and self.verdict == SHIP_WITH_KNOWN_GAP):
            return EXIT_BLOCK
        return 0


@dataclass
class PhaseState:
    state: str = "pending"  # pending | running | done | incomplete
    summary: str = ""
    reason: str = ""


@dataclass
class VerdictTracker:
    """Holds what each phase reported; `current()` is the verdict as of now."""

    phases: dict[str, PhaseState] = field(default_factory=dict)
    smokes: SmokeBoard = field(default_factory=SmokeBoard)
    parity: ParityBoard = field(default_factory=ParityBoard)
    scrum: ScrumBoard = field(default_factory=ScrumBoard)
    run: RunStarted | None = None
    gaps: list[KnownGap] = field(default_factory=list)
    today: date = field(default_factory=date.today)
    comparison: ComparedWithPrevious | None = None
    internal_errors: list[InternalError] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.scrum.today = self.today  # a finding's dismissal expires by the same day as a gap

    def apply(self, t: float, event: Event) -> None:
        self.smokes.apply(t, event)
        self.parity.apply(t, event)
        self.scrum.apply(t, event)
        if isinstance(event, ComparedWithPrevious):
            self.comparison = event
        elif isinstance(event, InternalError):
            self.internal_errors.append(event)
        elif isinstance(event, RunStarted):
            self.run = event
            self.phases = {p: PhaseState() for p in event.phases}
        elif isinstance(event, PhaseStarted):
            self.phases.setdefault(event.phase, PhaseState()).state = "running"
        elif isinstance(event, PhaseFinished):
            st = self.phases.setdefault(event.phase, PhaseState())
            st.state = "done" if event.complete else "incomplete"
            st.summary, st.reason = event.summary, event.reason

    def current(self, *, final: bool = False) -> Verdict:
        """The verdict now; `final` treats phases that never finished as incomplete."""
        reasons: list[str] = []
        for row in self.smokes.failed():
            reasons.append(f"smoke {row.name} ({row.layer}) {'timed out' if row.status == 'timeout' else 'failed'}"
                           + (f": {row.reason}" if row.reason and row.status != "timeout" else ""))
        reasons += self._scrum_reasons()
        parity_reasons, covered, gap_ids = self._parity_reasons()
        reasons += parity_reasons
        latency_reasons, latency_covered, latency_gaps = latency_verdict(self.parity.latency, self.gaps, self.today, examples)
        reasons += latency_reasons
        covered += latency_covered
        gap_ids = tuple(dict.fromkeys((*gap_ids, *latency_gaps)))
        if self.comparison is not None:
            reasons += list(self.comparison.regressed)
        if final and not reasons and not self.checked():
            reasons.append(f"incomplete: nothing was checked ({self.smokes_ran()} smokes ran, {self.scrum.reviewed()} "
                           f"bundles reviewed, {self.parity_compared()} parity cases compared)")
        complete = True
        for name, st in self.phases.items():
            if name == "verdict":
                continue
            if st.state == "incomplete" or (final and st.state != "done"):
                complete = False
                why = "did not run to the end" if st.state != "pending" else "did not run"
                reasons.append(f"incomplete: {name} {why}" + (f" ({st.reason})" if st.reason else ""))
        for error in self.internal_errors:
            st = self.phases.get(error.phase)
            if st is None or st.state != "incomplete":  # a crashed phase already says so above
                reasons.append(f"incomplete: internal error{' in ' + error.phase if error.phase else ''}: "
                               f"{error.message}")
        if any(r.startswith("incomplete:") for r in reasons):
            complete = False
        crashed = bool(self.internal_errors)
        if reasons:
            return Verdict(BLOCK, tuple(reasons), complete, tuple(covered), gap_ids, crashed)
        if covered:
            return Verdict(SHIP_WITH_KNOWN_GAP, tuple(covered), complete, tuple(covered), gap_ids, crashed)
        return Verdict(SHIP, ("every phase that ran is clean",), complete, internal_error=crashed)

    def smokes_ran(self) -> int:
        return sum(1 for row in self.smokes.rows.values() if row.status in ("pass", "fail", "timeout"))

    def parity_compared(self) -> int:
        """Cases whose answers were compared and told something (not errors, not all noise)."""
        tally = self.parity.tally
        return tally.cases - tally.errored - tally.inconclusive

    def checked(self) -> bool:
        """Whether any phase saw anything it was asked to judge: a gate never passes on nothing."""
        return bool(self.smokes_ran() or self.scrum.reviewed() or self.parity.tally.cases)

    def _scrum_reasons(self) -> list[str]:
        reasons = [f"incomplete: scrum bundle {b.name} was not reviewed ({b.reason})" for b in self.scrum.refused()]
        reasons += [f"incomplete: scrum bundle {b.name}: {b.unreviewed_reason()}" for b in self.scrum.unreviewed()]
        return reasons + self.scrum.lineage_reasons() + self.scrum.block_reasons()

    def gap_for(self, r: CaseRow, target: str,
                kind: str | None = None) -> tuple[KnownGap | None, KnownGap | None]:
        """(the gap covering this divergence, an expired gap that would have); `kind` is the
        body's kind unless given (a header divergence)."""
        kind = kind or r.kinds.get(target)
        fingerprint, class_id = r.fingerprints.get(target), r.classes.get(target)
        covering = next((g for g in self.gaps if g.covers(r.case, kind, fingerprint, class_id, self.today)), None)
        expired = next((g for g in self.gaps if g.expired(self.today)
                        and g.covers(r.case, kind, fingerprint, class_id, g.expires or self.today)), None)
        return covering, expired

    def _parity_reasons(self) -> tuple[list[str], list[str], tuple[str, ...]]:
        """(reasons that block, what known gaps cover, the ids of those gaps), one sentence
        per way of failing: a class of divergence, a pair of status codes, an error, however
        many cases share it."""
        board = self.parity
        reasons: list[str] = []
        covered: list[str] = []
        gap_ids: dict[str, None] = {}
        errors: dict[str, list[str]] = {}
        statuses: dict[str, list[str]] = {}
        for target, (what, cause) in board.tally.misaimed():
            reasons.append(f"incomplete: parity target {target} misaimed: {what} — {cause}")
        tally = board.tally
        if tally.cases and tally.inconclusive / tally.cases > board.max_inconclusive:
            reasons.append(f"incomplete: parity: {tally.inconclusive:,} of {tally.cases:,} cases inconclusive "
                           f"({tally.inconclusive / tally.cases * 100:.0f} %), over [parity] max_inconclusive "
                           f"{board.max_inconclusive * 100:g} % (the reference's answers are noise through and "
                           "through there: nothing was compared)")
        for target, paths in tally.candidate_noise().items():
            told = "; ".join(f"{path} in {count:,} case(s) ({examples(named)}{' …' if count > len(named) else ''})"
                             for path, count, named in paths[:CANDIDATE_NOISE_PATHS])
            more = f"; and {len(paths) - CANDIDATE_NOISE_PATHS} more paths" if len(paths) > CANDIDATE_NOISE_PATHS else ""
            reasons.append(f"parity: {target} disagrees with itself (candidate noise): its own answers differ where "
                           f"the reference's do not, at {told}{more}")
        for r in board.done():
            if r.errors:
                detail = "; ".join(f"{t}: {e}" for t, e in r.errors.items())
                errors.setdefault(f"could not be compared ({detail})", []).append(r.case)
            elif not r.status_match:
                codes = ", ".join(f"{t} {s}" for t, s in r.statuses.items())
                extra = f"; {'; '.join(r.expect_failures)}" if r.expect_failures else ""
                statuses.setdefault(f"status codes differ ({codes}{extra})", []).append(r.case)
        for sentence, cases in (*errors.items(), *statuses.items()):
            reasons.append(f"{_cases(cases)}: {sentence}")
        for group in board.class_groups():
            split: dict[tuple[str, str], list[str]] = {}
            for case in group.cases:
                gap, expired = self.gap_for(board.results[case], group.target, group.kind)
                key = ("covered", gap.id) if gap else ("expired", expired.id) if expired else ("open", "")
                split.setdefault(key, []).append(case)
            label = f"{group.target} {group.kind} divergence"
            what = f"class {group.class_id}: {group.description}" if group.class_id else group.description
            about = f" — class {group.class_id}: {group.description}" if group.class_id else ""
            for (state, gap_id), cases in split.items():
                gap = next((g for g in self.gaps if g.id == gap_id), None)
                if state == "covered" and gap is not None:
                    gap_ids[gap.id] = None
                    covered.append(f"{_cases(cases)}: {label} covered by known gap {gap.id} (owner {gap.owner}"
                                   + (f", expires {gap.expires}" if gap.expires else "") + f"){about}")
                elif state == "expired" and gap is not None:
                    reasons.append(f"{_cases(cases)}: {label}; known gap {gap.id} expired on {gap.expires}{about}")
                else:
                    reasons.append(f"{_cases(cases)}: {label} not covered by a known gap ({what})")
        return reasons, covered, tuple(gap_ids)


def verdict_json(tracker: VerdictTracker, verdict: Verdict, *, interrupted: bool,
                 duration: float) -> str:
    """verdict.json: the facts for machines (schema_version, verdict, reasons, complete, phases)."""
    smokes = tracker.smokes
    phases: dict[str, Any] = {}
    for name, st in tracker.phases.items():
        if name != "verdict":  # this file is the verdict phase's own result
            phases[name] = {"state": st.state, "summary": st.summary, "reason": st.reason}
    if "smokes" in phases:
        phases["smokes"].update({
            "total": len(smokes.rows),
            "passed": smokes.count("pass"),
            "failed": smokes.count("fail"),
            "timed_out": smokes.count("timeout"),
            "skipped": smokes.count("skipped"),
            "wall_seconds": round(smokes.wall, 3),
            "headline": smokes.headline(),
            "smokes": [{"name": r.name, "layer": r.layer, "status": r.status,
                        "duration": round(r.duration, 3), "exit_code": r.exit_code, "reason": r.reason}
                       for r in smokes.rows.values()],
        })
    if "scrum" in phases:
        phases["scrum"].update(tracker.scrum.verdict_json())
    if "parity" in phases:
        board = tracker.parity
        phases["parity"].update({
            "reference": board.reference,
            "targets": list(board.targets),
            "cases_total": len(board.done()),
            "status_match": sum(1 for r in board.done() if r.status_match),
            "body_divergent": len(board.body_divergent()),
            "errors": len(board.errored()),
            "headline": board.headline(),
            "candidate_noise": {target: [{"path": path, "cases_total": count, "cases": named}
                                         for path, count, named in paths]
                                for target, paths in board.tally.candidate_noise().items()},
            "classes": [{"target": g.target, "class": g.class_id, "kind": g.kind, "description": g.description,
                         "cases_total": len(g.cases), "cases": g.cases[:CASES_LISTED]}
                        for g in board.class_groups()],
            "cases": [{"case": r.case, "statuses": r.statuses, "errors": r.errors,
                       "status_match": r.status_match, "body_match": r.body_match,
                       "kinds": r.kinds, "status_kinds": r.status_kinds, "classes": r.classes,
                       "fingerprints": r.fingerprints}
                      for r in board.done()[:CASES_LISTED]],
            "cases_listed": min(CASES_LISTED, len(board.done())),
        })
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


def _cases(cases: list[str]) -> str:
    """`parity case x`, or `parity: 15,000 cases (a, b, c and 14,997 more)`."""
    if len(cases) == 1:
        return f"parity case {cases[0]}"
    return f"parity: {len(cases):,} cases ({examples(cases)})"


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
        lines += ["## Phase 1: smoke chain", "", f"**{tracker.smokes.headline()}**", "",
                  "| Layer | Smokes | Pass | Fail | Timeout | Skipped |", "|---|---:|---:|---:|---:|---:|"]
        for layer, rows in tracker.smokes.layers().items():
            counts = [sum(1 for r in rows if r.status == s) for s in ("pass", "fail", "timeout", "skipped")]
            lines.append(f"| {layer} | {len(rows)} | " + " | ".join(map(str, counts)) + " |")
        lines.append("")
    if "scrum" in tracker.phases:
        lines += ["## Phase 2: per-component scrum", "", *tracker.scrum.tables_markdown()]
    if "parity" in tracker.phases:
        board = tracker.parity
        lines += ["## Phase 3: cross-runtime parity", "", f"**{board.headline()}**", "", *board.table_markdown(), "",
                  *noise_markdown(board.noise)]
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
