"""What `gauntlet mirror` costs the clients, in one run, against the same client straight to
the reference (the baseline):

- a client at a fixed rate (default 500 requests/s for 60 s, POST /v1/validate, the four
  payloads of bench/parity_probe.py, every request copied: `sample = 1`) through the mirror
  vs straight to the reference, the two taking turns in blocks of ten seconds (so that the
  machine's drift falls on both): the client's p50 and p99 and their deltas, and its errors
  (no answer, or one that is not the reference's own, byte for byte). Targets: p50 within
  +1 ms, p99 within +5 ms, zero errors;
- the same with the candidate down (refusing) and with a candidate ten times slower than
  the reference: the client's deltas again, the copies dropped counted;
- the highest rate the mirror holds with its p99 at most twice the direct p99 at that rate
  (rates up from --rate by half each step while it holds, or down by half until one does,
  a fifth of --seconds each way; a rate the client cannot keep up with straight to the
  reference either is said to be the client's limit, not the mirror's);
- the mirror's RSS (its judging process's included) over --requests requests (default
  1,000,000, sent 32 at a time as fast as they go, so past what the candidate keeps up with
  copies are dropped and counted): at the end (target <= 250 MB) and its growth over the
  second half (flat: <= 5 %).

Every latency is timed from when the request was due (an open-loop client: a late send
counts against the path that made it late). The twins answer after 2 ms (the candidate's
ten times slower: 20 ms), each in a process of its own; the mirror runs as `gauntlet mirror
--headless` in its own.

    python bench/mirror_overhead.py                          # the figures, full length
    python bench/mirror_overhead.py --seconds 5 --requests 50000   # a quick look
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _util import GAUNTLET, REPO, check, cleanup, scratch, twins  # noqa: E402
from parity_probe import PAYLOADS  # noqa: E402

from probes.mirror._upstream import Upstream, drained  # noqa: E402

LATENCY_MS = 2  # the reference's own time per answer (the slow candidate: ten times that)
RSS_MB_MAX, RSS_GROWTH_MAX = 250, 0.05
P50_MS_MAX, P99_MS_MAX = 1.0, 5.0
RSS_CONCURRENCY = 32
BLOCK = 10.0  # seconds of each side in turn: direct, then through the mirror
MIN_RATE = 50.0  # the lowest rate the highest-rate search tries
BODIES = [json.dumps(p).encode() for p in PAYLOADS]
HEADERS = [("content-type", "application/json")]


class Load:
    """One stream of requests at a fixed rate: each one's latency from when it was due, and the errors."""

    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.errors = 0
        self.first_error = ""
        self.behind = 0.0  # the most the client itself fell behind its schedule (s)

    def add(self, other: Load) -> None:
        self.latencies += other.latencies
        self.errors += other.errors
        self.first_error = self.first_error or other.first_error
        self.behind = max(self.behind, other.behind)

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else float("nan")

    def line(self) -> str:
        return (f"p50 {self.pct(0.5):.2f} ms, p99 {self.pct(0.99):.2f} ms, {self.errors} errors over "
                f"{len(self.latencies) + self.errors:,} requests")


async def at_rate(url: str, rate: float, seconds: float, expected: dict[int, tuple[int, bytes]]) -> Load:
    """`rate` requests a second for `seconds`, each answer checked against the reference's own.

    The client is the mirror's own kept-alive HTTP/1.1 connections (httptools): an httpx client
    costs about a millisecond of CPU a request, which on two cores would be taken from the
    mirror and the twins and measured as theirs."""
    load = Load()
    client = Upstream(url, connect_timeout=10, read_timeout=30)

    async def one(i: int, due: float) -> None:
        payload = i % len(PAYLOADS)
        try:
            answer = await client.request("POST", "/v1/validate", HEADERS, BODIES[payload])
            body, _ = await drained(answer, 1 << 20)
        except httpx.HTTPError as exc:
            load.errors += 1
            load.first_error = load.first_error or f"{type(exc).__name__}: {exc}"
            return
        if (answer.status, body) != expected[payload]:
            load.errors += 1
            load.first_error = load.first_error or f"answered {answer.status} {body[:80]!r}"
            return
        load.latencies.append(time.perf_counter() - due)

    tasks = []
    gc.disable()  # the client's own collections would be timed as the path's
    start = time.perf_counter()
    for i in range(int(rate * seconds)):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        else:
            load.behind = max(load.behind, -delay)
        tasks.append(asyncio.create_task(one(i, due)))
    try:
        await asyncio.gather(*tasks)
    finally:
        gc.enable()
    client.close()
    return load


