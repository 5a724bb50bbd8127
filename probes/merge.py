"""Joining the shards of one parity probe into one run: `gauntlet merge RUN_DIR… --out DIR`.

The jobs of a CI matrix each run `--shard K/N` of one config on a machine of their own. The
merge writes one run directory from their run directories, the one a single machine probing
every case would have written: its events (each divergence class announced once, every case,
the shards' own time stamps, as they ran side by side), its parity record (every case's line;
each distinct body stored once, its reference rewritten), the parity report, and the verdict
judged from those events and the config's gaps file like any run's. It is recorded in the
history of the folder it is written to, where the shards are not.

A shard missing, unfinished or killed leaves the merged parity phase incomplete, with a reason
naming that shard: its cases are not all there, and the verdict must not pass for whole. A
shard given twice, shards of another split, of another config or cut from other cases are
refused before anything is written: there is no right way to join them.

The phases besides parity (the stack, the smokes, the scrum) ran alike in every shard; the
merge keeps the first shard's events and files for each, and says so, rather than judging
the same smokes N times.

Each shard that sampled noise learned a pool of its own and judged its cases by it: the merge
unites the pools (samples, cases and each path's count added, evidence bounded) and settles
the union once, as one run of every case does, so the cases a shard could not tell from
noise on its own are judged again by what every shard learned (one `NoiseSettled`, one
parity/noise.json, the shards' own left out).

The shards' events are read side by side, one event of each in hand; what the merge keeps
is what the verdict's boards and the history summary keep of every case, and the digests of
the bodies copied.
"""

from __future__ import annotations

import heapq
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from .config import PHASES
from .core import InputError, RunDir, Writer
from .core.events import (
    ArtifactWritten,
    DivergenceClassFound,
    Event,
    NoiseSettled,
    Notice,
    ParityCaseFinished,
    ParityPlanned,
    PhaseFinished,
    PhaseStarted,
    RunFinished,
    RunStarted,
    VerdictChanged,
    read_events,
)
from .parity import (
    NOISE_FILE,
    PACK,
    RESULTS,
    BodyPack,
    NoisePool,
    RecordFile,
    Shard,
    entries,
    noise_json,
    noise_notices,
    parse_shard,
    read_body,
    read_head,
    record_line,
    report_markdown,
)
from .verdict import (
    REPORT_HTML,
    HistoryUnavailable,
    Judgement,
    KnownGap,
    RunSummary,
    Verdict,
    VerdictTracker,
    compare_runs,
    judge_run,
    open_store,
    read_baseline,
    run_gaps,
)

# The files of a phase other than parity that come with its events.
PHASE_FILES = {"stack": ["stack-logs", "stack.toml"], "smokes": ["smokes"], "scrum": ["scrum"]}


@dataclass(frozen=True)
class ShardRun:
    """A shard's run directory as its first events describe it."""

    path: Path
    shard: Shard
    started: RunStarted
    planned: ParityPlanned | None  # None: its parity phase never began

    @property
    def label(self) -> str:
        return f"shard {self.shard} ({self.path})"


@dataclass(frozen=True)
class Merged:
    run_dir: Path
    name: str
    shards: tuple[str, ...]  # "K/N" of each shard joined, in order
    notes: tuple[str, ...]  # what the operator should read: missing shards, phases kept, history
    headline: str
    judgement: Judgement


def _events(path: Path) -> Iterator[tuple[float, Event]]:
    try:
        yield from read_events(str(path / "events.jsonl"))
    except ValueError as exc:
        raise InputError(str(exc)) from None


def shard_run(path: Path) -> ShardRun:
    """The shard a run directory holds; InputError when it is not a shard's."""
    if not (path / "events.jsonl").is_file():
        raise InputError(f"{path}: not a run directory (no events.jsonl)")
    started: RunStarted | None = None
    planned: ParityPlanned | None = None
    for _, event in _events(path):
        if isinstance(event, RunStarted):
            started = event
        elif isinstance(event, ParityPlanned):
            planned = event
            break
    if started is None:
        raise InputError(f"{path}: its events.jsonl does not start a run (no RunStarted)")
    if not started.shard:
        raise InputError(f"{path} is not a shard (run without --shard): nothing to merge it with")
    try:
        shard = parse_shard(started.shard)
    except InputError as exc:
        raise InputError(f"{path}: the shard it records is not one: {exc}") from None
    return ShardRun(path, shard, started, planned)


