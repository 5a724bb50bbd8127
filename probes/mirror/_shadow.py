"""The shadow side: copies of live requests sent to the candidates (and the secondary) and
their answers judged as the parity probe judges a case, in a process of its own
(`_worker`), so none of it takes the clients' loop or core.

A copy waits in a queue for one of `concurrency` workers (the queue is bounded on the
proxy's side, which drops a copy when it is full). A worker sends the copy to every
candidate and the secondary at once, then takes the reference's answer (the one the client
got, or in a sink its own request to the reference) and judges them with the probe's
`judge`: rules, ignore paths, classes, and noise learned from the secondary's answers.
Secrets are taken out of every answer before it is judged (so before any record or event
holds it): headers named like a credential, JSON fields named like one; the request's are
out already (`live_case`).
"""

from __future__ import annotations

import asyncio
import pickle
import time
from collections.abc import Callable
from dataclasses import MISSING, dataclass, field, fields, replace
from functools import cached_property
from urllib.parse import urlsplit, urlunsplit

import httpx

from ..cases import REDACTED, ParityCase, live_case, redact_body, secret_header
from ..core import basic_credentials, neutralise
from ..core.events import MirrorCounted, ParityCaseFinished
from ..parity import (
    MAX_BODY,
    Answer,
    CaseResult,
    NoisePool,
    ParityConfig,
    describe_failure,
    endpoint_of,
    judge,
    passed_answer,
)
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
    # Left unset in a sink, whose worker asks the reference itself. Never sent between processes:
    # the proxy's side sends what it holds once it is done, the judging side waits on its own.
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
    judge_lost: bool = False

    def event(self) -> MirrorCounted:
        return MirrorCounted(**{f.name: getattr(self, f.name) for f in fields(self)})

    def reset(self) -> None:
        for f in fields(self):
            assert f.default is not MISSING
            setattr(self, f.name, f.default)


def secret_free(answer: Answer) -> Answer:
    """The answer with the value of each header named like a credential (Set-Cookie) and
    the text of each JSON field named like one replaced: what no record may hold, and what
    the comparison then never sees differ."""
    headers = {k: REDACTED if secret_header(k) else v for k, v in answer.headers.items()}
    body = redact_body(answer.body) if "json" in answer.content_type else answer.body
    if body is answer.body and headers == answer.headers:
        return answer
    return replace(answer, headers=headers, body=body)


# Each target's time to its whole answer to one copy (milliseconds), the reference's as timed
# beside the candidates': by its second instance, or (in a sink) by asking it.
Times = dict[str, float]


@dataclass(frozen=True)
class Landed:
    """A copy judged, as the judging process sends it back. What every copy is counted by (its
    event, endpoint and times) is read at once; its result (the answers, their bodies, the
    differences) is unpickled only when it is listed (a way's first few) or defines a class:
    the clients' loop reads hundreds a second, and unpickling each whole took a tenth of a
    millisecond of it."""

    event: ParityCaseFinished
    endpoint: str
    times: Times | None
    packed: bytes

    @classmethod
    def of(cls, result: CaseResult, event: ParityCaseFinished, times: Times | None) -> Landed:
        return cls(event, endpoint_of(result.case), times, pickle.dumps(result, pickle.HIGHEST_PROTOCOL))

    @cached_property
    def result(self) -> CaseResult:
        result: CaseResult = pickle.loads(self.packed)
        return result


# A copy taken: its result, or None when it could not be judged (the client left mid-answer),
# and its times when every side answered and the reference's was timed beside the candidates'.
Land = Callable[[Copy, CaseResult | None, Times | None], None]


def _times(reference: Answer, beside: Answer | None, answers: dict[str, Answer]) -> Times | None:
    """Each side's time, the reference's from `beside`; None when one failed, none was timed
    beside, or `beside` answered otherwise than the reference (a 503 from a busy second
    instance is quick, and would make every candidate look slow)."""
    if beside is None or beside.status != reference.status or any(
            a.error is not None or a.status is None for a in (beside, *answers.values())):
        return None
    return {reference.target: beside.elapsed * 1000, **{t: a.elapsed * 1000 for t, a in answers.items()}}


def _basic(url: str) -> list[tuple[str, str]]:
    """The credentials a target's URL holds (`http://user:pw@host`), as the probe's client sends them."""
    basic = basic_credentials(url)
    return [] if basic is None else [("authorization", f"Basic {basic}")]


def _without_userinfo(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


@dataclass
class Shadow:
    """The queue and its workers; `land` gets each copy taken, `fail` a fault of gauntlet's
    own in judging one (the run ends with it, exit 3)."""

    parity: ParityConfig
    secondary: str | None
    land: Land
    fail: Callable[[Exception], None]
    pool: NoisePool | None = None  # the current run's noise, learned from the secondary's answers
    _queue: asyncio.Queue[Copy] = field(init=False, default_factory=asyncio.Queue)
    _workers: list[asyncio.Task[None]] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
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

    def take(self, copy: Copy) -> None:
        """Queue a copy (the proxy's side keeps the count of those it sent within its bound)."""
        self._queue.put_nowait(copy)

    async def _work(self) -> None:
        while True:
            copy = await self._queue.get()
            try:
                judged = await self._judge(copy)
                self.land(copy, *(judged or (None, None)))
            except Exception as exc:  # noqa: BLE001 - a fault of ours: the run reports it, the worker goes on
                self.fail(exc)

    async def _judge(self, copy: Copy) -> tuple[CaseResult, Times | None] | None:
        assert self.parity.reference is not None
        reference = self.parity.reference
        # A sink asks the reference itself, at the same moment as the others.
        asked = [t for t in self._urls if t != reference or copy.reference is None]
        answers = dict(zip(asked, await asyncio.gather(*(self._send(t, copy) for t in asked))))
        ref = self._heard(copy, await copy.reference) if copy.reference is not None else answers.pop(reference)
        if ref is None:
            return None  # the client left mid-answer: nothing to compare with
        samples = [answers.pop(SECONDARY)] if SECONDARY in answers else []
        judged = {reference: secret_free(ref), **{t: secret_free(a) for t, a in answers.items()}}
        result = judge(copy.case, self.parity, judged, [secret_free(s) for s in samples],
                       self.pool if samples else None)
        # The reference's answer to the client was timed by the proxy's process, the others
        # here, niced: side by side only its second instance's (or, in a sink, our own ask).
        beside = samples[0] if samples else ref if copy.reference is None else None
        return result, _times(ref, beside, answers)

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

    async def close(self) -> None:
        for task in self._workers:
            task.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers = []
        for upstream in self._upstreams.values():
            upstream.close()
