"""Parity at 100,000 cases (four payload shapes, streamed from a JSON Lines file) against
`gauntlet twins` in its own process, answering after 20 ms (a service's own I/O):

- wall of `gauntlet parity --headless` over a bare httpx client sending the same requests
  at the same concurrency, measured in the same run: target <= 1.2 (and, beside it, the CPU
  time of each: on a machine busy with other work the CPU ratio is the steadier figure);
- peak RSS of the gauntlet process: target <= 250 MB;
- files in the run directory (target <= 1,000) and its size (target <= 50 MB);
- seconds until `gauntlet watch` of the finished run shows its verdict (target <= 5), the
  app driven headless as bench/watch_scale.py does.

`python bench/parity_scale.py [CASES]` (default 100,000).
"""

from __future__ import annotations

import asyncio
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _util import GAUNTLET, REPO, check, cleanup, parity_project, scratch, twins  # noqa: E402

from parity_probe import PAYLOADS  # noqa: E402
from watch_scale import replay  # noqa: E402

from probes.core.events import read_events  # noqa: E402

CONCURRENCY, LATENCY_MS = 32, 20


def main() -> None:
    cases = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    work = scratch("scale")
    try:
        with twins("--rust-port", "0", "--go-port", "0", "--latency-ms", str(LATENCY_MS)) as urls:
            config = parity_project(work, urls, PAYLOADS, cases, name="scale", concurrency=CONCURRENCY)

            start, cpu = time.perf_counter(), time.process_time()
            asyncio.run(bare_client(requests(cases, urls)))
            bare_wall, bare_cpu = time.perf_counter() - start, time.process_time() - cpu

            start = time.perf_counter()
            proc = subprocess.run([*GAUNTLET, "parity", str(config), "--headless"], cwd=REPO,
                                  capture_output=True, text=True)
            wall = time.perf_counter() - start
            usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # the gauntlet's alone: the twins are not waited for yet
            peak_mb, probe_cpu = usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime
            check(proc.returncode == 1, f"the twins should diverge: exit {proc.returncode}\n{proc.stderr[-2000:]}")
            (run,) = [p for p in (work / "out").iterdir() if p.is_dir()]
            files = [p for p in run.rglob("*") if p.is_file()]
            size_mb = sum(p.stat().st_size for p in files) / 1e6
            largest = sorted(files, key=lambda p: p.stat().st_size, reverse=True)[:4]
            start = time.perf_counter()
            for _ in read_events(str(run / "events.jsonl")):
                pass
            parse_s = time.perf_counter() - start
            watch_s = asyncio.run(replay(run))
            ratio = wall / bare_wall
            print(f"{cases:,} cases x 2 targets at concurrency {CONCURRENCY}, twins answering after {LATENCY_MS} ms: "
                  f"gauntlet {wall:.1f}s ({probe_cpu:.1f}s CPU), bare httpx client {bare_wall:.1f}s ({bare_cpu:.1f}s CPU); "
                  f"headless output "
                  f"{proc.stdout.count(chr(10))} lines")
            print(f"run directory: {len(files)} files, {size_mb:.1f} MB ("
                  + ", ".join(f"{p.relative_to(run)} {p.stat().st_size / 1e6:.1f} MB" for p in largest) + ")")
            print(f"watch shows the verdict after {watch_s:.2f}s (parsing events.jsonl alone: {parse_s:.2f}s)")
            print(f"wall_over_bare={ratio:.2f} cpu_over_bare={probe_cpu / bare_cpu:.2f} peak_rss_mb={peak_mb:.0f} files={len(files)} size_mb={size_mb:.1f} "
                  f"watch_verdict_s={watch_s:.2f}")
            check(ratio <= 1.2, f"{ratio:.2f}x a bare client")
            check(peak_mb <= 250, f"peak RSS {peak_mb:.0f} MB")
            check(len(files) <= 1000 and size_mb <= 50, f"{len(files)} files, {size_mb:.1f} MB")
            check(watch_s <= 5, f"watch took {watch_s:.1f}s to show the verdict")
    finally:
        cleanup(work)


def requests(cases: int, urls: dict[str, str]) -> Iterator[tuple[str, dict]]:
    for i in range(cases):
        for url in urls.values():
            yield url + "/v1/validate", PAYLOADS[i % len(PAYLOADS)]


async def bare_client(pending: Iterator[tuple[str, dict]]) -> None:
    """The same requests from a pool of CONCURRENCY workers, the bodies read and dropped."""
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(limits=limits, trust_env=False) as client:
        async def worker() -> None:
            for url, payload in pending:
                response = await client.post(url, json=payload)
                response.content  # noqa: B018 - read, as the probe reads every answer

        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))


if __name__ == "__main__":
    sys.exit(main())
