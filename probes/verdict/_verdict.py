"""Phase 4's verdict, computed from the event stream so it can be shown live.

The rules: BLOCK on any failed smoke, parity status mismatch, uncovered body divergence,
convergent BLOCK finding, or a phase asked for that could not run (reported as
*incomplete*, never as a pass); BLOCK too, incomplete, when the run could not see what it
was asked to judge: nothing checked at all, a reviewer lineage lost, a probe mostly
inconclusive, a misaimed target. SHIP_WITH_KNOWN_GAP when only covered divergences remain;
SHIP otherwise. verdict.md and verdict.json are made from the tracker in _render.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from ..core import EXIT_BLOCK, EXIT_INTERNAL, EXIT_INTERRUPTED, Reason, SmokeStatus, VerdictWord
from ..core.events import (
    ComparedWithPrevious,
    Event,
    InternalError,
    PhaseFinished,
    PhaseStarted,
    RunStarted,
)
from ..mirror import MirrorBoard
from ..parity import CaseRow, ParityBoard, examples
from ..scrum import ScrumBoard
from ..smokes import SmokeBoard
from ._gaps import KnownGap
from ._latency import latency_verdict

CANDIDATE_NOISE_PATHS = 5  # paths named per candidate in its candidate-noise reason


@dataclass(frozen=True)
class Verdict:
    verdict: VerdictWord
    reasons: tuple[str, ...]
    complete: bool
    known_gaps: tuple[str, ...] = ()  # what each covering gap covers, in words
    gap_ids: tuple[str, ...] = ()  # the ids of the known gaps this verdict relies on
    internal_error: bool = False  # gauntlet itself failed somewhere in the run

    def exit_code(self, *, strict: bool = False) -> int:
        if self.internal_error:
            return EXIT_INTERNAL
        if self.verdict == VerdictWord.BLOCK or (strict and self.verdict == VerdictWord.SHIP_WITH_KNOWN_GAP):
            return EXIT_BLOCK
        return 0


class PhaseStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    INCOMPLETE = "incomplete"


@dataclass
class PhaseState:
    state: PhaseStatus = PhaseStatus.PENDING
    summary: str = ""
    reason: str = ""


@dataclass
class VerdictTracker:
    """Holds what each phase reported; `current()` is the verdict as of now."""

    phases: dict[str, PhaseState] = field(default_factory=dict)
    smokes: SmokeBoard = field(default_factory=SmokeBoard)
    parity: ParityBoard = field(default_factory=ParityBoard)
    scrum: ScrumBoard = field(default_factory=ScrumBoard)
    mirror: MirrorBoard = field(default_factory=MirrorBoard)  # a mirror's counts, when live requests were judged
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
        self.mirror.apply(t, event)
        if isinstance(event, ComparedWithPrevious):
            self.comparison = event
        elif isinstance(event, InternalError):
            self.internal_errors.append(event)
        elif isinstance(event, RunStarted):
            self.run = event
            self.phases = {p: PhaseState() for p in event.phases}
        elif isinstance(event, PhaseStarted):
            self.phases.setdefault(event.phase, PhaseState()).state = PhaseStatus.RUNNING
        elif isinstance(event, PhaseFinished):
            st = self.phases.setdefault(event.phase, PhaseState())
            st.state = PhaseStatus.DONE if event.complete else PhaseStatus.INCOMPLETE
            st.summary, st.reason = event.summary, event.reason

    def current(self, *, final: bool = False) -> Verdict:
        """The verdict now; `final` treats phases that never finished as incomplete. It is
        incomplete when a reason says the run could not see what it was asked to judge."""
        reasons: list[Reason] = []
        for row in self.smokes.failed():
            timed_out = row.status == SmokeStatus.TIMEOUT
            reasons.append(Reason(f"smoke {row.name} ({row.layer}) {'timed out' if timed_out else 'failed'}"
                                  + (f": {row.reason}" if row.reason and not timed_out else "")))
        reasons += self._scrum_reasons()
        parity_reasons, covered, gap_ids = self._parity_reasons()
        reasons += parity_reasons
        reasons += self.mirror.reasons()
        latency_reasons, latency_covered, latency_gaps = latency_verdict(self.parity.latency, self.gaps, self.today, examples,
                                                                       self.parity_compared())
        reasons += map(Reason, latency_reasons)
        covered += latency_covered
        gap_ids = tuple(dict.fromkeys((*gap_ids, *latency_gaps)))
        if self.comparison is not None:
            reasons += map(Reason, self.comparison.regressed)
        if final and not reasons and not self.checked():
            reasons.append(Reason.incomplete_because(
                f"nothing was checked ({self.smokes.ran()} smokes ran, {self.scrum.reviewed()} bundles reviewed, "
                f"{self.parity_compared()} parity cases compared)"))
        for name, st in self.phases.items():
            if name == "verdict":
                continue
            if st.state == PhaseStatus.INCOMPLETE or (final and st.state != PhaseStatus.DONE):
                why = "did not run to the end" if st.state != PhaseStatus.PENDING else "did not run"
                reasons.append(Reason.incomplete_because(f"{name} {why}" + (f" ({st.reason})" if st.reason else "")))
        for error in self.internal_errors:
            crashed_in = self.phases.get(error.phase)
            if crashed_in is None or crashed_in.state != PhaseStatus.INCOMPLETE:  # a crashed phase already says so above
                reasons.append(Reason.incomplete_because(
                    f"internal error{' in ' + error.phase if error.phase else ''}: {error.message}"))
        complete = not any(r.incomplete for r in reasons)
        crashed = bool(self.internal_errors)
        if reasons:
            return Verdict(VerdictWord.BLOCK, tuple(r.text for r in reasons), complete, tuple(covered), gap_ids,
                           crashed)
        if covered:
            return Verdict(VerdictWord.SHIP_WITH_KNOWN_GAP, tuple(covered), complete, tuple(covered), gap_ids, crashed)
        return Verdict(VerdictWord.SHIP, ("every phase that ran is clean",), complete, internal_error=crashed)

    def parity_compared(self) -> int:
        """Cases whose answers were compared and told something (not errors, not all noise)."""
        tally = self.parity.tally
        return tally.cases - tally.errored - tally.inconclusive

    def checked(self) -> bool:
        """Whether any phase saw anything it was asked to judge: a gate never passes on nothing."""
        return bool(self.smokes.ran() or self.scrum.reviewed() or self.parity.tally.cases)

    def _scrum_reasons(self) -> list[Reason]:
        reasons = [Reason.incomplete_because(f"scrum bundle {b.name} was not reviewed ({b.reason})")
                   for b in self.scrum.refused()]
        reasons += [Reason.incomplete_because(f"scrum bundle {b.name}: {b.unreviewed_reason()}")
                    for b in self.scrum.unreviewed()]
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

    def _parity_reasons(self) -> tuple[list[Reason], list[str], tuple[str, ...]]:
        """(reasons that block, what known gaps cover, the ids of those gaps), one sentence
        per way of failing: a class of divergence, a pair of status codes, an error, however
        many cases share it."""
        board = self.parity
        reasons: list[Reason] = []
        covered: list[str] = []
        gap_ids: dict[str, None] = {}
        errors: dict[str, list[CaseRow]] = {}
        statuses: dict[str, list[CaseRow]] = {}
        for target, (what, cause) in board.tally.misaimed():
            reasons.append(Reason.incomplete_because(f"parity target {target} misaimed: {what} — {cause}"))
        tally = board.tally
        if tally.cases and tally.inconclusive / tally.cases > board.max_inconclusive:
            reasons.append(Reason.incomplete_because(
                f"parity: {tally.inconclusive:,} of {tally.cases:,} cases inconclusive "
                f"({tally.inconclusive / tally.cases * 100:.0f} %), over [parity] max_inconclusive "
                f"{board.max_inconclusive * 100:g} % (the reference's answers are noise through and "
                "through there: nothing was compared)"))
        for target, paths in tally.candidate_noise().items():
            told = "; ".join(f"{path} in {count:,} case(s) ({examples(named)}{' …' if count > len(named) else ''})"
                             for path, count, named in paths[:CANDIDATE_NOISE_PATHS])
            more = f"; and {len(paths) - CANDIDATE_NOISE_PATHS} more paths" if len(paths) > CANDIDATE_NOISE_PATHS else ""
            reasons.append(Reason(f"parity: {target} disagrees with itself (candidate noise): its own answers differ "
                                  f"where the reference's do not, at {told}{more}"))
        # Only a run with errors or status mismatches has them to list: the tally says so
        # without going over 100,000 cases at each live judging.
        listing = board.done() if tally.errored or tally.status_match < tally.cases else []
        for r in listing:
            if r.errors:
                detail = "; ".join(f"{t}: {e}" for t, e in r.errors.items())
                errors.setdefault(f"could not be compared ({detail})", []).append(r)
            elif not r.status_match:
                codes = ", ".join(f"{t} {s}" for t, s in r.statuses.items())
                extra = f"; {'; '.join(r.expect_failures)}" if r.expect_failures else ""
                statuses.setdefault(f"status codes differ ({codes}{extra})", []).append(r)
        for sentence, rows in (*errors.items(), *statuses.items()):
            reasons.append(Reason(f"{_cases(rows)}: {sentence}"))
        by_name = any(g.case != "*" for g in self.gaps)
        for group in board.class_groups():
            split: dict[tuple[str, str], list[CaseRow]] = {}
            # What covers a case is its fingerprint and class (its name too, when a gap names
            # cases): asked once for each, not for each of 100,000 cases.
            judged: dict[tuple[str, str | None, str | None], tuple[str, str]] = {}
            for case in group.cases:
                row = board.results[case]
                alike = (case if by_name else "", row.fingerprints.get(group.target), row.classes.get(group.target))
                key = judged.get(alike)
                if key is None:
                    gap, expired = self.gap_for(row, group.target, group.kind)
                    key = judged[alike] = ("covered", gap.id) if gap else ("expired", expired.id) if expired \
                        else ("open", "")
                split.setdefault(key, []).append(row)
            label = f"{group.target} {group.kind} divergence"
            what = f"class {group.class_id}: {group.description}" if group.class_id else group.description
            about = f" — class {group.class_id}: {group.description}" if group.class_id else ""
            for (state, gap_id), rows in split.items():
                gap = next((g for g in self.gaps if g.id == gap_id), None)
                if state == "covered" and gap is not None:
                    gap_ids[gap.id] = None
                    covered.append(f"{_cases(rows)}: {label} covered by known gap {gap.id} (owner {gap.owner}"
                                   + (f", expires {gap.expires}" if gap.expires else "") + f"){about}")
                elif state == "expired" and gap is not None:
                    reasons.append(Reason(f"{_cases(rows)}: {label}; known gap {gap.id} expired on {gap.expires}{about}"))
                else:
                    reasons.append(Reason(f"{_cases(rows)}: {label} not covered by a known gap ({what})"))
        return reasons, covered, tuple(gap_ids)


def _cases(rows: list[CaseRow]) -> str:
    """`parity case x`, or `parity: 15,000 cases (a, b, c and 14,997 more)`, the cases in
    declared order, each counted for the requests it stands for (a mirror's)."""
    total = sum(r.weight for r in rows)
    if total == 1:
        return f"parity case {rows[0].case}"
    return f"parity: {total:,} cases ({examples([r.case for r in rows], total=total)})"
