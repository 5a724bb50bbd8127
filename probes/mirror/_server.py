"""The mirror's side facing its clients: HTTP/1.1 on asyncio streams (`_wire`).

Each request is parsed as its bytes come (pipelined ones queue in order, each body kept
with its own request) and reaches the handler with a `Reply` to answer it with: the head
first, then the body a chunk at a time as it arrives from the reference, which is how a
client gets its answer as soon as it would without the mirror. The framing of an answer is
the client's: its length when it has one, chunked to an HTTP/1.1 client, ended by the close
to an HTTP/1.0 one; none to HEAD. A client waiting on `Expect: 100-continue` is told to go
on when its body is first asked for.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum

import httptools

from . import _wire

READ_BYTES = 64 * 1024
HEAD_BYTES = 64 * 1024  # a request head larger than this is refused (431)
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


class ClientGone(Exception):
    """The client closed its connection, or broke the protocol, before its answer ended."""


class _Request:
    """One request as the parser reads it: its head, then its body's chunks as they come."""

    __slots__ = ("method", "target", "headers", "version", "keep_alive", "expects", "switches", "head", "chunks",
                 "complete")

    def __init__(self) -> None:
        self.method = self.target = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.version = "1.1"
        self.keep_alive = self.expects = self.switches = self.head = self.complete = False
        self.chunks: deque[bytes] = deque()


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


class _Framing(StrEnum):
    NONE = "none"  # no body: to HEAD, or a status that has none
    LENGTH = "length"  # as its Content-Length says
    CHUNKED = "chunked"
    CLOSE = "close"  # the body ends when the connection does (an HTTP/1.0 client)


class Reply:
    """The answer to one request: `head`, then `send` each chunk, then `end`. The head goes
    out with the first chunk of the body (or the end), in one write: a write is a system
    call, and on a small answer the mirror's dearest step."""

    def __init__(self, link: _Link, request: _Request) -> None:
        self._link, self._request = link, request
        self._head = b""
        self._framing = _Framing.NONE
        self.ended = False

    @property
    def closes(self) -> bool:
        """The connection ends with this answer: the client asked for it, or the body says its end so."""
        return not self._request.keep_alive or self._framing is _Framing.CLOSE

    async def head(self, status: int, headers: list[tuple[bytes, bytes]], reason: bytes = b"") -> None:
        if _wire.no_body(self._request.method == b"HEAD", status):
            self._framing = _Framing.NONE
        elif any(k.lower() == b"content-length" for k, _ in headers):
            self._framing = _Framing.LENGTH
        elif self._request.version == "1.1":
            self._framing = _Framing.CHUNKED
            headers = [*headers, (b"transfer-encoding", b"chunked")]
        else:
            self._framing = _Framing.CLOSE
        if self.closes:
            headers = [*headers, (b"connection", b"close")]
        elif self._request.version == "1.0":  # kept only when said: an HTTP/1.0 client assumes the close
            headers = [*headers, (b"connection", b"keep-alive")]
        try:
            self._head = _wire.head(b"HTTP/1.1 %d %s" % (status, reason), headers)
        except ValueError as exc:
            raise ClientGone(str(exc)) from None
        self._link.answering = True

    async def send(self, data: bytes) -> None:
        if data and self._framing is not _Framing.NONE:
            await self._link.write(self._head + (_wire.chunk(data) if self._framing is _Framing.CHUNKED else data))
            self._head = b""

    async def end(self) -> None:
        await self._link.write(self._head + (_wire.LAST_CHUNK if self._framing is _Framing.CHUNKED else b""))
        self._head = b""
        self.ended = True

    async def whole(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes = b"") -> None:
        """A short answer of the mirror's own (a sink's acknowledgement, a 502)."""
        await self.head(status, [*headers, (b"content-length", str(len(body)).encode())])
        await self.send(body)
        await self.end()


Handler = Callable[[Incoming, Reply], Awaitable[None]]


class _Refused(Exception):
    """Bytes that are not an HTTP/1.1 request: the status to say so with, and why."""

    def __init__(self, status: int, why: str) -> None:
        super().__init__(why)
        self.status = status


