"""The smoke chain's state as the event stream tells it (its reports are in _render.py).

Built from events (not from the runner's return value) so the live printer, the TUI,
`watch` and the artifact writers all see the same thing, interrupted runs included.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..core import SmokeStatus
from ..core.events import Event, SmokeFinished, SmokesPlanned, SmokeStarted

STATUS_WORD = {SmokeStatus.PASS: "PASS", SmokeStatus.FAIL: "FAIL", SmokeStatus.TIMEOUT: "TIMEOUT",
               SmokeStatus.SKIPPED: "SKIP", SmokeStatus.INTERRUPTED: "INTERRUPTED", SmokeStatus.RUNNING: "RUNNING",
               SmokeStatus.PENDING: "PENDING"}
COUNTED = (SmokeStatus.PASS, SmokeStatus.FAIL, SmokeStatus.TIMEOUT, SmokeStatus.SKIPPED)  # a layer's columns


@dataclass
class SmokeRow:
    name: str
    layer: str
    status: SmokeStatus = SmokeStatus.PENDING
    duration: float = 0.0
    exit_code: int | None = None
    reason: str = ""
    tail: str = ""
    started_at: float | None = None


@dataclass
class SmokeBoard:
    """Every smoke's latest state, in the order the config declares them (a smoke it did not
    plan, after them, as it started); feed it events with `apply`."""

    rows: dict[str, SmokeRow] = field(default_factory=dict)
    started_at: float | None = None
    finished_at: float | None = None

    def apply(self, t: float, event: Event) -> None:
        if isinstance(event, SmokesPlanned):
            self.rows = {s.name: SmokeRow(s.name, s.layer) for s in event.smokes}
            self.started_at = t
        elif isinstance(event, SmokeStarted):
            row = self.rows.setdefault(event.name, SmokeRow(event.name, event.layer))
            row.status, row.started_at = SmokeStatus.RUNNING, t
        elif isinstance(event, SmokeFinished):
            row = self.rows.setdefault(event.name, SmokeRow(event.name, event.layer))
            row.status, row.duration, row.exit_code = SmokeStatus(event.status), event.duration, event.exit_code
            row.reason, row.tail = event.reason, event.tail
            self.finished_at = t

    @property
    def wall(self) -> float:
        if self.started_at is None or self.finished_at is None:
            return 0.0
        return self.finished_at - self.started_at

    def count(self, status: SmokeStatus) -> int:
        return sum(1 for r in self.rows.values() if r.status == status)

    def failed(self) -> list[SmokeRow]:
        return [r for r in self.rows.values() if r.status.failed]

    def ran(self) -> int:
        """Smokes that ran to an outcome: what the chain checked."""
        return sum(1 for r in self.rows.values() if r.status.ran)

    def layers(self) -> dict[str, list[SmokeRow]]:
        out: dict[str, list[SmokeRow]] = {}
        for row in self.rows.values():
            out.setdefault(row.layer, []).append(row)
        return out

    def headline(self) -> str:
        """`21/21 PASS in 60.2s`, with the other outcomes named when there are any."""
        total = len(self.rows)
        parts = [f"{self.count(SmokeStatus.PASS)}/{total} PASS"]
        for status in (SmokeStatus.FAIL, SmokeStatus.TIMEOUT, SmokeStatus.SKIPPED, SmokeStatus.INTERRUPTED):
            n = self.count(status)
            if n:
                parts.append(f"{n} {STATUS_WORD[status]}")
        return f"{', '.join(parts)} in {self.wall:.1f}s"
