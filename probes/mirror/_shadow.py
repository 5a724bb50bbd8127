"""The shadow side: copies of live requests sent to the candidates (and the secondary) off
the client's path, and their answers judged as the parity probe judges a case.

A copy waits in a bounded queue for one of `concurrency` workers; when the queue is full
it is dropped and counted, never waited for, so a candidate that is slow, down or answering
garbage costs the clients nothing. A worker sends the copy to every candidate and the
secondary at once, then takes the reference's answer (the one the client got, or in a sink
its own request to the reference) and judges them with the probe's `judge`: rules, ignore
paths, classes, and noise learned from the secondary's answers. Secrets are taken out of
every answer before it is judged (so before any record or event holds it): headers named
like a credential, JSON fields named like one; the request's are out already (`live_case`).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from functools import cached_property
from urllib.parse import unquote, urlsplit, urlunsplit

import httpx

from ..cases import REDACTED, ParityCase, live_case, redact_body, secret_header
from ..core import neutralise
from ..core.events import MirrorCounted
from ..parity import MAX_BODY, Answer, CaseResult, NoisePool, ParityConfig, describe_failure, judge, passed_answer
from ._upstream import Upstream, drained

SECONDARY = "secondary"  # the secondary's name among the targets the shadow sends to


@dataclass(frozen=True)
class Heard:
    """The reference's answer as the proxy passed it on to its client, made an Answer (its
    codings undone, its URL the recorded one) by a worker, off the client's path."""

    status: int | None
    headers: list[tuple[str, str]]
    wire: bytes  # the body as sent, its first MAX_BODY bytes
    size: int
    elapsed: float
    error: str | None = None


@dataclass
class Copy:
    """A live request to send again, and where the reference's answer to it will be."""

    seq: int  # its place among the requests the mirror copied, from 1
    method: str
    target: str  # the path and query as the client sent them
    headers: list[tuple[str, str]]  # as the reference got them, framing and hop-by-hop headers left out
    body: bytes
    # The client's answer from the reference; None: do not judge (the client left mid-answer).
    # Left unset in a sink, whose worker asks the reference itself.
    reference: asyncio.Future[Heard | None] | None = None

    @cached_property
    def case(self) -> ParityCase:
        """The request as recorded, its secrets out: made by the worker that takes the copy."""
        recorded = live_case(self.method, self.target, self.headers, self.body)
        return ParityCase(name=f"r{self.seq}-{recorded.name}", method=recorded.method, path=recorded.path,
                          query=recorded.query, headers=recorded.headers, json=recorded.json, body=recorded.body,
                          template=recorded.template)


@dataclass
class Counts:
    """The mirror's counts in the current run, as MirrorCounted says them."""

    received: int = 0
    copied: int = 0
    dropped: int = 0
    judged: int = 0
    skipped: int = 0
    reference_failed: int = 0

    def event(self) -> MirrorCounted:
        return MirrorCounted(**{f.name: getattr(self, f.name) for f in fields(self)})

    def reset(self) -> None:
        for f in fields(self):
            setattr(self, f.name, 0)


def secret_free(answer: Answer) -> Answer:
    """The answer with the value of each header named like a credential (Set-Cookie) and
    the text of each JSON field named like one replaced: what no record may hold, and what
    the comparison then never sees differ."""
    headers = {k: REDACTED if secret_header(k) else v for k, v in answer.headers.items()}
    body = redact_body(answer.body) if "json" in answer.content_type else answer.body
    if body is answer.body and headers == answer.headers:
        return answer
    return replace(answer, headers=headers, body=body)


Land = Callable[[Copy, CaseResult], None]


def _basic(url: str) -> list[tuple[str, str]]:
    """The credentials a target's URL holds (`http://user:pw@host`), as the probe's client sends them."""
    parts = urlsplit(url)
    if parts.username is None:
        return []
    pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
    return [("authorization", "Basic " + base64.b64encode(pair).decode())]


