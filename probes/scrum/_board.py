"""The scrum phase's state as the event stream tells it: the bundles, their reviews and
tallies, which findings count, what the verdict makes of them, and the tokens spent. The
reports made from it are in _render.py.

Which findings count is decided here, at the moment it is asked: the findings ledger as the
run started comes with the plan, and whoever judges the run again later sets the ledger as
it is now (`ledger`), so a dismissal made after the run changes its counts and its verdict.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from ..core import FindingState, Reason
from ..core.events import (
    BundleTallied,
    DismissalRow,
    Event,
    LocationRow,
    PlannedReviewer,
    ReviewFinished,
    ReviewStarted,
    ScrumPlanned,
    TokenRow,
)
from ._findings import TokenSum, token_sums, total
from ._ledger import active, dismissal

ANY_LINEAGE = "any-lineage"


@dataclass
class BundleState:
    name: str
    kb: float
    sent_kb: float
    guard: str  # ok | warn | refused | error
    reason: str
    reviews: dict[str, ReviewFinished | None] = field(default_factory=dict)  # None = running
    tally: BundleTallied | None = None

    def unreviewed_reason(self) -> str:
        """Why no review of this bundle finished, for the verdict."""
        statuses = [r.status for r in self.reviews.values() if r is not None]
        cut, failed = statuses.count("partial"), statuses.count("error")
        if not cut:
            return "every reviewer failed"
        return f"no review finished ({cut} cut short" + (f", {failed} failed)" if failed else ")")


def seen(loc: LocationRow, form: Literal["cell", "markdown", "reason"] = "cell") -> str:
    """A finding's wave, in the one wording every report shares. `cell` (the pane): `new`,
    `2 waves`, nothing when there was no earlier wave; `markdown`: `recurring (2 waves, since
    `run`)`, `–` with no earlier wave; `reason` (a verdict reason's tail): ` — recurring for
    2 waves, since run …`, nothing for a new finding."""
    if loc.state != FindingState.RECURRING:
        return {"cell": str(loc.state), "markdown": loc.state or "–", "reason": ""}[form]
    waves = f"{loc.waves} waves"
    return {"cell": waves, "markdown": f"recurring ({waves}, since `{loc.since}`)",
            "reason": f" — recurring for {waves}, since run {loc.since}"}[form]


@dataclass
class ScrumBoard:
    bundles: dict[str, BundleState] = field(default_factory=dict)
    reviewers: tuple[PlannedReviewer, ...] = ()
    min_tokens_out: int = 100
    block_on: str = "convergent"
    ledger_path: str = ""
    recorded: tuple[DismissalRow, ...] = ()  # the ledger as the run started
    ledger: list[DismissalRow] | None = None  # the ledger as it is now, when someone read it since
    today: date = field(default_factory=date.today)
    previous_run_id: str = ""
    previous_tokens: tuple[TokenRow, ...] = ()
    min_lineages: int = 0  # 0: every planned lineage must review
    _in_force: tuple[object, date, dict[str, DismissalRow]] | None = field(default=None, init=False, repr=False, compare=False)

    def apply(self, t: float, event: Event) -> None:
        if isinstance(event, ScrumPlanned):
            self.reviewers = event.reviewers
            self.min_tokens_out = event.min_tokens_out
            self.block_on, self.ledger_path, self.recorded = event.block_on, event.ledger, event.dismissed
            self.previous_run_id, self.previous_tokens = event.previous_run_id, event.previous_tokens
            self.min_lineages = event.min_lineages
            self.bundles = {b.name: BundleState(b.name, b.kb, b.kb_sent, b.guard, b.reason) for b in event.bundles}
        elif isinstance(event, ReviewStarted) and event.bundle in self.bundles:
            self.bundles[event.bundle].reviews[event.reviewer] = None
        elif isinstance(event, ReviewFinished) and event.bundle in self.bundles:
            self.bundles[event.bundle].reviews[event.reviewer] = event
        elif isinstance(event, BundleTallied) and event.bundle in self.bundles:
            self.bundles[event.bundle].tally = event

    # ---- which findings count ----------------------------------------------------------

    def dismissal(self, loc: LocationRow) -> DismissalRow | None:
        """Asked once per location per redraw: the entries in force are worked out again only
        when the ledger (replaced whole, never changed in place) or the day changes."""
        rows = self.recorded if self.ledger is None else self.ledger
        if self._in_force is None or self._in_force[0] is not rows or self._in_force[1] != self.today:
            self._in_force = (rows, self.today, active(rows, self.today))
        return dismissal(loc, self._in_force[2])

    def counted(self, b: BundleState) -> list[LocationRow]:
        return [loc for loc in b.tally.locations if self.dismissal(loc) is None] if b.tally else []

    def locations(self) -> Iterator[tuple[str, LocationRow]]:
        """Every counted location of every tallied bundle."""
        for b in self.bundles.values():
            yield from ((b.name, loc) for loc in self.counted(b))

    def refused(self) -> list[BundleState]:
        return [b for b in self.bundles.values() if b.guard in ("refused", "error")]

    def unreviewed(self) -> list[BundleState]:
        """Tallied bundles without one finished review. A review cut short is kept and
        tallied, but it read part of an answer: alone it does not make the bundle reviewed."""
        return [b for b in self.bundles.values() if b.tally is not None and b.reviews
                and not any(r is not None and r.status == "ok" for r in b.reviews.values())]

    def lost_lineages(self) -> list[tuple[str, str]]:
        """(lineage, its last error) of each planned lineage every review of which failed (one
        cut short still read part of an answer, and is tallied): convergence rested on the
        others. In plan order, the last error by the bundles' order, so the words do not
        depend on which review failed last."""
        last: dict[str, str | None] = {}  # lineage -> None once a review of it finished
        for reviewer in self.reviewers:
            for b in self.bundles.values():
                r = b.reviews.get(reviewer.name)
                if r is None:
                    continue
                if r.status != "error":
                    last[r.lineage] = None
                elif last.get(r.lineage, "") is not None:
                    last[r.lineage] = f"{reviewer.name}: {r.error}"
        return [(lineage, error) for lineage, error in last.items() if error is not None]

    def lineages(self) -> list[str]:
        return list(dict.fromkeys(r.lineage for r in self.reviewers))

    def lineages_needed(self) -> int:
        return self.min_lineages or len(self.lineages())

    def lineage_reasons(self) -> list[Reason]:
        """The scrum is incomplete when fewer lineages reviewed than it needs (`min_lineages`,
        by default every lineage configured): each lost lineage named with its last error.
        With `min_lineages`, a bundle reviewed by fewer lineages is incomplete too."""
        lost, planned = self.lost_lineages(), len(self.lineages())
        needed = self.lineages_needed()
        reasons: list[Reason] = []
        if lost and 0 < planned - len(lost) < needed:  # none at all: each bundle says every reviewer failed
            told = (f"{planned - len(lost)} of {planned} lineages reviewed, [scrum] min_lineages = {needed}"
                    if self.min_lineages else
                    f"{planned - len(lost)} of {planned} lineages reviewed; [scrum] min_lineages says how many suffice")
            reasons += [Reason.incomplete_because(f"scrum lineage {lineage} lost: every review failed ({error}); {told}")
                        for lineage, error in lost]
        if self.min_lineages:
            for b in self.bundles.values():
                done = {r.lineage for r in b.reviews.values() if r is not None and r.status == "ok"}
                if b.tally is not None and 0 < len(done) < self.min_lineages:
                    reasons.append(Reason.incomplete_because(
                        f"scrum bundle {b.name}: reviewed by {len(done)} lineage(s) ({', '.join(sorted(done))}), "
                        f"[scrum] min_lineages = {self.min_lineages}"))
        return reasons

    def reviewed(self) -> int:
        """Bundles that at least one review finished: what the scrum checked."""
        unreviewed = {b.name for b in self.unreviewed()}
        return sum(1 for b in self.bundles.values() if b.tally is not None and b.name not in unreviewed)

    def convergent_blocks(self) -> list[tuple[str, LocationRow]]:
        return [(name, loc) for name, loc in self.locations() if loc.convergent and loc.severity == "BLOCK"]

    def unverified_blocks(self) -> list[tuple[str, LocationRow]]:
        """BLOCKs from one lineage (not taken back): they block only under `block_on = "any-lineage"`."""
        return [(name, loc) for name, loc in self.locations() if not loc.convergent and loc.severity == "BLOCK"]

    def block_reasons(self) -> list[Reason]:
        """The verdict's scrum reasons: every convergent BLOCK (since when, when it recurs),
        and every unverified one too when the config says any lineage blocks."""
        reasons = [Reason(f"convergent BLOCK in {bundle} at {loc.where} ({' + '.join(loc.lineages)}): {loc.what}"
                          + seen(loc, "reason")) for bundle, loc in self.convergent_blocks()]
        if self.block_on == ANY_LINEAGE:
            reasons += [Reason(f"unverified BLOCK in {bundle} at {loc.where} ({loc.lineages[0]} only; "
                               f'[scrum] block_on = "{ANY_LINEAGE}"): {loc.what}' + seen(loc, "reason"))
                        for bundle, loc in self.unverified_blocks()]
        return reasons

    def counts(self, b: BundleState) -> tuple[int, int]:
        """(convergent, distinct) of a tallied bundle, dismissed findings left out."""
        counted = self.counted(b)
        return sum(1 for loc in counted if loc.convergent), len(counted)

    def headline(self) -> str:
        tallied = [b for b in self.bundles.values() if b.tally]
        counts = [self.counts(b) for b in tallied]
        reviewed = len(tallied) - len(self.unreviewed())
        text = (f"{reviewed}/{len(self.bundles)} bundles reviewed · {sum(c for c, _ in counts)} convergent / "
                f"{sum(d for _, d in counts)} distinct")
        if self.refused():
            text += f" · {len(self.refused())} refused"
        lost = self.lost_lineages()
        if lost:
            text += f" · lineage {', '.join(lineage for lineage, _ in lost)} lost"
        return text

    # ---- tokens ------------------------------------------------------------------------------

    def token_rows(self) -> list[TokenRow]:
        """This wave's reviews that finished, with their tokens and cost: by bundle, then by
        reviewer in the plan's order (never in the order the reviews started)."""
        planned = [reviewer.name for reviewer in self.reviewers]
        return [TokenRow(b.name, name, r.lineage, r.tokens_in, r.tokens_out, r.tokens_estimated, r.cost)
                for b in self.bundles.values() for name in dict.fromkeys([*planned, *b.reviews])
                if (r := b.reviews.get(name)) is not None]

    def bundle_tokens(self, b: BundleState) -> TokenSum:
        return total(row for row in self.token_rows() if row.bundle == b.name)

    def lineage_waves(self) -> list[tuple[str, TokenSum | None, TokenSum]]:
        """Per lineage: (lineage, the previous wave's tokens or None, this wave's)."""
        before = token_sums(self.previous_tokens, "lineage")
        now = token_sums(self.token_rows(), "lineage")
        return [(lineage, before.get(lineage), now.get(lineage, TokenSum()))
                for lineage in dict.fromkeys([*now, *before])]

    def estimated(self) -> bool:
        """Some count shown, of this wave or the previous one, is an estimate (marked `~`)."""
        return total([*self.token_rows(), *self.previous_tokens]).estimated

    def thin(self, b: BundleState, reviewer: str) -> bool:
        """The tally found the reviewer's review of the bundle too short to have read it."""
        row = next((r for r in (b.tally.reviewers if b.tally else ()) if r.reviewer == reviewer), None)
        return bool(row and row.thin)

