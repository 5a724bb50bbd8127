"""Latency parity: is a candidate slower than the reference, measured so that noise never
blocks a release and a real slowdown does.

Timing (probes/parity/_latency_probe.py): after a case's first pair of answers, its answers for parity,
each target is timed `repeats` times in turns after a warm-up; the timed requests repeat the
case's request, so time idempotent cases.

Statistics. Per target p50 and p95; per candidate the ratio of its median to the reference's,
with a 95 % percentile-bootstrap interval (each side resampled; seeded by the case and the
target, so the same timings give the same interval) and a two-sided Mann–Whitney U test
(normal approximation with tie and continuity corrections). A candidate is *slower* only when
the interval's lower bound is above `max_ratio` and the test finds the two apart (p < 0.05).
Fewer than MIN_SAMPLES timed requests, or a timed request that failed (no answer, or a status
other than the target's first answer's), is *no data*: said so, never a pass.

The board keeps the timed cases as the events tell them; the tables, cells and the diff
viewer's line made from it are in _latency_render.py.
"""

from __future__ import annotations

import heapq
import math
import random
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar, NamedTuple

from ..core import InputError, LatencyState
from ..core.events import (
    ClassEntry,
    DivergenceClassFound,
    Event,
    LatencyPlanned,
    LatencyRow,
    ParityCaseFinished,
    ParityPlanned,
    read_row,
)
from ._classes import class_id
from ._order import DeclaredOrder

LATENCY = "latency"  # the kind of a latency divergence, and its class's
SLOWER, OK, NO_DATA = LatencyState.SLOWER, LatencyState.OK, LatencyState.NO_DATA
MIN_SAMPLES = 10
BOOTSTRAP_ROUNDS = 2000
CONFIDENCE = 0.95
ALPHA = 0.05  # the Mann–Whitney test's level: below it the two targets' timings differ
BINS = 8
FIRST_FAILED = "its first answers could not be compared: not timed"
LISTED = 200  # cases in a report's latency table

_ENTRY = ClassEntry(LATENCY, "p50", "reference", "slower")
LATENCY_CLASS = class_id((_ENTRY,))


def latency_class_event() -> DivergenceClassFound:
    """The latency divergence class: a candidate's median slower than the reference's beyond
    `max_ratio`. One class, so one known gap (limited to some cases by its `cases` glob) may
    cover it like any other divergence."""
    return DivergenceClassFound(LATENCY_CLASS, LATENCY, (_ENTRY,),
                                "p50 slower than the reference's beyond max_ratio (latency)")


# ---- statistics ------------------------------------------------------------------------------

def quantile(ordered: Sequence[float], q: float) -> float:
    """The q-quantile of sorted values, interpolated linearly between order statistics."""
    position = q * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def bootstrap_interval(reference: Sequence[float], candidate: Sequence[float], seed: int,
                       rounds: int = BOOTSTRAP_ROUNDS) -> tuple[float, float]:
    """The CONFIDENCE percentile-bootstrap interval of median(candidate) / median(reference)."""
    rng = random.Random(seed)
    n, m = len(reference), len(candidate)
    ratios = sorted(quantile(sorted(rng.choices(candidate, k=m)), 0.5)
                    / max(quantile(sorted(rng.choices(reference, k=n)), 0.5), 1e-9) for _ in range(rounds))
    tail = (1 - CONFIDENCE) / 2
    return quantile(ratios, tail), quantile(ratios, 1 - tail)


def mann_whitney(a: Sequence[float], b: Sequence[float]) -> float:
    """The two-sided p of the Mann–Whitney U test: normal approximation, ties given their mean
    rank and the variance corrected for them, with a continuity correction."""
    n1, n2 = len(a), len(b)
    pooled = sorted([(v, 0) for v in a] + [(v, 1) for v in b])
    rank_sum, ties, i = 0.0, 0.0, 0
    while i < len(pooled):
        j = i
        while j + 1 < len(pooled) and pooled[j + 1][0] == pooled[i][0]:
            j += 1
        mean_rank = (i + j) / 2 + 1
        rank_sum += mean_rank * sum(1 for k in range(i, j + 1) if pooled[k][1] == 0)
        size = j - i + 1
        ties += size ** 3 - size
        i = j + 1
    u = rank_sum - n1 * (n1 + 1) / 2
    total = n1 + n2
    variance = n1 * n2 / 12 * ((total + 1) - ties / (total * (total - 1)))
    if variance <= 0:
        return 1.0
    z = max(0.0, abs(u - n1 * n2 / 2) - 0.5) / math.sqrt(variance)
    return min(1.0, math.erfc(z / math.sqrt(2)))


