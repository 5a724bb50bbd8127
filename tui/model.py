"""What the app shows, built from the event stream alone (live, followed or replayed).

The boards of the engine (smokes, scrum, parity, verdict) plus what only a screen needs:
each smoke's output tail, each review's text as it streams, notices and artifacts. Every
event bumps `version`; the app redraws at its own pace when the version moved, so a
flood of events never turns into a flood of repaints. The live verdict is the same: a
result only marks it stale, and it is judged again at most once per redraw, paced by what
judging costs (at 100,000 cases, a fifth of a second), never once per event.

One model may show one run after another (a mirror's record rolls over into a new run
directory): a second RunStarted begins it again, the known gaps kept.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING

from probes.core.events import (
    ArtifactWritten,
    BundleTallied,
    Event,
    Notice,
    ParityCaseFinished,
    NoiseSettled,
    ParityPlanned,
    ReviewChunk,
    RunFinished,
    RunStarted,
    SmokeFinished,
    SmokeOutput,
    VerdictChanged,
)
from probes.core import neutralise
from probes.core import VerdictWord
from probes.verdict import VerdictTracker

if TYPE_CHECKING:
    from probes import Judgement, KnownGap

LIVE_RESULTS = (SmokeFinished, BundleTallied, ParityCaseFinished)  # results that can turn the verdict
TAIL_LINES = 400  # per smoke, for the output pane
REVIEW_CHARS = 256 * 1024  # per review, for the streaming tab
PACE = 4.0  # a costly recomputation waits this many times its own cost before it runs again


class Pacer:
    """Keeps a recomputation whose cost grows with the run (the verdict)
    to a fifth of the loop at most, so the screen keeps answering keys at 100,000 cases."""

    def __init__(self) -> None:
        self._next = 0.0

    def due(self) -> bool:
        return time.perf_counter() >= self._next

    @contextmanager
    def timed(self) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            end = time.perf_counter()
            self._next = end + (end - start) * PACE


@dataclass
class RunModel:
    tracker: VerdictTracker = field(default_factory=VerdictTracker)
    tails: dict[str, deque[str]] = field(default_factory=dict)
    tail_count: dict[str, int] = field(default_factory=dict)  # lines ever added, per smoke
    reviews: dict[tuple[str, str], str] = field(default_factory=dict)
    review_count: dict[tuple[str, str], int] = field(default_factory=dict)  # characters ever added
    notices: list[Notice] = field(default_factory=list)
    artifacts: list[ArtifactWritten] = field(default_factory=list)
    verdict: VerdictChanged | None = None
    finished: RunFinished | None = None
    abandoned: str | None = None  # why a followed run will never finish (its writer is gone)
    parity_planned: int = 0  # cases announced up front (0: streamed, known only as they land)
    parity_generation: int = 0  # moves when landed cases are replaced, not only added to
    verdict_stale: bool = False  # results landed since the live verdict was judged
    # The known gaps of the run to come, as its engine loaded them (a mirror's next run, once its
    # gaps file changed): taken at its RunStarted; the run before keeps its own until then.
    next_gaps: list[KnownGap] | None = None
    _verdict_pace: Pacer = field(default_factory=Pacer)
    elapsed: float = 0.0
    version: int = 0

    @property
    def run(self) -> RunStarted | None:
        return self.tracker.run

    def apply(self, t: float, event: Event) -> None:
        self.version += 1
        self.elapsed = max(self.elapsed, t)
        if type(event) is ParityCaseFinished:  # a run's most common event by far: straight to its board
            if event.case in self.tracker.parity.results:
                self.parity_generation += 1  # a case probed again: what was folded is stale
            self.tracker.apply(t, event)
            self.verdict_stale = self.verdict_stale or self.phase_state("verdict") == "pending"
            return
        if isinstance(event, (ParityPlanned, NoiseSettled)):
            # a new plan, or the cases judged again by the settled noise: what was folded is stale
            self.parity_generation += 1
        if isinstance(event, RunStarted) and self.tracker.run is not None:
            self._begin_again()
        self.tracker.apply(t, event)
        if isinstance(event, SmokeOutput):
            tail = self.tails.setdefault(event.name, deque(maxlen=TAIL_LINES))
            # The engine already made it safe; a followed file may come from anywhere.
            lines = neutralise(event.text).rstrip("\n").split("\n")
            if event.dropped:
                lines.insert(0, f"… {event.dropped} bytes not shown here (all in the log file) …")
            tail.extend(lines)
            self.tail_count[event.name] = self.tail_count.get(event.name, 0) + len(lines)
        elif isinstance(event, ReviewChunk):
            key = (event.bundle, event.reviewer)
            text = neutralise(event.text)
            self.reviews[key] = (self.reviews.get(key, "") + text)[-REVIEW_CHARS:]
            self.review_count[key] = self.review_count.get(key, 0) + len(text)
        elif isinstance(event, Notice):
            self.notices.append(event)
        elif isinstance(event, ArtifactWritten):
            self.artifacts.append(event)
        elif isinstance(event, VerdictChanged):
            self.verdict, self.verdict_stale = event, False  # the engine's word, on everything before it
        elif isinstance(event, RunFinished):
            self.finished = event
        elif isinstance(event, ParityPlanned):
            self.parity_planned = len(event.cases)
        if isinstance(event, LIVE_RESULTS) and self.phase_state("verdict") == "pending":
            self.verdict_stale = True  # from the verdict phase on, the engine's word stands

    def _begin_again(self) -> None:
        """Everything of the run before forgotten but the known gaps (or the next run's own,
        when they were given); the counters that tell a face its folds are stale move on,
        never back to a value one of them has seen."""
        fresh = RunModel()
        fresh.tracker.gaps = self.tracker.gaps if self.next_gaps is None else self.next_gaps
        fresh.version, fresh.parity_generation = self.version, self.parity_generation + 1
        for f in fields(self):
            setattr(self, f.name, getattr(fresh, f.name))

    def catch_up(self) -> None:
        """Once per redraw: judge the live verdict again if results landed since, unless the
        last judging was so recent that doing it again would crowd out the screen."""
        if self.verdict_stale and self._verdict_pace.due():
            with self._verdict_pace.timed():
                self.refresh_verdict()

    def refresh_verdict(self) -> None:
        """Recompute the verdict from what has landed: live as results arrive (the engine
        publishes its own at phase ends), and at once after a known gap is recorded. An
        abandoned run blocks, incomplete, whatever its phases found before."""
        verdict = self.tracker.current(final=self.finished is not None or self.abandoned is not None)
        self.verdict_stale = False
        if self.abandoned is None:
            self.verdict = VerdictChanged(verdict.verdict, verdict.reasons, verdict.complete)
        else:
            self.verdict = VerdictChanged(VerdictWord.BLOCK, (self.abandoned, *verdict.reasons), False)
        self.version += 1

    def adopt(self, judgement: Judgement) -> None:
        """The run judged again after its gaps file changed: what the verdict files now say
        is what the screen shows; a run still going is judged live with the new gaps."""
        self.tracker.gaps = list(judgement.gaps)
        if judgement.written:
            v = judgement.verdict
            self.verdict = VerdictChanged(v.verdict, v.reasons, v.complete)
            self.version += 1
        else:
            self.refresh_verdict()

    def abandon(self, reason: str) -> None:
        """The run will never finish: its writer ended without RunFinished."""
        self.abandoned = reason
        self.refresh_verdict()

    def last_line(self, smoke: str) -> str:
        tail = self.tails.get(smoke)
        return tail[-1] if tail else ""

    @property
    def running(self) -> bool:
        return self.run is not None and self.finished is None and self.abandoned is None

    def phase_state(self, phase: str) -> str:
        st = self.tracker.phases.get(phase)
        if st is None:
            return "off"
        return "incomplete" if st.state == "running" and self.abandoned is not None else st.state
