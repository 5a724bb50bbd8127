"""The engine: runs the asked-for phases in order over one run directory and one event bus.

Every consumer (the headless printer, the TUI, the artifact writers, the verdict) listens
to the same bus. An interrupt cancels the phase in flight, whose children are stopped by
their runners; the verdict and summaries are still written, marked incomplete. A run
directory that cannot be written (a full disk) ends the run the same way, with exit 3: the
verdict is then told from memory only.
"""

from __future__ import annotations

import asyncio
import time
import traceback
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import tomli_w

from .config import PHASES, Config
from .core import EXIT_INTERRUPTED, GauntletError, RunDir, RunDirUnwritable
from .core.events import (
    ArtifactWritten,
    Event,
    EventBus,
    InternalError,
    Notice,
    PhaseFinished,
    PhaseStarted,
    RunFinished,
    RunStarted,
    VerdictChanged,
)
# The runners that speak HTTP (the probe, the reviewers, the stack's health checks) are
# looked up on their phase's package when that phase runs: a run of smokes alone does not
# load the HTTP client (a tenth of a second of its start).
from . import parity as parity_phase
from . import scrum as scrum_phase
from . import stack as stack_phase
from .parity import NOISE_FILE, RESULTS, Shard, noise_json, report_markdown
from .scrum import findings_sarif, load_ledger, summary_markdown
from .smokes import junit_xml, run_smokes, summary_text
from .verdict import (
    REPORT_HTML,
    HistoryStore,
    HistoryUnavailable,
    RunSummary,
    Verdict,
    VerdictTracker,
    bare_verdict,
    compare_runs,
    load_gaps,
    open_store,
    read_baseline,
    report_html,
    verdict_json,
    verdict_markdown,
)

if TYPE_CHECKING:
    from .mirror import Mirror  # the CLI's `mirror` builds it: a run without one never loads the proxy
    from .parity import ResultWriter
    from .stack import RunningService

CRASH_FILE = "crash.txt"


@dataclass(frozen=True)
class RunOutcome:
    run_dir: Path
    verdict: Verdict
    exit_code: int
    interrupted: bool


def select_phases(config: Config, only: Sequence[str] = (), skip: Sequence[str] = ()) -> tuple[str, ...]:
    """The phases to run: what the config has, narrowed by --only / --skip; verdict always."""
    chosen = [p for p in config.phases_present() if p not in ("verdict", "stack")]
    if only:
        chosen = [p for p in chosen if p in only]
    chosen = [p for p in chosen if p not in skip]
    stack = ("stack",) if "stack" in config.phases_present() and chosen else ()
    return (*stack, *chosen, "verdict")