class _Link:
    """One client connection: its bytes parsed into requests, and their answers written."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.parser = httptools.HttpRequestParser(self)
        self._parsing: _Request | None = None  # the request whose bytes are coming
        self._ready: deque[_Request] = deque()  # requests whose heads are whole, not yet answered
        self._request: _Request | None = None  # the one being answered
        self._head_bytes = 0  # bytes read while a head was incomplete, from the read after it began
        self._began = False  # a request began in the bytes being parsed
        self._ended = False  # nothing more can be read: closed, switched protocols, or not HTTP
        self._refusal: _Refused | None = None  # why the bytes that came are not HTTP/1.1
        self.answering = False  # the current request's answer has begun
        self.busy = False  # a request is being answered (idle: waiting for the next one)
        self.closing = False  # the server is closing: no request after the one in flight

    # ---- the parser's callbacks
    def on_message_begin(self) -> None:
        self._parsing = _Request()
        self._began = True

    def on_url(self, url: bytes) -> None:
        assert self._parsing is not None
        self._parsing.target += url

    def on_header(self, name: bytes, value: bytes) -> None:
        assert self._parsing is not None
        if not self._parsing.head:  # after it: a chunked body's trailer, never a header
            self._parsing.headers.append((name, value))

    def on_headers_complete(self) -> None:
        request = self._parsing
        assert request is not None
        request.method = self.parser.get_method()
        request.version = self.parser.get_http_version()
        request.switches = self.parser.should_upgrade()
        request.keep_alive = self.parser.should_keep_alive() and not request.switches
        request.expects = request.version == "1.1" and any(
            k.lower() == b"expect" and v.lower() == b"100-continue" for k, v in request.headers)
        request.head = True
        self._head_bytes = 0
        self._ready.append(request)

    def on_body(self, body: bytes) -> None:
        assert self._parsing is not None
        self._parsing.chunks.append(body)

    def on_message_complete(self) -> None:
        assert self._parsing is not None
        self._parsing.complete = True
        self._parsing = None

    # ----
    async def _read(self) -> bool:
        """Read and parse once more; False once nothing more will come (and `_refusal` says
        why, when what came was not HTTP/1.1: the requests whole before it are answered first)."""
        if self._ended:
            return False
        try:
            data = await self.reader.read(READ_BYTES)
        except OSError as exc:  # a reset, a broken pipe, a kernel's timeout: the client is gone
            raise ClientGone(str(exc)) from None
        if not data:
            self._ended = True
            return False
        self._began = False
        try:
            self.parser.feed_data(data)
        except _wire.Upgrade:
            self._ended = True  # a protocol switch the mirror does not follow: the request before it is answered
        except _wire.ParseError as exc:
            self._ended = True
            self._refusal = _Refused(400, f"the request is not HTTP/1.1: {exc}")
        if self._parsing is not None and not self._parsing.head:
            # A read in which the head began may hold the end of the request before it: from the
            # next on, every byte is the head's (so a head of up to twice the bound or so passes).
            self._head_bytes += 0 if self._began else len(data)
            if self._head_bytes > HEAD_BYTES:
                self._ended = True
                self._refusal = _Refused(431, f"the request's head is over {HEAD_BYTES // 1024} KiB")
        return True

    async def body_chunk(self) -> bytes | None:
        """The next chunk of the current request's body; None once it has all come."""
        request = self._request
        assert request is not None
        while not request.chunks:
            if request.complete:
                return None
            if request.expects and not self.answering:
                request.expects = False
                await self.write(CONTINUE)
            if not await self._read() and not request.chunks and not request.complete:
                raise ClientGone(str(self._refusal or "the client closed the connection mid-request"))
        return request.chunks.popleft()

    async def write(self, data: bytes) -> None:
        if not data:
            return
        try:
            self.writer.write(data)
            await self.writer.drain()
        except OSError as exc:
            raise ClientGone(str(exc)) from None

    async def serve(self, handler: Handler) -> None:
        """Each request in turn to the handler, until the client or the protocol ends the connection."""
        while True:
            while not self._ready:
                if not await self._read():
                    if self._refusal is not None:
                        await self._refuse(self._refusal)
                    return  # closed, or a protocol switch the mirror does not follow
            request = self._request = self._ready.popleft()
            if request.switches and _wire.framed(request.headers) and not _empty(request.headers):
                # llhttp leaves the body of a request that switches protocols unread: passed on,
                # it would reach the reference without it.
                await self._refuse(_Refused(400, "a request that switches protocols with a body is not passed on"))
                return
            incoming = Incoming(request.method.decode("ascii", "replace"), request.target.decode("latin-1"),
                                [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers], self)
            reply = Reply(self, request)
            self.busy = True
            try:
                await handler(incoming, reply)
            finally:
                self.busy = False
            if not reply.ended:
                return  # the answer broke off: so does the connection, as the reference's did
            while await self.body_chunk() is not None:  # a body the handler left unread
                pass
            if self.closing or reply.closes:
                return
            self.answering = False

    async def _refuse(self, exc: _Refused) -> None:
        """Bytes that are not an HTTP/1.1 request get the status that says so, when no answer has begun."""
        if not self.answering:
            with contextlib.suppress(ClientGone):
                reply = Reply(self, _Request())
                await reply.whole(exc.status, [(b"content-type", b"text/plain")],
                                  f"gauntlet mirror: {exc}\n".encode())


def _empty(headers: list[tuple[bytes, bytes]]) -> bool:
    """A body framed as none: `Content-Length: 0`."""
    return any(k.lower() == b"content-length" and v.strip() == b"0" for k, v in headers)


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
            with contextlib.suppress(OSError):
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