class Judged(NamedTuple):
    ratio: float | None
    low: float | None
    high: float | None
    p_value: float | None
    state: LatencyState
    why: str = ""


def judge_samples(reference: Sequence[float], candidate: Sequence[float], max_ratio: float, seed: int) -> Judged:
    """A candidate's timings against the reference's: slower, ok, or no data (too few)."""
    fewest = min(len(reference), len(candidate))
    if fewest < MIN_SAMPLES:
        return Judged(None, None, None, None, NO_DATA,
                      f"too few samples: n = {fewest} (at least {MIN_SAMPLES} a target)")
    ratio = quantile(sorted(candidate), 0.5) / max(quantile(sorted(reference), 0.5), 1e-9)
    low, high = bootstrap_interval(reference, candidate, seed)
    p = mann_whitney(reference, candidate)
    return Judged(ratio, low, high, p, SLOWER if low > max_ratio and p < ALPHA else OK)


def histogram(samples: Sequence[float], span: tuple[float, float], bins: int = BINS) -> tuple[int, ...]:
    """How many samples fall in each of `bins` equal parts of `span`, the ones above it in the last."""
    low, high = span
    width = (high - low) / bins or 1.0
    counts = [0] * bins
    for value in samples:
        counts[min(bins - 1, max(0, int((value - low) / width)))] += 1
    return tuple(counts)


def case_rows(case: str, reference: str, samples: Mapping[str, Sequence[float]], failures: Mapping[str, str],
              max_ratio: float) -> tuple[LatencyRow, ...]:
    """A case's latency rows, the reference's first: each target's figures (milliseconds) and
    each candidate's judgement. A target with `failures` has no data, and so has every candidate
    when it is the reference."""
    timed = [sorted(v) for v in samples.values() if v]
    span = (min(v[0] for v in timed), max(quantile(v, 0.95) for v in timed)) if timed else (0.0, 0.0)
    rows = []
    for target in (reference, *(t for t in samples if t != reference)):
        values = sorted(samples[target])
        figures = LatencyRow(target, len(values), round(quantile(values, 0.5), 3) if values else None,
                             round(quantile(values, 0.95), 3) if values else None,
                             histogram(values, span) if values else (), (round(span[0], 3), round(span[1], 3)))
        if target == reference:
            rows.append(replace(figures, why=failures.get(target, "")))
            continue
        failed = failures.get(target) or (f"the reference {reference}: {failures[reference]}"
                                          if reference in failures else "")
        if failed:
            rows.append(replace(figures, state=NO_DATA, why=failed))
            continue
        judged = judge_samples(samples[reference], values, max_ratio, zlib.crc32(f"{case}\0{target}".encode()))
        rows.append(replace(figures, ratio=_round(judged.ratio), low=_round(judged.low), high=_round(judged.high),
                            p_value=judged.p_value, state=judged.state, why=judged.why,
                            class_id=LATENCY_CLASS if judged.state == SLOWER else None))
    return tuple(rows)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


# ---- the board, and the words the verdict says of it -----------------------------------------

def times(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}×"


def ms(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f} ms"


def p_text(p: float | None) -> str:
    return "–" if p is None else "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


