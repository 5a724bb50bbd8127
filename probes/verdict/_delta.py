"""What changed between two runs: this wave against the last one.

Smokes newly failing, newly passing or much slower; reviewer engagement side by side
(bundle KB and tokens out per reviewer, the previous wave and this one); each
parity divergence new, unchanged (same fingerprint), changed or gone; and each known gap
either "documented, not regressed" or what happened to it.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from ..core.events import ComparedWithPrevious, DeltaLine, EngagementRow
from ..parity import trend_lines
from ..scrum import scrum_delta
from ._gaps import KnownGap
from ._history import RunSummary

SLOWER_FACTOR = 2.0
SLOWER_SECONDS = 1.0


class Divergence(NamedTuple):
    """One case's divergence on one candidate, this run against the previous: what identifies
    its way of diverging on each side (its class, or its fingerprint for runs before classes)."""

    case: str
    target: str
    state: str  # new | gone | unchanged | changed
    before: str | None
    now: str | None
    marks: frozenset[str]  # every class and fingerprint seen on either side, for known gaps of either form


@dataclass
class Comparison:
    previous: RunSummary
    current: RunSummary
    newly_failing: list[str] = field(default_factory=list)
    newly_passing: list[str] = field(default_factory=list)
    slower: list[tuple[str, float, float]] = field(default_factory=list)
    divergences: list[Divergence] = field(default_factory=list)
    gaps: list[tuple[KnownGap, str, str]] = field(default_factory=list)  # (gap, state, detail)
    baseline: bool = False  # `previous` is a run directory given in place of the history's

    @property
    def regressed(self) -> list[tuple[KnownGap, str, str]]:
        return [g for g in self.gaps if g[1] == "regressed"]

    def event(self) -> ComparedWithPrevious:
        """The comparison as the run's events carry it to the verdict and every face."""
        regressed = tuple(f"known gap {gap.id} regressed: {detail}" for gap, _, detail in self.regressed)
        return ComparedWithPrevious(self.previous.run_id, tuple(self.lines()), regressed, tuple(self.engagement()),
                                    self.gap_states())

    def gap_states(self) -> dict[str, str]:
        return {gap.id: state + (f" ({detail})" if detail else "") for gap, state, detail in self.gaps}

    def engagement(self) -> list[EngagementRow]:
        """Tokens out per reviewer and bundle: the previous wave, then this one."""
        rows = []
        for label, run in (("previous", self.previous), ("this", self.current)):
            for bundle, data in run.bundles.items():
                rows.append(EngagementRow(f"{label}, {bundle}", data["kb"],
                                          {r: v["tokens_out"] for r, v in data["reviewers"].items()}))
        return rows

    def lines(self) -> list[DeltaLine]:
        """The comparison in words, each line marked worse or better where it is either."""
        out = [DeltaLine(f"compared with {self.previous.run_id} ("
                         + ("the baseline given (--baseline)" if self.baseline else
                            f"the previous complete run of {self.current.config_name!r}") + ")")]
        out += [DeltaLine(f"smoke {n} newly failing", "worse") for n in self.newly_failing]
        out += [DeltaLine(f"smoke {n} newly passing", "better") for n in self.newly_passing]
        out += [DeltaLine(f"smoke {n} slower: {a:.1f}s → {b:.1f}s", "worse") for n, a, b in self.slower]
        for case, target, state, before, now, _ in self.divergences:
            if state != "unchanged":
                out.append(DeltaLine(f"parity {case} ({target}): divergence {state}"
                                     + (f" (moved from {before} to {now})" if state == "changed" else ""),
                                     "worse" if state in ("new", "changed") else "better"))
        unchanged = sum(1 for d in self.divergences if d.state == "unchanged")
        if unchanged:
            out.append(DeltaLine(f"parity: {unchanged} divergence(s) unchanged"))
        out += [DeltaLine(f"known gap {gap.id}: {state}" + (f" ({detail})" if detail else ""),
                          "worse" if state == "regressed" else "")
                for gap, state, detail in self.gaps]
        out += scrum_delta(self.previous.bundles, self.current.bundles, self.previous.run_id)
        out += [DeltaLine(text, tone) for text, tone in trend_lines(self.previous.latency, self.current.latency)]
        if len(out) == 1:
            out.append(DeltaLine("nothing changed"))
        return out


def compare_runs(previous: RunSummary, current: RunSummary, gaps: Sequence[KnownGap] = (), *,
            baseline: bool = False) -> Comparison:
    c = Comparison(previous, current, baseline=baseline)
    failed = ("fail", "timeout")
    for name, now in current.smokes.items():
        before = previous.smokes.get(name)
        if before is None:
            continue
        if now["status"] in failed and before["status"] == "pass":
            c.newly_failing.append(name)
        elif now["status"] == "pass" and before["status"] in failed:
            c.newly_passing.append(name)
        if (now["status"] == before["status"] == "pass" and now["duration"] > SLOWER_FACTOR * before["duration"]
                and now["duration"] - before["duration"] > SLOWER_SECONDS):
            c.slower.append((name, before["duration"], now["duration"]))
    probed = current.parity_totals()[0] > 0  # no parity this time: nothing to say about it
    for case in sorted(set(previous.parity) | set(current.parity)) if probed else ():
        # A summary keeps the cases that did not match: a case absent from it matched.
        before, now = previous.parity.get(case) or {}, current.parity.get(case) or {}
        by_class = bool(before.get("classes")) and bool(now.get("classes"))
        key = "classes" if by_class else "fingerprints"
        for target in sorted(set(before.get("fingerprints", {})) | set(now.get("fingerprints", {}))):
            a, b = before.get(key, {}).get(target), now.get(key, {}).get(target)
            if not a and not b:
                continue
            state = "new" if not a else "gone" if not b else "unchanged" if a == b else "changed"
            marks = {m for m in (a, b, before.get("fingerprints", {}).get(target),
                                 now.get("fingerprints", {}).get(target)) if m}
            c.divergences.append(Divergence(case, target, state, a, b, frozenset(marks)))
    for gap in gaps:
        c.gaps.append(_gap_state(gap, c))
    return c


def _gap_state(gap: KnownGap, c: Comparison) -> tuple[KnownGap, str, str]:
    mine = [d for d in c.divergences if d.case == gap.case or fnmatch.fnmatchcase(d.case, gap.case)]
    marks = set(gap.classes or gap.fingerprints)
    covered_before = [d for d in mine if d.before in marks or (d.marks & marks and d.state != "new")]
    changed = [d for d in covered_before if d.state == "changed"]
    if changed:
        d = changed[0]
        return gap, "regressed", f"{d.case} ({d.target}) diverges differently: {d.before} → {d.now}"
    if covered_before and all(d.state == "gone" for d in covered_before):
        return gap, "gone", "the divergence no longer appears: the gap can be closed"
    if any(d.now in marks or d.marks & marks for d in mine if d.state != "gone"):
        return gap, "documented, not regressed", ""
    return gap, "not seen", ""
