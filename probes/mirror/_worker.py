"""The shadow in a process of its own: the clients' loop only hands copies over.

Sending each copy to the candidates and judging their answers costs the mirror more CPU
than answering the client does (about twice, measured by bench/mirror_overhead.py); on the
clients' loop that work queued in front of their answers and made the loop's core the
bottleneck, so the client's p99 paid for the candidates. Here the proxy's side only writes
a copy (and, once the client has its answer, the reference's answer to it) down a socket to
a child process, niced so that on a busy machine the clients' process is the one the
scheduler runs first; the child sends, judges and sends each result back to be listed or
counted.

The bound is the proxy's: at most `queue` copies wait for a candidate, besides the
`concurrency` in hand (so `queue + concurrency` are out at once, sent and not yet back);
one more is dropped and counted, never waited for. A child that ends (killed, or a fault
that takes it down) costs the clients nothing: every copy out and every later one is
counted as dropped, and the run is incomplete (`judge_lost`). The child ends when its
socket closes, so it never outlives the mirror, even one killed outright.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import pickle
import signal
import socket
import struct
import subprocess
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..core import GauntletError
from ..core.events import LatencyRow
from ..parity import CaseResult, NoisePool, ParityConfig, case_event, case_rows
from ._shadow import Copy, Counts, Landed, Shadow, Times

NICE = 10  # the child's niceness: the clients' process runs first when both want a core
_SIZE = struct.Struct("!I")
CLOSE_WAIT = 5.0  # seconds the child gets to end once its socket is closed, before it is killed
READY_WAIT = 60.0  # seconds the child gets to import and say it is ready
ROOT = Path(__file__).resolve().parents[2]  # where `probes` is: the child imports the same code

Held = Callable[[Landed], None]


class JudgeFault(Exception):
    """A fault of gauntlet's own in the judging process, as its traceback told it."""


def _frame(message: tuple[Any, ...]) -> bytes:
    data = pickle.dumps(message, pickle.HIGHEST_PROTOCOL)
    return _SIZE.pack(len(data)) + data


async def _read(reader: asyncio.StreamReader) -> tuple[Any, ...]:
    size, = _SIZE.unpack(await reader.readexactly(_SIZE.size))
    message: tuple[Any, ...] = pickle.loads(await reader.readexactly(size))
    return message


