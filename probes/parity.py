"""Phase 3: the cross-runtime parity probe.

The same request goes to the reference and to every candidate at once; each answer is
compared with the reference's by status, chosen headers and body (parsed JSON when both
are JSON, text or bytes otherwise). Faults — refused, reset, timed out, undecodable — are
results on that target, never crashes. Optional noise check: the reference is asked twice
and whatever differs between its own answers is noise, shown but never counted.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import httpx

from .compare import (
    ABSENT,
    HEAD_KINDS,
    Difference,
    compile_ignore,
    diff_bytes,
    diff_json,
    diff_text,
    fingerprint,
    mark,
    render_path,
    summary_kind,
)
from .config import UNSET, ParityCase, ParityConfig
from .events import DiffRow, EventBus, ParityCaseFinished, ParityPlanned
from .textsafe import neutralise

MAX_BODY = 64 * 1024 * 1024
EVENT_DIFFS = 100  # differences carried per case in its event; results.json has them all
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


@dataclass(frozen=True)
class CaseResult:
    case: ParityCase
    reference: str
    answers: dict[str, Answer]
    diffs: dict[str, list[Difference]]  # per candidate
    noise: tuple[str, ...] = ()
    expect_failures: tuple[str, ...] = ()

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


def _build_request(case: ParityCase, base: str) -> dict[str, Any]:
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


def _describe(exc: BaseException, timeout: float) -> str:
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


async def fetch(client: httpx.AsyncClient, case: ParityCase, target: str, base: str,
                timeout: float) -> Answer:
    request = _build_request(case, base)
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
                    error = f"body larger than {MAX_BODY // (1024 * 1024)} MB: not compared"
                    break
                chunks.append(chunk)
            codings = (c.strip().lower() for c in response.headers.get_list("content-encoding", split_commas=True))
            return Answer(target, request["url"], response.status_code,
                          {k.lower(): v for k, v in response.headers.items()}, b"".join(chunks),
                          time.perf_counter() - started, error, response.num_bytes_downloaded,
                          tuple(c for c in codings if c in undoable))
    except (httpx.HTTPError, OSError) as exc:
        return Answer(target, request["url"], elapsed=time.perf_counter() - started,
                      error=neutralise(_describe(exc, timeout)))


class BodyError(Exception):
    """A body that its own content type says it is, but is not."""


def parse_body(answer: Answer) -> tuple[str, Any]:
    """("json", value) | ("text", str) | ("bytes", bytes); raises BodyError."""
    body = answer.body
    if "json" in answer.content_type:
        if not body.strip():
            raise BodyError(f"empty body under {answer.content_type}")
        try:
            return "json", json.loads(body)
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
        return "bytes", body
    return "text", text


def compare_answers(ref: Answer, cand: Answer, headers: Sequence[str]) -> list[Difference]:
    """Every difference of one candidate's answer from the reference's (both without error)."""
    out: list[Difference] = []
    if ref.status != cand.status:
        out.append(Difference("status", ("@status",), ref.status, cand.status))
    for name in headers:
        a, b = ref.headers.get(name), cand.headers.get(name)
        if a != b:
            out.append(Difference("header", ("@header", name), a, b))
    ref_kind, ref_value = parse_body(ref)
    cand_kind, cand_value = parse_body(cand)
    if ref_kind != cand_kind:
        out.append(Difference("shape", (), f"<{ref_kind} body>", f"<{cand_kind} body>"))
    elif ref_kind == "json":
        out.extend(diff_json(ref_value, cand_value))
    elif ref_kind == "text":
        out.extend(diff_text(ref_value, cand_value))
    else:
        out.extend(diff_bytes(ref_value, cand_value))
    return out


def _answer_error(answer: Answer) -> str | None:
    if answer.error:
        return answer.error
    try:
        parse_body(answer)
    except BodyError as exc:
        return str(exc)
    return None


async def probe_case(client: httpx.AsyncClient, gate: asyncio.Semaphore, config: ParityConfig,
                     case: ParityCase) -> CaseResult:
    assert config.reference is not None

    async def one(target: str) -> Answer:
        async with gate:
            return await fetch(client, case, target, config.targets[target], config.timeout)

    names = list(config.targets)
    jobs = [one(t) for t in names]
    if config.noise_check:
        jobs.append(one(config.reference))
    answers = await asyncio.gather(*jobs)
    by_target = dict(zip(names, answers))
    return judge(case, config, by_target, answers[-1] if config.noise_check else None)


def judge(case: ParityCase, config: ParityConfig, answers: dict[str, Answer],
          second_reference: Answer | None) -> CaseResult:
    """Compare every candidate with the reference; errors become the target's own result."""
    assert config.reference is not None
    ref = answers[config.reference]
    errors = {t: _answer_error(a) for t, a in answers.items()}
    answers = {t: (a if errors[t] is None or a.error else replace(a, error=errors[t]))
               for t, a in answers.items()}
    noise: set[str] = set()
    if second_reference is not None and errors[config.reference] is None and _answer_error(second_reference) is None:
        noise = {render_path(d.path) for d in compare_answers(ref, second_reference, config.compare_headers)
                 if d.path[:1] not in (("@status",), ("@header",))}
    ignore = compile_ignore(config.ignore)
    diffs: dict[str, list[Difference]] = {}
    for target, answer in answers.items():
        if target == config.reference or errors[target] or errors[config.reference]:
            continue
        diffs[target] = mark(compare_answers(ref, answer, config.compare_headers), ignore, noise)
    expect = tuple(f"{t} answered {a.status}, expected {case.expect_status}"
                   for t, a in answers.items()
                   if case.expect_status is not None and a.status is not None and a.status != case.expect_status)
    return CaseResult(case, config.reference, answers, diffs, tuple(sorted(noise)), expect)


