"""What a slower candidate does to the verdict: the known gaps that cover it, the reasons
that block. Parity measures and classifies latency; whether it blocks is the verdict's
word, so this lives here and asks the latency board, never the reverse."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date

from ..core.events import LatencyRow
from ..parity import FIRST_FAILED, LATENCY, LATENCY_CLASS, NO_DATA, SLOWER, LatencyBoard
from ._gaps import KnownGap


def latency_verdict(board: LatencyBoard, gaps: Sequence[KnownGap], today: date,
                    examples: Callable[[list[str]], str], compared: int) -> tuple[list[str], list[str], list[str]]:
    """(reasons that block, what known gaps cover, the ids of those gaps). Blocking: a slower
    candidate no live gap covers, and no data where the first answers were fine, one reason
    a candidate however many cases (`examples` names a few of them). `report` mode blocks on
    nothing (the figures are in the reports). No data is the targets failing timed requests,
    as a case that could not be compared is: the phase ran to its end, so the verdict stays
    complete. Cases compared and none timed (a mirror's ways of answering that never grew past
    their examples) is no data too: latency was asked for and nothing answered it."""
    if board.plan is None or not board.plan.blocking:
        return [], [], []
    if compared and not board.timed():
        return [f"latency: no data: {compared:,} cases compared, none timed"], [], []
    reasons: list[str] = []
    covered: list[str] = []
    ids: list[str] = []
    groups: dict[tuple[str, str, str], list[tuple[str, LatencyRow]]] = {}
    for case, row in board.of_state(SLOWER):
        gap = next((g for g in gaps if g.covers(case, LATENCY, None, row.class_id, today)), None)
        expired = None if gap else next((g for g in gaps if g.expired(today) and g.covers(
            case, LATENCY, None, row.class_id, g.expires or today)), None)
        state = "covered" if gap else "expired" if expired else "open"
        told = gap or expired
        groups.setdefault((row.target, state, told.id if told else ""), []).append((case, row))
    for (target, state, gap_id), found in groups.items():
        case, worst = max(found, key=lambda item: item[1].ratio or 0.0)
        what = board.sentence(case, worst)
        if len(found) > 1:
            what = f"{what}, the slowest of {len(found):,} cases ({examples([c for c, _ in found])})"
        gap = next((g for g in gaps if g.id == gap_id), None)
        if state == "covered" and gap is not None:
            ids.append(gap.id)
            covered.append(f"latency: {what}, covered by known gap {gap.id} (owner {gap.owner}"
                           + (f", expires {gap.expires}" if gap.expires else "") + f") — class {LATENCY_CLASS}")
        elif state == "expired" and gap is not None:
            reasons.append(f"latency: {what}; known gap {gap.id} expired on {gap.expires}")
        else:
            reasons.append(f"latency: {what} — above max_ratio {board.plan.max_ratio:g} "
                           f"(class {LATENCY_CLASS})")
    missing: dict[str, list[tuple[str, LatencyRow]]] = {}
    for case, row in board.of_state(NO_DATA):
        if row.why != FIRST_FAILED:  # those block as cases that could not be compared
            missing.setdefault(row.target, []).append((case, row))
    for target, found in missing.items():
        case, row = found[0]
        if len(found) == 1:
            reasons.append(f"latency: no data for {target} on case {case}: {row.why}")
        else:
            reasons.append(f"latency: no data for {target} on {len(found):,} cases "
                           f"({examples([c for c, _ in found])}) — the timing could not be measured; "
                           f"{case}: {row.why}")
    return reasons, covered, ids
