"""The client's path: each request goes to the reference and its answer back unchanged.

The status, the reason, the headers (but those about one connection: hop-by-hop and
framing) and the body's bytes as the reference sent them (content codings kept), streamed
a chunk at a time: the client cannot tell the mirror is there. A copy of a request the
config lets through (`copied`) and the sample picks goes to the shadow's process in the same
turn of the loop as the request goes to the reference, so the candidates get it at about the
same time; handing it over is a write down a socket, never a wait, and the sending and
judging happen in that other process, off the clients' loop and core. A reference that refuses, resets or times out reaches the client as it
would have (502 when no connection could be made, 504 on a connect timeout, the connection
cut when the answer breaks off) and is counted.

As a sink (`--sink`), nginx's `mirror` or Envoy's `request_mirror_policies` send the copies
and throw the answer away: each is acknowledged at once (204) and the shadow asks the
reference itself, beside the candidates.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import httpx

from ..cases import HOP_BY_HOP
from ..core import neutralise
from ..parity import MAX_BODY, describe_failure
from ._config import MirrorConfig
from ._server import ClientGone, Incoming, Reply
from ._shadow import Copy, Counts, Heard
from ._upstream import Upstream

COPY_BODY_MAX = 1 << 20  # a request body larger than this goes to the reference alone
# Never passed on: they are about one connection, or how its bytes are framed (the upstream frames
# what it sends itself), or the client's own exchange with the mirror.
NOT_PASSED = HOP_BY_HOP | {"host", "content-length", "expect"}
ACK = 204  # what a sink answers a copy with: nothing (the proxy that sent it discards it)


def passed_on(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The headers as the next hop gets them: those about one connection left out, with any
    header `Connection` names as such."""
    dropped = _connection_named(headers) | NOT_PASSED
    return [(k, v) for k, v in headers if k.lower() not in dropped]


def _connection_named(headers: list[tuple[str, str]]) -> set[str]:
    return {n.strip().lower() for k, v in headers if k.lower() == "connection" for n in v.split(",")}


def _answer_passed_on(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """An answer's headers, as received, as the client gets them: only those about one
    connection left out (its Content-Length stays: the body goes on byte for byte)."""
    dropped = _connection_named([(k.decode("latin-1"), v.decode("latin-1")) for k, v in headers]) | HOP_BY_HOP
    return [(k, v) for k, v in headers if k.decode("latin-1").lower() not in dropped]


@dataclass
class Proxy:
    config: MirrorConfig
    reference: str  # its name among [parity.targets]
    base: str  # its URL
    upstream: Upstream  # the clients' way to it: a connect timeout only (they wait as long as they would have)
    counts: Counts
    offer: Callable[[Copy], bool]  # to the shadow's process; False: dropped
    sink: bool = False
    sample: Callable[[], float] = random.random
    _seq: int = 0

    async def handle(self, incoming: Incoming, reply: Reply) -> None:
        self.counts.received += 1
        if not incoming.target.startswith("/"):
            await reply.whole(400, [(b"content-type", b"text/plain")],
                              b"gauntlet mirror: a request target is a path (origin form)\n")
            return
        headers = passed_on(incoming.headers)
        body, whole = await incoming.body(COPY_BODY_MAX)
        copy = self._copy(incoming, headers, body) if whole else None
        if copy is None:
            self.counts.skipped += 1
        if self.sink:
            async for _ in incoming.rest():  # a body too large to copy: read, never kept
                pass
            await reply.whole(ACK, [])
            if copy is not None:
                self.offer(copy)
            return
        if copy is not None:
            copy.reference = asyncio.get_running_loop().create_future()
            if not self.offer(copy):
                copy = None
        heard: Heard | None = None  # stays None when the client left, or the handler was stopped
        try:
            heard = await self._forward(incoming, headers, body, whole, reply, copy is not None)
        except ClientGone:
            pass
        finally:
            if copy is not None and copy.reference is not None and not copy.reference.done():
                copy.reference.set_result(heard)

    def _copy(self, incoming: Incoming, headers: list[tuple[str, str]], body: bytes) -> Copy | None:
        """The request's copy, when the config lets it through and the sample picks it."""
        path = incoming.target.split("?", 1)[0]
        if not self.config.copied(incoming.method, path) or self.sample() >= self.config.sample:
            return None
        self._seq += 1
        return Copy(self._seq, incoming.method, incoming.target, headers, body)

    async def _forward(self, incoming: Incoming, headers: list[tuple[str, str]], body: bytes, whole: bool,
                       reply: Reply, copied: bool) -> Heard | None:
        """Ask the reference and pass its answer on as it comes; the answer as it came, when
        a copy is to be judged against it."""
        if whole:
            content: bytes | AsyncIterator[bytes] = body
        else:  # too large to copy: passed on as it comes, framed as the client framed it
            content = _chained(body, incoming.rest())
            headers = headers + [(k, v) for k, v in incoming.headers if k.lower() == "content-length"]
        started = time.perf_counter()
        try:
            answer = await self.upstream.request(incoming.method, incoming.target, headers, content)
        except (httpx.HTTPError, OSError) as exc:
            self.counts.reference_failed += 1
            said = neutralise(describe_failure(exc, self.upstream.connect_timeout))
            await reply.whole(504 if isinstance(exc, httpx.TimeoutException) else 502,
                              [(b"content-type", b"text/plain")], f"gauntlet mirror: {self.reference}: {said}\n".encode())
            return Heard(None, [], b"", 0, time.perf_counter() - started, said)
        try:
            await reply.head(answer.status, _answer_passed_on(answer.headers), answer.reason)
            kept: list[bytes] = []
            size = 0
            async for chunk in answer.chunks():
                await reply.send(chunk)
                size += len(chunk)
                if copied and size <= MAX_BODY:
                    kept.append(chunk)
            await reply.end()
        except (httpx.HTTPError, OSError) as exc:  # the reference broke off: so does the client's answer
            self.counts.reference_failed += 1
            return Heard(answer.status, [], b"", 0, time.perf_counter() - started,
                         neutralise(describe_failure(exc, 0)))
        finally:
            answer.close()
        return Heard(answer.status, answer.text_headers(), b"".join(kept), size,
                     time.perf_counter() - started) if copied else None


async def _chained(first: bytes, rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    yield first
    async for chunk in rest:
        yield chunk
