"""report.html at 100,000 parity cases, against the probe that made the run, in the same run:

- the page the run writes at its end takes <= 10 % of the probe's own wall time (`gauntlet
  parity --headless` of 100,000 cases against `gauntlet twins` answering after 20 ms, as in
  bench/parity_scale.py): the time between the run's verdict.md and report.html events; and
  `gauntlet report RUN_DIR` of the finished run (its events replayed, the page made again), the
  whole command, <= 10 % too;
- the page weighs <= 5 MB;
- Debian's chromium, driven by Playwright, paints it (first contentful paint) within 2 s of
  being asked to open it from `file://`, and has it loaded by then.

`python bench/report_html.py [CASES]` (default 100,000).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _util import GAUNTLET, REPO, check, cleanup, parity_project, scratch, twins  # noqa: E402

from parity_probe import PAYLOADS  # noqa: E402

from probes.core.events import ArtifactWritten, read_events  # noqa: E402

CONCURRENCY, LATENCY_MS = 32, 20
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def main() -> None:
    cases = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    work = scratch("report")
    try:
        with twins("--rust-port", "0", "--go-port", "0", "--latency-ms", str(LATENCY_MS)) as urls:
            config = parity_project(work, urls, PAYLOADS, cases, name="report bench", concurrency=CONCURRENCY)
            start = time.perf_counter()
            proc = subprocess.run([*GAUNTLET, "parity", str(config), "--headless"], cwd=REPO, capture_output=True,
                                  text=True)
            probe_s = time.perf_counter() - start
        check(proc.returncode == 1, f"the twins should diverge: exit {proc.returncode}\n{proc.stderr[-2000:]}")
        (run,) = [p for p in (work / "out").iterdir() if p.is_dir()]
        written = {e.path: t for t, e in read_events(str(run / "events.jsonl")) if isinstance(e, ArtifactWritten)}
        in_run_s = written["report.html"] - written["verdict.md"]
        page = run / "report.html"
        size_mb = page.stat().st_size / 1e6

        start = time.perf_counter()
        again = subprocess.run([*GAUNTLET, "report", str(run), "--out", str(work / "again.html")], cwd=REPO,
                               capture_output=True, text=True)
        report_s = time.perf_counter() - start
        check(again.returncode == 0, f"gauntlet report failed: {again.stderr[-2000:]}")

        paint_ms, loaded_ms, classes = first_paint(page)
        print(f"{cases:,} cases: probe {probe_s:.1f}s; report.html written in the run in {in_run_s:.2f}s "
              f"({in_run_s / probe_s:.1%} of the probe), `gauntlet report` {report_s:.2f}s "
              f"({report_s / probe_s:.1%}); {size_mb:.2f} MB, {classes} classes; chromium: first paint "
              f"{paint_ms:.0f} ms, loaded {loaded_ms:.0f} ms")
        print(f"in_run_over_probe={in_run_s / probe_s:.3f} report_over_probe={report_s / probe_s:.3f} "
              f"size_mb={size_mb:.2f} first_paint_ms={paint_ms:.0f}")
        check(in_run_s <= 0.10 * probe_s, f"the run's page took {in_run_s:.2f}s, over 10 % of {probe_s:.1f}s")
        check(report_s <= 0.10 * probe_s, f"gauntlet report took {report_s:.2f}s, over 10 % of {probe_s:.1f}s")
        check(size_mb <= 5, f"report.html is {size_mb:.2f} MB")
        check(paint_ms <= 2000 and loaded_ms <= 2000, f"first paint {paint_ms:.0f} ms, loaded {loaded_ms:.0f} ms")
    finally:
        cleanup(work)


# The entry may be recorded after the load event (its time counts from the navigation's start
# either way): waited for by an observer, since the page's policy allows Playwright no polling.
FIRST_CONTENTFUL_PAINT = """new Promise(resolve => new PerformanceObserver(list => {
    const fcp = list.getEntries().find(e => e.name === 'first-contentful-paint');
    if (fcp) resolve(fcp.startTime);
}).observe({type: 'paint', buffered: true}))"""


def first_paint(page: Path) -> tuple[float, float, int]:
    """(ms from asking chromium to open the page to its first contentful paint, to its load
    event; the classes it shows), in a browser already started."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        try:
            tab = browser.new_page(viewport={"width": 1366, "height": 800})
            tab.goto(page.as_uri(), wait_until="load")
            paint = tab.evaluate(FIRST_CONTENTFUL_PAINT)
            loaded = tab.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd")
            classes = tab.locator("details.cls").count()
        finally:
            browser.close()
    return paint, loaded, classes


if __name__ == "__main__":
    sys.exit(main())
