"""The mirror's side facing the targets: kept-alive HTTP/1.1 connections, framed by h11.

Every request a client sends crosses this twice (to the reference, and as a copy to each
candidate), so what it costs is what the mirror costs: a request borrows an idle connection
(or opens one) and gives it back once its answer is read whole, in constant time however
many are open (httpx's pool walks its connections on every request and adds half a
millisecond of its own a request besides: bench/mirror_overhead.py). Nothing is added to
what is sent but `Host` and the framing. Failures are raised as httpx's own exceptions, so
the probe's words for them (`describe_failure`) say them here too.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import h11
import httpx

READ_BYTES = 64 * 1024
IDLE_KEPT = 64  # idle connections kept per target; one more is closed once its answer is read


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.h11 = h11.Connection(h11.CLIENT)

    def close(self) -> None:
        self.writer.close()


class Answer:
    """An answer as it arrives: its head, then its body's bytes as sent (codings kept)."""

    def __init__(self, upstream: Upstream, connection: _Connection, head: h11.Response) -> None:
        self._upstream, self._connection = upstream, connection
        self.status = head.status_code
        self.reason = bytes(head.reason)
        self.headers = [(bytes(k), bytes(v)) for k, v in head.headers.raw_items()]
        self._done = False

    def text_headers(self) -> list[tuple[str, str]]:
        return [(k.decode("latin-1"), v.decode("latin-1")) for k, v in self.headers]

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body, a chunk at a time as the target sends it; the connection goes back to
        the idle ones once it has all come."""
        while True:
            event = await self._upstream.next_event(self._connection, started=True)
            if isinstance(event, h11.Data):
                yield bytes(event.data)
            elif isinstance(event, h11.EndOfMessage):
                self._done = True
                self._upstream.give_back(self._connection)
                return

    def close(self) -> None:
        """Done with it: a connection whose answer was not read whole cannot carry another."""
        if not self._done:
            self._done = True
            self._connection.close()


class Upstream:
    """Connections to one target (`url`: scheme, host, port and an optional base path)."""

    def __init__(self, url: str, *, connect_timeout: float, read_timeout: float | None) -> None:
        parts = urlsplit(url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.authority = parts.netloc.rpartition("@")[2]
        self.base = parts.path.rstrip("/")
        self.tls = ssl.create_default_context() if parts.scheme == "https" else None
        self.connect_timeout, self.read_timeout = connect_timeout, read_timeout
        self._idle: deque[_Connection] = deque()

    async def request(self, method: str, target: str, headers: list[tuple[str, str]],
                      body: bytes | AsyncIterator[bytes]) -> Answer:
        """Send a request (`target`: its path and query) and read the answer's head. A body
        of bytes is framed by its length; a stream by the Content-Length given, else chunked.
        A kept-alive connection the target closed meanwhile is replaced, once, when no byte
        of an answer came back on it."""
        framing = [("content-length", str(len(body)))] if isinstance(body, bytes) and (
            body or method not in ("GET", "HEAD", "OPTIONS", "DELETE")) else []
        if not isinstance(body, bytes) and not any(k.lower() == "content-length" for k, _ in headers):
            framing = [("transfer-encoding", "chunked")]
        head = h11.Request(method=method, target=(self.base + target).encode("latin-1"),
                           headers=[("host", self.authority), *headers, *framing])
        for attempt in (1, 2):
            connection, reused = await self._borrow()
            try:
                await self._send(connection, head, body)
                event = await self.next_event(connection, started=not reused)
            except _Stale:
                connection.close()
                if attempt == 2 or not isinstance(body, bytes):
                    raise httpx.RemoteProtocolError("the connection was closed before an answer came") from None
                continue
            except BaseException:
                connection.close()
                raise
            assert isinstance(event, h11.Response)
            return Answer(self, connection, event)
        raise AssertionError("unreachable")

    async def _borrow(self) -> tuple[_Connection, bool]:
        while self._idle:
            connection = self._idle.pop()
            if not connection.reader.at_eof():
                return connection, True
            connection.close()
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(self.host, self.port, ssl=self.tls,
                                        server_hostname=self.host if self.tls else None, limit=READ_BYTES),
                self.connect_timeout)
        except TimeoutError:
            raise httpx.ConnectTimeout(f"no connection to {self.host}:{self.port} within "
                                       f"{self.connect_timeout:g}s") from None
        except OSError as exc:
            raise httpx.ConnectError(exc.strerror or str(exc)) from None
        return _Connection(reader, writer), False

    async def _send(self, connection: _Connection, head: h11.Request, body: bytes | AsyncIterator[bytes]) -> None:
        send = connection.h11.send
        try:
            if isinstance(body, bytes):  # one write: each is a system call
                connection.writer.write(b"".join(send(e) or b"" for e in (head, *([h11.Data(data=body)] if body else []),
                                                                          h11.EndOfMessage())))
            else:
                connection.writer.write(send(head) or b"")
                async for chunk in body:
                    connection.writer.write(send(h11.Data(data=chunk)) or b"")
                    await connection.writer.drain()
                connection.writer.write(send(h11.EndOfMessage()) or b"")
            await connection.writer.drain()
        except ConnectionError:
            raise _Stale() from None

    async def next_event(self, connection: _Connection, *, started: bool) -> h11.Event:
        """The next event of the answer; `started`: a connection that closes now has broken
        an answer off (otherwise it may only have been stale)."""
        while True:
            try:
                event = connection.h11.next_event()
            except h11.RemoteProtocolError as exc:
                raise httpx.RemoteProtocolError(str(exc)) from None
            if event is not h11.NEED_DATA:
                if isinstance(event, h11.InformationalResponse):
                    continue  # 100 Continue and kin: the answer follows
                if isinstance(event, h11.ConnectionClosed):
                    raise httpx.RemoteProtocolError("the server closed the connection mid-answer")
                return event  # type: ignore[return-value] # h11's sentinels are types
            try:
                async with asyncio.timeout(self.read_timeout):
                    data = await connection.reader.read(READ_BYTES)
            except TimeoutError:
                raise httpx.ReadTimeout(f"no answer within {self.read_timeout:g}s") from None
            except ConnectionError as exc:
                if not started:
                    raise _Stale() from None
                raise httpx.ReadError(str(exc) or "the connection was reset") from None
            if not data and not started and connection.h11.their_state is h11.SEND_RESPONSE:
                raise _Stale()
            started = started or bool(data)
            connection.h11.receive_data(data)

    def give_back(self, connection: _Connection) -> None:
        if (connection.h11.our_state is h11.DONE and connection.h11.their_state is h11.DONE
                and len(self._idle) < IDLE_KEPT):
            connection.h11.start_next_cycle()
            self._idle.append(connection)
        else:
            connection.close()

    def close(self) -> None:
        while self._idle:
            self._idle.pop().close()


class _Stale(Exception):
    """A kept-alive connection the target had closed before the request reached it."""


async def drained(answer: Answer, limit: int) -> tuple[bytes, int]:
    """(the body's first bytes, up to `limit`; its whole length): read whole either way."""
    kept: list[bytes] = []
    size = 0
    try:
        async for chunk in answer.chunks():
            size += len(chunk)
            if size <= limit:
                kept.append(chunk)
    finally:
        answer.close()
    return b"".join(kept), size