def _short(value: Any) -> str:
    if value is ABSENT:
        return "absent"
    text = value if isinstance(value, str) and not value.startswith(("{", "[")) else json.dumps(value, ensure_ascii=False)
    text = neutralise(text)
    return text if len(text) <= VALUE_CHARS else text[:VALUE_CHARS] + f"… ({len(text)} chars)"


def diff_rows(result: CaseResult, limit: int | None = None) -> list[dict[str, Any]]:
    rows = []
    for target, diffs in result.diffs.items():
        for d in diffs:
            rows.append({"target": target, "kind": d.kind, "path": d.where, "ref": _short(d.ref),
                         "cand": _short(d.cand), "noise": d.noise, "ignored": d.ignored})
    return rows[:limit] if limit is not None else rows


def case_event(result: CaseResult) -> ParityCaseFinished:
    ref = result.reference
    candidates = [t for t in result.answers if t != ref]
    errors = {t: a.error for t, a in result.answers.items() if a.error}
    statuses = {t: a.status for t, a in result.answers.items()}
    status_match = not errors and all(statuses[t] == statuses[ref] for t in candidates) and not result.expect_failures
    compared = [t for t in candidates if t in result.diffs]
    kinds = {t: result.kind(t) for t in compared}
    rows = diff_rows(result)
    return ParityCaseFinished(
        case=result.case.name,
        reference=ref,
        statuses=statuses,
        errors=errors,
        kinds=kinds,
        fingerprints={t: result.fingerprint(t) for t in compared},
        status_match=status_match,
        body_match=not errors and not any(kinds.values()),
        diffs=tuple(DiffRow(**row) for row in rows[:EVENT_DIFFS]),
        more_diffs=max(0, len(rows) - EVENT_DIFFS),
        noise=result.noise,
        expect_failures=result.expect_failures,
        status_kinds={t: result.status_kind(t) for t in compared},
    )