class _Out:
    """Messages written down the socket once per turn of the loop: one system call for
    all those a turn made, never a wait (the peer reads as fast as it can)."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        self._frames: list[bytes] = []

    def put(self, message: tuple[Any, ...]) -> None:
        if not self._frames:
            asyncio.get_running_loop().call_soon(self._flush)
        self._frames.append(_frame(message))

    def _flush(self) -> None:
        frames, self._frames = self._frames, []
        if not self.writer.is_closing():
            self.writer.write(b"".join(frames))


class ShadowProcess:
    """The proxy's side of the judging process: `offer` copies, get each result at `land`."""

    def __init__(self, parity: ParityConfig, secondary: str | None, size: int, counts: Counts, land: Held) -> None:
        self.parity, self.secondary, self.size, self.counts, self.land = parity, secondary, size, counts, land
        self.fault: Exception | None = None  # a fault of gauntlet's own in judging: the run ends with it (exit 3)
        self.lost = False  # the process ended before it was closed
        self._out: _Out | None = None
        self._proc: asyncio.subprocess.Process | None = None
        self._reading: asyncio.Task[None] | None = None
        self._closing = False
        self._out_now = 0  # copies sent and not yet back
        self._none_out = asyncio.Event()
        self._pool: asyncio.Future[NoisePool | None] | None = None
        self._judging: dict[int, asyncio.Future[tuple[LatencyRow, ...] | None]] = {}
        self._keys = itertools.count()

    async def start(self) -> None:
        """Start the process and wait until it is ready to take copies: its imports and its
        first copies would otherwise share the cores with the first clients' answers."""
        ours, theirs = socket.socketpair()
        path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
        try:
            with theirs:
                self._proc = await asyncio.create_subprocess_exec(
                    sys.executable, "-m", __name__, str(theirs.fileno()), pass_fds=(theirs.fileno(),),
                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                    env={**os.environ, "PYTHONPATH": path})
            reader, writer = await asyncio.open_connection(sock=ours)
            self._out = _Out(writer)
            self._out.put((self.parity, self.secondary))
            async with asyncio.timeout(READY_WAIT):
                ready = await _read(reader)
        except (OSError, TimeoutError, asyncio.IncompleteReadError) as exc:
            await self.close()
            said = "it did not say it was ready" if isinstance(exc, TimeoutError) else \
                "it ended before it was ready" if isinstance(exc, asyncio.IncompleteReadError) else str(exc)
            raise GauntletError(f"mirror: cannot start the process that judges the copies: {said}") from None
        assert ready == ("ready",), ready
        self._none_out.set()
        self._reading = asyncio.create_task(self._read(reader))

    def offer(self, copy: Copy) -> bool:
        """Send a copy; False (and counted) when the queue is full (`size` waiting besides those
        in hand) or the process is gone: the copy is dropped. The reference's answer follows once the client has it."""
        if self.lost or self._out is None or self._out_now >= self.size + self.parity.concurrency:
            self.counts.dropped += 1
            return False
        self._out_now += 1
        self._none_out.clear()
        self.counts.copied += 1
        self._out.put(("copy", copy.seq, copy.method, copy.target, copy.headers, copy.body, copy.reference is not None))
        if copy.reference is not None:
            copy.reference.add_done_callback(lambda heard: self._heard(copy.seq, heard))
        return True

    def judge_timings(self, name: str, samples: dict[str, list[float]]) -> asyncio.Future[tuple[LatencyRow, ...] | None]:
        """A way's timings judged over there (the statistics are arithmetic: a bootstrap of
        thousands of rounds, never on the clients' loop): its latency rows, or None once the
        process is gone."""
        future: asyncio.Future[tuple[LatencyRow, ...] | None] = asyncio.get_running_loop().create_future()
        if self.lost or self._out is None:
            future.set_result(None)
            return future
        key = next(self._keys)
        self._judging[key] = future
        self._out.put(("time", key, name, samples))
        return future

    def _heard(self, seq: int, heard: asyncio.Future[Any]) -> None:
        if self._out is not None and not self.lost:
            self._out.put(("heard", seq, None if heard.cancelled() else heard.result()))

    async def _read(self, reader: asyncio.StreamReader) -> None:
        try:
            while True:
                message = await _read(reader)
                if message[0] == "pool":
                    if self._pool is not None and not self._pool.done():
                        self._pool.set_result(message[1])
                    continue
                if message[0] == "fault":
                    self.fault = self.fault or JudgeFault(message[1])
                    continue
                if message[0] == "timed":
                    if (future := self._judging.pop(message[1], None)) is not None and not future.done():
                        future.set_result(message[2])
                    continue
                self._back()
                if message[0] == "judged":
                    self.counts.judged += 1
                    self.land(message[1])
                else:  # "skipped": the client left mid-answer, nothing to compare with
                    self.counts.skipped += 1
                # A read brings what the judging process wrote meanwhile, often dozens of
                # results: the clients' requests waiting on the loop go between two of them.
                await asyncio.sleep(0)
        except (asyncio.IncompleteReadError, ConnectionError):
            if not self._closing:
                self._lose()
        except Exception as exc:  # noqa: BLE001 - a fault of ours: the run reports it
            self.fault = self.fault or exc
            self._lose()

    def _back(self) -> None:
        self._out_now -= 1
        if self._out_now == 0:
            self._none_out.set()

    def _lose(self) -> None:
        """The process ended: what was out is dropped, and so is every copy from now on."""
        self.lost = self.counts.judge_lost = True
        self.counts.copied -= self._out_now
        self.counts.dropped += self._out_now
        self._out_now = 0
        self._none_out.set()
        if self._pool is not None and not self._pool.done():
            self._pool.set_result(None)
        for future in self._judging.values():
            if not future.done():
                future.set_result(None)
        self._judging.clear()

    async def take_pool(self) -> NoisePool | None:
        """The noise learned so far (None without a secondary, once the process is gone, or
        when it does not answer within CLOSE_WAIT: a run's end never waits on it longer);
        the process starts a new pool for the next run."""
        if self.secondary is None or self.lost or self._out is None:
            return None
        self._pool = asyncio.get_running_loop().create_future()
        self._out.put(("pool",))
        try:
            return await asyncio.wait_for(self._pool, CLOSE_WAIT)
        except TimeoutError:
            return None

    async def drain(self, timeout: float) -> int:
        """Wait for the copies out to come back, `timeout` seconds at most; how many did not."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._none_out.wait(), timeout)
        return self._out_now

    async def close(self) -> None:
        """Close the socket (the process ends when it reads the end), then wait for it."""
        self._closing = True
        if self._out is not None:
            self._out.writer.close()
        if self._reading is not None:
            self._reading.cancel()
            await asyncio.gather(self._reading, return_exceptions=True)
        if self._proc is not None:
            try:
                await asyncio.wait_for(self._proc.wait(), CLOSE_WAIT)
            except TimeoutError:
                self._proc.kill()
                await self._proc.wait()


# ---- the judging process ------------------------------------------------------------------------

async def _serve(sock: socket.socket) -> None:
    reader, writer = await asyncio.open_connection(sock=sock)
    parity, secondary = await _read(reader)
    out = _Out(writer)
    waiting: dict[int, asyncio.Future[Any]] = {}

    def land(copy: Copy, result: CaseResult | None, times: Times | None) -> None:
        out.put(("skipped",) if result is None else ("judged", Landed.of(
            result, case_event(result, copy.seq), times if parity.latency is not None else None)))

    def fail(exc: Exception) -> None:
        out.put(("fault", "".join(traceback.format_exception(exc)).rstrip()))

    async def judge_timings(key: int, name: str, samples: dict[str, list[float]]) -> None:
        assert parity.latency is not None and parity.reference is not None
        rows = None
        try:  # on a thread: the copies in flight are still sent and timed meanwhile
            rows = await asyncio.to_thread(case_rows, name, parity.reference, samples, {}, parity.latency.max_ratio)
        except Exception as exc:  # noqa: BLE001 - a fault of ours: the run reports it
            fail(exc)
        out.put(("timed", key, rows))

    shadow = Shadow(parity, secondary, land, fail, NoisePool() if secondary is not None else None)
    shadow.start()
    out.put(("ready",))
    loop = asyncio.get_running_loop()
    judging: set[asyncio.Task[None]] = set()
    try:
        while True:
            try:
                message = await _read(reader)
            except (asyncio.IncompleteReadError, ConnectionError):
                return  # the mirror closed its side, or ended
            if message[0] == "copy":
                _, seq, method, target, headers, body, answered = message
                copy = Copy(seq, method, target, headers, body)
                if answered:
                    copy.reference = waiting[seq] = loop.create_future()
                shadow.take(copy)
            elif message[0] == "heard":
                waiting.pop(message[1]).set_result(message[2])
            elif message[0] == "pool":
                out.put(("pool", shadow.pool))
                shadow.pool = NoisePool()
            elif message[0] == "time":
                task = asyncio.create_task(judge_timings(*message[1:]))
                judging.add(task)
                task.add_done_callback(judging.discard)
    finally:
        for task in judging:
            task.cancel()
        await shadow.close()


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop where it is installed (every platform but Windows), else None (asyncio's
    own): the clients' requests cross the proxy's loop twice each, and every copy crosses the
    judging process's three times; uvloop's turn of the loop costs a fraction of asyncio's."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def main() -> None:
    """The child's entry: its socket's descriptor is its one argument. The mirror's signals
    reach it too (one process group): the mirror decides when it ends, by closing the socket."""
    for name in ("SIGINT", "SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_IGN)
    with contextlib.suppress(OSError):
        os.nice(NICE)
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        runner.run(_serve(socket.socket(fileno=int(sys.argv[1]))))


if __name__ == "__main__":
    main()
