"""HTTP/1.1 as bytes, both ways: heads and chunks written by hand, messages parsed by
httptools (llhttp, the parser Node.js uses, in C).

Every request a client sends crosses the mirror's own HTTP four times (the client's request
and answer, the reference's, and each candidate's copy), so the framing is what the mirror
costs: h11, pure Python, took over half of the proxy's CPU and a third of the judging
process's (bench/mirror_overhead.py). What a parser does not say, the callers decide from
the request: that an answer to HEAD has no body, that an answer with neither length nor
chunks ends with its connection.
"""

from __future__ import annotations

from collections.abc import Iterable

import httptools

ParseError = httptools.HttpParserError
Upgrade = httptools.HttpParserUpgrade
LAST_CHUNK = b"0\r\n\r\n"
_FORBIDDEN = (b"\r", b"\n", b"\0")


def head(start: bytes, headers: Iterable[tuple[bytes, bytes]]) -> bytes:
    """A request or status line and its headers, as sent. A header that would break the
    head apart (a line break in it, or a name with a colon) raises ValueError: what is sent
    is always the head it says it is."""
    lines = [start]
    for name, value in headers:
        if any(c in name or c in value for c in _FORBIDDEN) or b":" in name or not name:
            raise ValueError(f"header {name!r} cannot be sent in HTTP/1.1")
        lines.append(name + b": " + value)
    lines.append(b"\r\n")
    return b"\r\n".join(lines)


def encoded(headers: Iterable[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    return [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers]


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


def no_body(to_head: bool, status: int) -> bool:
    """Whether an answer has no body whatever its headers say: to HEAD, informational, 204, 304."""
    return to_head or status < 200 or status in (204, 304)


def framed(headers: Iterable[tuple[bytes, bytes]]) -> bool:
    """Whether a message says where its body ends (a length, or chunks); without either, an
    answer's body ends with its connection."""
    return any(k.lower() in (b"content-length", b"transfer-encoding") for k, _ in headers)
