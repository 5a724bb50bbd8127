"""A mirror's life: one listening address and one shadow for as long as it runs, feeding one
run directory after another (its record rolls over by time or size), each run's parity
phase made of the requests judged while it lasted.

Memory stays flat however many requests pass: a way of answering (the endpoint, each
target's status, errors and divergence classes) keeps its first EXAMPLES requests, listed
and recorded one by one with their answers, and counts the rest under one name
(`alike-…`, a case that stands for that many requests, sent again as the count grows).
Matching requests are counted like the rest, never kept past their examples.

With `[parity.latency]`, a way of answering is timed on its own requests, as they came: each
candidate's answer to the copy against the reference's timed beside it, in the same process at
the same moment (its second instance's, or in a sink the reference's own to the judging
process), never the proxy's time of the client's answer: the judging process is niced, and on a
busy machine its times stretch with its wait for a core where the proxy's do not. A way keeps up
to `repeats` timings a target however long it runs, and the judging process (niced, off the
clients' loop: the statistics are arithmetic) judges them once ten are timed, again when its
requests double, and at the run's end; the figures ride on the way's count of requests alike.
A way with fewer than ten timed requests is too rare to judge: the run says how many were.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import random
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path

from ..cases import safe_name
from ..core import GauntletError
from ..core.events import (
    EventBus,
    LatencyPlanned,
    LatencyRow,
    MirrorPlanned,
    Notice,
    ParityCaseFinished,
    ParityPlanned,
)
from ..parity import (
    MIN_SAMPLES,
    NO_DATA,
    SLOWER,
    CaseEmitter,
    CaseResult,
    LatencyConfig,
    ParityConfig,
    latency_class_event,
    settle_noise,
)
from ._config import MirrorConfig, join_address
from ._proxy import Proxy
from ._server import Server
from ._shadow import SECONDARY, Counts, Landed, Times
from ._upstream import Upstream
from ._worker import ShadowProcess

TICK = 1.0  # seconds between the counts told (and the roll-over looked at)
ALIKE_TICKS = 5  # ticks between the counts of requests alike told again: a line each, a day of them a record
EXAMPLES = 3  # requests listed one by one per way of answering; the rest are counted
WAYS = 1000  # ways of answering told apart per run; past them, requests are told apart by all but the endpoint
GRACE = 10.0  # seconds the requests in flight get to end once the mirror is told to stop
MB = 1 << 20
LATENCY_WAIT = 5.0  # seconds a run's end waits for the judging process to judge its ways' timings
NOT_JUDGED = "its timings were not judged before the run ended"

Record = Callable[[CaseResult, ParityCaseFinished], None]
Rows = tuple[LatencyRow, ...]
# A way's timings (its name, each target's milliseconds) to be judged: its rows, or None when
# the judging process could not (it ended).
JudgeTimings = Callable[[str, dict[str, list[float]]], "asyncio.Future[Rows | None]"]


@dataclass
class _Timings:
    """A way of answering's requests timed: past its first `warmup`, up to `size` a target,
    each request as likely as any other to be among them (a reservoir sample), so a run of
    days is timed across its days in the same room as a run of minutes."""

    size: int
    warmup: int
    rng: random.Random  # the run's: which requests a full reservoir keeps
    seen: int = 0
    samples: dict[str, list[float]] = field(default_factory=dict)
    judged: int = 0  # `seen` when last sent to be judged
    landed: int = 0  # `seen` when the rows last landed were sent: older rows landing later are stale

    def add(self, times: Mapping[str, float]) -> None:
        self.seen += 1
        n = self.seen - self.warmup
        if n <= 0:
            return
        if n <= self.size:
            for target, ms in times.items():
                self.samples.setdefault(target, []).append(ms)
            return
        slot = self.rng.randrange(n)
        if slot < self.size:
            for target, ms in times.items():
                self.samples[target][slot] = ms

    @property
    def timed(self) -> int:
        return max(0, self.seen - self.warmup)

    def due(self, final: bool) -> bool:
        """To be judged once enough are timed for a figure: again each time the requests seen
        have doubled (a handful of times a run), and at the end whatever came since. A way
        with fewer is too rare to time: it is told, not judged."""
        if self.timed < MIN_SAMPLES:
            return False
        return self.seen != self.judged if final else self.seen >= 2 * self.judged


@dataclass
class _Alike:
    """The requests of one way of answering past its examples: counted under one name."""

    name: str
    event: ParityCaseFinished  # the first one counted, which the count is told with
    weight: int = 0
    told: int = 0  # the weight last sent
    rows: Rows = ()  # its latency as last judged
    fresh: bool = False  # rows judged since it was last sent


class Run:
    """One run directory's share of the requests: listed, counted and recorded as they land."""

    def __init__(self, bus: EventBus, record: Record, latency: LatencyConfig | None = None,
                 judge_timings: JudgeTimings | None = None) -> None:
        self.bus, self.record = bus, record
        self.emitter = CaseEmitter(bus)
        self.listed: dict[tuple[object, ...], int] = {}
        self.alike: dict[tuple[object, ...], _Alike] = {}
        self.failed: Exception | None = None  # the record refused a write (or a fault of ours): the run ends
        self.latency, self.judge_timings = latency, judge_timings
        self.timings: dict[tuple[object, ...], _Timings] = {}
        self.rng = random.Random(0)
        self.judging: set[asyncio.Future[Rows | None]] = set()
        self.announced = False  # the latency class, once a candidate was slower
        self.ended = False  # told for the last time: latency judged later is too late

    def land(self, landed: Landed) -> None:
        """A judged copy (its event made where it was judged): listed while its way of
        answering has fewer than EXAMPLES, else counted. A record that cannot be written
        stops the run (the next tick raises it)."""
        if self.failed is not None:
            return
        event = landed.event
        way = self._way(landed.endpoint, event)
        if self.latency is not None and landed.times is not None:
            self._time(way, landed.times)
        if self.listed.get(way, 0) < EXAMPLES:
            self.listed[way] = self.listed.get(way, 0) + 1
            result = landed.result
            try:
                self.record(result, event)
            except Exception as exc:  # noqa: BLE001 - raised in the phase at the next tick, where a run's faults go
                self.failed = exc
                return
            self.emitter.emit(result, event)
            return
        alike = self.alike.get(way)
        if alike is None:
            digest = hashlib.sha256(repr(way).encode()).hexdigest()[:8]
            alike = self.alike[way] = _Alike(f"alike-{safe_name(str(way[0]).lower())}-{digest}", event)
        alike.weight += 1
        if self.emitter.news(event):  # a class first met here (past WAYS) is defined like any other
            self.emitter.announce(landed.result, event)

    def _way(self, endpoint: str, event: ParityCaseFinished) -> tuple[object, ...]:
        """What two requests answered alike share: the endpoint (until WAYS are told apart),
        each target's status and error, each candidate's kinds and classes."""
        way = (endpoint, *(tuple(sorted(m.items())) for m in (event.statuses, event.errors, event.kinds,
                                                               event.status_kinds, event.classes, event.unsteady)),
               event.status_match, event.body_match, event.inconclusive)
        if way in self.listed or len(self.listed) < WAYS:
            return way
        return ("*", *way[1:])

    def _time(self, way: tuple[object, ...], times: Times) -> None:
        timings = self.timings.get(way)
        if timings is None:
            assert self.latency is not None
            timings = self.timings[way] = _Timings(self.latency.repeats, self.latency.warmup, self.rng)
        timings.add(times)

    def tell(self, *, final: bool = False) -> None:
        """Send the counts that grew, and the latency judged since: at 2 or more while the run
        goes on (a count sent once at 1 is never sent again, which is what the history reads
        it by), every one at the end. Ways whose timings are due go to be judged."""
        if not final:
            self._judge_timings(final=False)
        for alike in self.alike.values():
            if (alike.weight != alike.told or alike.fresh) and (final or alike.weight > 1):
                alike.told, alike.fresh = alike.weight, False
                self.bus.emit(replace(alike.event, case=alike.name, weight=alike.weight, diffs=(), more_diffs=0,
                                      latency=alike.rows))
        self.ended = final

    async def settle_latency(self) -> None:
        """At the run's end: the ways timed since they were last judged, judged now
        (LATENCY_WAIT seconds at most: a way not judged by then keeps its last figures, and one
        never judged is no data); how many ways were too rare to time, told as a notice."""
        self._judge_timings(final=True)
        if self.judging:
            await asyncio.wait(self.judging, timeout=LATENCY_WAIT)
        for way, alike in self.alike.items():
            timings = self.timings.get(way)
            if not alike.rows and timings is not None and timings.judged:
                alike.rows, alike.fresh = _not_judged(timings), True
        rare = [t for t in self.timings.values() if 0 < t.seen and t.timed < MIN_SAMPLES]
        if rare:
            self.bus.emit(Notice("parity", "info", (
                f"latency: {len(rare):,} of the ways of answering ({sum(t.seen for t in rare):,} requests) had fewer "
                f"than {MIN_SAMPLES} timed requests each, past the first {rare[0].warmup}: too rare to judge")))

    def _judge_timings(self, *, final: bool) -> None:
        if self.judge_timings is None:
            return
        for way, alike in self.alike.items():
            timings = self.timings.get(way)
            if timings is not None and timings.due(final):
                timings.judged = timings.seen
                future = self.judge_timings(alike.name, timings.samples)
                self.judging.add(future)
                future.add_done_callback(partial(self._judged, alike, timings, timings.seen))

    def _judged(self, alike: _Alike, timings: _Timings, seen: int, future: asyncio.Future[Rows | None]) -> None:
        self.judging.discard(future)
        rows = None if future.cancelled() else future.result()
        if not rows or self.ended or seen < timings.landed:
            return
        timings.landed = seen
        alike.rows, alike.fresh = rows, True
        if not self.announced and any(r.state == SLOWER for r in rows):
            self.announced = True
            self.bus.emit(latency_class_event())


