"""Where the app's events come from: an engine running in the app's loop, a mirror's runs one
after another in it, or a run directory's events.jsonl followed while another process writes
it (or replayed).

A file is folded a slice at a time, giving the loop back between slices: a replay of
100,000 cases takes seconds to read, and the screen paints and answers keys meanwhile."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from probes import EXIT_INTERRUPTED, Engine, Writer, writer_gone
from probes.core import EXIT_INTERNAL
from probes.core.events import Event, RunFinished, event_of_line

Deliver = Callable[[float, Event], None]
FOLLOW_EVERY = 0.1  # seconds between looks at a followed events.jsonl
SLICE = 0.04  # seconds of reading before the loop gets its turn (keys, the next frame): a key waits at most that
BREATHE = 0.002  # the turn: long enough for the app to handle what queued meanwhile
READ_BYTES = 1 << 20  # read this much of the file at a time, however large it is


class Source(Protocol):
    """What the app asks of where its events come from."""

    read_only: bool  # a run another process writes: the app can look, not act on it
    catching_up: bool  # reading a backlog: what it has folded so far is already the past
    stop_question: str  # what quitting while it runs asks first

    async def run(self, deliver: Deliver) -> int: ...

    def interrupt(self) -> None: ...


class LiveSource:
    """Runs the gauntlet in-process; the app is one more subscriber of its bus."""

    read_only = False
    catching_up = False  # events arrive as the engine makes them: never a backlog
    stop_question = "Phases are still running. Stop them, write the verdict (marked incomplete) and quit?"

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    async def run(self, deliver: Deliver) -> int:
        self.engine.bus.subscribe(deliver)
        outcome = await self.engine.run()
        return outcome.exit_code

    def interrupt(self) -> None:
        self.engine.interrupt()


class MirrorSource:
    """A mirror in the app's loop: `start` makes the task of its runs, which delivers each
    run's events (its record rolls over: the model begins again at each RunStarted) until
    `stop`. The task is not the app's: an app that fails leaves the runs to end in order, and
    what ended them, if not a stop, is for whoever started them to tell once the app is gone."""

    read_only = False
    catching_up = False
    stop_question = ("Stop the mirror? No new request is taken, those in flight finish, the copies queued "
                     "are judged and the run's verdict is written.")

    def __init__(self, start: Callable[[Deliver], asyncio.Task[int]], stop: Callable[[], None]) -> None:
        self._start, self._stop = start, stop
        self.task: asyncio.Task[int] | None = None

    async def run(self, deliver: Deliver) -> int:
        self.task = self._start(deliver)
        try:
            return await asyncio.shield(self.task)
        except Exception:  # noqa: BLE001 - told by whoever started the runs, never as the app's traceback
            return EXIT_INTERNAL

    def interrupt(self) -> None:
        self._stop()


class FileSource:
    """Reads a run's events.jsonl: replays what is there and, while the run is not finished,
    follows the file as the other process appends to it, until its writer is gone."""

    read_only = True
    stop_question = ""  # never asked: a run another process writes is left to it

    def __init__(self, run_dir: Path, follow: bool = True) -> None:
        self.run_dir = run_dir
        self.path = run_dir / "events.jsonl"
        self.follow = follow
        self._stop = asyncio.Event()
        self._offset, self._number, self._pending = 0, 0, b""
        self.problems: list[str] = []
        self.abandoned: str | None = None  # why the run will never finish, once its writer is gone
        # Reading lines that were in the file before it began this read: what the app shows of
        # the run as of one of them is out of date as soon as it is shown.
        self.catching_up = False

    async def run(self, deliver: Deliver) -> int:
        gone: Writer | None = None
        while not self._stop.is_set():
            if await self._read(deliver):
                return 0
            if gone is not None:
                # Read after the writer was seen gone: nothing it wrote before is missed.
                self.abandoned = gone.abandoned
                return 0
            gone = writer_gone(self.run_dir)
            if gone is not None:
                continue
            if not self.follow:
                return 0
            try:
                await asyncio.wait_for(self._stop.wait(), FOLLOW_EVERY)
            except TimeoutError:
                pass
            if not os.path.exists(self.path):
                return 0
        return EXIT_INTERRUPTED

    async def _read(self, deliver: Deliver) -> bool:
        """Deliver every complete line added since the last look; True at RunFinished."""
        slice_ends = time.perf_counter() + SLICE
        try:
            with open(self.path, "rb") as fh:
                # What was there when it looked: lines the writer adds meanwhile are news, not backlog.
                backlog = os.fstat(fh.fileno()).st_size - self._offset + len(self._pending)
                fh.seek(self._offset)
                while data := fh.read(READ_BYTES):
                    self._offset += len(data)
                    *lines, self._pending = (self._pending + data).split(b"\n")
                    for raw in lines:
                        self._number += 1
                        backlog -= len(raw) + 1
                        try:
                            t, event = event_of_line(raw)
                        except ValueError as exc:
                            self.problems.append(f"{self.path}:{self._number}: {exc}")
                            continue
                        deliver(t, event)
                        if isinstance(event, RunFinished):
                            return True
                        if time.perf_counter() > slice_ends:
                            self.catching_up = backlog > 0
                            await asyncio.sleep(BREATHE)
                            if self._stop.is_set():
                                return False
                            slice_ends = time.perf_counter() + SLICE
        finally:
            self.catching_up = False
        return False

    def interrupt(self) -> None:
        self._stop.set()
