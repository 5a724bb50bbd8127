"""Where the app's events come from: an engine running in the app's loop, or a run
directory's events.jsonl followed while another process writes it (or replayed)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path

from probes.engine import Engine
from probes.events import Event, RunFinished, from_json

Deliver = Callable[[float, Event], None]
FOLLOW_EVERY = 0.1  # seconds between looks at a followed events.jsonl


class LiveSource:
    """Runs the gauntlet in-process; the app is one more subscriber of its bus."""

    read_only = False

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    async def run(self, deliver: Deliver) -> int:
        self.engine.bus.subscribe(deliver)
        outcome = await self.engine.run()
        return outcome.exit_code

    def interrupt(self) -> None:
        self.engine.interrupt()


class FileSource:
    """Reads a run's events.jsonl: replays what is there and, while the run is not finished,
    follows the file as the other process appends to it."""

    read_only = True

    def __init__(self, run_dir: Path, follow: bool = True) -> None:
        self.path = run_dir / "events.jsonl"
        self.follow = follow
        self._stop = asyncio.Event()
        self.problems: list[str] = []

    async def run(self, deliver: Deliver) -> int:
        offset, number, pending = 0, 0, b""
        while not self._stop.is_set():
            with open(self.path, "rb") as fh:
                fh.seek(offset)
                data = fh.read()
            offset += len(data)
            pending += data
            *lines, pending = pending.split(b"\n")
            for raw in lines:
                number += 1
                try:
                    t, event = from_json(raw.decode("utf-8"))
                except (ValueError, UnicodeDecodeError) as exc:
                    self.problems.append(f"{self.path}:{number}: {exc}")
                    continue
                deliver(t, event)
                if isinstance(event, RunFinished):
                    return 0
            if not self.follow:
                return 0
            try:
                await asyncio.wait_for(self._stop.wait(), FOLLOW_EVERY)
            except TimeoutError:
                pass
            if not os.path.exists(self.path):
                return 0
        return 0

    def interrupt(self) -> None:
        self._stop.set()
