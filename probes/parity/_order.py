"""The order a person reads cases in: the order the config declares them, whatever order they
landed in (a slow target, concurrency and shards all shuffle landing).

A case's event carries its place among the config's cases (`ParityCaseFinished.index`, the
same in every shard); a run recorded before events carried it has its plan
(`ParityPlanned.cases`, in declared order) to go by; a case neither knows (streamed from a
cases file by such a run) comes after every placed one, in the order it landed.
"""

from __future__ import annotations

from ..core.events import Event, ParityCaseFinished, ParityPlanned

UNPLACED = 1 << 40  # after every declared place: a config never holds that many cases


class DeclaredOrder:
    """Each landed case's place, for sorting by (`key`). The parity board and its latency
    board share one and both feed it every event: an event seen twice changes nothing."""

    def __init__(self) -> None:
        self._plan: ParityPlanned | None = None
        self._planned: dict[str, int] = {}
        self._places: dict[str, int] = {}

    def apply(self, event: Event) -> None:
        if isinstance(event, ParityPlanned) and event is not self._plan:  # a new plan: the places learned go
            self._plan, self._planned, self._places = event, {case: i for i, case in enumerate(event.cases)}, {}
        elif isinstance(event, ParityCaseFinished):
            self.place(event)

    def place(self, event: ParityCaseFinished) -> int:
        """The case's place, learned the first time it lands (a case probed again keeps it)."""
        found = self._places.get(event.case)
        if found is None:
            found = self._places[event.case] = (
                event.index if event.index >= 0 else self._planned.get(event.case, UNPLACED + len(self._places)))
        return found

    def key(self, case: str) -> int:
        """A landed case's place (one that never landed sorts last)."""
        return self._places.get(case, UNPLACED << 1)
