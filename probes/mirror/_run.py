"""A mirror's life: one listening address and one shadow for as long as it runs, feeding one
run directory after another (its record rolls over by time or size), each run's parity
phase made of the requests judged while it lasted.

Memory stays flat however many requests pass: a way of answering (the endpoint, each
target's status, errors and divergence classes) keeps its first EXAMPLES requests, listed
and recorded one by one with their answers, and counts the rest under one name
(`alike-…`, a case that stands for that many requests, sent again as the count grows).
Matching requests are counted like the rest, never kept past their examples.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from ..cases import safe_name
from ..core.events import EventBus, MirrorPlanned, ParityCaseFinished, ParityPlanned
from ..parity import CaseEmitter, CaseResult, ParityConfig, endpoint_of, settle_noise
from ._config import MirrorConfig, join_address
from ._proxy import Proxy
from ._server import Server
from ._shadow import SECONDARY, Counts
from ._upstream import Upstream
from ._worker import ShadowProcess

TICK = 1.0  # seconds between the counts told (and the roll-over looked at)
ALIKE_TICKS = 5  # ticks between the counts of requests alike told again: a line each, a day of them a record
EXAMPLES = 3  # requests listed one by one per way of answering; the rest are counted
WAYS = 1000  # ways of answering told apart per run; past them, requests are told apart by all but the endpoint
GRACE = 10.0  # seconds the requests in flight get to end once the mirror is told to stop
MB = 1 << 20

Record = Callable[[CaseResult, ParityCaseFinished], None]


@dataclass
class _Alike:
    """The requests of one way of answering past its examples: counted under one name."""

    name: str
    event: ParityCaseFinished  # the first one counted, which the count is told with
    weight: int = 0
    told: int = 0  # the weight last sent


class Run:
    """One run directory's share of the requests: listed, counted and recorded as they land."""

    def __init__(self, bus: EventBus, record: Record) -> None:
        self.bus, self.record = bus, record
        self.emitter = CaseEmitter(bus)
        self.listed: dict[tuple[object, ...], int] = {}
        self.alike: dict[tuple[object, ...], _Alike] = {}
        self.failed: Exception | None = None  # the record refused a write (or a fault of ours): the run ends

    def land(self, result: CaseResult, event: ParityCaseFinished) -> None:
        """A judged copy (its event made where it was judged): listed while its way of
        answering has fewer than EXAMPLES, else counted. A record that cannot be written
        stops the run (the next tick raises it)."""
        if self.failed is not None:
            return
        way = self._way(result, event)
        if self.listed.get(way, 0) < EXAMPLES:
            self.listed[way] = self.listed.get(way, 0) + 1
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
        self.emitter.announce(result, event)  # a class first met here (past WAYS) is defined like any other

    def _way(self, result: CaseResult, event: ParityCaseFinished) -> tuple[object, ...]:
        """What two requests answered alike share: the endpoint (until WAYS are told apart),
        each target's status and error, each candidate's kinds and classes."""
        endpoint = endpoint_of(result.case)
        way = (endpoint, *(tuple(sorted(m.items())) for m in (event.statuses, event.errors, event.kinds,
                                                               event.status_kinds, event.classes, event.unsteady)),
               event.status_match, event.body_match, event.inconclusive)
        if way in self.listed or len(self.listed) < WAYS:
            return way
        return ("*", *way[1:])

    def tell(self, *, final: bool = False) -> None:
        """Send the counts that grew: at 2 or more while the run goes on (a count sent once at
        1 is never sent again, which is what the history reads it by), every one at the end."""
        for alike in self.alike.values():
            if alike.weight != alike.told and (final or alike.weight > 1):
                alike.told = alike.weight
                self.bus.emit(replace(alike.event, case=alike.name, weight=alike.weight, diffs=(), more_diffs=0))


class Mirror:
    """The proxy (or sink), the shadow and the runs they feed. `start`, then `run` one run
    directory's parity phase after another until `stop`, then `close`."""

    def __init__(self, config: MirrorConfig, parity: ParityConfig, *, sink: bool = False) -> None:
        assert parity.reference is not None
        self.config, self.parity, self.sink = config, parity, sink
        self.counts = Counts()
        self.shadow = ShadowProcess(parity, config.secondary, config.queue, self.counts, self._hold)
        base = parity.targets[parity.reference]
        self.proxy = Proxy(config, parity.reference, base, Upstream(base, connect_timeout=parity.timeout,
                                                                     read_timeout=None),
                           self.counts, self.shadow.offer, sink)
        self.server = Server(self.proxy.handle)
        self.address = config.listen
        self._held: deque[tuple[CaseResult, ParityCaseFinished]] = deque()
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

    def _hold(self, result: CaseResult, event: ParityCaseFinished) -> None:
        """A copy judged between two runs: kept for the next one (as many as the queue holds)."""
        if len(self._held) >= self.config.queue:
            self.counts.dropped += 1
        else:
            self._held.append((result, event))

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
        run = Run(bus, record)
        self.counts.reset()
        self.counts.judge_lost = self.shadow.lost
        self.rolled = False
        self.shadow.land = run.land
        while self._held:
            run.land(*self._held.popleft())
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
            run.tell(final=True)
            bus.emit(self.counts.event())
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
