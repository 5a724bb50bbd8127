"""The TUI at 100,000 parity cases.

- `gauntlet watch --no-follow` of a finished 100,000-case run (its events.jsonl written with
  the engine's own events, five divergence classes) shows the run's final verdict within
  5 s: seconds from the app's start to the first frame written with it, against the bare
  cost of parsing that file (probes.core.events.read_events) on the same machine.
- While the engine probes cases at full speed (twins on loopback, in their own process), a
  key press in the parity pane reaches the screen within 150 ms: median of 20 presses
  (down, up), each timed from the press to the first frame written with the cursor moved,
  against the same presses once the run is over.
- The same presses at scale: `watch` following that 100,000-case run while another process
  appends its last 20,000 cases at 2,000 a second (the live verdict of 80,000 cases and
  more judged again as they land).
"""

from __future__ import annotations

import asyncio
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from _util import check, cleanup, scratch, twins  # noqa: E402
from parity_probe import PAYLOADS  # noqa: E402

from probes.config import load_config  # noqa: E402
from probes.engine import Engine, select_phases  # noqa: E402
from probes.core.events import VerdictChanged, read_events  # noqa: E402
from tests.fixtures.synthetic_run import write_run  # noqa: E402
from tui.app import GauntletApp  # noqa: E402
from tui.sources import FileSource, LiveSource  # noqa: E402
from tui.widgets.row_list import RowList  # noqa: E402

REPLAY_CASES, LIVE_CASES, CONCURRENCY, PRESSES = 100_000, 20_000, 32, 20
TAIL_CASES, TAIL_RATE = 20_000, 2000  # appended while `watch` follows the 100,000-case run
APPEND = (  # another process writing the run's last lines, paced
    "import sys, time\n"
    "lines, out, rate = open(sys.argv[1]).readlines(), open(sys.argv[2], 'a'), float(sys.argv[3])\n"
    "start = time.monotonic()\n"
    "for n, line in enumerate(lines):\n"
    "    out.write(line); out.flush()\n"
    "    time.sleep(max(0, start + n / rate - time.monotonic()))\n"
)


class Frames:
    """Hooks the app's screen writes: each frame, what `probe` saw of the app at that moment."""

    def __init__(self, app: GauntletApp, probe) -> None:
        self.seen: list[tuple[float, object]] = []
        write = app._display

        def display(screen, renderable):
            self.seen.append((time.perf_counter(), probe()))
            return write(screen, renderable)

        app._display = display

    def first(self, since: float, wanted) -> float | None:
        return next((t - since for t, value in self.seen if t >= since and wanted(value)), None)


async def replay(run: Path) -> float:
    """Seconds from the app's start until a frame shows the run's final verdict."""
    final = [e for _, e in read_events(str(run / "events.jsonl")) if isinstance(e, VerdictChanged)][-1]
    app = GauntletApp(FileSource(run, follow=False), clock=False)
    frames = Frames(app, lambda: app.model.finished is not None and app.model.verdict == final
                    and final.verdict in str(getattr(app.query_one("#header"), "_shown_key", "")))
    start = time.perf_counter()
    async with app.run_test(size=(120, 40)):
        while (shown := frames.first(start, bool)) is None:
            check(time.perf_counter() - start < 120, "the verdict never reached the screen")
            await asyncio.sleep(0.01)
    return shown


async def presses(app: GauntletApp, pilot, frames: Frames) -> list[float]:
    """Key-to-screen latency of down/up presses in the parity pane."""
    rows = app.query_one(RowList)
    latencies = []
    for n in range(PRESSES):
        key, step = ("down", 1) if n % 2 == 0 else ("up", -1)
        wanted = rows.cursor + step
        start = time.perf_counter()
        press = asyncio.ensure_future(pilot.press(key))
        while (shown := frames.first(start, lambda cursor: cursor == wanted)) is None:
            check(time.perf_counter() - start < 5, f"the cursor never moved to row {wanted}")
            await asyncio.sleep(0.002)
        latencies.append(shown)
        await press
        await pilot.pause(0.1)
    return latencies