def _not_judged(timings: _Timings) -> Rows:
    """A way's rows when its timings were never judged: no data for each candidate, never a pass."""
    targets = list(timings.samples)
    return tuple(LatencyRow(t, len(timings.samples[t]), state=NO_DATA, why=NOT_JUDGED) if i else
                 LatencyRow(t, len(timings.samples[t])) for i, t in enumerate(targets))


class Mirror:
    """The proxy (or sink), the shadow and the runs they feed. `start`, then `run` one run
    directory's parity phase after another until `stop`, then `close`."""

    def __init__(self, config: MirrorConfig, parity: ParityConfig, *, sink: bool = False) -> None:
        assert parity.reference is not None
        if parity.latency is not None and config.secondary is None and not sink:
            raise GauntletError(
                "[parity.latency] in a mirror needs the reference's answers timed beside the candidates': give "
                "[mirror] secondary (a second instance of the reference), or feed the mirror as a --sink")
        self.config, self.parity, self.sink = config, parity, sink
        self.counts = Counts()
        self.shadow = ShadowProcess(parity, config.secondary, config.queue, self.counts, self._hold)
        base = parity.targets[parity.reference]
        self.proxy = Proxy(config, parity.reference, base, Upstream(base, connect_timeout=parity.timeout,
                                                                     read_timeout=None),
                           self.counts, self.shadow.offer, sink)
        self.server = Server(self.proxy.handle)
        self.address = config.listen
        self._held: deque[Landed] = deque()
        self._stop = asyncio.Event()
        self.rolled = False  # the last run ended to roll over (a next one follows)

    async def start(self) -> str:
        """Start the judging process and listen; the address listened on (its real port)."""
        await self.shadow.start()
        try:
            host, port = await self.server.start(self.config.host, self.config.port)
        except OSError:
            await self.shadow.close()
            raise
        self.address = join_address(host, port)
        return self.address

    def stop(self) -> None:
        """End the run going on, judged as it stands, and take no more requests (SIGTERM and kin)."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def _hold(self, landed: Landed) -> None:
        """A copy judged between two runs: kept for the next one (as many as the queue holds)."""
        if len(self._held) >= self.config.queue:
            self.counts.dropped += 1
        else:
            self._held.append(landed)

    async def run(self, bus: EventBus, record: Record, run_dir: Path) -> None:
        """One run's parity phase: the requests judged until the mirror is stopped (what is in
        flight is let finish and judged) or the record rolls over; then their counts and the
        noise the secondary taught, settled."""
        parity, config = self.parity, self.config
        assert parity.reference is not None
        bus.emit(ParityPlanned((), tuple(parity.targets), parity.reference, parity.concurrency, "",
                               parity.max_inconclusive))
        bus.emit(MirrorPlanned(self.address, self.sink, config.sample, config.queue, config.max_dropped.count,
                               config.max_dropped.share, tuple(t for t in parity.targets if t != parity.reference),
                               SECONDARY if config.secondary else ""))
        if parity.latency is not None:
            latency = parity.latency
            bus.emit(LatencyPlanned(latency.repeats, latency.warmup, latency.max_ratio, latency.blocking, live=True))
        run = Run(bus, record, parity.latency, self.shadow.judge_timings)
        self.counts.judge_lost = self.shadow.lost
        self.rolled = False
        self.shadow.land = run.land
        while self._held:
            run.land(self._held.popleft())
        started, told, ticks = time.monotonic(), self.counts.event(), 0
        try:
            while True:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), TICK)
                if (failed := run.failed or self.shadow.fault) is not None:
                    raise failed
                ticks += 1
                if ticks % ALIKE_TICKS == 0:
                    run.tell()
                if self.counts.event() != told:
                    told = self.counts.event()
                    bus.emit(told)
                if self._stop.is_set():
                    await self._wind_down()
                    break
                if self._roll_due(started, run_dir):
                    self.rolled = True
                    break
        finally:
            self.shadow.land = self._hold
            counted = self.counts.event()  # what comes from now on is the next run's
            self.counts.reset()
            await run.settle_latency()
            run.tell(final=True)
            bus.emit(counted)
            if (pool := await self.shadow.take_pool()) is not None:
                settle_noise(pool, bus)
        if (failed := run.failed or self.shadow.fault) is not None:
            raise failed

    def _roll_due(self, started: float, run_dir: Path) -> bool:
        config = self.config
        if config.roll_every is not None and time.monotonic() - started >= config.roll_every:
            return True
        return config.roll_mb is not None and sum(
            f.stat().st_size for f in run_dir.rglob("*") if f.is_file()) >= config.roll_mb * MB

    async def _wind_down(self) -> None:
        """Stopped: no new request; those in flight end (GRACE seconds at most), then the
        copies queued are judged (a timeout and a second at most); one never judged is dropped."""
        await self.server.close(GRACE)
        left = await self.shadow.drain(self.parity.timeout + 1)
        self.counts.copied -= left
        self.counts.dropped += left

    async def close(self) -> None:
        await self.server.close(0)
        await self.shadow.close()
        self.proxy.upstream.close()