@dataclass
class LatencyBoard:
    """The timed cases as the events tell them. A case's rows (a kilobyte or so) are kept when
    a candidate was slower or had no data (the verdict names them, the pane groups them) or
    when it is among the LISTED with the highest ratio (the report's table); of every other
    case, all its candidates ok, only its highest ratio, for the pane's cell."""

    plan: LatencyPlanned | None = None
    reference: str = ""
    rows: dict[str, tuple[LatencyRow, ...]] = field(default_factory=dict)  # landing order (`cases()`: declared)
    ratios: dict[str, float] = field(default_factory=dict)  # the other cases: the highest ratio, every candidate ok
    # The kept cases only ok, the lowest ratio first (the last declared first among equal ones):
    # (ratio, -place, case), LISTED at most.
    _listed: list[tuple[float, int, str]] = field(default_factory=list)
    order: DeclaredOrder = field(default_factory=DeclaredOrder)  # the parity board's, when it holds this one
    kind: ClassVar[str] = LATENCY  # the kind of its groups, as a face's filters name it

    def apply(self, t: float, event: Event) -> None:
        self.order.apply(event)
        if isinstance(event, ParityPlanned):
            self.plan, self.reference, self.rows, self.ratios, self._listed = None, event.reference, {}, {}, []
        elif isinstance(event, LatencyPlanned):
            self.plan = event
        elif isinstance(event, ParityCaseFinished) and event.latency:
            self.reference = event.reference
            if event.case in self.rows or event.case in self.ratios:
                self._forget(event.case)
            self.rows[event.case] = event.latency
            if not any(r.state in (SLOWER, NO_DATA) for r in self.candidates(event.case)):
                self._list(event.case)

    def _forget(self, case: str) -> None:
        """A case timed again (a mirror's requests alike, judged again as they grow): what the
        board kept of it before goes, wherever it was kept."""
        self.ratios.pop(case, None)
        if self.rows.pop(case, None) is not None and any(entry[2] == case for entry in self._listed):
            self._listed = [entry for entry in self._listed if entry[2] != case]
            heapq.heapify(self._listed)

    def _list(self, case: str) -> None:
        """Keep an ok case's rows while it is among the LISTED highest ratios, else its ratio."""
        entry = (worst_ratio(self.candidates(case)), -self.order.key(case), case)
        if len(self._listed) < LISTED:
            heapq.heappush(self._listed, entry)
            return
        ratio, _, dropped = heapq.heappushpop(self._listed, entry)
        self.ratios[dropped] = ratio
        del self.rows[dropped]

    def timing(self) -> str:
        """How the rows were timed, in words: `30 timed requests a target after 3 not counted`."""
        assert self.plan is not None
        plan = self.plan
        if plan.live:
            return (f"up to {plan.repeats} live requests a target per way of answering, sampled across the run, "
                    f"after its first {plan.warmup}; the reference timed beside the candidates")
        return f"{plan.repeats} timed requests a target after {plan.warmup} not counted"

    def timed(self) -> int:
        return len(self.rows) + len(self.ratios)

    def cases(self) -> list[str]:
        """The cases whose rows are kept, in declared order."""
        return sorted(self.rows, key=self.order.key)

    def candidates(self, case: str) -> list[LatencyRow]:
        return [r for r in self.rows.get(case, ()) if r.target != self.reference]

    def groups(self, case: str) -> list[tuple[str, str]]:
        """(candidate, key) of each latency group a case is in: the latency class where it is
        slower, NO_DATA where its timing could not be measured (not where its first answers
        failed: it is among the cases that could not be compared)."""
        return [(r.target, r.class_id or LATENCY_CLASS if r.state == SLOWER else NO_DATA)
                for r in self.candidates(case) if r.state == SLOWER or (r.state == NO_DATA and r.why != FIRST_FAILED)]

    def of_state(self, state: LatencyState) -> list[tuple[str, LatencyRow]]:
        """(case, candidate row) of each candidate in `state`, the cases in declared order."""
        return [(case, r) for case in self.cases() for r in self.candidates(case) if r.state == state]

    def sentence(self, case: str, row: LatencyRow) -> str:
        """`go p50 1.82× rust on playbook_happy, 95 % CI 1.61–2.04×, n = 30`."""
        return (f"{row.target} p50 {times(row.ratio)} {self.reference} on {case}, 95 % CI "
                f"{row.low:.2f}–{row.high:.2f}×, n = {row.n} ({p_text(row.p_value)}; {ms(row.p50)} against "
                f"{ms(self.reference_row(case).p50)})")

    def reference_row(self, case: str) -> LatencyRow:
        return next(r for r in self.rows[case] if r.target == self.reference)