def check_shards(runs: Sequence[ShardRun]) -> list[ShardRun]:
    """The shards in order, once each, of one split of one config's cases; InputError naming
    the runs that do not belong together."""
    first = runs[0]
    by_index: dict[int, ShardRun] = {}
    for run in runs:
        if run.shard.count != first.shard.count:
            raise InputError(f"{run.path} is shard {run.shard}, {first.path} is shard {first.shard}: "
                             "give the shards of one split")
        if run.started.name != first.started.name:
            raise InputError(f"{run.path} is a run of {run.started.name!r}, {first.path} of "
                             f"{first.started.name!r}: give the shards of one config")
        if run.shard.index in by_index:
            raise InputError(f"shard {run.shard} is given twice: {by_index[run.shard.index].path} and {run.path}")
        by_index[run.shard.index] = run
    planned = [(run, run.planned) for run in runs if run.planned is not None]
    for run, plan in planned[1:]:
        base, base_plan = planned[0]
        if plan.cases_digest != base_plan.cases_digest:
            raise InputError(f"{run.path} was cut from other cases than {base.path} "
                             f"({plan.cases_digest} against {base_plan.cases_digest})")
        if (plan.reference, plan.targets) != (base_plan.reference, base_plan.targets):
            raise InputError(f"{run.path} compares {', '.join(plan.targets)} with {plan.reference}, "
                             f"{base.path} {', '.join(base_plan.targets)} with {base_plan.reference}: "
                             "give the shards of one config")
    return [by_index[k] for k in sorted(by_index)]


class _MergedRun:
    """The merged run directory being written: each event recorded and judged as it goes."""

    def __init__(self, run_dir: RunDir, tracker: VerdictTracker) -> None:
        self.run_dir = run_dir
        self.tracker = tracker
        self.summary = RunSummary()
        self.t = 0.0
        self._verdict: Verdict | None = None

    def emit(self, event: Event, t: float | None = None) -> None:
        """Record the event at its own time (never before the last one) or at the last time."""
        self.t = max(self.t, self.t if t is None else t)
        self.run_dir.record(self.t, event)
        self.tracker.apply(self.t, event)
        self.summary.apply(self.t, event)

    def publish(self, *, final: bool = False) -> Verdict:
        """The verdict as it stands, announced when it changed (as a run does after each phase)."""
        verdict = self.tracker.current(final=final)
        if verdict != self._verdict:
            self._verdict = verdict
            self.emit(VerdictChanged(verdict.verdict, verdict.reasons, verdict.complete))
        return verdict

    def write(self, relative: str, data: str, what: str) -> None:
        self.run_dir.write(relative, data)
        self.emit(ArtifactWritten(relative, what))


class _ParityOf:
    """One shard's parity phase as it is read: its events, then how the phase ended."""

    def __init__(self, run: ShardRun) -> None:
        self.run = run
        self.began = False
        self.ended: PhaseFinished | None = None
        self.finished: RunFinished | None = None
        self.noise: NoiseSettled | None = None  # its own pool, settled
        self.last = 0.0
        self.probed = 0  # the cases its events say it probed
        self.recorded = 0  # the case lines its parity record holds (set as the records are joined)

    def events(self) -> Iterator[tuple[float, Event]]:
        """The events of the phase the merge carries: its own plan, its artifacts and its end
        are the merge's to write, and so are its settled noise and what it said of that noise's
        inconclusive cases (the merge settles every shard's pool as one). Read to the end, for
        the run's own end."""
        inside = False
        own_notices: list[Notice] = []
        for t, event in _events(self.run.path):
            self.last = t
            if isinstance(event, PhaseStarted) and event.phase == "parity":
                inside = self.began = True
            elif isinstance(event, PhaseFinished) and event.phase == "parity":
                inside, self.ended = False, event
            elif isinstance(event, RunFinished):
                self.finished = event
            elif isinstance(event, NoiseSettled):
                self.noise, own_notices = event, noise_notices(event)
            elif isinstance(event, Notice) and event in own_notices:
                own_notices.remove(event)
            elif inside and not isinstance(event, (ParityPlanned, ArtifactWritten)):
                self.probed += isinstance(event, ParityCaseFinished)
                yield t, event

    def unfinished(self) -> str | None:
        """Why this shard's cases are not all there; None when its parity phase completed and
        its record holds every case its events say it probed (a record cut short, by a full
        disk or a broken copy, reads as fewer lines, not as an error)."""
        if self.ended is not None and not self.ended.complete:
            return f"{self.run.label}: {self.ended.reason or 'incomplete'}"
        if self.ended is not None:
            short = self.probed - self.recorded
            return None if short <= 0 else (f"{self.run.label}: its parity record holds {self.recorded:,} of its "
                                             f"{self.probed:,} cases, {short:,} missing")
        if not self.began:
            return f"{self.run.label} did not run its parity phase"
        writer = Writer.of_run(self.run.path)
        running = writer.running() if writer is not None else None
        why = (writer.abandoned if writer is not None and running is False
               else "it is still running" if running
               else "its run has no end recorded, and no writer this machine can see")
        return f"{self.run.label} did not finish its parity phase: {why}"

    @property
    def duration(self) -> float:
        return self.finished.duration if self.finished is not None else self.last