def _without_userinfo(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


@dataclass
class Shadow:
    """The queue and its workers; `land` gets each judged copy (it is swapped as runs roll over)."""

    parity: ParityConfig
    secondary: str | None
    size: int
    counts: Counts
    land: Land
    pool: NoisePool | None = None  # the current run's noise, learned from the secondary's answers
    _queue: asyncio.Queue[Copy] = field(init=False)
    _workers: list[asyncio.Task[None]] = field(init=False, default_factory=list)
    _in_hand: int = 0  # copies a worker has taken and not yet judged
    fault: Exception | None = None  # a fault of gauntlet's own in judging a copy: the run ends with it (exit 3)

    def __post_init__(self) -> None:
        self._queue = asyncio.Queue(self.size)
        targets = dict(self.parity.targets)
        headers = dict(self.parity.target_headers)
        if self.secondary is not None:  # the reference's twin, sent what the reference is
            assert self.parity.reference is not None
            targets[SECONDARY] = self.secondary
            headers[SECONDARY] = self.parity.headers_for(self.parity.reference)
        sent_to = replace(self.parity, targets=targets, target_headers=headers)
        self._urls = {t: _without_userinfo(url) for t, url in targets.items()}
        self._own = {t: [*sent_to.headers_for(t).items(), *_basic(url)] for t, url in targets.items()}
        self._upstreams = {t: Upstream(url, connect_timeout=self.parity.timeout, read_timeout=self.parity.timeout)
                           for t, url in targets.items()}

    def start(self) -> None:
        self._workers = [asyncio.create_task(self._work()) for _ in range(self.parity.concurrency)]

    def offer(self, copy: Copy) -> bool:
        """Queue a copy; False (and counted) when the queue is full: the copy is dropped."""
        try:
            self._queue.put_nowait(copy)
        except asyncio.QueueFull:
            self.counts.dropped += 1
            return False
        self.counts.copied += 1
        return True

    async def _work(self) -> None:
        while True:
            copy = await self._queue.get()
            self._in_hand += 1
            try:
                result = await self._judge(copy)
                if result is not None:
                    self.counts.judged += 1
                    self.land(copy, result)
            except Exception as exc:  # noqa: BLE001 - a fault of ours: the run reports it, the worker goes on
                self.fault = self.fault or exc
            finally:
                self._in_hand -= 1
                self._queue.task_done()

    async def _judge(self, copy: Copy) -> CaseResult | None:
        assert self.parity.reference is not None
        reference = self.parity.reference
        others = [t for t in self._urls if t != reference]
        sent = await asyncio.gather(*(self._send(t, copy) for t in others))
        answers = dict(zip(others, sent))
        ref = self._heard(copy, await copy.reference) if copy.reference is not None \
            else await self._send(reference, copy)
        if ref is None:
            self.counts.skipped += 1  # the client left mid-answer: nothing to compare with
            return None
        samples = [answers.pop(SECONDARY)] if SECONDARY in answers else []
        judged = {reference: secret_free(ref), **{t: secret_free(a) for t, a in answers.items()}}
        return judge(copy.case, self.parity, judged, [secret_free(s) for s in samples],
                     self.pool if samples else None)

    def _heard(self, copy: Copy, heard: Heard | None) -> Answer | None:
        assert self.parity.reference is not None
        if heard is None:
            return None
        url = self._urls[self.parity.reference] + copy.case.path
        if heard.error is not None or heard.status is None:
            return Answer(self.parity.reference, url, heard.status, elapsed=heard.elapsed, error=heard.error)
        return passed_answer(self.parity.reference, url, heard.status, heard.headers, heard.wire, heard.size,
                             heard.elapsed)

    async def _send(self, target: str, copy: Copy) -> Answer:
        """The copy as the client sent it, the target's own headers (its credentials) in place of the client's."""
        own = self._own[target]
        named = {k.lower() for k, _ in own}
        headers = [(k, v) for k, v in copy.headers if k.lower() not in named] + own
        url = self._urls[target] + copy.case.path
        started = time.perf_counter()
        try:
            answer = await self._upstreams[target].request(copy.method, copy.target, headers, copy.body)
            wire, size = await drained(answer, MAX_BODY)
        except (httpx.HTTPError, OSError) as exc:
            return Answer(target, url, elapsed=time.perf_counter() - started,
                          error=neutralise(describe_failure(exc, self.parity.timeout)))
        return passed_answer(target, url, answer.status, answer.text_headers(), wire, size,
                             time.perf_counter() - started)

    async def drain(self, timeout: float) -> int:
        """Judge what is queued, for `timeout` seconds at most; how many copies were left unjudged."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._queue.join(), timeout)
        return self._queue.qsize() + self._in_hand

    async def close(self) -> None:
        for task in self._workers:
            task.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers = []
        for upstream in self._upstreams.values():
            upstream.close()