async def run_parity(config: ParityConfig, bus: EventBus,
                     on_result: Callable[[CaseResult], None] | None = None,
                     only: Sequence[str] = ()) -> list[CaseResult]:
    """Probe every case (or the `only` ones); each result goes to `on_result` (which keeps
    it, so an interrupted run still has what landed) and is emitted as soon as it lands."""
    cases = [c for c in config.cases if not only or c.name in only]
    bus.emit(ParityPlanned(tuple(c.name for c in cases), tuple(config.targets), config.reference or "",
                           config.concurrency))
    gate = asyncio.Semaphore(config.concurrency)
    limits = httpx.Limits(max_connections=config.concurrency, max_keepalive_connections=config.concurrency)
    results: dict[str, CaseResult] = {}
    async with httpx.AsyncClient(timeout=config.timeout, limits=limits, trust_env=False) as client:
        tasks = [asyncio.create_task(probe_case(client, gate, config, c)) for c in cases]
        try:
            for next_done in asyncio.as_completed(tasks):
                result = await next_done
                results[result.case.name] = result
                if on_result is not None:
                    on_result(result)
                bus.emit(case_event(result))
        finally:
            for task in tasks:
                task.cancel()
    return [results[c.name] for c in cases if c.name in results]


def _request_record(case: ParityCase, url: str) -> dict[str, Any]:
    """What was sent, so the case can be reproduced (`c` in the diff viewer copies a curl)."""
    headers = dict(case.headers)
    body = None
    if case.json is not UNSET:
        headers.setdefault("Content-Type", "application/json")
        body = json.dumps(case.json, ensure_ascii=False, separators=(",", ":"))
    elif case.body is not None:
        body = case.body
    query = str(httpx.QueryParams(dict(case.query))) if case.query else ""
    return {"method": case.method, "url": url + (f"?{query}" if query else ""), "headers": headers, "body": body}


def answer_files(result: CaseResult) -> Iterator[tuple[str, bytes | str]]:
    """`parity/<case>/<target>.body`, the body as compared (content codings undone), and
    `.meta.json`: status, headers as received (so `content-encoding` and `content-length`
    tell of the wire), `body_bytes` the stored body's length, `wire_bytes` the body's length
    on the wire and `decoded` the content codings undone before storing it."""
    for target, answer in result.answers.items():
        base = f"parity/{result.case.name}/{target}"
        yield f"{base}.body", answer.body
        meta = {"target": target, "url": answer.url, "method": result.case.method,
                "status": answer.status, "headers": answer.headers,
                "elapsed_ms": round(answer.elapsed * 1000, 2), "error": answer.error,
                "body_bytes": len(answer.body), "wire_bytes": answer.wire_bytes, "decoded": list(answer.decoded),
                "request": _request_record(result.case, answer.url)}
        yield f"{base}.meta.json", json.dumps(meta, ensure_ascii=False) + "\n"


def results_json(results: Sequence[CaseResult], config: ParityConfig) -> str:
    """parity/results.json: every case, every target, every difference."""
    cases = []
    for r in results:
        event = case_event(r)
        cases.append({
            "case": r.case.name, "method": r.case.method, "path": r.case.path,
            "statuses": event.statuses, "errors": event.errors, "status_kinds": event.status_kinds,
            "kinds": event.kinds, "fingerprints": event.fingerprints, "status_match": event.status_match,
            "body_match": event.body_match, "noise": list(r.noise),
            "expect_failures": list(r.expect_failures), "differences": diff_rows(r),
        })
    # One case per line: readable, greppable, and the C encoder (indent= is pure Python).
    head = json.dumps({"reference": config.reference, "targets": dict(config.targets),
                       "ignore": list(config.ignore), "noise_check": config.noise_check},
                      ensure_ascii=False)[:-1]
    body = ",\n".join(json.dumps(c, ensure_ascii=False) for c in cases)
    return f'{head}, "cases": [\n{body}\n]}}\n'
