"""Judging a finished run again, offline: the verdict is one function of a run's events and
the known-gaps file, whoever asks (a run ending, `gauntlet verdict`, a gap just recorded).

A gap recorded after a run ended must change the run's verdict files, not only a screen:
re-judging replays events.jsonl into a fresh tracker with the gaps file as it is now and
rewrites verdict.json, verdict.md and report.html in one step each. `gauntlet report` replays
the same way and writes nothing in the run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

from ..core import EXIT_INTERRUPTED, InputError, VerdictWord, Writer, write_atomic
from ..core.events import RunFinished, read_events
from ..scrum import findings_sarif, load_ledger, summary_markdown
from ._gaps import KnownGap, gaps_path_of_run, load_gaps
from ._html import REPORT_HTML, report_html
from ._render import fitted_markdown, verdict_json, verdict_markdown
from ._verdict import Verdict, VerdictTracker


@dataclass(frozen=True)
class Judgement:
    run_dir: Path
    verdict: Verdict
    exit_code: int
    gaps_file: Path | None
    gaps: tuple[KnownGap, ...]  # as the gaps file holds them now
    finished: bool  # the run wrote RunFinished (else it is judged as it stands, incomplete)
    written: bool  # verdict.json, verdict.md and report.html were rewritten (never under a run still going)
    tracker: VerdictTracker  # the boards the verdict was judged from


def run_gaps(run_dir: Path) -> tuple[Path | None, list[KnownGap]]:
    """The known-gaps file named by the run's config, and its entries as they are now."""
    try:
        gaps_file, _ = gaps_path_of_run(run_dir)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    if gaps_file is None or not gaps_file.is_file():
        return gaps_file, []
    return gaps_file, load_gaps(gaps_file)


@dataclass(frozen=True)
class Replayed:
    """A run's boards and verdict as its events tell them, with the gaps file and the findings
    ledger as they are now."""

    tracker: VerdictTracker
    verdict: Verdict
    finished: RunFinished | None
    live: bool  # still being written by its own process
    gaps_file: Path | None

    @property
    def interrupted(self) -> bool:
        return self.finished is not None and self.finished.interrupted

    @property
    def duration(self) -> float:
        return self.finished.duration if self.finished is not None else 0.0


def replay(run_dir: Path, *, today: date | None = None) -> Replayed:
    """Replay a run's events into a fresh tracker and judge it (a run abandoned by its writer is
    BLOCK, incomplete; one still going, as it stands so far); InputError when the folder is not a run."""
    events_path = run_dir / "events.jsonl"
    if not events_path.is_file():
        raise InputError(f"{run_dir}: not a run directory (no events.jsonl)")
    gaps_file, gaps = run_gaps(run_dir)
    tracker = VerdictTracker(gaps=gaps, today=today or date.today())
    finished: RunFinished | None = None
    try:
        for t, event in read_events(str(events_path)):
            tracker.apply(t, event)
            if isinstance(event, RunFinished):
                finished = event
    except ValueError as exc:
        raise InputError(str(exc)) from None
    if tracker.scrum.ledger_path:  # the findings ledger as it is now, like the gaps file
        tracker.scrum.ledger = load_ledger(Path(tracker.scrum.ledger_path))
    writer = Writer.of_run(run_dir)
    live = finished is None and writer is not None and writer.running() is not False
    verdict = tracker.current(final=not live)  # a run still going is judged so far: its phases are not over
    if finished is None and writer is not None and not live:
        verdict = replace(verdict, verdict=VerdictWord.BLOCK, reasons=(writer.abandoned, *verdict.reasons), complete=False)
    return Replayed(tracker, verdict, finished, live, gaps_file)


def judge_run(run_dir: Path, *, strict: bool = False, today: date | None = None) -> Judgement:
    """The run's verdict from its events and its gaps file, written to its verdict files (and
    its page) unless the run is still going (its own writer has the last word then)."""
    r = replay(run_dir, today=today)
    tracker, verdict = r.tracker, r.verdict
    if not r.live:
        write_atomic(run_dir / "verdict.json", verdict_json(tracker, verdict, interrupted=r.interrupted,
                                                            duration=r.duration))
        write_atomic(run_dir / "verdict.md", verdict_markdown(tracker, verdict, interrupted=r.interrupted))
        write_atomic(run_dir / REPORT_HTML, report_html(tracker, verdict, run_dir, interrupted=r.interrupted,
                                                        duration=r.duration))
        if tracker.scrum.ledger is not None and (run_dir / "scrum").is_dir():  # what a dismissal changes there
            write_atomic(run_dir / "scrum" / "summary.md",
                         summary_markdown(tracker.scrum, tracker.run.name if tracker.run else "gauntlet"))
            write_atomic(run_dir / "scrum" / "findings.sarif", findings_sarif(tracker.scrum))
    code = EXIT_INTERRUPTED if r.interrupted else verdict.exit_code(strict=strict)
    return Judgement(run_dir, verdict, code, r.gaps_file, tuple(tracker.gaps), r.finished is not None, not r.live,
                     tracker)


def run_report(run_dir: Path, *, markdown: bool = False, limit: int | None = None,
               measure: Callable[[str], int] = len) -> str:
    """`gauntlet report`: a run's page, or its verdict as Markdown cut to `limit` (as `measure`
    counts it), from its events as they are now; nothing in the run directory is written."""
    r = replay(run_dir)
    if markdown:
        if limit is None:
            return verdict_markdown(r.tracker, r.verdict, interrupted=r.interrupted)
        return fitted_markdown(r.tracker, r.verdict, limit=limit, measure=measure, interrupted=r.interrupted)
    return report_html(r.tracker, r.verdict, run_dir, interrupted=r.interrupted, duration=r.duration)
