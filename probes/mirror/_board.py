"""A mirror's counts as the event stream tells them, and what they do to the verdict.

A mirror that dropped more copies than `max_dropped` judged a sample the traffic did not
choose (the busiest moments are the ones it missed): the verdict is incomplete, never a pass.
So is one whose judging process ended: what it judged after that is nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..core import Reason
from ..core.events import Event, MirrorCounted, MirrorPlanned
from ._config import DropLimit


@dataclass
class MirrorBoard:
    plan: MirrorPlanned | None = None
    counts: MirrorCounted = MirrorCounted(0, 0, 0, 0)

    def apply(self, t: float, event: Event) -> None:
        if isinstance(event, MirrorPlanned):
            self.plan, self.counts = event, MirrorCounted(0, 0, 0, 0)
        elif isinstance(event, MirrorCounted):
            self.counts = event

    @property
    def limit(self) -> DropLimit:
        assert self.plan is not None
        return DropLimit(self.plan.max_dropped, self.plan.max_dropped_share)

    def line(self) -> str:
        """`1,204 requests · 120 copied · 118 judged · 2 dropped`, and what else happened."""
        c = self.counts
        text = f"{c.received:,} requests · {c.copied:,} copied · {c.judged:,} judged · {c.dropped:,} dropped"
        if c.reference_failed:
            text += f" · {c.reference_failed:,} the reference did not answer"
        if c.judge_lost:
            text += " · judging stopped"
        return text

    def reasons(self) -> list[Reason]:
        """Incomplete when the judging process ended, or more copies were dropped than
        `max_dropped` allows."""
        if self.plan is None:
            return []
        c, limit = self.counts, self.limit
        attempts = c.copied + c.dropped
        reasons = []
        if c.judge_lost:
            reasons.append(Reason.incomplete_because(
                "mirror: the judging process ended; the clients were still answered, but every copy from then on "
                f"was dropped ({c.dropped:,} of {attempts:,} in this run)"))
        if not limit.exceeded(c.dropped, attempts):
            return reasons
        return reasons + [Reason.incomplete_because(
            f"mirror: {c.dropped:,} of {attempts:,} copies dropped, over max_dropped {limit} (the candidates did "
            f"not keep up with the traffic: a queue of {self.plan.queue:,} was full, or the mirror stopped first)")]