def merge_runs(run_dirs: Sequence[Path], out_dir: Path, *, strict: bool = False,
               baseline: Path | None = None) -> Merged:
    """Write one run directory under `out_dir` from the shards' run directories, judge it,
    record it in that folder's history. InputError, and no run written, when they are not
    the shards of one split of one config's cases or a shard's record is damaged. With a
    `baseline` (a previous run's directory) the merged run is compared with it, as a run is
    with the last one in its history: changed classes, regressed gaps."""
    if not run_dirs:
        raise InputError("no run directory to merge")
    runs = check_shards([shard_run(path) for path in run_dirs])
    first, count = runs[0], runs[0].shard.count
    previous = read_baseline(baseline, first.started.name) if baseline is not None else None
    present = {run.shard.index for run in runs}
    missing = [f"shard {k}/{count} is missing" for k in range(1, count + 1) if k not in present]
    _, gaps = run_gaps(first.path)  # the config's gaps file as it is now: what judge_run() reads too
    warnings = [*missing, *([previous] if isinstance(previous, str) else [])]
    if not Path(first.started.config).is_file():
        warnings.append(f"the config {first.started.config} is not here: the verdict is judged without its "
                        "known gaps (merge where the shards ran it, e.g. in a checkout of the repository)")
    phases = tuple(p for p in PHASES if any(p in run.started.phases for run in runs))
    try:
        run_dir = RunDir(out_dir)
    except OSError as exc:
        raise InputError(f"{out_dir}: cannot write the merged run there: {exc.strerror or exc}") from None
    merged = _MergedRun(run_dir, VerdictTracker(gaps=gaps))
    notes = [f"merged {len(runs)} of {count} shards: " + ", ".join(f"{run.shard} ({run.path})" for run in runs),
             *warnings]
    try:
        merged.emit(RunStarted(run_dir.run_id, first.started.name, first.started.config, str(run_dir.path), phases,
                               datetime.now(UTC).isoformat(timespec="milliseconds")))
        for i, note in enumerate(notes):
            merged.emit(Notice("parity", "warn" if i else "info", note))
        for phase in phases:
            if phase == "parity":
                notes += _merge_parity(merged, runs, missing)
            elif phase != "verdict":
                notes += _carry_phase(merged, runs, phase)
        _finish(merged, strict, previous if isinstance(previous, RunSummary) else None, gaps)
    except BaseException:  # a shard's record found damaged half-way (or a fault): no half-made run is left
        run_dir.close()
        shutil.rmtree(run_dir.path, ignore_errors=True)
        raise
    run_dir.close()
    judgement = judge_run(run_dir.path, strict=strict)
    try:
        store = open_store(out_dir)
        try:
            store.record(merged.summary)
        finally:
            store.close()
    except HistoryUnavailable as exc:
        notes.append(f"history unavailable, the merged run is not in it: {exc}")
    return Merged(run_dir.path, first.started.name, tuple(str(run.shard) for run in runs), tuple(notes),
                  merged.tracker.parity.headline(), judgement)


def _carry_phase(merged: _MergedRun, runs: Sequence[ShardRun], phase: str) -> list[str]:
    """The first shard's events and files of a phase every shard ran alike; the note saying so.
    A phase no shard began stays as it is: not run, so the verdict is incomplete."""
    for run in runs:
        events = _phase(run.path, phase)
        start = next(events, None)
        if start is None:
            continue
        note = (f"{phase} as shard {run.shard} ran it ({run.path}): every shard runs the phases besides "
                "parity, the merge keeps the first's")
        merged.emit(start[1], start[0])
        merged.emit(Notice(phase, "info", note))
        for t, event in events:
            merged.emit(event, t)
        for name in PHASE_FILES.get(phase, []):
            source, target = run.path / name, merged.run_dir.path / name
            if source.is_dir():
                shutil.copytree(source, target)
            elif source.is_file():
                shutil.copy2(source, target)
        merged.publish()
        return [note]
    return []


def _phase(path: Path, phase: str) -> Iterator[tuple[float, Event]]:
    """A run's events from the start of `phase` to its end, both included."""
    inside = False
    for t, event in _events(path):
        inside |= isinstance(event, PhaseStarted) and event.phase == phase
        if inside:
            yield t, event
            if isinstance(event, PhaseFinished) and event.phase == phase:
                return