def answers_of(reference: str) -> dict[int, tuple[int, bytes]]:
    with httpx.Client(trust_env=False) as client:
        return {i: ((r := client.post(reference + "/v1/validate", content=body, headers=HEADERS)).status_code,
                    r.content) for i, body in enumerate(BODIES)}


class MirrorProcess:
    """`gauntlet mirror --headless` on a free port, in its own process; its counts once stopped."""

    def __init__(self, work: Path, name: str, reference: str, candidate: str) -> None:
        self.folder = work / name
        self.folder.mkdir()
        config = self.folder / "gauntlet.toml"
        config.write_text(f'[gauntlet]\nname = "mirror bench {name}"\nout_dir = "out"\n'
                          f'[parity]\nreference = "rust"\ntimeout = "2s"\n'
                          f'[parity.targets]\nrust = "{reference}"\ngo = "{candidate}"\n'
                          f'[mirror]\nsample = 1\n[[mirror.route]]\nmethod = "POST"\npath = "/v1/validate"\n'
                          f'mirror = true\n')
        self.log = self.folder / "mirror.log"
        with open(self.log, "w") as fh:
            self.proc = subprocess.Popen([*GAUNTLET, "mirror", str(config), "--headless"], cwd=REPO, stdout=fh,
                                         stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while not (found := re.search(r"listening on (http://\S+)", self.log.read_text())):
            check(self.proc.poll() is None and time.monotonic() < deadline, f"the mirror did not start: "
                                                                            f"{self.log.read_text()[-2000:]}")
            time.sleep(0.05)
        self.url = found.group(1)
        self.ps = psutil.Process(self.proc.pid)

    def rss_mb(self) -> float:
        """The mirror's and its judging process's, together."""
        processes = [self.ps, *self.ps.children(recursive=True)]
        return sum(p.memory_info().rss for p in processes) / (1 << 20)

    def stop(self) -> dict[str, int]:
        """SIGTERM, then its counts as its verdict.json says them (all of its runs added up)."""
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(120)
        totals: dict[str, int] = {}
        for verdict in (self.folder / "out").glob("*/verdict.json"):
            for key, value in json.loads(verdict.read_text())["phases"]["parity"]["mirror"].items():
                if isinstance(value, int) and not isinstance(value, bool):
                    totals[key] = totals.get(key, 0) + value
        return totals

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


@contextlib.contextmanager
def mirror(work: Path, name: str, reference: str, candidate: str) -> Iterator[MirrorProcess]:
    process = MirrorProcess(work, name, reference, candidate)
    try:
        yield process
    finally:
        process.kill()


def turns(reference: str, url: str, rate: float, seconds: float,
          expected: dict[int, tuple[int, bytes]]) -> tuple[Load, Load]:
    """(direct, through the mirror): `seconds` of each at `rate`, taking turns in blocks of
    about BLOCK seconds, so that the machine's drift (these machines are noisy) falls on both."""
    direct, through = Load(), Load()
    blocks = max(1, round(seconds / BLOCK))
    for _ in range(blocks):
        direct.add(asyncio.run(at_rate(reference, rate, seconds / blocks, expected)))
        through.add(asyncio.run(at_rate(url, rate, seconds / blocks, expected)))
    return direct, through


def through(process: MirrorProcess, reference: str, rate: float, seconds: float,
            expected: dict[int, tuple[int, bytes]], label: str) -> tuple[Load, Load, dict[str, int]]:
    """(direct, through the mirror, the mirror's counts once stopped), printed with the deltas."""
    asyncio.run(at_rate(process.url, rate, min(1.0, seconds), expected))  # warm: connections, the first classes
    direct, load = turns(reference, process.url, rate, seconds, expected)
    counts = process.stop()
    print(f"{label}: direct {direct.line()}")
    print(f"{label}: mirror {load.line()}; p50 {load.pct(0.5) - direct.pct(0.5):+.2f} ms, "
          f"p99 {load.pct(0.99) - direct.pct(0.99):+.2f} ms against direct ({load.pct(0.99) / direct.pct(0.99):.2f}x); "
          f"mirror: {counts.get('received', 0):,} received, {counts.get('judged', 0):,} judged, "
          f"{counts.get('dropped', 0):,} dropped" + (f"; first error: {load.first_error}" if load.errors else ""))
    return direct, load, counts


def holds(work: Path, reference: str, candidate: str, rate: float, seconds: float,
          expected: dict[int, tuple[int, bytes]]) -> bool | None:
    """Whether the mirror holds `rate` with its p99 at most twice the direct p99 (taking turns);
    None when the client itself cannot keep that rate straight to the reference."""
    with mirror(work, f"rate{int(rate)}", reference, candidate) as process:
        asyncio.run(at_rate(process.url, rate, min(1.0, seconds), expected))  # warm, as `through` does
        direct, load = turns(reference, process.url, rate, seconds, expected)
        process.stop()
    ratio = load.pct(0.99) / direct.pct(0.99)
    client_limit = direct.behind > 0.05
    print(f"  {rate:,.0f} req/s: direct p99 {direct.pct(0.99):.2f} ms, mirror p99 {load.pct(0.99):.2f} ms "
          f"({ratio:.2f}x), mirror errors {load.errors}" + (" — the client itself falls behind here" if
                                                             client_limit else ""))
    return None if client_limit else ratio <= 2 and not load.errors


def highest_rate(work: Path, reference: str, candidate: str, rate: float, seconds: float,
                 expected: dict[int, tuple[int, bytes]]) -> None:
    """From `rate`, up by half while the mirror holds (p99 at most twice direct); down by half
    from it until one holds when it does not (MIN_RATE at the lowest)."""
    step = max(2.0, seconds / 5)
    held, first = 0.0, holds(work, reference, candidate, rate, step, expected)
    bound = "; bounded by the client" if first is None else ""
    if first:
        held = rate
        while (up := holds(work, reference, candidate, held * 1.5, step, expected)) is True:
            held *= 1.5
        bound = "; bounded by the client" if up is None else ""
    else:
        lower = rate / 2
        while lower >= MIN_RATE and not holds(work, reference, candidate, lower, step, expected):
            lower /= 2
        held = lower if lower >= MIN_RATE else 0.0
    print(f"highest_rate_held={held:,.0f} req/s (p99 <= 2x direct{bound})")


def rss_over(work: Path, reference: str, candidate: str, requests: int) -> tuple[float, float]:
    """(RSS at the end in MB, its growth over the second half as a share), `requests` sent as fast as they go."""
    samples: list[tuple[int, float]] = []
    with mirror(work, "rss", reference, candidate) as process:
        async def send() -> None:
            sent = 0
            client = Upstream(process.url, connect_timeout=10, read_timeout=30)

            async def worker() -> None:
                nonlocal sent
                while sent < requests:
                    sent += 1
                    await drained(await client.request("POST", "/v1/validate", HEADERS, BODIES[sent % len(BODIES)]),
                                  1 << 20)
                    if sent % max(1, requests // 40) == 0:
                        samples.append((sent, process.rss_mb()))

            await asyncio.gather(*(worker() for _ in range(RSS_CONCURRENCY)))
            client.close()

        start = time.perf_counter()
        asyncio.run(send())
        wall = time.perf_counter() - start
        end = process.rss_mb()
        counts = process.stop()
    half = [mb for n, mb in samples if n >= requests // 2] or [end]
    growth = (max(half) - half[0]) / half[0]
    print(f"rss: {requests:,} requests in {wall:.0f}s ({requests / wall:,.0f}/s): {samples[0][1] if samples else end:.0f} MB "
          f"after the first {samples[0][0] if samples else 0:,}, {half[0]:.0f} MB at half, {end:.0f} MB at the end; "
          f"{counts.get('judged', 0):,} judged, {counts.get('dropped', 0):,} dropped")
    print(f"rss_end_mb={end:.0f} rss_growth_second_half={growth * 100:.1f}%")
    return end, growth


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60, help="each fixed-rate stream (default 60)")
    parser.add_argument("--rate", type=float, default=500, help="requests a second (default 500)")
    parser.add_argument("--requests", type=int, default=1_000_000, help="requests for the RSS figure (default 1,000,000)")
    args = parser.parse_args()
    work = scratch("mirror")
    try:
        with twins("--only", "rust", "--rust-port", "0", "--latency-ms", str(LATENCY_MS)) as ref, \
                twins("--only", "go", "--go-port", "0", "--latency-ms", str(LATENCY_MS)) as fast, \
                twins("--only", "go", "--go-port", "0", "--latency-ms", str(LATENCY_MS * 10)) as slow:
            reference, expected = ref["rust"], answers_of(ref["rust"])
            down = "http://127.0.0.1:9"  # discard: nothing listens there, every copy is refused
            asyncio.run(at_rate(reference, args.rate, min(1.0, args.seconds), expected))  # warm the reference
            print(f"{args.rate:,.0f} req/s for {args.seconds:g}s each way, taking turns in blocks of {BLOCK:g}s; "
                  f"reference answering after {LATENCY_MS} ms")
            results = {}
            for label, candidate in (("mirror", fast["go"]), ("candidate down", down),
                                     ("candidate 10x slower", slow["go"])):
                with mirror(work, label.replace(" ", "-"), reference, candidate) as process:
                    results[label] = through(process, reference, args.rate, args.seconds, expected, label)
            deltas = {label: (load.pct(0.5) - direct.pct(0.5), load.pct(0.99) - direct.pct(0.99))
                      for label, (direct, load, _) in results.items()}
            direct, load, _ = results["mirror"]
            p50_delta, p99_delta = deltas["mirror"]
            print(f"p50_delta_ms={p50_delta:.2f} p99_delta_ms={p99_delta:.2f} "
                  f"p99_ratio={load.pct(0.99) / direct.pct(0.99):.2f} client_errors="
                  + ",".join(f"{label}:{r[1].errors}" for label, r in results.items())
                  + f" dropped_when_slow={results['candidate 10x slower'][2].get('dropped', 0)}")
            highest_rate(work, reference, fast["go"], args.rate, args.seconds, expected)
            rss, growth = rss_over(work, reference, fast["go"], args.requests)
        for label, (_, run, _) in results.items():
            check(run.errors == 0, f"{label}: {run.errors} client errors (first: {run.first_error})")
        for label, (p50_delta, p99_delta) in deltas.items():
            check(p50_delta <= P50_MS_MAX, f"{label}: p50 +{p50_delta:.2f} ms through the mirror, over +{P50_MS_MAX} ms")
            check(p99_delta <= P99_MS_MAX, f"{label}: p99 +{p99_delta:.2f} ms through the mirror, over +{P99_MS_MAX} ms")
        check(rss <= RSS_MB_MAX, f"RSS {rss:.0f} MB after {args.requests:,} requests, over {RSS_MB_MAX} MB")
        check(growth <= RSS_GROWTH_MAX, f"RSS grew {growth * 100:.1f}% over the second half")
    finally:
        cleanup(work)


if __name__ == "__main__":
    sys.exit(main())
