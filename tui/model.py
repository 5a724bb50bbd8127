"""What the app shows, built from the event stream alone (live, followed or replayed).

The boards of the engine (smokes, scrum, parity, verdict) plus what only a screen needs:
each smoke's output tail, each review's text as it streams, notices and artifacts. Every
event bumps `version`; the app redraws at its own pace when the version moved, so a
flood of events never turns into a flood of repaints.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from probes.events import (
    ArtifactWritten,
    BundleTallied,
    Event,
    Notice,
    ParityCaseFinished,
    ReviewChunk,
    RunFinished,
    RunStarted,
    SmokeFinished,
    SmokeOutput,
    VerdictChanged,
)
from probes.textsafe import neutralise
from probes.verdict import BLOCK, VerdictTracker

LIVE_RESULTS = (SmokeFinished, BundleTallied, ParityCaseFinished)  # results that can turn the verdict
TAIL_LINES = 400  # per smoke, for the output pane
REVIEW_CHARS = 256 * 1024  # per review, for the streaming tab


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
    elapsed: float = 0.0
    version: int = 0

    @property
    def run(self) -> RunStarted | None:
        return self.tracker.run

    def apply(self, t: float, event: Event) -> None:
        self.version += 1
        self.elapsed = max(self.elapsed, t)
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
            self.verdict = event
        elif isinstance(event, RunFinished):
            self.finished = event
        if isinstance(event, LIVE_RESULTS) and self.phase_state("verdict") == "pending":
            self.refresh_verdict(emit=False)  # from the verdict phase on, the engine's word stands

    def refresh_verdict(self, *, emit: bool = True) -> None:
        """Recompute the verdict from what has landed: live as results arrive (the engine
        publishes its own at phase ends), and at once after a known gap is recorded. An
        abandoned run blocks, incomplete, whatever its phases found before."""
        verdict = self.tracker.current(final=self.finished is not None or self.abandoned is not None)
        if self.abandoned is None:
            self.verdict = VerdictChanged(verdict.verdict, verdict.reasons, verdict.complete)
        else:
            self.verdict = VerdictChanged(BLOCK, (self.abandoned, *verdict.reasons), False)
        if emit:
            self.version += 1

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