def _merge_parity(merged: _MergedRun, runs: Sequence[ShardRun], missing: list[str]) -> list[str]:
    """Every shard's cases in the order they landed across the shards, each class announced
    once (before the first case that names it, as in each shard); then the shards' noise
    settled as one pool, the record, the report, and the phase's end: complete when every
    shard's was."""
    merged.emit(PhaseStarted("parity"))
    plans = [run.planned for run in runs if run.planned is not None]
    if plans:
        merged.emit(ParityPlanned(tuple(name for plan in plans for name in plan.cases), plans[0].targets,
                                  plans[0].reference, plans[0].concurrency, plans[0].cases_digest))
    shards = [_ParityOf(run) for run in runs]
    announced: set[str] = set()
    for t, event in heapq.merge(*(shard.events() for shard in shards), key=lambda item: item[0]):
        if isinstance(event, DivergenceClassFound):
            if event.id in announced:
                continue
            announced.add(event.id)
        merged.emit(event, t)
    settled = _united_noise(shards)
    if settled is not None:
        merged.emit(settled)
        for notice in noise_notices(settled):
            merged.emit(notice)
    for path in _join_records(shards, merged.run_dir.path / "parity"):
        merged.emit(ArtifactWritten(str(path.relative_to(merged.run_dir.path)),
                                    "parity results" if path.name == RESULTS else "parity answers"))
    name = merged.tracker.run.name if merged.tracker.run else ""
    merged.write("parity/report.md", report_markdown(merged.tracker.parity, name), "parity report")
    if settled is not None:
        merged.write(NOISE_FILE, noise_json(settled), "learned noise")
    reasons = [*missing, *filter(None, (shard.unfinished() for shard in shards))]
    merged.emit(PhaseFinished("parity", not reasons, merged.tracker.parity.headline(), "; ".join(reasons)))
    merged.publish()
    merged.t = max(merged.t, *(shard.duration for shard in shards))  # they ran side by side
    return reasons[len(missing):]


def _united_noise(shards: Sequence[_ParityOf]) -> NoiseSettled | None:
    """The shards' pools as one, the shards in turn (each path's evidence the first shards'):
    None when no shard sampled noise."""
    pools = [shard.noise for shard in shards if shard.noise is not None]
    if not pools:
        return None
    pool = NoisePool()
    for settled in pools:
        pool.absorb(settled)
    return pool.settled()


def _join_records(shards: Sequence[_ParityOf], folder: Path) -> list[Path]:
    """parity/results.jsonl.gz of the merged run: the first shard's head line, then every shard's
    case lines in turn, each body reference rewritten to the merged pack, each shard's lines
    counted (`recorded`). The files written."""
    sources = [shard for shard in shards if (shard.run.path / "parity" / RESULTS).is_file()]
    if not sources:
        return []
    head = read_head(sources[0].run.path)
    head["order"] = "landing: one case a line as each lands in its shard, the shards in turn"
    head["shards"] = [f"{shard.run.shard} {shard.run.started.run_id}" for shard in sources]
    folder.mkdir(parents=True, exist_ok=True)
    pack = BodyPack(folder / PACK)
    record = RecordFile(folder / RESULTS, head)
    try:
        for shard in sources:
            run = shard.run
            for entry in entries(run.path):
                shard.recorded += 1
                for answer in (entry.get("answers") or {}).values():
                    if isinstance(answer, dict) and (ref := answer.get("body")) is not None:
                        answer["body"] = pack.known(str(ref.get("sha256"))) or pack.store(
                            read_body(run.path, entry.get("case", "?"), ref))
                if record.add(record_line(entry)):
                    record.flush()
    finally:
        record.close()
        stored = pack.close()
    return [folder / RESULTS, *([pack.path] if stored else [])]


def _finish(merged: _MergedRun, strict: bool, previous: RunSummary | None, gaps: Sequence[KnownGap]) -> None:
    """The verdict phase and the run's end, as a run writes them, compared with `previous`
    when there is one; verdict.json, verdict.md and report.html are judge_run()'s to write, from
    the events. The run lasted as long as its longest shard."""
    merged.emit(PhaseStarted("verdict"))
    if previous is not None:
        merged.emit(compare_runs(previous, merged.summary, gaps, baseline=True).event())
    verdict = merged.publish(final=True)
    merged.emit(ArtifactWritten("verdict.json", "verdict (JSON)"))
    merged.emit(ArtifactWritten("verdict.md", "verdict (Markdown)"))
    merged.emit(ArtifactWritten(REPORT_HTML, "report (HTML)"))
    merged.emit(PhaseFinished("verdict", True, verdict.verdict))
    merged.emit(RunFinished(verdict.verdict, verdict.complete, round(merged.t, 3), verdict.exit_code(strict=strict)))

