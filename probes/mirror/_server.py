"""The mirror's side facing its clients: HTTP/1.1 on asyncio streams, framed by h11.

h11 is the framing httpx's own connections use (installed with it): it parses each request
and frames each answer, keep-alive, chunked bodies both ways, `Expect: 100-continue` and
HEAD included, so the mirror only decides what to do with a request, never how the bytes
go. A request reaches the handler with a `Reply` to answer it with: the head first, then
the body a chunk at a time as it arrives from the reference, which is how a client gets
its answer as soon as it would without the mirror.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import h11

READ_BYTES = 64 * 1024
HEAD_BYTES = 64 * 1024  # a request head larger than this is refused (431)


class ClientGone(Exception):
    """The client closed its connection, or broke the protocol, before its answer ended."""


@dataclass
class Incoming:
    """One request as its client sent it: the head, and its body read on demand."""

    method: str
    target: str  # the path and query as the request line gave them
    headers: list[tuple[str, str]]  # as sent, names in the client's case, in its order
    _link: _Link

    async def body(self, limit: int) -> tuple[bytes, bool]:
        """The body's first `limit` bytes or so (a chunk is never split), and whether that is all of it."""
        chunks: list[bytes] = []
        size = 0
        while size < limit:
            chunk = await self._link.body_chunk()
            if chunk is None:
                return b"".join(chunks), True
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks), False

    async def rest(self) -> AsyncIterator[bytes]:
        """The rest of the body, a chunk at a time as the client sends it."""
        while (chunk := await self._link.body_chunk()) is not None:
            yield chunk


class Reply:
    """The answer to one request: `head`, then `send` each chunk, then `end`. The head goes
    out with the first chunk of the body (or the end), in one write: a write is a system
    call, and on a small answer the mirror's dearest step."""

    def __init__(self, link: _Link) -> None:
        self._link = link
        self._head = b""
        self.ended = False

    async def head(self, status: int, headers: list[tuple[bytes, bytes]], reason: bytes = b"") -> None:
        self._head = self._link.frame(h11.Response(status_code=status, headers=headers, reason=reason))

    async def send(self, data: bytes) -> None:
        if data:
            await self._link.write(self._head + self._link.frame(h11.Data(data=data)))
            self._head = b""

    async def end(self) -> None:
        await self._link.write(self._head + self._link.frame(h11.EndOfMessage()))
        self._head = b""
        self.ended = True

    async def whole(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes = b"") -> None:
        """A short answer of the mirror's own (a sink's acknowledgement, a 502)."""
        await self.head(status, [*headers, (b"content-length", str(len(body)).encode())])
        await self.send(body)
        await self.end()


Handler = Callable[[Incoming, Reply], Awaitable[None]]


class _Link:
    """One client connection: h11's state machine over the stream's bytes."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.h11 = h11.Connection(h11.SERVER, max_incomplete_event_size=HEAD_BYTES)
        self._body_done = True
        self.busy = False  # a request is being answered (idle: waiting for the next one)
        self.closing = False  # the server is closing: no request after the one in flight

    async def next_event(self) -> h11.Event | type[h11.PAUSED]:
        while True:
            event = self.h11.next_event()
            if event is not h11.NEED_DATA:
                return event  # type: ignore[return-value] # h11's sentinels are types
            if self.h11.they_are_waiting_for_100_continue:
                await self.write(self.frame(h11.InformationalResponse(status_code=100, headers=[])))
            try:
                data = await self.reader.read(READ_BYTES)
            except ConnectionError as exc:
                raise ClientGone(str(exc)) from None
            self.h11.receive_data(data)  # b"": the client closed its side

    async def body_chunk(self) -> bytes | None:
        """The next chunk of the current request's body; None once it has all come."""
        while not self._body_done:
            try:
                event = await self.next_event()
            except h11.RemoteProtocolError as exc:
                raise ClientGone(f"the request broke HTTP/1.1: {exc}") from None
            if isinstance(event, h11.Data):
                return bytes(event.data)
            if isinstance(event, h11.EndOfMessage):
                self._body_done = True
            elif isinstance(event, h11.ConnectionClosed) or event is h11.PAUSED:
                raise ClientGone("the client closed the connection mid-request")
        return None

    def frame(self, event: h11.Event) -> bytes:
        """The bytes of an event, h11 keeping count of where the answer is."""
        try:
            return self.h11.send(event) or b""
        except h11.LocalProtocolError as exc:
            raise ClientGone(str(exc)) from None

    async def write(self, data: bytes) -> None:
        if not data:
            return
        try:
            self.writer.write(data)
            await self.writer.drain()
        except ConnectionError as exc:
            raise ClientGone(str(exc)) from None

    async def serve(self, handler: Handler) -> None:
        """Each request in turn to the handler, until the client or the protocol ends the connection."""
        while True:
            try:
                event = await self.next_event()
            except h11.RemoteProtocolError as exc:
                await self._refuse(exc)
                return
            if not isinstance(event, h11.Request):
                return  # closed, or paused on a protocol switch the mirror does not follow
            self._body_done = False
            incoming = Incoming(event.method.decode("ascii", "replace"), event.target.decode("latin-1"),
                                [(k.decode("latin-1"), v.decode("latin-1")) for k, v in event.headers.raw_items()],
                                self)
            reply = Reply(self)
            self.busy = True
            try:
                await handler(incoming, reply)
            finally:
                self.busy = False
            if not reply.ended:
                return  # the answer broke off: so does the connection, as the reference's did
            while await self.body_chunk() is not None:  # a body the handler left unread
                pass
            if self.closing or self.h11.our_state is not h11.DONE or self.h11.their_state is not h11.DONE:
                return
            self.h11.start_next_cycle()

    async def _refuse(self, exc: h11.RemoteProtocolError) -> None:
        """A request that is not HTTP/1.1 gets the status h11 names for it, when it still can."""
        if self.h11.our_state in (h11.IDLE, h11.SEND_RESPONSE):
            with contextlib.suppress(ClientGone):
                reply = Reply(self)
                await reply.whole(exc.error_status_hint, [(b"content-type", b"text/plain")],
                                  f"gauntlet mirror: {exc}\n".encode())


class Server:
    """Listens on one address; every connection served by `handler` until closed. `close`
    stops listening, then waits for the requests in flight for `grace` seconds before it
    cuts them off."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self._server: asyncio.Server | None = None
        self._links: dict[asyncio.Task[None], _Link] = {}

    async def start(self, host: str, port: int) -> tuple[str, int]:
        """Listen; the address taken (port 0 is a free port, chosen here)."""
        self._server = await asyncio.start_server(self._connection, host, port)
        bound = self._server.sockets[0].getsockname()
        return str(bound[0]), int(bound[1])

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        link = self._links[task] = _Link(reader, writer)
        try:
            await link.serve(self.handler)
        except ClientGone:
            pass
        except asyncio.CancelledError:
            # `close` cut it off. Ended quietly: on Python 3.11, asyncio asks a connection's task
            # for its exception without looking whether it was cancelled, which raises, and the
            # loop prints that traceback to the operator.
            pass
        finally:
            self._links.pop(task, None)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def close(self, grace: float) -> None:
        if self._server is None:
            return
        self._server.close()
        for task, link in list(self._links.items()):
            link.closing = True
            if not link.busy:  # waiting for a next request that will not be taken
                task.cancel()
        if self._links:
            await asyncio.wait(set(self._links), timeout=grace)
        for task in list(self._links):
            task.cancel()
        await asyncio.gather(*self._links, return_exceptions=True)
        await self._server.wait_closed()
        self._server = None
