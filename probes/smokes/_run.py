"""Phase 1: the smoke chain.

Serial with stop-on-first-failure by default (what `for s in …; do ./$s || break; done`
does), or up to `parallel` at once honouring `needs`. Every smoke's output goes to its log
byte for byte; the event stream gets a throttled, display-safe view of it, so memory and
the event log stay bounded whatever a smoke prints.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import signal
import time
from pathlib import Path

from ..core import RunDirUnwritable, Secrets, SmokeStatus, decode_safe, procs
from ..core.events import EventBus, PlannedSmoke, SmokeFinished, SmokeOutput, SmokesPlanned, SmokeStarted
from ._config import Smoke, SmokesConfig

TAIL_BYTES = 16 * 1024  # kept in memory per smoke for the finish event and JUnit
EVENT_BYTES = 8 * 1024  # most output carried by one SmokeOutput event
FLUSH_EVERY = 0.1  # seconds between output events for one smoke
TAIL_LINES = 20


class OutputSink:
    """Follows a smoke's log file as the kernel fills it and shows the newest of it.

    The pump thread writes the log, its secrets masked; for display only the newest
    EVENT_BYTES since the last event are read back, so a flood costs the event stream almost
    nothing, and what is shown is what the log holds.
    """

    def __init__(self, name: str, log_fd: int, bus: EventBus, secrets: Secrets = Secrets()) -> None:
        self.name = name
        self.log_fd = log_fd
        self.bus = bus
        self.secrets = secrets
        self.total = 0
        self._shown = 0  # bytes of the log already carried by an event (or dropped)
        self._timer: asyncio.TimerHandle | None = None

    def output(self) -> procs.ToFile:
        return procs.ToFile(self.log_fd, self.written, FLUSH_EVERY, self.secrets)

    def written(self, total: int) -> None:
        """Called on the loop as the log grows; the last call comes after the last byte."""
        self.total = total
        if self._timer is not None:
            self._timer.cancel()
        self.flush(final=False)
        if self._shown < self.total:  # a partial line: show it if nothing follows soon
            self._timer = asyncio.get_running_loop().call_later(FLUSH_EVERY, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self.flush(final=True)

    def flush(self, *, final: bool) -> None:
        """Emit what is new; mid-run only whole lines, so a line is never split in two."""
        if final and self._timer is not None:
            self._timer.cancel()
            self._timer = None
        start = max(self._shown, self.total - EVENT_BYTES)
        if start >= self.total:
            return
        chunk = os.pread(self.log_fd, self.total - start, start)
        if not final:
            chunk = chunk[: chunk.rfind(b"\n") + 1]
            if not chunk:
                return
        dropped = start - self._shown
        self._shown = start + len(chunk)
        self.bus.emit(SmokeOutput(self.name, _text_from_line_start(chunk, dropped > 0), dropped))

    def tail(self, lines: int = TAIL_LINES) -> str:
        start = max(0, self.total - TAIL_BYTES)
        text = decode_safe(os.pread(self.log_fd, self.total - start, start)).rstrip("\n")
        return "\n".join(text.split("\n")[-lines:])


def _text_from_line_start(chunk: bytes, cut: bool) -> str:
    """When the front of the chunk was cut away, start at the next whole line."""
    if cut:
        newline = chunk.find(b"\n")
        if 0 <= newline < len(chunk) - 1:
            chunk = chunk[newline + 1:]
    return decode_safe(chunk)


async def run_smoke(smoke: Smoke, logs_dir: Path, bus: EventBus, grace: float,
                    secrets: Secrets = Secrets()) -> SmokeFinished:
    """Run one smoke to pass, fail or timeout; on cancellation stop its group and re-raise.
    A log the disk refuses raises RunDirUnwritable (the smoke itself is stopped by then:
    its output has nowhere to go)."""
    log_path = logs_dir / f"{smoke.name}.log"
    part_path = logs_dir / f".{smoke.name}.log.part"
    bus.emit(SmokeStarted(smoke.name, smoke.layer, shlex.join(smoke.command)))
    started = time.monotonic()
    with open(part_path, "w+b") as log:
        sink = OutputSink(smoke.name, log.fileno(), bus, secrets)
        status, code, reason = SmokeStatus.FAIL, None, ""
        try:
            status, code, reason = await _execute(smoke, sink, grace)
        except asyncio.CancelledError:
            status, reason = SmokeStatus.INTERRUPTED, "interrupted by the operator"
            raise
        except OSError as exc:  # from the pump writing the log
            if not RunDirUnwritable.refused(exc):
                raise
            reason = f"its log could not be written: {exc.strerror}"
            raise RunDirUnwritable(log_path, exc) from None
        finally:
            sink.flush(final=True)
            os.replace(part_path, log_path)
            result = SmokeFinished(smoke.name, smoke.layer, status, round(time.monotonic() - started, 4),
                                   code, reason, sink.tail(), sink.total)
            bus.emit(result)
    return result


async def _execute(smoke: Smoke, sink: OutputSink, grace: float) -> tuple[SmokeStatus, int | None, str]:
    try:
        child = await procs.spawn(smoke.command, sink.output(), cwd=smoke.cwd, env=smoke.env)
    except FileNotFoundError as exc:
        missing = exc.filename or smoke.command[0]
        if not smoke.cwd.is_dir():
            return SmokeStatus.FAIL, None, f"cannot start: no such directory (cwd): {smoke.cwd}"
        return SmokeStatus.FAIL, None, f"cannot start: no such file: {missing} (cwd {smoke.cwd})"
    except PermissionError:
        return SmokeStatus.FAIL, None, f"cannot start: permission denied (not executable?): {smoke.command[0]}"
    except OSError as exc:
        return SmokeStatus.FAIL, None, f"cannot start: {exc.strerror or exc}"
    try:
        try:
            code = await asyncio.wait_for(child.proc.wait(), smoke.timeout)
        except TimeoutError:
            await procs.stop_group(child, grace)
            return SmokeStatus.TIMEOUT, child.proc.returncode, f"timed out after {smoke.timeout:g}s"
        if code == 0:
            return SmokeStatus.PASS, 0, ""
        return SmokeStatus.FAIL, code, _exit_reason(code)
    finally:
        # Whatever the smoke left running goes too, passed or not, and the pipe is drained.
        await asyncio.shield(procs.end(child, grace))


def _exit_reason(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


def _skip(bus: EventBus, smoke: Smoke, reason: str) -> SmokeFinished:
    result = SmokeFinished(smoke.name, smoke.layer, SmokeStatus.SKIPPED, 0.0, None, reason, "", 0)
    bus.emit(result)
    return result


async def run_smokes(config: SmokesConfig, logs_dir: Path, bus: EventBus,
                     secrets: Secrets = Secrets()) -> list[SmokeFinished]:
    """Run the chain; returns one result per smoke in config order, skipped ones included."""
    logs_dir.mkdir(parents=True, exist_ok=True)
    bus.emit(SmokesPlanned(tuple(PlannedSmoke(s.name, s.layer) for s in config.smokes), config.parallel))
    results: dict[str, SmokeFinished] = {}
    pending = list(config.smokes)
    running: dict[asyncio.Task[SmokeFinished], Smoke] = {}
    stopped_by: str | None = None
    try:
        while pending or running:
            if stopped_by is None:
                for smoke in list(pending):
                    if len(running) >= config.parallel:
                        break
                    deps = [results.get(n) for n in smoke.needs]
                    if any(d is None for d in deps):
                        continue
                    failed = [d.name for d in deps if d is not None and d.status != SmokeStatus.PASS]
                    pending.remove(smoke)
                    if failed:
                        results[smoke.name] = _skip(bus, smoke, f"needs {', '.join(failed)}, which did not pass")
                        continue
                    task = asyncio.create_task(run_smoke(smoke, logs_dir, bus, config.grace, secrets))
                    running[task] = smoke
            if not running:
                break
            done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                running.pop(task)
                result = task.result()
                results[result.name] = result
                if result.status.failed and config.stop_on_fail and stopped_by is None:
                    stopped_by = result.name
    except BaseException as exc:  # an interrupt, or a smoke's log the disk refused
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        why = "interrupted" if isinstance(exc, asyncio.CancelledError) else "stopped"
        for smoke in pending:
            results[smoke.name] = _skip(bus, smoke, f"not run: the gauntlet was {why}")
        raise
    for smoke in pending:
        why = f"not run: stopped after {stopped_by} failed" if stopped_by else "not run: its needs never finished"
        results[smoke.name] = _skip(bus, smoke, why)
    return [results[s.name] for s in config.smokes]
