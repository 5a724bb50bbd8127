"""The words for states that events, boards and artifacts share, typed.

Each is a StrEnum whose values are the exact strings runs have always written (events.jsonl,
verdict.json, SARIF, parity/results.jsonl.gz), so a record made before or after reads the
same, and a state is compared as a state, never as a string or by its prefix.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class VerdictWord(StrEnum):
    SHIP = "SHIP"
    SHIP_WITH_KNOWN_GAP = "SHIP_WITH_KNOWN_GAP"
    BLOCK = "BLOCK"


class SmokeStatus(StrEnum):
    """A smoke's state: the last five are how one ends."""

    PENDING = "pending"
    RUNNING = "running"
    PASS = "pass"
    FAIL = "fail"
    TIMEOUT = "timeout"
    SKIPPED = "skipped"
    INTERRUPTED = "interrupted"

    @property
    def failed(self) -> bool:
        """It ran and failed, or ran out of time: what blocks a verdict."""
        return self in (SmokeStatus.FAIL, SmokeStatus.TIMEOUT)

    @property
    def ran(self) -> bool:
        """It ran to an outcome: something was checked."""
        return self in (SmokeStatus.PASS, SmokeStatus.FAIL, SmokeStatus.TIMEOUT)


class FindingState(StrEnum):
    """A scrum finding against the previous wave of the same config."""

    UNCOMPARED = ""  # no earlier wave to compare with
    NEW = "new"
    RECURRING = "recurring"
    RESOLVED = "resolved"  # the previous wave had it, this one does not


class LatencyState(StrEnum):
    """What a candidate's timings of a case come to; the reference's own row has none."""

    REFERENCE = ""
    OK = "ok"
    SLOWER = "slower"
    NO_DATA = "no data"


INCOMPLETE = "incomplete: "


@dataclass(frozen=True)
class Reason:
    """One reason of a verdict, and whether it says the run could not see what it was asked
    to judge (an incomplete reason makes the verdict incomplete). The words of an incomplete
    one start with `incomplete: `, written here and nowhere else."""

    text: str
    incomplete: bool = False

    @classmethod
    def incomplete_because(cls, why: str) -> Reason:
        return cls(INCOMPLETE + why, True)

    def __str__(self) -> str:
        return self.text


# The exit codes of a run and of a run judged again (0: SHIP or SHIP_WITH_KNOWN_GAP). The
# core's, so that every command knows them without loading the verdict and its boards.
EXIT_BLOCK = 1
EXIT_INTERNAL = 3  # a fault of gauntlet itself, so a script can tell a crash from a BLOCK
EXIT_INTERRUPTED = 130