class Engine:
    def __init__(self, config: Config, phases: Sequence[str], *, bus: EventBus | None = None,
                 out_dir: Path | None = None, strict: bool = False,
                 parity_only: Sequence[str] = (), force_oversize: bool = False,
                 shard: Shard | None = None, baseline: Path | None = None, mirror: Mirror | None = None) -> None:
        unknown = [p for p in phases if p not in PHASES]
        if unknown:
            raise ValueError(f"unknown phase(s): {', '.join(unknown)}")
        self.config = config
        self.phases = tuple(phases)
        self.bus = bus or EventBus()
        self.bus.on_failure = self._subscriber_failed
        self.bus.mask = config.secrets.mask_event if config.secrets else None
        self.strict = strict
        self.parity_only = tuple(parity_only)
        self.force_oversize = force_oversize
        self.shard = shard
        self.mirror = mirror  # the parity phase judges a mirror's live requests rather than the config's cases
        self.outcome: RunOutcome | None = None  # how the run ended, once it has (for a face that did not drive it)
        gaps = load_gaps(config.verdict.known_gaps) if config.verdict.known_gaps else []
        found = read_baseline(baseline, config.name) if baseline is not None else None  # before any file is made
        self.run_dir = RunDir(out_dir or config.out_dir, secrets=config.secrets)
        self.tracker = VerdictTracker(gaps=gaps)
        self.bus.subscribe(self.run_dir.record)
        self.bus.subscribe(self.tracker.apply)
        self.summary = RunSummary()
        self.bus.subscribe(self.summary.apply)
        if shard is None:  # a shard is a part of a run: the history records their merge
            self.bus.subscribe(self._remember)
        self._history: HistoryStore | None = None  # used on the history thread only
        self._history_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gauntlet-history")
        self._history_jobs: list[Future[None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._previous: RunSummary | None = None
        self._previous_wave: RunSummary | None = None  # the last run that had a scrum
        self.baseline = found if isinstance(found, RunSummary) else None
        self._baseline_unused = found if isinstance(found, str) else ""  # said once the run has started
        if self.baseline is not None:  # in place of the history's: a CI runner keeps none
            self._previous = self.baseline
            self._previous_wave = self.baseline if self.baseline.bundles else None
        self._phase_task: asyncio.Task[str] | None = None
        self._interrupted = False
        self._unwritable: RunDirUnwritable | None = None
        self._last_verdict: Verdict | None = None
        self._services: list[RunningService] = []
        self._stack_failed = False
        self._phase = ""

    def _remember(self, t: float, event: Event) -> None:
        """Register the run in the history store as it starts, update it as phases end.

        SQLite waits up to its busy timeout behind another writer, so the writes run one at
        a time on their own thread, each from a copy of the summary as of its event.
        """
        if isinstance(event, (RunStarted, PhaseFinished, RunFinished)):
            if self._loop is None:
                self._loop = asyncio.get_running_loop()
            snapshot = self.summary.snapshot()
            started = event if isinstance(event, RunStarted) else None
            self._history_jobs.append(self._history_pool.submit(
                self._history_write, snapshot, started, isinstance(event, RunFinished)))

    def _history_write(self, snapshot: RunSummary, started: RunStarted | None, last: bool) -> None:
        """On the history thread: the store is opened, used and closed there alone."""
        assert self._loop is not None
        try:
            if started is not None:
                self._history = open_store(self.run_dir.path.parent)
                self._history.record(snapshot)
                if self.baseline is None:
                    self._previous = self._history.previous(self.config.name, started.started_at,
                                                            exclude=started.run_id)
                if self.baseline is None and "scrum" in self.phases:
                    self._previous_wave = self._history.previous(self.config.name, started.started_at,
                                                                 exclude=started.run_id, scrum=True)
            elif self._history is not None:
                self._history.record(snapshot)
        except HistoryUnavailable as exc:
            self._close_history()
            self._loop.call_soon_threadsafe(self._history_failed, exc)
        except Exception as exc:  # noqa: BLE001 - a fault of ours, reported on the loop like any other
            self._close_history()
            self._loop.call_soon_threadsafe(self._internal_error, "", exc)
        if last:
            self._close_history()

    def _close_history(self) -> None:
        if self._history is not None:
            self._history.close()
            self._history = None

    async def _history_settled(self) -> None:
        """Wait for the history writes asked for so far (and the notices they scheduled)."""
        jobs, self._history_jobs = self._history_jobs, []
        for job in jobs:
            await asyncio.wrap_future(job)
        await asyncio.sleep(0)  # let a failure's notice, scheduled before the job ended, go out

    def _history_failed(self, exc: Exception) -> None:
        self.bus.emit(Notice("verdict", "warn", f"history unavailable, the run goes on without it: {exc}"))

    def _compare_with_previous(self) -> None:
        """What changed since the previous run (or the baseline); a shard holds part of the cases,
        so its merge compares them (`gauntlet merge --baseline`)."""
        if self._previous is None or self.shard is not None:
            return
        self.bus.emit(compare_runs(self._previous, self.summary, self.tracker.gaps,
                              baseline=self.baseline is not None).event())

    def interrupt(self) -> None:
        """Stop the run: the phase in flight is cancelled, its children stopped."""
        self._interrupted = True
        if self._phase_task is not None:
            self._phase_task.cancel()

    async def run(self) -> RunOutcome:
        """Every phase asked for, then the verdict; whatever happens, `RunFinished` is written."""
        started = time.monotonic()
        self.bus.emit(RunStarted(self.run_dir.run_id, self.config.name, str(self.config.path),
                                 str(self.run_dir.path), self.phases,
                                 datetime.now(UTC).isoformat(timespec="milliseconds"),
                                 str(self.shard) if self.shard else ""))
        if self._baseline_unused:
            self.bus.emit(Notice("verdict", "warn", self._baseline_unused))
        runners: dict[str, Callable[[], Awaitable[str]]] = {"stack": self._stack_up, "smokes": self._smokes,
                                                                "scrum": self._scrum, "parity": self._parity}
        try:
            for phase in self.phases:
                if phase == "verdict":
                    continue
                if self._interrupted or self._unwritable or (phase != "stack" and self._stack_failed):
                    break
                await self._run_phase(phase, runners[phase])
        finally:
            try:
                await asyncio.shield(self._stack_down())
            except Exception as exc:  # noqa: BLE001 - a fault of ours: recorded, the run still ends
                self._internal_error("stack", exc)
            await asyncio.shield(self._history_settled())
            duration = round(time.monotonic() - started, 3)
            verdict = self._finish(duration)
        code = EXIT_INTERRUPTED if self._interrupted else verdict.exit_code(strict=self.strict)
        self.bus.emit(RunFinished(verdict.verdict, verdict.complete, duration, code, self._interrupted))
        await asyncio.shield(self._history_settled())
        self._history_pool.shutdown(wait=False)
        self.run_dir.close()
        self.outcome = RunOutcome(self.run_dir.path, verdict, code, self._interrupted)
        return self.outcome

    def _stop_unwritable(self, exc: RunDirUnwritable) -> None:
        """The run directory takes no more writes: say so once (the record skips it), and end
        the run as an interrupt does, the phase in flight cancelled and its children stopped.
        An InternalError makes it exit 3 and names the cause in the verdict's reasons."""
        if self._unwritable is not None:
            return
        self._unwritable = self.run_dir.stop(exc)
        self.bus.emit(Notice(self._phase or "verdict", "error", f"{self._unwritable}; the run stops"))
        self.bus.emit(InternalError(self._phase, str(self._unwritable)))
        if self._phase_task is not None:
            self._phase_task.cancel()

    def _internal_error(self, phase: str, exc: BaseException) -> str:
        """Keep the traceback in crash.txt, off the operator's console; say it in one line."""
        message = self.config.secrets.mask(" ".join(f"{type(exc).__name__}: {exc}".split()))[:300]
        text = self.config.secrets.mask("".join(traceback.format_exception(exc)))
        stamp = datetime.now(UTC).isoformat(timespec="milliseconds")
        if self._unwritable is None:
            try:
                with open(self.run_dir.path / CRASH_FILE, "a", encoding="utf-8") as fh:
                    fh.write(f"--- {stamp} internal error in {phase or 'the engine'} ---\n{text}\n")
            except OSError:
                pass  # the one-line message below still reaches every consumer
        self.bus.emit(InternalError(phase, message))
        return message

    def _subscriber_failed(self, subscriber: Callable[..., None], event: Event, exc: Exception) -> None:
        if isinstance(exc, RunDirUnwritable):  # the record: reporting it there would fail again
            self._stop_unwritable(exc)
            return
        name = getattr(subscriber, "__qualname__", repr(subscriber))
        self._internal_error(self._phase, RuntimeError(f"{name} failed on {event.event_type}: "
                                                       f"{type(exc).__name__}: {exc}").with_traceback(exc.__traceback__))

    async def _run_phase(self, phase: str, runner: Callable[[], Awaitable[str]]) -> None:
        self.bus.emit(PhaseStarted(phase))
        self._phase = phase
        self._phase_task = asyncio.ensure_future(runner())
        try:
            summary = await self._phase_task
        except asyncio.CancelledError:
            if not self._interrupted and self._unwritable is None:
                raise
            self.bus.emit(PhaseFinished(phase, False, "", str(self._unwritable or "interrupted")))
            return
        except RunDirUnwritable as exc:
            self._stop_unwritable(exc)
            self.bus.emit(PhaseFinished(phase, False, "", str(self._unwritable)))
            return
        except (GauntletError, OSError) as exc:
            # A phase that cannot run is a result (incomplete), not a crash.
            self._stack_failed |= phase == "stack"
            self.bus.emit(Notice(phase, "error", str(exc) or type(exc).__name__))
            self.bus.emit(PhaseFinished(phase, False, "", str(exc) or type(exc).__name__))
            self._publish_verdict()
            return
        except Exception as exc:  # noqa: BLE001 - a fault of ours: that phase is incomplete, the run goes on
            self._stack_failed |= phase == "stack"
            message = self._internal_error(phase, exc)
            self.bus.emit(PhaseFinished(phase, False, "", f"internal error: {message}; see {CRASH_FILE}"))
            self._publish_verdict()
            return
        finally:
            self._phase_task = None
            self._phase = ""
        self.bus.emit(PhaseFinished(phase, True, summary))
        self._publish_verdict()

    def _publish_verdict(self, *, final: bool = False) -> Verdict:
        verdict = self.tracker.current(final=final)
        if verdict != self._last_verdict:
            self._last_verdict = verdict
            self.bus.emit(VerdictChanged(verdict.verdict, verdict.reasons, verdict.complete))
        return verdict

    async def _stack_up(self) -> str:
        def ready(name: str, took: float) -> None:
            self.bus.emit(Notice("stack", "info", f"{name} is healthy ({took:.1f}s)"))

        document = stack_phase.stack_document(self.config.stack, self.config.workdir, f"gauntlet run {self.run_dir.run_id}")
        self._services = await stack_phase.bring_up(document, self.run_dir.path / "stack-logs", ready,
                                        secrets=self.config.secrets)
        return f"{len(self._services)} services up"

    async def _stack_down(self) -> None:
        if self._services:
            await stack_phase.stop_all(self._services)
            self.bus.emit(Notice("stack", "info", f"stopped {len(self._services)} services"))
            self._services = []

    def _write_stack(self) -> None:
        """stack.toml in the run directory, merged into [stack] output when one is named."""
        stack = self.config.stack
        if not stack.services:
            return
        document = stack_phase.stack_document(stack, self.config.workdir, f"gauntlet run {self.run_dir.run_id}")
        self._write("stack.toml", tomli_w.dumps(document), "persistent-stack TOML")
        if stack.output is not None:
            try:
                stack_phase.write_merged(stack.output, document)
                self.bus.emit(ArtifactWritten(str(stack.output), "persistent stack (merged)"))
            except (GauntletError, OSError) as exc:
                self.bus.emit(Notice("verdict", "error", f"could not merge into {stack.output}: {exc}"))

    async def _smokes(self) -> str:
        try:
            await run_smokes(self.config.smokes, self.run_dir.path / "smokes", self.bus, self.config.secrets)
        finally:
            self._write_smoke_reports()
        return self.tracker.smokes.headline()

    def _write_smoke_reports(self) -> None:
        board = self.tracker.smokes
        title = f"gauntlet smokes — {self.config.name} — run {self.run_dir.run_id}"
        self._write("smokes/summary.txt", summary_text(board, title), "smoke summary")
        self._write("smokes/junit.xml", junit_xml(board, self.config.name), "smoke JUnit report")

    async def _scrum(self) -> str:
        await self._history_settled()  # the previous wave, which the findings are matched against
        previous = self._previous_wave
        scrum = scrum_phase.ScrumRun(self.config.scrum, self.config.workdir, self.bus, self.run_dir.path / "scrum",
                         self.force_oversize, write=lambda rel, text: self._write(f"scrum/{rel}", text, None),
                         run_id=self.run_dir.run_id, previous_run_id=previous.run_id if previous else "",
                         previous=previous.bundles if previous else {}, secrets=self.config.secrets)
        try:
            await scrum.run()
        finally:
            self._write_scrum_reports()
        return self.tracker.scrum.headline()

    def _write_scrum_reports(self, *, listed: bool = True) -> None:
        """scrum/summary.md and findings.sarif as the board and its ledger say now; listed to
        the operator the first time only."""
        board = self.tracker.scrum
        self._write("scrum/summary.md", summary_markdown(board, self.config.name), "scrum summary" if listed else None)
        self._write("scrum/findings.sarif", findings_sarif(board), "scrum findings (SARIF)" if listed else None)

    async def _parity(self) -> str:
        """Each case is recorded as it lands and then dropped: the run holds no list of
        results. Cases asked for by name (`--case`) keep their answers, matching or not:
        they are about to be looked at."""
        parity = self.config.parity
        if parity.generated_cases is not None:
            self._write("parity/cases.openapi.toml", parity.generated_cases, "parity cases generated from the contract")
        # The cases asked for by name are about to be looked at; a mirror's listed requests
        # are its examples (the rest are counted, never kept).
        keep_bodies = "all" if self.parity_only or self.mirror is not None else parity.keep_bodies
        writer = parity_phase.ResultWriter(self.run_dir.path / "parity", parity_phase.run_head(parity, keep_bodies), keep_bodies,
                              self.config.secrets)
        try:
            if self.mirror is not None:
                await self.mirror.run(self.bus, writer.add, self.run_dir.path)
            else:
                await parity_phase.run_parity(parity, self.bus, writer.add, self.parity_only, self.shard)
        except RunDirUnwritable as exc:  # named before the reports below fail on the same disk
            self._stop_unwritable(exc)
            raise
        finally:
            self._close_record(writer)
            self._write("parity/report.md", report_markdown(self.tracker.parity, self.config.name),
                        "parity report")
            if self.tracker.parity.noise is not None:
                self._write(NOISE_FILE, noise_json(self.tracker.parity.noise), "learned noise")
        return self.tracker.parity.headline()

    def _close_record(self, writer: ResultWriter) -> None:
        """Like `_write`: a record that cannot be finished is reported and the run goes on."""
        try:
            written = writer.close()
        except RunDirUnwritable as exc:
            self._stop_unwritable(exc)
            return
        except GauntletError as exc:
            self.bus.emit(Notice("verdict", "error", str(exc)))
            return
        for path in written:
            self.bus.emit(ArtifactWritten(str(path.relative_to(self.run_dir.path)),
                                          "parity results" if path.name == RESULTS else "parity answers"))

    def _write(self, relative: str, data: str | bytes, what: str | None) -> None:
        """Write one artifact; a failure is reported and the run goes on. `what` names the
        artifacts worth listing to the operator (not each raw review or body)."""
        try:
            self.run_dir.write(relative, data)
        except RunDirUnwritable as exc:
            self._stop_unwritable(exc)
            return
        except OSError as exc:
            self.bus.emit(Notice("verdict", "error", f"could not write {relative}: {exc}"))
            return
        if what is not None:
            self.bus.emit(ArtifactWritten(relative, what))

    def _reload_gaps(self) -> None:
        """The gaps file (and the findings ledger) as it is at the end: a gap recorded while
        the run went on counts, and a finding dismissed meanwhile reaches the scrum reports."""
        if self.config.scrum.findings_ignore is not None:  # and a finding dismissed meanwhile
            board = self.tracker.scrum
            try:
                board.ledger = load_ledger(self.config.scrum.findings_ignore)
            except GauntletError as exc:
                self.bus.emit(Notice("verdict", "error", f"the findings ledger as the run started is used: {exc}"))
            else:
                if board.bundles and tuple(board.ledger) != board.recorded:  # its reports were written without it
                    self._write_scrum_reports(listed=False)
        if self.config.verdict.known_gaps is None:
            return
        try:
            self.tracker.gaps = load_gaps(self.config.verdict.known_gaps)
        except GauntletError as exc:
            self.bus.emit(Notice("verdict", "error", f"the known gaps as the run started are used: {exc}"))

    def _finish(self, duration: float) -> Verdict:
        """Write the verdict whatever happened; a run that did not finish says so."""
        self.bus.emit(PhaseStarted("verdict"))
        self._phase = "verdict"
        for step in (self._reload_gaps, self._compare_with_previous, self._write_stack):
            try:
                step()
            except Exception as exc:  # noqa: BLE001 - a fault of ours: recorded, the verdict still written
                self._internal_error("verdict", exc)
        verdict = self._publish_verdict(final=True)
        renderers: tuple[tuple[str, str, Callable[[], str]], ...] = (
            ("verdict.json", "verdict (JSON)",
             lambda: verdict_json(self.tracker, verdict, interrupted=self._interrupted, duration=duration)),
            ("verdict.md", "verdict (Markdown)",
             lambda: verdict_markdown(self.tracker, verdict, interrupted=self._interrupted)),
            (REPORT_HTML, "report (HTML)",
             lambda: report_html(self.tracker, verdict, self.run_dir.path, interrupted=self._interrupted,
                                 duration=duration)))
        for name, what, render in renderers:
            try:
                text = render()
            except Exception as exc:  # noqa: BLE001 - a fault of ours: the bare verdict is still written
                self._internal_error("verdict", exc)
                verdict = self._publish_verdict(final=True)
                text = bare_verdict(verdict, name)
            self._write(name, text, what)
        self._phase = ""
        self.bus.emit(PhaseFinished("verdict", True, verdict.verdict))
        return verdict