async def live(work: Path, urls: dict[str, str]) -> tuple[list[float], list[float], float]:
    """(latencies while cases land, latencies once the run is over, cases landed per second)."""
    with (work / "cases.jsonl").open("w") as fh:
        for i in range(LIVE_CASES):
            fh.write(json.dumps({"name": f"c{i:06d}", "method": "POST", "path": "/v1/validate",
                                 "json": PAYLOADS[i % len(PAYLOADS)]}) + "\n")
    (work / "gauntlet.toml").write_text(
        f'[gauntlet]\nname = "watch bench"\nout_dir = "out"\n[parity]\nreference = "rust"\n'
        f'concurrency = {CONCURRENCY}\ncases_file = "cases.jsonl"\n'
        f'[parity.targets]\nrust = "{urls["rust"]}"\ngo = "{urls["go"]}"\n')
    config = load_config(work / "gauntlet.toml", env={})
    app = GauntletApp(LiveSource(Engine(config, select_phases(config))))
    board = app.model.tracker.parity
    async with app.run_test(size=(120, 40)) as pilot:
        rows = app.query_one(RowList)
        frames = Frames(app, lambda: rows.cursor)
        await pilot.press("3", "down")
        while len(board.cases) < LIVE_CASES // 5:
            await pilot.pause(0.05)
        landed, start = len(board.cases), time.perf_counter()
        busy = await presses(app, pilot, frames)
        rate = (len(board.cases) - landed) / (time.perf_counter() - start)
        check(len(board.cases) < LIVE_CASES, "the run ended before the presses did: not measured under load")
        await asyncio.wait_for(app.source_finished.wait(), 300)
        idle = await presses(app, pilot, frames)
    return busy, idle, rate


async def follow(run: Path, work: Path) -> tuple[list[float], float]:
    """(latencies while the last cases are appended, cases folded per second meanwhile)."""
    lines = (run / "events.jsonl").read_text().splitlines(keepends=True)
    cut = len(lines) - TAIL_CASES - 10  # the last cases and the run's end are yet to come
    live = work / "following"
    live.mkdir()
    (live / "events.jsonl").write_text("".join(lines[:cut]))
    (work / "tail.jsonl").write_text("".join(lines[cut:]))
    app = GauntletApp(FileSource(live, follow=True), clock=False)
    board = app.model.tracker.parity
    async with app.run_test(size=(120, 40)) as pilot:
        rows = app.query_one(RowList)
        frames = Frames(app, lambda: rows.cursor)
        await pilot.press("3", "down")
        while len(board.cases) < REPLAY_CASES - TAIL_CASES - 10:
            await pilot.pause(0.05)
        writer = subprocess.Popen([sys.executable, "-c", APPEND, str(work / "tail.jsonl"), str(live / "events.jsonl"),
                                   str(TAIL_RATE)])
        await pilot.pause(0.5)
        landed, start = len(board.cases), time.perf_counter()
        latencies = await presses(app, pilot, frames)
        rate = (len(board.cases) - landed) / (time.perf_counter() - start)
        check(writer.poll() is None, "the writer finished before the presses did: not measured under load")
        writer.wait(60)
        await asyncio.wait_for(app.source_finished.wait(), 60)
    return latencies, rate


def main() -> None:
    work = scratch("watchscale")
    try:
        with twins("--rust-port", "0", "--go-port", "0") as urls:
            run = write_run(work / "run", REPLAY_CASES)
            start = time.perf_counter()
            for _ in read_events(str(run / "events.jsonl")):
                pass
            parse = time.perf_counter() - start
            shown = asyncio.run(replay(run))
            busy, idle, rate = asyncio.run(live(work, urls))
            followed, follow_rate = asyncio.run(follow(run, work))
            median, idle_median = statistics.median(busy) * 1000, statistics.median(idle) * 1000
            follow_median = statistics.median(followed) * 1000
            print(f"watch --no-follow of {REPLAY_CASES:,} cases: verdict on screen after {shown:.2f}s "
                  f"(parsing the file alone: {parse:.2f}s)")
            print(f"key press to screen in the parity pane while ~{rate:,.0f} cases/s land: median {median:.0f} ms, "
                  f"max {max(busy) * 1000:.0f} ms over {len(busy)} presses; after the run: median {idle_median:.0f} ms")
            print(f"the same while `watch` follows the {REPLAY_CASES:,}-case run as ~{follow_rate:,.0f} cases/s are "
                  f"appended: median {follow_median:.0f} ms, max {max(followed) * 1000:.0f} ms")
            print(f"watch_verdict_s={shown:.2f} parse_s={parse:.2f} watch_over_parse={shown / parse:.2f}x "
                  f"keypress_ms={median:.0f} keypress_max_ms={max(busy) * 1000:.0f} idle_keypress_ms={idle_median:.0f} "
                  f"live_over_idle={median / idle_median:.1f}x cases_per_s={rate:.0f} "
                  f"follow_keypress_ms={follow_median:.0f} follow_keypress_max_ms={max(followed) * 1000:.0f}")
            check(shown <= 5, f"the verdict took {shown:.2f}s to reach the screen, above 5 s")
            check(median <= 150, f"median key latency {median:.0f} ms is above 150 ms")
            check(follow_median <= 150, f"median key latency following 100,000 cases {follow_median:.0f} ms is above 150 ms")
    finally:
        cleanup(work)


if __name__ == "__main__":
    sys.exit(main())
