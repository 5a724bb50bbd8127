"""The parity pane's rendering of the parity board: a case's cells and the learned noise's few
lines, as rich Text in the theme's styles. The board holds typed state only; how the pane
shows it is decided here, beside the pane."""

from __future__ import annotations

from collections.abc import Mapping

from rich.text import Text

from probes.core import neutralise
from probes.core.events import NoiseSettled
from probes.parity import INCONCLUSIVE, NOISE_FILE, CaseRow, body_kind, status_kind

TICK, CROSS = "✓", "✗"
NOISE_ENDPOINTS, NOISE_PATHS = 6, 8  # the pane's few lines of noise; parity/noise.json has it all


def judged(ok: bool, kind: str, kind_style: Mapping[str, str]) -> Text:
    """A match mark and, after it, what differs, styled by its (most severe) kind."""
    mark = Text(TICK, style="parity.match") if ok else Text(CROSS, style="parity.mismatch")
    return Text.assemble(mark, (f" {kind}" if kind else "", kind_style.get(kind.split(",")[0], "")))


def row_cells(r: CaseRow, targets: tuple[str, ...], kind_style: Mapping[str, str]) -> tuple[Text, ...]:
    """A case's row: the case, a status per target, then the status match and the body match,
    each mark followed by its kind (one cell each, so the row fits 80 columns)."""
    statuses = [Text(r.status_word(t), style="" if r.statuses.get(t) is not None else "parity.error")
                for t in targets]
    body = Text(f"? {INCONCLUSIVE}", style="parity.inconclusive") if r.unsure \
        else judged(r.body_match, body_kind(r), kind_style)
    return (Text(r.case), *statuses, judged(r.status_match, status_kind(r), kind_style), body)


def noise_lines(event: NoiseSettled) -> Text:
    """The learned noise in a few lines under the headline: per endpoint, each noisy path and
    in how many of the reference's samples it differed."""
    text = Text()
    told = [e for e in event.endpoints if e.paths or e.inconclusive]
    for e in told[:NOISE_ENDPOINTS]:
        text.append(("\n" if text else "") + f"noise {neutralise(e.endpoint)}: ", style="bold")
        paths = [f"{neutralise(p.path)} {p.differed}/{e.samples}" for p in e.paths[:NOISE_PATHS]]
        if len(e.paths) > NOISE_PATHS:
            paths.append(f"{len(e.paths) - NOISE_PATHS} more")
        text.append(" · ".join(paths))
        if e.inconclusive:
            text.append(f" · {e.inconclusive} inconclusive", style="parity.error")
    if len(told) > NOISE_ENDPOINTS:
        text.append(f"\n… and {len(told) - NOISE_ENDPOINTS} more endpoints with noise ({NOISE_FILE})", style="dim")
    return text
