"""The TUI under a flood, and its first frame.

- While a smoke prints 50,000 lines a second, a key press (switching panes) shows its
  effect on screen within 150 ms: median of 20 presses sent with Pilot, each timed from
  the press to the first frame the app writes with the new pane shown. (Pilot's own
  `press` returns later: it also waits for the tab underline's animation to finish.)
- The app's memory (RSS of this process, which runs it) stays under 200 MB.
- The first frame of `gauntlet demo` (its header on a pseudo-terminal) appears within
  1.5 s of start. Baseline in the same run: `python -c pass` start-up on the same pty.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import pty
import select
import signal
import statistics
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from _util import check, cleanup, scratch  # noqa: E402

from probes.config import load_config  # noqa: E402
from probes.engine import Engine, select_phases  # noqa: E402
from tui.app import GauntletApp  # noqa: E402
from tui.sources import LiveSource  # noqa: E402

LINES_PER_SECOND = 50_000
PRESSES = 20
FLOOD = (
    "import sys, time\n"
    "start = time.monotonic(); n = 0\n"
    "while time.monotonic() - start < 30:\n"
    "    sys.stdout.write(''.join(f'flood line {n + i} the quick brown fox\\n' for i in range(5000)))\n"
    "    sys.stdout.flush(); n += 5000\n"
    "    time.sleep(max(0, start + n / 50000 - time.monotonic()))\n"
)


async def flood(work: Path) -> tuple[list[float], float, int]:
    config_path = work / "gauntlet.toml"
    (work / "flood.py").write_text(FLOOD)
    config_path.write_text(f'[gauntlet]\nname = "flood"\nout_dir = "out"\n[[smoke]]\nname = "flood"\n'
                           f'run = ["{sys.executable}", "flood.py"]\n')
    config = load_config(config_path, env={})
    engine = Engine(config, select_phases(config))
    app = GauntletApp(LiveSource(engine))
    frames: list[tuple[float, str, bool]] = []
    write_frame = app._display

    def display(screen, renderable):  # every frame the app writes to its terminal
        frames.append((time.perf_counter(), app.active_pane, bool(app.query_one("#scrum").display)))
        return write_frame(screen, renderable)

    app._display = display
    me = psutil.Process()
    peak = me.memory_info().rss
    latencies: list[float] = []
    async with app.run_test(size=(120, 40)) as pilot:
        log = engine.run_dir.path / "smokes" / ".flood.log.part"
        while not log.exists() or log.stat().st_size < 2 * LINES_PER_SECOND * 40:  # two seconds of flood
            await pilot.pause(0.05)
        for n in range(PRESSES):
            key, pane = ("2", "scrum") if n % 2 == 0 else ("1", "smokes")
            frames.clear()
            start = time.perf_counter()
            press = asyncio.ensure_future(pilot.press(key))
            shown = None
            while shown is None and time.perf_counter() - start < 5:
                shown = next((t for t, active, scrum in frames if active == pane and scrum == (pane == "scrum")), None)
                await asyncio.sleep(0.002)
            check(shown is not None, f"pane {pane} never reached the screen")
            latencies.append(shown - start)
            await press
            peak = max(peak, me.memory_info().rss)
            await pilot.pause(0.1)
        lines = log.stat().st_size // 40
        await pilot.press("ctrl+c")
        await asyncio.wait_for(app.source_finished.wait(), 30)
    return latencies, peak / 2**20, lines


def first_frame(work: Path, argv: list[str], marker: bytes, timeout: float = 20) -> float:
    """Seconds from spawn until `marker` is written to a 120x40 pseudo-terminal."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    env["TERM"] = "xterm-256color"
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, cwd=work, env=env, start_new_session=True)
    os.close(slave)
    seen = b""
    try:
        while marker not in seen:
            ready, _, _ = select.select([master], [], [], max(0.0, start + timeout - time.perf_counter()))
            check(bool(ready), f"no {marker!r} within {timeout}s")
            try:
                seen += os.read(master, 65536)
            except OSError:
                break
        return time.perf_counter() - start
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            while os.read(master, 65536):  # let it restore the terminal and exit
                pass
        except OSError:
            pass
        proc.wait(30)
        os.close(master)


def main() -> None:
    work = scratch("tuiflood")
    try:
        latencies, peak_mb, lines = asyncio.run(flood(work))
        median_ms = statistics.median(latencies) * 1000
        frame = first_frame(work, [str(Path(sys.executable).parent / "gauntlet"), "demo"], b" gauntlet ")
        baseline = first_frame(work, [sys.executable, "-c", "print(' gauntlet ')"], b" gauntlet ")
        print(f"flood: ~{lines} lines printed meanwhile; key press to screen: median {median_ms:.0f} ms, "
              f"max {max(latencies) * 1000:.0f} ms over {len(latencies)} presses; peak RSS {peak_mb:.0f} MB")
        print(f"first frame of `gauntlet demo`: {frame:.2f}s (python start-up on the same pty: {baseline:.2f}s)")
        print(f"keypress_median_ms={median_ms:.0f} peak_rss_mb={peak_mb:.0f} first_frame_s={frame:.2f}")
        check(median_ms <= 150, f"median key latency {median_ms:.0f} ms is above 150 ms")
        check(peak_mb < 200, f"peak RSS {peak_mb:.0f} MB is not under 200 MB")
        check(frame <= 1.5, f"first frame after {frame:.2f}s, above 1.5 s")
    finally:
        cleanup(work)


if __name__ == "__main__":
    sys.exit(main())
