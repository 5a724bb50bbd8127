"""`gauntlet mirror` speaks HTTP/1.1 with its clients and with the reference as each of them
would with the other: HEAD, 204, informational answers, chunked and close-delimited bodies,
kept-alive connections on both sides, HTTP/1.0 clients, pipelined requests, `Expect:
100-continue`, a request body too large to copy, and bytes that are not HTTP.

The reference here is a raw server on 127.0.0.1 port 0 that answers each path its own way
(written by hand, so its framing is the one under test, not a library's), and the client a
raw socket that reads the wire.
"""

from __future__ import annotations

import asyncio
import errno
import socket
import struct
import threading
from collections import Counter
from collections.abc import Iterator
from typing import BinaryIO

import pytest

from probes.mirror._server import ClientGone, _Link

from ..conftest import PARITY_TOML
from .test_mirror import mirror_process

CHUNKED = b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"


class RawReference:
    """Threads on blocking sockets; each path answers its own way, any other echoes what it got
    (`METHOD TARGET BODY-LENGTH`, and for HEAD only the length the body would have)."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.connections = 0
        self.asked: Counter[str] = Counter()  # requests received, by target
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn, conn.makefile("rb") as reader:
            while True:
                line = reader.readline()
                if not line:
                    return
                method, target, _ = line.decode("latin-1").split(" ")
                headers = read_headers(reader)
                body = read_body(reader, headers)
                self.asked[target] += 1
                if not self._answer(conn, method, target, len(body)):
                    return

    @staticmethod
    def _answer(conn: socket.socket, method: str, target: str, size: int) -> bool:
        """Answer one request; False when the answer ends the connection."""
        if target == "/chunked":
            conn.sendall(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ncontent-type: text/plain\r\n\r\n"
                         + CHUNKED)
        elif target == "/close":  # no length, no chunks: the body ends where the connection does
            conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\nuntil the end")
            return False
        elif target == "/empty":
            conn.sendall(b"HTTP/1.1 204 No Content\r\nx-empty: yes\r\n\r\n")
        elif target == "/trailers":  # a trailer is not a header: never passed on as one
            conn.sendall(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nx-sum: 1\r\n\r\n")
        elif target == "/beyond":  # bytes past the answer's end: not another answer's head
            conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nset-cookie: a=b\r\n\r\n")
            return False
        elif target == "/junk-after-204":
            conn.sendall(b"HTTP/1.1 204 No Content\r\n\r\n0\r\n\r\n")
            return False
        elif target == "/cut":  # the status line, then a reset
            conn.sendall(b"HTTP/1.1 200 OK\r\n")
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return False
        elif target == "/early":
            conn.sendall(b"HTTP/1.1 103 Early Hints\r\nlink: </a.css>\r\n\r\n"
                         b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
        else:
            echo = f"{method} {target} {size}".encode()
            conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nx-answered: by-reference\r\n"
                         + f"content-length: {len(echo)}\r\n\r\n".encode() + (b"" if method == "HEAD" else echo))
        return True

    def close(self) -> None:
        self.sock.close()


def read_headers(reader: BinaryIO) -> dict[str, str]:
    headers = {}
    while (line := reader.readline()) not in (b"\r\n", b""):
        name, value = line.decode("latin-1").split(":", 1)
        headers[name.strip().lower()] = value.strip()
    return headers


def read_body(reader: BinaryIO, headers: dict[str, str], *, until_close: bool = False) -> bytes:
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = b""
        while size := int(reader.readline().split(b";")[0].strip(), 16):
            body += reader.read(size)
            reader.readline()
        while reader.readline() not in (b"\r\n", b""):  # trailers
            pass
        return body
    if "content-length" in headers:
        return reader.read(int(headers["content-length"]))
    return reader.read() if until_close else b""


def read_answer(reader: BinaryIO, method: str = "GET") -> tuple[str, int, dict[str, str], bytes]:
    """(HTTP version, status, headers, body) of the next answer on the wire."""
    version, status, _ = reader.readline().decode("latin-1").split(" ", 2)
    headers = read_headers(reader)
    bodiless = method == "HEAD" or int(status) in (204, 304) or int(status) < 200
    return version, int(status), headers, b"" if bodiless else read_body(reader, headers, until_close=True)


@pytest.fixture(scope="module")
def proxied(tmp_path_factory) -> Iterator[tuple[RawReference, str]]:
    """One mirror for the module (each costs a process and a second), in front of a raw
    reference, every request of every method copied to a raw candidate: (the reference, the
    mirror's HOST:PORT). It ends cleanly once the module is done."""
    reference, candidate = RawReference(), RawReference()
    config = tmp_path_factory.mktemp("mirror-http") / "gauntlet.toml"
    config.write_text(PARITY_TOML.substitute(
        reference="rust", candidate="go", reference_url=reference.url, candidate_url=candidate.url,
        parity='timeout = "5s"', after='[mirror]\nsample = 1\n[[mirror.route]]\nmethod = "POST"\npath = "/"\n'
                                      'mirror = true\n'))
    try:
        with mirror_process(config) as mirror:
            yield reference, mirror.url.removeprefix("http://")
            assert mirror.stop() in (0, 1), mirror.output()
            assert "Traceback" not in mirror.output(), mirror.output()
    finally:
        reference.close()
        candidate.close()


def connect(address: str) -> socket.socket:
    host, port = address.rsplit(":", 1)
    return socket.create_connection((host, int(port)), timeout=10)


def request(method: str, target: str, body: bytes = b"", *, version: str = "1.1", extra: str = "") -> bytes:
    length = f"content-length: {len(body)}\r\n" if body else ""
    return f"{method} {target} HTTP/{version}\r\nhost: mirror\r\n{length}{extra}\r\n".encode() + body


def test_one_kept_alive_connection_carries_every_kind_of_answer(proxied):
    """HEAD, 204, an informational answer, a chunked and a close-delimited body, one after
    another on one client connection: each arrives as the reference framed it (or, for the
    body that ended with its connection, chunked to a client that stays), and the mirror's own
    connection to the reference is kept alive across them until the reference closes it."""
    reference, address = proxied
    before = reference.connections
    with connect(address) as sock, sock.makefile("rb") as reader:
        sock.sendall(request("HEAD", "/thing"))
        _, status, headers, _ = read_answer(reader, "HEAD")
        assert (status, headers["content-length"], headers["x-answered"]) == (200, str(len("HEAD /thing 0")),
                                                                              "by-reference")
        sock.sendall(request("GET", "/empty"))
        assert read_answer(reader)[1:3] == (204, {"x-empty": "yes"})
        sock.sendall(request("GET", "/early"))
        assert read_answer(reader)[1::2] == (200, b"ok")
        sock.sendall(request("GET", "/chunked"))
        _, status, headers, body = read_answer(reader)
        assert (status, headers["transfer-encoding"], body) == (200, "chunked", b"hello world")
        sock.sendall(request("GET", "/close"))
        _, status, headers, body = read_answer(reader)
        assert (status, headers.get("transfer-encoding"), body) == (200, "chunked", b"until the end")
        sock.sendall(request("POST", "/after", b"12345"))
        assert read_answer(reader)[1::2] == (200, b"POST /after 5")
    # HEAD .. /close on one connection to the reference (a kept one, or a new one); /close ended
    # it, /after took a new one: two at most for six requests, one a request would be six
    assert reference.connections - before <= 2


def test_what_follows_an_answer_s_end_never_becomes_part_of_it(proxied):
    """A chunked answer's trailer, bytes past a length, junk after a 204: the client gets the
    answer as its head and length said it, and its connection goes on."""
    _, address = proxied
    with connect(address) as sock, sock.makefile("rb") as reader:
        sock.sendall(request("GET", "/trailers"))
        _, status, headers, body = read_answer(reader)
        assert (status, body, "x-sum" in headers) == (200, b"ok", False)
        sock.sendall(request("GET", "/beyond"))
        _, status, headers, body = read_answer(reader)
        assert (status, body, "set-cookie" in headers) == (200, b"ok", False)
        sock.sendall(request("GET", "/junk-after-204"))
        assert read_answer(reader)[1] == 204
        sock.sendall(request("GET", "/next"))
        assert read_answer(reader)[3] == b"GET /next 0"


def test_an_answer_cut_off_on_a_kept_alive_connection_is_never_asked_again(proxied):
    """A reset once the status line came is the reference's failure, not a stale connection:
    the request (a POST, with its side effects) reached it once, and the client is told. (The
    reset may land in the same turn of the mirror's loop as the status line, which is then never
    read: a POST is never sent again after a reset, whatever was read before it.)"""
    reference, address = proxied
    with connect(address) as sock, sock.makefile("rb") as reader:
        sock.sendall(request("GET", "/warm"))  # the mirror's connection to the reference, kept alive
        assert read_answer(reader)[1] == 200
        sock.sendall(request("POST", "/cut", b"once"))
        _, status, _, body = read_answer(reader)
        assert status == 502 and body.startswith(b"gauntlet mirror: rust: ")
    assert reference.asked["/cut"] == 1


def test_an_http_1_0_client_that_asks_to_keep_alive_is_told_it_is_kept(proxied):
    _, address = proxied
    with connect(address) as sock, sock.makefile("rb") as reader:
        for target in ("/one", "/two"):
            sock.sendall(request("GET", target, version="1.0", extra="connection: keep-alive\r\n"))
            _, status, headers, body = read_answer(reader)
            assert (status, headers.get("connection"), body) == (200, "keep-alive", f"GET {target} 0".encode())


def test_a_protocol_switch_is_answered_then_the_connection_ends_and_one_with_a_body_is_refused(proxied):
    """The mirror follows no protocol switch: the request is answered as a plain one, saying
    the connection closes; one whose body the switch would hide is refused, never passed on
    without it."""
    reference, address = proxied
    switch = "connection: upgrade\r\nupgrade: h2c\r\n"
    with connect(address) as sock, sock.makefile("rb") as reader:
        sock.sendall(request("GET", "/switch", extra=switch))
        _, status, headers, body = read_answer(reader)
        assert (status, headers.get("connection"), body) == (200, "close", b"GET /switch 0")
        assert ended(reader)
    with connect(address) as sock, sock.makefile("rb") as reader:
        sock.sendall(request("POST", "/switch-body", b"hello", extra=switch))
        _, status, _, body = read_answer(reader)
        assert status == 400 and b"protocol" in body
        assert ended(reader)
    assert reference.asked["/switch-body"] == 0


def test_an_http_1_0_client_gets_its_answer_ended_by_the_close(proxied):
    _, address = proxied
    for target, expected in (("/thing", b"GET /thing 0"), ("/close", b"until the end"),
                             ("/chunked", b"hello world")):
        with connect(address) as sock, sock.makefile("rb") as reader:
            sock.sendall(request("GET", target, version="1.0"))
            _, status, headers, body = read_answer(reader)
            assert (status, body) == (200, expected)
            assert "chunked" not in headers.get("transfer-encoding", "")
            assert reader.read() == b""  # and the connection closed after it


def test_pipelined_requests_are_answered_in_the_order_sent(proxied):
    _, address = proxied
    with connect(address) as sock, sock.makefile("rb") as reader:
        sock.sendall(request("GET", "/one") + request("POST", "/two", b"abc") + request("GET", "/chunked")
                     + request("GET", "/three"))
        assert [read_answer(reader)[3] for _ in range(4)] == [b"GET /one 0", b"POST /two 3", b"hello world",
                                                              b"GET /three 0"]


def test_expect_100_continue_is_answered_before_the_body_is_sent(proxied):
    _, address = proxied
    with connect(address) as sock, sock.makefile("rb") as reader:
        sock.sendall(b"POST /wait HTTP/1.1\r\nhost: mirror\r\ncontent-length: 5\r\nexpect: 100-continue\r\n\r\n")
        assert reader.readline().split(b" ", 2)[:2] == [b"HTTP/1.1", b"100"]
        read_headers(reader)
        sock.sendall(b"hello")
        assert read_answer(reader)[1::2] == (200, b"POST /wait 5")


def test_a_body_too_large_to_copy_is_streamed_to_the_reference_whole(proxied):
    """Chunked from the client, two mebibytes: past what is copied, passed on as it comes."""
    _, address = proxied
    chunk = b"x" * 65536
    with connect(address) as sock, sock.makefile("rb") as reader:
        sock.sendall(b"POST /big HTTP/1.1\r\nhost: mirror\r\ntransfer-encoding: chunked\r\n\r\n")
        for _ in range(32):
            sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        sock.sendall(b"0\r\n\r\n")
        assert read_answer(reader)[1::2] == (200, f"POST /big {32 * len(chunk)}".encode())
        sock.sendall(request("GET", "/next"))
        assert read_answer(reader)[3] == b"GET /next 0"


@pytest.mark.parametrize(("sent", "status"), [
    (b"NOT HTTP AT ALL\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nhost: mirror\r\nx-huge: " + b"h" * 200_000 + b"\r\n\r\n", 431),
    (b"GET / HTTP/1.1\r\nhost: mirror\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\n", 400),
], ids=["not-http", "head-too-large", "two-lengths"])
@pytest.mark.parametrize("after", [False, True], ids=["first", "after-a-request"])
def test_bytes_that_are_not_http_are_refused_with_a_status_and_the_connection_ends(proxied, sent, status, after):
    _, address = proxied
    with connect(address) as sock, sock.makefile("rb") as reader:
        if after:  # in one write with a request before them: that one is answered first
            sent = request("GET", "/first") + sent
        sock.sendall(sent)
        if after:
            assert read_answer(reader)[1::2] == (200, b"GET /first 0")
        _, answered, _, body = read_answer(reader)
        assert answered == status
        assert body.startswith(b"gauntlet mirror: ")
        assert ended(reader)


def ended(reader: BinaryIO) -> bool:
    """The connection was closed (a reset counts: the rest of what was sent was never read)."""
    try:
        return reader.read() == b""
    except ConnectionResetError:
        return True


def test_a_client_connection_the_kernel_timed_out_is_the_client_gone():
    """ETIMEDOUT is what a client that vanished without a word leaves, once the kernel's
    retries give up (minutes: a stand-in reader raises it here). It is the client gone, like a
    reset, and never escapes as a traceback on the operator's terminal."""

    class TimedOut:
        async def read(self, size: int) -> bytes:
            raise TimeoutError(errno.ETIMEDOUT, "Connection timed out")

    async def never(incoming, reply) -> None:
        raise AssertionError("no request came")

    link = _Link(TimedOut(), None)  # type: ignore[arg-type] # only read from
    with pytest.raises(ClientGone, match="timed out"):
        asyncio.run(link.serve(never))
