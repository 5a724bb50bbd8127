"""The headless printer: plain, readable live progress for logs, CI and `--headless`.

One line per result as it lands; on a terminal a spinner line shows what is running
(rich Live), elsewhere nothing animates. A parity phase of more than a few dozen cases is
not told case by case (100,000 lines say less than a table): a progress line on a terminal,
a line every tenth of the way elsewhere, then the case table, the divergence classes and the
headline, and the noise the reference taught (a few paths per endpoint, the rest counted);
`--verbose` keeps a line per case. Outside text is already display-safe in
events, and is printed as rich Text so no markup in it is interpreted.
"""

from __future__ import annotations

import os
import time
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from probes import ENDPOINT_PATHS, NOISE_FILE
from probes.core.events import (
    BundleTallied,
    ComparedWithPrevious,
    Event,
    MirrorCounted,
    MirrorPlanned,
    NoiseSettled,
    Notice,
    ParityCaseFinished,
    ParityPlanned,
    PhaseFinished,
    PhaseStarted,
    ReviewFinished,
    RunFinished,
    RunStarted,
    SmokeFinished,
    SmokeStarted,
    VerdictChanged,
)
from probes.parity import ParityTables, body_kind, status_kind
from probes.scrum import ANY_LINEAGE, ScrumTables
from probes.smokes import STATUS_STYLE, STATUS_WORD, SmokeTables
from probes.core import neutralise
from probes.verdict import VerdictTracker
from themes.palette import CONSOLE_THEME

CASE_LINES = 30  # parity cases told one line each; above it, progress and the tables
MILESTONES = 10  # progress lines of a large parity phase when nothing animates
NOISE_PATHS = 5  # noisy paths told per endpoint; the rest are counted (all are in parity/noise.json)
NOISE_ENDPOINTS = 20  # endpoints told; the rest are counted
UNVERIFIED_LINES = 10  # one-lineage BLOCKs told under the verdict; verdict.md has them all
MIRROR_EVERY = 10.0  # seconds between a mirror's count lines in a log (a terminal shows them live)


def _console() -> Console:
    """A terminal gets its own width; a log or pipe gets lines wide enough not to wrap."""
    console = Console(highlight=False)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console = Console(highlight=False, width=120)
    return console


