"""One exchange of the probe: the request a case makes, each target's answer as it came
back (or why it did not), and the case's result once the answers are compared. The probe
and the latency timer both send a case, so how a request is built and how a failure is
said live here, once."""

from __future__ import annotations

import http.cookiejar
import json
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import httpx

from ..cases import UNSET, ParityCase
from ..core import neutralise
from ._classes import DivergenceClass, classify
from ._compare import (
    ABSENT,
    HEAD_KINDS,
    Difference,
    Repeat,
    TooDeep,
    fingerprint,
    load_json,
    summary_kind,
)

MAX_BODY = 64 * 1024 * 1024
VALUE_CHARS = 300


@dataclass(frozen=True)
class Answer:
    target: str
    url: str
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""  # as decoded by the client: the content codings in `decoded` undone
    elapsed: float = 0.0
    error: str | None = None
    wire_bytes: int = 0  # the body's length on the wire, before decoding
    decoded: tuple[str, ...] = ()

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    @cached_property
    def parsed(self) -> Parsed:
        """The body as compared, parsed once however many answers it is compared with;
        raises BodyError (each time asked: an answer that has one is not compared)."""
        return parse_body(self)


@dataclass(frozen=True)
class CaseResult:
    case: ParityCase
    reference: str
    answers: dict[str, Answer]
    diffs: dict[str, list[Difference]]  # per candidate
    noise: tuple[str, ...] = ()  # the paths the reference's own samples differed on in this case
    expect_failures: tuple[str, ...] = ()
    endpoint: str = ""  # the noise pool it learned from ("" when noise is not sampled)
    shape: str = ""
    inconclusive: bool = False  # the reference's answer is all noise, as the pool stood
    unsteady: dict[str, tuple[str, ...]] = field(default_factory=dict)  # per candidate: where it disagrees with itself

    def status_kind(self, target: str) -> str | None:
        """`status` when the code differs from the reference's, `header` when only a compared header does."""
        return summary_kind(d for d in self.diffs.get(target, []) if d.kind in HEAD_KINDS)

    def kind(self, target: str) -> str | None:
        """The body's kind, whatever the status did: a body divergence is judged on its own."""
        return summary_kind(d for d in self.diffs.get(target, []) if d.kind not in HEAD_KINDS)

    def fingerprint(self, target: str) -> str | None:
        """Of everything that differs but the status code, which blocks whatever a known gap says:
        the same body divergence keeps its fingerprint when the status drifts too."""
        diffs = [d for d in self.diffs.get(target, []) if d.kind != "status"]
        return fingerprint(self.case.name, diffs) if summary_kind(diffs) else None

    @cached_property
    def rows(self) -> list[dict[str, Any]]:
        """Every difference, display-safe and cut short: the case's event carries the first
        ones and its line in results.jsonl.gz all of them, from this one list."""
        return [{"target": target, "kind": d.kind, "path": d.where, "ref": _short(d.ref), "cand": _short(d.cand),
                 "noise": d.noise, "ignored": d.ignored}
                for target, diffs in self.diffs.items() for d in diffs]

    def divergence_class(self, target: str) -> DivergenceClass | None:
        return classify(self.diffs.get(target, []))

def build_request(case: ParityCase, base: str) -> dict[str, Any]:
    request: dict[str, Any] = {"method": case.method, "url": base + case.path,
                               "headers": dict(case.headers), "params": dict(case.query) or None}
    if case.json is not UNSET:
        request["json"] = case.json
    elif case.body is not None:
        request["content"] = case.body.encode()
    return request


def _said(exc: BaseException, happened: str) -> str:
    """The exception's own words, or what happened and its class when it has none (httpx's
    ReadError on a reset says nothing at all)."""
    return str(exc).strip() or f"{happened} ({type(exc).__name__})"


def describe_failure(exc: BaseException, timeout: float) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out after {timeout:g}s ({type(exc).__name__})"
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect: {_said(exc, 'the connection failed')}"
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"connection broken mid-answer: {_said(exc, 'the answer broke the protocol')}"
    if isinstance(exc, httpx.DecodingError):
        return f"cannot decode the body: {_said(exc, 'its content encoding is broken')}"
    if isinstance(exc, httpx.ReadError):
        return f"connection broken mid-answer: {_said(exc, 'the connection was reset or closed')}"
    return f"{type(exc).__name__}: {_said(exc, 'no detail given')}"


class _KeepsNoCookie(http.cookiejar.CookieJar):
    """A case's request is what its config says: a cookie an earlier answer set is never sent
    with it (the cases land in any order, over whichever connection is free)."""

    def extract_cookies(self, response: Any, request: Any) -> None:
        return None


