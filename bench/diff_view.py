"""Open a 20 MB parity case in the diff viewer and scroll to its end.

Target: the case opens (bodies read, pretty-printed, aligned, differences located,
first screen drawn) in under 2 s, and scrolling stays smooth because only visible rows
are rendered. Prints the seconds for each step; the baseline in the same run is
json.loads of both bodies.
"""

from __future__ import annotations

import asyncio
import json
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from _util import check, cleanup, scratch  # noqa: E402

from probes.config import load_config  # noqa: E402
from probes.engine import Engine, select_phases  # noqa: E402
from probes.parity._results import stored_answer  # noqa: E402
from probes.parity._twins import serve_http, server_url  # noqa: E402
from tui.screens.diff import DiffApp, DiffScreen, SideBySide  # noqa: E402

ROWS = 110_000


def bodies() -> tuple[bytes, bytes]:
    ref = {"rows": [{"i": i, "name": f"row-{i}", "pad": "x" * 150} for i in range(ROWS)]}
    cand = json.loads(json.dumps(ref))
    for i in (7, 55_555, ROWS - 3):
        cand["rows"][i]["name"] = "changed"
    cand["rows"][90_000]["extra"] = True
    return json.dumps(ref).encode(), json.dumps(cand).encode()


def main() -> None:
    ref, cand = bodies()
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()

    def answer(body: bytes):
        async def handle(*_):
            return 200, {"Content-Type": "application/json"}, body
        return handle

    urls = [server_url(asyncio.run_coroutine_threadsafe(serve_http(answer(b)), loop).result()) for b in (ref, cand)]
    work = scratch("diffview")
    try:
        config_path = work / "gauntlet.toml"
        config_path.write_text(f'[gauntlet]\nname = "diff bench"\nout_dir = "out"\n[parity]\nreference = "rust"\n'
                               f'timeout = "60s"\n[parity.targets]\nrust = "{urls[0]}"\ngo = "{urls[1]}"\n'
                               '[[parity.case]]\nname = "big"\npath = "/rows"\n')
        config = load_config(config_path, env={})
        run_dir = asyncio.run(Engine(config, select_phases(config)).run()).run_dir
        size_mb = stored_answer(run_dir, "big", "rust")[0]["body_bytes"] / 1e6
        start = time.perf_counter()
        json.loads(ref), json.loads(cand)
        parse = time.perf_counter() - start
        timings = asyncio.run(drive(run_dir))
        print(f"bodies {size_mb:.1f} MB each, {ROWS} rows; json.loads of both: {parse:.2f}s")
        print(f"open (load, pretty-print, align, locate, first frame): {timings['open']:.2f}s; "
              f"scroll to the end: {timings['end']:.3f}s; 50 page-downs: {timings['pages']:.3f}s "
              f"({timings['pages'] / 50 * 1000:.1f} ms each); rows {timings['rows']}")
        print(f"open_s={timings['open']:.2f} scroll_end_s={timings['end']:.3f} open_over_parse={timings['open'] / parse:.1f}")
        check(timings["open"] < 2.0, f"opening took {timings['open']:.2f}s, over 2s")
    finally:
        cleanup(work)


async def drive(run_dir: Path) -> dict[str, float]:
    app = DiffApp(run_dir, "big")
    out: dict[str, float] = {}
    start = time.perf_counter()
    async with app.run_test(size=(160, 50)) as pilot:
        while not (isinstance(app.screen, DiffScreen) and app.screen.view is not None):
            await pilot.pause(0.01)
        await pilot.pause()
        out["open"] = time.perf_counter() - start
        screen = app.screen
        view = screen.query_one(SideBySide)
        check(len(screen.shown) == 4, f"expected 4 differences, found {len(screen.shown)}")
        out["rows"] = len(screen.view.alignment)
        start = time.perf_counter()
        await pilot.press("end")
        await pilot.pause()
        out["end"] = time.perf_counter() - start
        check(view.scroll_offset.y >= view.max_scroll_y - 1, "did not reach the end")
        await pilot.press("home")
        await pilot.pause()
        start = time.perf_counter()
        for _ in range(50):
            await pilot.press("pagedown")
        await pilot.pause()
        out["pages"] = time.perf_counter() - start
    return out


if __name__ == "__main__":
    sys.exit(main())
