"""The mirror's side facing the targets: kept-alive HTTP/1.1 connections (`_wire`).

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

import httptools
import httpx

from . import _wire

READ_BYTES = 64 * 1024
HEAD_BYTES = 64 * 1024  # an answer's head larger than this is a fault of the target's
IDLE_KEPT = 64  # idle connections kept per target; one more is closed once its answer is read
# Sent again after a reset on a kept-alive connection: a reset can land in the same turn of the
# loop as the first bytes of an answer, and the stream then gives the reset, never the bytes, so
# the request may have been taken. Only a method that can be taken twice is sent again then.
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"})


class _Parsed:
    """One answer as the parser reads it (its callbacks): the head, then the body's chunks as
    they come. An informational answer (100 Continue, 103 Early Hints) is passed over: the
    answer follows it."""

    def __init__(self, method: str) -> None:
        self.head_only = method == "HEAD"
        self.idempotent = method in IDEMPOTENT
        self.parser = httptools.HttpResponseParser(self)
        self.status = 0
        self.reason = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.head = False  # its head is whole
        self.chunks: deque[bytes] = deque()
        self.complete = False
        self.keep_alive = False
        self.until_close = False  # its body ends with the connection
        self.beyond = False  # bytes came past its end: the connection cannot carry another answer
        self.seen = 0  # the bytes of it that came while its head was not whole

    def on_message_begin(self) -> None:
        self.beyond = self.beyond or self.complete

    def on_status(self, reason: bytes) -> None:
        if not self.head:  # after it: bytes past the answer's end, never its reason
            self.reason += reason

    def on_header(self, name: bytes, value: bytes) -> None:
        if not self.head:  # after it: a chunked body's trailer, or bytes past the end
            self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        if self.complete:
            return
        status = self.parser.get_status_code()
        if 100 <= status < 200 and status != 101:
            self.reason, self.headers = b"", []
            return
        self.status, self.head = status, True
        self.keep_alive = self.parser.should_keep_alive()
        self.until_close = not _wire.no_body(self.head_only, status) and not _wire.framed(self.headers)
        self.complete = self.head_only  # an answer to HEAD has no body, whatever its length says

    def on_body(self, body: bytes) -> None:
        if self.complete:
            self.beyond = True
        else:
            self.chunks.append(body)

    def on_message_complete(self) -> None:
        if self.head:
            self.complete = True


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, answer: _Parsed) -> None:
        self.reader, self.writer = reader, writer
        self.answer = answer  # the one to the request it carries now

    def reusable(self) -> bool:
        answer = self.answer
        return answer.complete and answer.keep_alive and not answer.until_close and not answer.beyond

    def close(self) -> None:
        self.writer.close()


class Answer:
    """An answer as it arrives: its head, then its body's bytes as sent (codings kept)."""

    def __init__(self, upstream: Upstream, connection: _Connection) -> None:
        self._upstream, self._connection = upstream, connection
        parsed = connection.answer
        self.status = parsed.status
        self.reason = parsed.reason
        self.headers = parsed.headers
        self._done = False

    def text_headers(self) -> list[tuple[str, str]]:
        return [(k.decode("latin-1"), v.decode("latin-1")) for k, v in self.headers]

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body, a chunk at a time as the target sends it; the connection goes back to
        the idle ones once it has all come."""
        parsed = self._connection.answer
        while True:
            while parsed.chunks:
                yield parsed.chunks.popleft()
            if parsed.complete:
                self._done = True
                self._upstream.give_back(self._connection)
                return
            await self._upstream.read(self._connection, started=True)

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
        of an answer came back on it (after a reset, only for a method that can be taken twice)."""
        framing = [("content-length", str(len(body)))] if isinstance(body, bytes) and (
            body or method not in ("GET", "HEAD", "OPTIONS", "DELETE")) else []
        if not isinstance(body, bytes) and not any(k.lower() == "content-length" for k, _ in headers):
            framing = [("transfer-encoding", "chunked")]
        try:
            head = _wire.head(f"{method} {self.base}{target} HTTP/1.1".encode("latin-1"),
                              _wire.encoded([("host", self.authority), *headers, *framing]))
        except (ValueError, UnicodeEncodeError) as exc:
            raise httpx.LocalProtocolError(f"the request cannot be sent: {exc}") from None
        chunked = bool(framing) and framing[0][0] == "transfer-encoding"
        for attempt in (1, 2):
            connection, reused = await self._borrow(_Parsed(method))
            try:
                await self._send(connection, head, body, chunked)
                while not connection.answer.head:
                    await self.read(connection, started=not reused)
            except _Stale:
                connection.close()
                if attempt == 2 or not isinstance(body, bytes):
                    raise httpx.RemoteProtocolError("the connection was closed before an answer came") from None
                continue
            except BaseException:
                connection.close()
                raise
            return Answer(self, connection)
        raise AssertionError("unreachable")

    async def _borrow(self, answer: _Parsed) -> tuple[_Connection, bool]:
        """An idle connection (True) or a new one (False), set to read `answer`."""
        while self._idle:
            connection = self._idle.pop()
            if not connection.reader.at_eof():
                connection.answer = answer
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
        return _Connection(reader, writer, answer), False

    @staticmethod
    async def _send(connection: _Connection, head: bytes, body: bytes | AsyncIterator[bytes], chunked: bool) -> None:
        try:
            if isinstance(body, bytes):  # one write: each is a system call
                connection.writer.write(head + body)
            else:
                connection.writer.write(head)
                async for data in body:
                    if data:
                        connection.writer.write(_wire.chunk(data) if chunked else data)
                        await connection.writer.drain()
                if chunked:
                    connection.writer.write(_wire.LAST_CHUNK)
            await connection.writer.drain()
        except ConnectionError:
            raise _Stale() from None

    async def read(self, connection: _Connection, *, started: bool) -> None:
        """Read once more of the answer and parse it; `started`: a connection that closes now
        has broken an answer off (otherwise it may only have been stale)."""
        answer = connection.answer
        started = started or bool(answer.seen) or answer.head
        try:
            async with asyncio.timeout(self.read_timeout):
                data = await connection.reader.read(READ_BYTES)
        except TimeoutError:
            raise httpx.ReadTimeout(f"no answer within {self.read_timeout:g}s") from None
        except ConnectionError as exc:
            if not started and answer.idempotent:
                raise _Stale() from None
            raise httpx.ReadError(str(exc) or "the connection was reset") from None
        if not answer.head:
            answer.seen += len(data)
            if answer.seen > HEAD_BYTES:
                raise httpx.RemoteProtocolError(f"the answer's head is over {HEAD_BYTES // 1024} KiB")
        if not data:
            if not started:
                raise _Stale()
            if answer.head and answer.until_close:
                answer.complete = True
                return
            raise httpx.RemoteProtocolError("the server closed the connection mid-answer")
        try:
            answer.parser.feed_data(data)
        except (_wire.Upgrade, _wire.ParseError) as exc:
            if answer.complete:  # past the answer's end: it stands, the connection is not trusted again
                answer.beyond = True
            elif isinstance(exc, _wire.Upgrade):
                raise httpx.RemoteProtocolError("the server switched protocols, which was not asked for") from None
            else:
                raise httpx.RemoteProtocolError(f"the answer is not HTTP/1.1: {exc}") from None

    def give_back(self, connection: _Connection) -> None:
        if connection.reusable() and len(self._idle) < IDLE_KEPT:
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
