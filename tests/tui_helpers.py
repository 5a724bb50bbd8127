"""Helpers for the TUI tests: a replayed run directory and a source fed by the test."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

from textual.widget import Widget

from probes.core.events import Event, RunStarted

from .conftest import REPO, until

DEMO_RUN = REPO / "tests" / "fixtures" / "replays" / "demo_run"


def demo_run_copy(tmp_path: Path, *, keep_paths: bool = False, config: Path | None = None) -> Path:
    """The recorded demo run; with keep_paths its events name this copy as the run dir, with
    `config` they name that file as the config it ran (whose known gaps a recorded gap joins)."""
    target = tmp_path / "20260502-090000-demo"
    shutil.copytree(DEMO_RUN, target)
    events = target / "events.jsonl"
    text = events.read_text()
    if keep_paths:
        text = text.replace("/runs/20260502-090000-demo", str(target))
    if config is not None:
        recorded = '"config":"sample_configs/demo.toml"'
        assert recorded in text, "the replay no longer names its config"
        text = text.replace(recorded, '"config":' + json.dumps(str(config)))
    events.write_text(text)
    return target


def shown_text(widget: Widget) -> str:
    """The widget's lines as drawn on screen now, in plain text."""
    return "\n".join(strip.text.rstrip() for strip in widget.render_lines(widget.size.region))


class ScriptedSource:
    """A live source whose events the test pushes, to watch the panes follow."""

    read_only = False
    catching_up = False
    stop_question = "Phases are still running. Stop them?"

    def __init__(self) -> None:
        self.queue: asyncio.Queue[tuple[float, Event] | None] = asyncio.Queue()
        self.interrupted = False

    def push(self, t: float, event: Event) -> None:
        self.queue.put_nowait((t, event))

    def start(self, *phases: str) -> None:
        """The run begins: the RunStarted every scripted stream opens with."""
        self.push(0, RunStarted("r1", "scripted", "c.toml", "/runs/r1", (*phases, "verdict"), "2026-05-02T09:00:00"))

    def close(self) -> None:
        self.queue.put_nowait(None)

    async def run(self, deliver) -> int:
        while (item := await self.queue.get()) is not None:
            deliver(*item)
        return 0

    def interrupt(self) -> None:
        self.interrupted = True
        self.close()


async def settle(app, pilot) -> None:
    """Wait until the app has drawn what its model holds."""
    app.refresh_view()
    await pilot.pause()


async def scrolled_to_end(area: Widget, pilot) -> None:
    """Wait until a scrollable area longer than its window shows its end. It scrolls after
    the refresh that sizes it, and the tables around it may resize it once more after that
    refresh: so the test waits for the condition, bounded, rather than for one redraw."""
    await until(lambda: 0 < area.max_scroll_y == area.scroll_y, pilot, 10, "the area at its end")