class HeadlessPrinter:
    """An EventBus subscriber that prints progress to a rich Console."""

    def __init__(self, console: Console | None = None, *, show_diffs: bool = False, verbose: bool = False) -> None:
        self.console = console or _console()
        self.console.push_theme(CONSOLE_THEME)  # styles name meanings; the theme gives their ANSI colours
        self.show_diffs = show_diffs
        self.verbose = verbose or show_diffs
        self.tracker = VerdictTracker()  # the boards of every phase, fed by the same events
        self._running: dict[str, float] = {}
        self._live: Live | None = None
        self._reasons: tuple[str, ...] = ()
        self._planned = self._landed = self._diverged = 0
        self._probing: float | None = None  # since when a large parity phase has been probing
        self._mirror_told = 0.0  # when a mirror's counts were last printed
        if self.console.is_terminal and not self.console.is_dumb_terminal:
            self._live = Live(console=self.console, refresh_per_second=8, transient=True,
                              get_renderable=self._status)
            self._live.start()

    def _status(self) -> RenderableType:
        """What is running now: a spinner per smoke, and a large parity phase's progress."""
        now = time.monotonic()
        lines: list[RenderableType] = [Spinner("dots", Text(f"{name}  {now - since:.1f}s", style="smoke.running"))
                                       for name, since in self._running.items()]
        if self.tracker.mirror.plan is not None and self._probing is not None:
            lines.append(Text(f"mirror: {self.tracker.mirror.line()}", style="smoke.running"))
        elif self._probing is not None:
            bar = Table.grid(padding=(0, 1))
            bar.add_row(ProgressBar(total=self._planned or None, completed=self._landed, width=30),
                        Text(self._progress(now - self._probing), style="smoke.running"))
            lines.append(bar)
        return Group(*lines)

    def _progress(self, elapsed: float) -> str:
        done = f"{self._landed:,}/{self._planned:,}" if self._planned else f"{self._landed:,}"
        return (f"parity {done} cases · {self._diverged:,} diverge · {len(self.tracker.parity.classes):,} "
                f"classes  {elapsed:.1f}s")

    def print(self, *renderables: Any) -> None:
        self.console.print(*renderables, highlight=False, soft_wrap=all(isinstance(r, Text) for r in renderables))

    def apply(self, t: float, event: Event) -> None:
        self.tracker.apply(t, event)
        if isinstance(event, RunStarted):
            self.print(Text.assemble(("gauntlet ", "bold"), (event.name, "run.name"),
                                     f"  run {event.run_id}  → {event.run_dir}"))
        elif isinstance(event, PhaseStarted) and event.phase != "verdict":
            self.print(Text(f"── {event.phase} ", style="bold"))
        elif isinstance(event, SmokeStarted):
            self._running[event.name] = time.monotonic()
        elif isinstance(event, SmokeFinished):
            self._running.pop(event.name, None)
            self._smoke_line(event)
        elif isinstance(event, ReviewFinished):
            tokens = f"{'~' if event.tokens_estimated else ''}{event.tokens_out} tokens out"
            detail = event.error or f"{tokens}, {event.findings} findings"
            self.print(Text.assemble((f"{event.status.upper():<8}", f"review.{event.status}"),
                                     f"{event.bundle}/{event.reviewer} ({event.lineage})  ", (detail, "dim")))
        elif isinstance(event, BundleTallied):
            self.print(Text(event.line, style="bold"))
        elif isinstance(event, ParityPlanned):
            self._planned, self._landed, self._diverged = len(event.cases), 0, 0
            if not self.verbose and self._planned > CASE_LINES:
                self._go_quiet()
        elif isinstance(event, ParityCaseFinished):
            if event.weight == 1:  # more weight: a mirror's count of requests alike, not one more case
                self._case_landed(event)
        elif isinstance(event, MirrorPlanned):
            self._mirror_told = time.monotonic()
            fed = "fed copies by another proxy" if event.sink else "each client answered by the reference"
            self.print(Text(f"mirror on {event.listen}, {fed}: {event.sample * 100:g}% of the requests that may be "
                            f"copied go to {', '.join(event.candidates)}"
                            + (" and the secondary" if event.secondary else ""), style="dim"))
        elif isinstance(event, MirrorCounted):
            if self._live is None and time.monotonic() - self._mirror_told >= MIRROR_EVERY:
                self._mirror_told = time.monotonic()
                self.print(Text(f"mirror: {self.tracker.mirror.line()}", style="dim"))
        elif isinstance(event, PhaseFinished) and event.phase == "smokes":
            self.print()
            self.print(SmokeTables(self.tracker.smokes))
        elif isinstance(event, PhaseFinished) and event.phase == "parity":
            self._probing = None
            self.print()
            if self.tracker.mirror.plan is not None:
                self.print(Text(f"mirror: {self.tracker.mirror.line()}", style="bold"))
            self.print(ParityTables(self.tracker.parity))
            if self.tracker.parity.noise is not None:
                self._noise_table(self.tracker.parity.noise)
        elif isinstance(event, PhaseFinished) and event.phase == "scrum":
            self.print()
            self.print(ScrumTables(self.tracker.scrum))
        elif isinstance(event, PhaseFinished) and not event.complete:
            self.print(Text(f"{event.phase}: incomplete ({event.reason})", style="phase.incomplete"))
        elif isinstance(event, Notice):
            style = f"notice.{event.level}" if event.level in ("warn", "error") else "dim"
            self.print(Text(f"{event.phase}: {event.message}", style=style))
        elif isinstance(event, ComparedWithPrevious):
            self.print()
            for i, line in enumerate(event.lines):
                self.print(Text(line.text if i == 0 else f"  {line.text}", style="bold" if i == 0 else
                                f"delta.{line.tone}" if line.tone else ""))
        elif isinstance(event, VerdictChanged):
            self._reasons = event.reasons
        elif isinstance(event, RunFinished):
            self._stop_live()
            self._verdict_line(event)

    def _smoke_line(self, e: SmokeFinished) -> None:
        line = Text.assemble((f"{STATUS_WORD[e.status]:<8}", STATUS_STYLE[e.status]),
                             f"{e.name:<22} {e.layer:<24} {e.duration:6.1f}s  ", (e.reason, "dim"))
        self.print(line)
        if e.status in ("fail", "timeout") and e.tail:
            for tail_line in e.tail.splitlines()[-10:]:
                self.print(Text(f"    │ {tail_line}", style="dim"))

    def _go_quiet(self) -> None:
        """From here on, progress rather than a line per case."""
        self._probing = time.monotonic()
        planned = f"{self._planned:,} cases" if self._planned else "more cases"
        self.print(Text(f"{planned}: progress only, then the table and the divergence classes "
                        "(--verbose prints every case)", style="dim"))

    def _case_landed(self, e: ParityCaseFinished) -> None:
        self._landed += 1
        self._diverged += not (e.status_match and e.body_match)
        if self._probing is None and not self.verbose and self._landed > CASE_LINES:
            self._go_quiet()  # cases streamed from a file: their number shows only as they land
        if self._probing is None:
            self._parity_line(e)
        elif self._live is None and self._planned and self._landed * MILESTONES // self._planned \
                != (self._landed - 1) * MILESTONES // self._planned:
            self.print(Text(self._progress(time.monotonic() - self._probing), style="dim"))

    def _parity_line(self, e: ParityCaseFinished) -> None:
        ok = e.status_match and e.body_match
        statuses = "  ".join(f"{t} {s if s is not None else 'error'}" for t, s in e.statuses.items())
        body = body_kind(e)
        unsure = ok and e.inconclusive  # a match on noise alone proves nothing
        kinds = " · ".join(k for k in (status_kind(e), body and f"body {body}") if k) or (
            "the reference's answer is all noise: nothing compared" if unsure else "match")
        word, style = ("INCONCLUSIVE", "parity.inconclusive") if unsure else ("MATCH", "parity.match") if ok \
            else ("DIVERGE", "parity.diverge")
        self.print(Text.assemble((f"{word:<7} ", style), f"{e.case:<32} {statuses}  ", (kinds, "dim")))
        for target, error in e.errors.items():
            self.print(Text(f"    │ {target}: {error}", style="parity.error"))
        if self.show_diffs:
            for d in e.diffs:
                flag = " (noise)" if d.noise else " (ignored)" if d.ignored else ""
                self.print(Text(f"    │ {d.target:<8} {d.kind + flag:<16} {d.path:<28} "
                                f"{d.ref}  →  {d.cand}"))

    def _noise_table(self, settled: NoiseSettled) -> None:
        """What the reference's own answers taught, as report.md has it, bounded for a log: the
        noisiest paths of each endpoint with the reference's values there, the rest counted."""
        told = [e for e in settled.endpoints if e.paths or e.inconclusive or e.truncated or e.failed]
        self.print()
        if not told:
            self.print(Text("learned noise: none (the reference answered every sample the same way)", style="bold"))
            return
        self.print(Text("learned noise (paths on which the reference's own answers differed, in how many samples):",
                        style="bold"))
        for e in told[:NOISE_ENDPOINTS]:
            endpoint = neutralise(e.endpoint)
            self.print(Text(f"  {endpoint}: {e.samples} samples from {e.cases} case(s)"))
            if e.failed:
                self.print(Text(f"    {e.failed} more sample(s) taught nothing: no answer, or another status or "
                                "body kind than the first answer", style="dim"))
            paths = sorted(e.paths, key=lambda p: (-p.differed, p.path))
            for p in paths[:NOISE_PATHS]:
                self.print(Text.assemble(f"    {neutralise(p.path)}  {p.differed}/{e.samples}  ",
                                         (", ".join(p.evidence), "dim")))
            if len(paths) > NOISE_PATHS:
                self.print(Text(f"    … {len(paths) - NOISE_PATHS} more noisy path(s): {NOISE_FILE}, "
                                "`gauntlet noise suggest`", style="dim"))
            if e.truncated:
                self.print(Text(f"    more than {ENDPOINT_PATHS} noisy paths; the rest were not learned", style="dim"))
            if e.inconclusive:
                self.print(Text(f"  {endpoint}: {e.inconclusive} case(s) inconclusive — every value the reference "
                                "gives differs among its own answers", style="notice.warn"))
        if len(told) > NOISE_ENDPOINTS:
            self.print(Text(f"  … {len(told) - NOISE_ENDPOINTS} more endpoint(s) with noise: {NOISE_FILE}", style="dim"))
        if settled.overflow:
            self.print(Text(f"  {settled.overflow} case(s) of endpoints beyond the pool's limit learned from their "
                            "own samples only", style="dim"))

    def _verdict_line(self, e: RunFinished) -> None:
        self.print()
        self.print(Text.assemble(("verdict: ", "bold"), (e.verdict, f"verdict.{e.verdict}"),
                                 ("" if e.complete else "  (incomplete)", "phase.incomplete"),
                                 f"  in {e.duration:.1f}s"))
        for reason in self._reasons:
            self.print(Text(f"  - {reason}"))
        scrum = self.tracker.scrum
        unverified = scrum.unverified_blocks()
        if unverified and scrum.block_on != ANY_LINEAGE:
            self.print(Text(f"  unverified BLOCKs (one lineage each, not blocking; [scrum] block_on = "
                            f'"{ANY_LINEAGE}" makes them block):', style="notice.warn"))
            for bundle, loc in unverified[:UNVERIFIED_LINES]:
                self.print(Text(f"  ! unverified BLOCK in {bundle} at {loc.where} ({loc.lineages[0]} only): {loc.what}"))
            if len(unverified) > UNVERIFIED_LINES:
                self.print(Text(f"  … {len(unverified) - UNVERIFIED_LINES} more in verdict.md", style="dim"))

    def _stop_live(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None

    def close(self) -> None:
        self._stop_live()