def worst_ratio(candidates: Sequence[LatencyRow]) -> float:
    return max((r.ratio or 0.0 for r in candidates), default=0.0)


def stored_latency(answers: Mapping[str, object]) -> tuple[LatencyRow, ...]:
    """A case's latency rows as its line in parity/results.jsonl.gz holds them (each target's
    `latency` beside its answer); none when the case was not timed.
    Raises InputError on a row that is not one."""
    rows = []
    for target, answer in answers.items():
        row = answer.get("latency") if isinstance(answer, dict) else None
        if row is None:
            continue
        try:
            rows.append(read_row(LatencyRow, row))
        except (TypeError, ValueError) as exc:
            raise InputError(f"the latency of {target} in the parity record is damaged ({exc})") from None
    return tuple(rows)


def latency_classes(answers: Mapping[str, object]) -> list[str]:
    """The latency class of a case as recorded, when a candidate was slower: what a known gap
    for it covers."""
    return sorted({r.class_id for r in stored_latency(answers) if r.state == SLOWER and r.class_id})


# ---- history: a runtime getting slower across waves -----------------------------------------

TREND = 1.25  # a change in p50 between two runs beyond this factor (either way) is said


def remember(kept: dict[str, Any], event: ParityCaseFinished) -> dict[str, Any]:
    """A run summary's latency after one more timed case, `kept` updated and returned: per
    target the count and the sum of log p50 over every case (a geometric mean, whatever the
    number of cases), and every timed case's p50 a target (a float each: cases are timed one
    at a time, `repeats` requests a target, so even a long run times thousands, not millions).
    A case timed again (a mirror's count of requests alike, as it grows) replaces its figure.
    A writer on another thread reads a copy (`held`)."""
    for row in event.latency:
        if not row.p50:
            continue
        targets, p50s = kept.setdefault("targets", {}), kept.setdefault("p50", {})
        count, logs = targets.get(row.target, (0, 0.0))
        if (before := p50s.get(row.target, {}).get(event.case)) is not None:  # a mirror's, timed again
            count, logs = count - 1, logs - math.log(before)
        targets[row.target] = [count + 1, logs + math.log(row.p50)]
        p50s.setdefault(row.target, {})[event.case] = row.p50
    return kept


def held(kept: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a summary's latency that `remember` leaves alone."""
    return {key: {t: (dict(v) if isinstance(v, dict) else v) for t, v in table.items()}
            for key, table in kept.items()}


def trend_lines(before: Mapping[str, dict[str, Any]], now: Mapping[str, dict[str, Any]], limit: int = 10) -> list[tuple[str, str]]:
    """(text, tone) of each target whose typical p50 (the geometric mean over its timed cases)
    moved beyond TREND between two runs, then of the cases both runs timed whose p50 did on
    a target: the `limit` largest moves, then how many more."""
    out: list[tuple[str, str]] = []

    def said(what: str, a: float, b: float) -> None:
        out.append((f"latency: {what} p50 {a:.1f} ms → {b:.1f} ms ({b / a:.2f}×)", "worse" if b > a else "better"))

    def moved(a: float, b: float) -> bool:
        return b > a * TREND or b < a / TREND

    old, new = before.get("targets", {}), now.get("targets", {})
    for target in sorted(set(old) & set(new)):
        a, b = math.exp(old[target][1] / old[target][0]), math.exp(new[target][1] / new[target][0])
        if moved(a, b):
            said(f"{target} (typical of {new[target][0]:,} cases)", a, b)
    earlier = before.get("p50", {})
    cases = sorted(((target, case, a, b) for target, p50s in now.get("p50", {}).items() for case, b in p50s.items()
                    if (a := earlier.get(target, {}).get(case)) and moved(a, b)),
                   key=lambda m: -abs(math.log(m[3] / m[2])))
    for target, case, a, b in cases[:limit]:
        said(f"{target} on {case}", a, b)
    if len(cases) > limit:
        slower = sum(1 for _, _, a, b in cases[limit:] if b > a)
        out.append((f"latency: {len(cases) - limit:,} more case p50s moved beyond {TREND:g}× "
                    f"({slower:,} of them slower)", "worse" if slower else "better"))
    return out
