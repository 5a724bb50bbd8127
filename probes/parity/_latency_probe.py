"""Latency parity's timing (probes/parity/_latency.py has the statistics, the board and the verdict).

After a case's first pair of answers (its answers for parity), every target is asked
`warmup` times more, not counted, and `repeats` times, timed, the targets taking turns in
alternating order (A B, B A, A B …) so that drift of the machine or the network hits both
alike. Each target has a client of its own holding one connection, opened by the warm-up and
kept alive — the same for every target. One case is timed at a time, and while it is nothing
else of the probe is in flight: the timer holds every permit of the probe's gate, so no other
case's answers (nor the reference's extra noise samples) load one target more than the
other. A time runs from the request handed to that open connection to the last byte of the
body read off it (not decoded, not parsed).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import httpx

from ..core import LatencyState
from ..core.events import EventBus, LatencyPlanned, LatencyRow, ParityCaseFinished
from ._config import ParityConfig
from ._exchange import CaseResult, build_request, describe_failure, one_connection
from ._latency import FIRST_FAILED, NO_DATA, SLOWER, case_rows, latency_class_event


class CaseTimer:
    """Times each case after its first pair of answers, one case at a time."""

    def __init__(self, config: ParityConfig, bus: EventBus) -> None:
        assert config.latency is not None and config.reference is not None
        self.config, self.settings, self.bus = config, config.latency, bus
        self.reference = config.reference
        self.order = [config.reference, *(t for t in config.targets if t != config.reference)]
        tls = httpx.create_ssl_context(trust_env=False)
        self.clients = {t: one_connection(config.timeout, config.headers_for(t), tls) for t in self.order}
        self.lock = asyncio.Lock()
        self.announced = False

    async def aclose(self) -> None:
        for client in self.clients.values():
            await client.aclose()

    async def time(self, result: CaseResult, event: ParityCaseFinished, gate: asyncio.Semaphore) -> ParityCaseFinished:
        """The case's event with its latency rows (the class announced the first time a case is slower)."""
        if any(a.error for a in result.answers.values()):
            rows = tuple(LatencyRow(t, 0, state=LatencyState.REFERENCE if t == self.reference else NO_DATA, why=FIRST_FAILED)
                         for t in self.order)
        else:
            rows = await self._measure(result, gate)
        if not self.announced and any(r.state == SLOWER for r in rows):
            self.announced = True
            self.bus.emit(latency_class_event())
        return replace(event, latency=rows)

    async def _measure(self, result: CaseResult, gate: asyncio.Semaphore) -> tuple[LatencyRow, ...]:
        settings = self.settings
        expected = {t: result.answers[t].status for t in self.order}
        samples: dict[str, list[float]] = {t: [] for t in self.order}
        failed: dict[str, list[str]] = {t: [] for t in self.order}
        async with self.lock:
            async with every_permit(gate, self.config.concurrency):
                for turn in range(settings.warmup + settings.repeats):
                    for target in self.order if turn % 2 == 0 else self.order[::-1]:
                        request = build_request(result.case, self.config.targets[target])
                        seconds, status, error = await self._timed(self.clients[target], request)
                        if turn < settings.warmup:
                            continue
                        if error is None and status == expected[target]:
                            samples[target].append(seconds * 1000)
                        else:
                            failed[target].append(error or f"answered {status} where its first answer was "
                                                           f"{expected[target]}")
            failures = {t: f"{len(f)} of {settings.repeats} timed requests failed (first: {f[0]})"
                        for t, f in failed.items() if f}
            # The bootstrap is arithmetic (13 ms a candidate at 30 repeats, 0.4 s at 1,000): on a
            # thread, so the event loop goes on meanwhile; under the lock, so no timing shares the
            # processor with it.
            return await asyncio.to_thread(case_rows, result.case.name, self.reference, samples, failures,
                                           settings.max_ratio)

    async def _timed(self, client: httpx.AsyncClient, request: dict[str, Any]) -> tuple[float, int | None, str | None]:
        """(seconds to the last byte of the body, status, error)."""
        started = time.perf_counter()
        try:
            async with client.stream(**request) as response:
                async for _ in response.aiter_raw():
                    pass
                return time.perf_counter() - started, response.status_code, None
        except (httpx.HTTPError, OSError) as exc:
            return time.perf_counter() - started, None, describe_failure(exc, self.config.timeout)


@contextlib.asynccontextmanager
async def every_permit(gate: asyncio.Semaphore, permits: int) -> AsyncIterator[None]:
    """All `permits` of the gate: once held, every request the gate admits has ended and no
    other can start until they are given back."""
    held = 0
    try:
        for _ in range(permits):
            await gate.acquire()
            held += 1
        yield
    finally:
        for _ in range(held):
            gate.release()


@contextlib.asynccontextmanager
async def case_timer(config: ParityConfig, bus: EventBus) -> AsyncIterator[CaseTimer | None]:
    """A timer for the probe's cases when `[parity.latency]` asks for one (announced), else None."""
    if config.latency is None:
        yield None
        return
    settings = config.latency
    bus.emit(LatencyPlanned(settings.repeats, settings.warmup, settings.max_ratio, settings.blocking))
    timer = CaseTimer(config, bus)
    try:
        yield timer
    finally:
        await timer.aclose()