def one_connection(timeout: float, headers: Mapping[str, str], tls: ssl.SSLContext) -> httpx.AsyncClient:
    """A client holding one kept-alive connection to a target. `tls` is shared by every client
    of a probe: loading one costs tens of milliseconds (`httpx.create_ssl_context(trust_env=False)`)."""
    return httpx.AsyncClient(timeout=timeout, limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
                             verify=tls, trust_env=False, headers=headers, cookies=_KeepsNoCookie())


async def fetch(client: httpx.AsyncClient, case: ParityCase, target: str, base: str,
                timeout: float) -> Answer:
    request = build_request(case, base)
    started = time.perf_counter()
    # httpx offers (Accept-Encoding) exactly the content codings it can undo, and undoes them.
    undoable = {c.strip() for c in client.headers.get("accept-encoding", "").split(",")}
    try:
        async with client.stream(**request) as response:
            chunks: list[bytes] = []
            size = 0
            error: str | None = None
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > MAX_BODY:
                    error = TOO_LARGE
                    break
                chunks.append(chunk)
            codings = (c.strip().lower() for c in response.headers.get_list("content-encoding", split_commas=True))
            return Answer(target, request["url"], response.status_code,
                          {k.lower(): v for k, v in response.headers.items()}, b"".join(chunks),
                          time.perf_counter() - started, error, response.num_bytes_downloaded,
                          tuple(c for c in codings if c in undoable))
    except (httpx.HTTPError, OSError) as exc:
        return Answer(target, request["url"], elapsed=time.perf_counter() - started,
                      error=neutralise(describe_failure(exc, timeout)))


TOO_LARGE = f"body larger than {MAX_BODY // (1024 * 1024)} MB: not compared"


def passed_answer(target: str, url: str, status: int, headers: list[tuple[str, str]], wire: bytes, size: int,
                  elapsed: float) -> Answer:
    """An answer read off the wire by someone else (the mirror, passing the reference's on to
    its client unchanged), made what `fetch` makes of one: its content codings undone by
    httpx. `wire` is the body as sent, its first MAX_BODY bytes of `size`."""
    lowered = {k.lower(): v for k, v in headers}
    if size > len(wire):
        return Answer(target, url, status, lowered, b"", elapsed, TOO_LARGE, size)
    if "content-encoding" not in lowered:  # nothing to undo (most answers): no decoder to build
        return Answer(target, url, status, lowered, wire, elapsed, None, size)
    try:
        body = httpx.Response(status, headers=headers, content=wire).content
    except httpx.DecodingError as exc:
        return Answer(target, url, status, lowered, wire, elapsed, neutralise(describe_failure(exc, 0)), size)
    named = (c.strip().lower() for c in httpx.Headers(headers).get_list("content-encoding", split_commas=True))
    codings = tuple(c for c in named if c != "identity") if body != wire else ()
    return Answer(target, url, status, lowered, body, elapsed, None, size, codings)


class BodyError(Exception):
    """A body that its own content type says it is, but is not."""


@dataclass(frozen=True)
class Parsed:
    """A body as compared: its kind (json | text | bytes | empty), its value, and for JSON the
    keys it gives twice in one object."""

    kind: str
    value: Any
    repeats: tuple[Repeat, ...] = ()


def parse_body(answer: Answer) -> Parsed:
    """Raises BodyError. An empty body is a kind of its own whatever the content type says (a
    204 under `application/json`): two empty answers are equal, an empty one against JSON
    differs in shape."""
    body = answer.body
    if not body.strip() and "json" in answer.content_type:
        return Parsed("empty", b"")
    if "json" in answer.content_type:
        try:
            return Parsed("json", *load_json(body))
        except TooDeep as exc:
            raise BodyError(f"{exc} under {answer.content_type}") from None
        except UnicodeDecodeError as exc:
            raise BodyError(f"invalid UTF-8 under {answer.content_type} at byte {exc.start}") from None
        except json.JSONDecodeError as exc:
            raise BodyError(f"not JSON under {answer.content_type}: {exc.msg} at line {exc.lineno} "
                            f"column {exc.colno}") from None
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        if answer.content_type.startswith("text/"):
            raise BodyError(f"invalid UTF-8 under {answer.content_type} at byte {exc.start}") from None
        return Parsed("bytes", body)
    return Parsed("text", text)

def _short(value: Any) -> str:
    if value is ABSENT:
        return "absent"
    if isinstance(value, Repeat):
        value = str(value)
    text = value if isinstance(value, str) and not value.startswith(("{", "[")) else json.dumps(value, ensure_ascii=False)
    text = neutralise(text)
    return text if len(text) <= VALUE_CHARS else text[:VALUE_CHARS] + f"… ({len(text)} chars)"
