"""Phase 3: the cross-runtime parity probe.

The same request goes to the reference and to every candidate at once; each answer is
compared with the reference's by status, chosen headers and body (parsed JSON when both
are JSON, text or bytes otherwise). Faults — refused, reset, timed out, undecodable — are
results on that target, never crashes. Learned noise: the reference is asked `noise_samples`
more times and whatever differs among its own answers is noise (probes/parity/_noise.py), shown but
never counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

import httpx

from ..cases import UNSET, ParityCase
from ..core import GauntletError, neutralise
from ..core.events import DiffRow, EventBus, Notice, ParityCaseFinished, ParityPlanned
from ._compare import (
    Difference,
    Rules,
    covered,
    diff_bytes,
    diff_json,
    diff_repeats,
    diff_text,
    mark,
    render_path,
)
from ._config import ParityConfig
from ._exchange import Answer, BodyError, CaseResult, fetch, one_connection
from ._latency_probe import case_timer
from ._board import Aim
from ._noise import IgnoreRules, NoisePool, all_noise, endpoint_of, leaf_paths, own_noise
from ._noise_report import noise_notices
from ._shard import Shard

EVENT_DIFFS = 100  # differences carried per case in its event; parity/results.jsonl.gz has them all


class CaseEmitter:
    """Emits each case as it lands, preceded by the definition of any divergence class seen
    for the first time, so a case event names its classes by id alone."""

    def __init__(self, bus: EventBus) -> None:
        self.bus = bus
        self.seen: set[str] = set()

    def news(self, event: ParityCaseFinished) -> bool:
        """Whether the case names a class not yet defined (what `announce` would emit)."""
        return any(class_id is not None and class_id not in self.seen for class_id in event.classes.values())

    def announce(self, result: CaseResult, event: ParityCaseFinished) -> bool:
        """Emit the definition of each class the case names for the first time; whether one was new."""
        new = False
        for target, class_id in event.classes.items():
            if class_id is not None and class_id not in self.seen:
                self.seen.add(class_id)
                found = result.divergence_class(target)
                assert found is not None
                self.bus.emit(found.event())
                new = True
        return new

    def emit(self, result: CaseResult, event: ParityCaseFinished) -> None:
        new = self.announce(result, event)
        if event.diffs and not new and not event.errors and event.status_match:
            # The class's first case carried its differences; the rest name the class and
            # keep theirs in parity/results.jsonl.gz, so 100,000 cases stay a small event log.
            event = replace(event, diffs=(), more_diffs=event.more_diffs + len(event.diffs))
        self.bus.emit(event)


def compare_answers(ref: Answer, cand: Answer, headers: Sequence[str], rules: Rules | None = None) -> list[Difference]:
    """Every difference of one candidate's answer from the reference's (both without error)."""
    out: list[Difference] = []
    if ref.status != cand.status:
        out.append(Difference("status", ("@status",), ref.status, cand.status))
    for name in headers:
        a, b = ref.headers.get(name), cand.headers.get(name)
        if a != b:
            out.append(Difference("header", ("@header", name), a, b))
    ref_kind, ref_value = ref.parsed.kind, ref.parsed.value
    cand_kind, cand_value = cand.parsed.kind, cand.parsed.value
    if ref_kind != cand_kind:
        out.append(Difference("shape", (), f"<{ref_kind} body>", f"<{cand_kind} body>"))
    elif ref_kind == "json":
        out.extend(diff_json(ref_value, cand_value, rules))
    elif ref_kind == "text":
        out.extend(diff_text(ref_value, cand_value))
    else:
        out.extend(diff_bytes(ref_value, cand_value))
    return out


def _answer_error(answer: Answer) -> str | None:
    if answer.error:
        return answer.error
    try:
        answer.parsed
    except BodyError as exc:
        return str(exc)
    return None


class Connections:
    """Each target's `concurrency` clients of one connection each, one lent to every request
    in flight to it.

    httpcore's pool walks every connection it holds, twice per request, asking each idle one
    whether its server closed it: one pool of sixteen connections costs a request about twice
    the CPU that one of sixteen pools of one does (bench/parity_probe.py prints both). Lent
    under the gate, which lets at most `concurrency` requests be in flight, a target's clients
    never run out, and it never has more than `concurrency` connections, each opened once
    however the requests in flight mix between the targets; the client returned last is lent
    next, so a run with few requests in flight keeps few connections open."""

    def __init__(self, config: ParityConfig) -> None:
        tls = httpx.create_ssl_context(trust_env=False)
        self._free = {t: [one_connection(config.timeout, config.headers_for(t), tls) for _ in range(config.concurrency)]
                      for t in config.targets}
        self._all = [client for clients in self._free.values() for client in clients]

    @contextlib.contextmanager
    def lent(self, target: str) -> Iterator[httpx.AsyncClient]:
        client = self._free[target].pop()
        try:
            yield client
        finally:
            self._free[target].append(client)

    async def aclose(self) -> None:
        for client in self._all:
            await client.aclose()


async def probe_case(connections: Connections, gate: asyncio.Semaphore, config: ParityConfig,
                     case: ParityCase, pool: NoisePool | None = None) -> CaseResult:
    assert config.reference is not None

    async def one(target: str) -> Answer:
        async with gate:
            with connections.lent(target) as client:
                return await fetch(client, case, target, config.targets[target], config.timeout)

    names = list(config.targets)
    # With noise sampling every target is asked again: the reference's samples teach the noise,
    # a candidate's show where it disagrees with itself.
    extra = config.noise_samples if pool is not None else 0
    jobs = [one(t) for t in names] + [one(t) for t in names for _ in range(extra)]
    answers = await asyncio.gather(*jobs)
    by_target = dict(zip(names, answers))
    samples = {t: answers[len(names) + i * extra:len(names) + (i + 1) * extra] for i, t in enumerate(names)}
    return judge(case, config, by_target, samples[config.reference], pool,
                 {t: s for t, s in samples.items() if t != config.reference})


def judge(case: ParityCase, config: ParityConfig, answers: dict[str, Answer],
          samples: Sequence[Answer] = (), pool: NoisePool | None = None,
          candidate_samples: Mapping[str, Sequence[Answer]] | None = None) -> CaseResult:
    """Compare every candidate with the reference; errors become the target's own result.
    A key given twice in one object, on either side, is a difference of its own kind, added
    here rather than in compare_answers: the reference's samples teach noise without it.

    A difference at a path where a candidate's own samples differ while the reference's do
    not is *candidate noise*: told once per path for the run (`unsteady`), never one divergence
    class per case that moves on every run (random keys make a new class each time)."""
    assert config.reference is not None
    ref = answers[config.reference]
    errors = {t: _answer_error(a) for t, a in answers.items()}
    answers = {t: (a if errors[t] is None or a.error else replace(a, error=errors[t]))
               for t, a in answers.items()}
    learned = _learn_noise(case, config, ref, samples, pool) if pool is not None and errors[config.reference] is None \
        else _NO_NOISE
    noise, own, endpoint, shape, hollow = learned
    ignore = _ignore_rules(config.ignore).for_case(case)
    diffs: dict[str, list[Difference]] = {}
    unsteady: dict[str, tuple[str, ...]] = {}
    for target, answer in answers.items():
        if target == config.reference or errors[target] or errors[config.reference]:
            continue
        try:
            found = compare_answers(ref, answer, config.compare_headers, config.rules)
            found += diff_repeats(ref.parsed.value, ref.parsed.repeats, answer.parsed.value, answer.parsed.repeats)
        except Exception as exc:  # noqa: BLE001 - one answer's fault is its own result, never the phase's
            answers[target] = replace(answer, error=neutralise(f"gauntlet could not compare this answer: "
                                                              f"{type(exc).__name__}: {exc}"))
            continue
        diffs[target] = mark(found, ignore, noise)
        wobbles = own_noise(_self_differences(answer, (candidate_samples or {}).get(target, ()), config))
        if wobbles:
            diffs[target], unsteady[target] = _unsteady(diffs[target], wobbles)
    expect = tuple(f"{t} answered {a.status}, expected {case.expect_status}"
                   for t, a in answers.items()
                   if case.expect_status is not None and a.status is not None and a.status != case.expect_status)
    return CaseResult(case, config.reference, answers, diffs, tuple(sorted(own)), expect,
                      endpoint=endpoint, shape=shape, inconclusive=hollow,
                      unsteady={t: paths for t, paths in unsteady.items() if paths})


_NO_NOISE: tuple[frozenset[str], frozenset[str], str, str, bool] = (frozenset(), frozenset(), "", "", False)


def _learn_noise(case: ParityCase, config: ParityConfig, ref: Answer, samples: Sequence[Answer],
                 pool: NoisePool) -> tuple[frozenset[str], frozenset[str], str, str, bool]:
    """Fold the reference's extra answers into its endpoint's pool: (the endpoint's noise now,
    the paths this case's samples differed on, the endpoint, the answer's shape, whether the
    answer is all noise). A sample that failed, or that answered another status or another
    kind of body (a 429 `{"error": …}` among 200s), teaches nothing: every path differs in it."""
    endpoint = endpoint_of(case)
    leaves = leaf_paths(ref.parsed.kind, ref.parsed.value)
    differences = _self_differences(ref, samples, config)
    noise, own, shape = pool.learn(endpoint, differences, leaves, failed=len(samples) - len(differences))
    return noise, own, endpoint, shape, all_noise(leaves, noise)


def _self_differences(first: Answer, samples: Sequence[Answer], config: ParityConfig) -> list[list[Difference]]:
    """An answer's differences from each of its target's extra samples. A sample that failed,
    or that answered another status or another kind of body (a 429 `{"error": …}` among
    200s), teaches nothing: every path differs in it."""
    out = []
    for sample in samples:
        try:
            alike = not sample.error and sample.status == first.status and sample.parsed.kind == first.parsed.kind
        except BodyError:
            alike = False
        if alike:
            out.append(compare_answers(first, sample, config.compare_headers, config.rules))
    return out


def _unsteady(diffs: list[Difference], wobbles: frozenset[str]) -> tuple[list[Difference], tuple[str, ...]]:
    """The candidate's differences at paths where its own answers differ, shown but no longer
    counted as a divergence (they are candidate noise, told for the run), and those paths."""
    out, told = [], set()
    for d in diffs:
        where = render_path(d.path, wildcard=True)
        hit = next((w for w in wobbles if covered(where, (w,))), None) if d.counts else None
        if hit is None:
            out.append(d)
        else:
            out.append(replace(d, noise=True))
            told.add(hit)
    return out, tuple(sorted(told))


@functools.lru_cache(maxsize=8)
def _ignore_rules(rules: tuple[str, ...]) -> IgnoreRules:
    return IgnoreRules(rules)


def case_event(result: CaseResult, index: int = -1) -> ParityCaseFinished:
    """The case's event; `index` is its place among the config's cases (-1: not known)."""
    ref = result.reference
    candidates = [t for t in result.answers if t != ref]
    errors = {t: a.error for t, a in result.answers.items() if a.error}
    statuses = {t: a.status for t, a in result.answers.items()}
    status_match = not errors and all(statuses[t] == statuses[ref] for t in candidates) and not result.expect_failures
    compared = [t for t in candidates if t in result.diffs]
    kinds = {t: result.kind(t) for t in compared}
    rows = result.rows
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
        classes={t: c.id if (c := result.divergence_class(t)) else None for t in compared},
        endpoint=result.endpoint,
        shape=result.shape,
        inconclusive=result.inconclusive,
        expect_status=result.case.expect_status,
        unsteady={t: tuple(neutralise(p) for p in paths) for t, paths in result.unsteady.items()},
        index=index,
    )


async def run_parity(config: ParityConfig, bus: EventBus,
                     on_result: Callable[[CaseResult, ParityCaseFinished], None] | None = None,
                     only: Sequence[str] = (), shard: Shard | None = None) -> None:
    """Probe every case (or the `only` ones, or a `shard`'s) with a fixed pool of `concurrency`
    workers pulling from the cases as they are read, so 100,000 cases cost what `concurrency`
    cases do. Each result goes to `on_result` (which records it) and is emitted as it lands,
    then dropped.

    The cases held in memory are announced up front; those streamed from a JSON Lines file
    are known only as they are read. A bad line stops the pulling: the cases in flight land,
    then its InputError is raised (the phase fails with it, naming file:line). A shard reads
    the cases through once before probing, to announce the digest of them all that the
    shards of one config share (a bad line fails it there).
    """
    def wanted(case: str) -> bool:
        return (not only or case in only) and (shard is None or shard.holds(case))

    digest = ""
    if shard is not None:
        digest, held = shard.survey(c.name for c in config.iter_cases())
        bus.emit(Notice("parity", "info", f"shard {shard} probes {held:,} of the {digest}"))
    known = [c.name for c in config.cases if wanted(c.name)]
    bus.emit(ParityPlanned(tuple(known), tuple(config.targets), config.reference or "", config.concurrency,
                           digest, config.max_inconclusive))
    # Each case with its place among all the config's cases, which every report lists them by.
    cases = ((i, c) for i, c in enumerate(config.iter_cases()) if wanted(c.name))
    failed: list[GauntletError] = []

    def pull() -> tuple[int, ParityCase] | None:
        try:
            return next(cases, None)
        except GauntletError as exc:
            failed.append(exc)
            return None

    gate = asyncio.Semaphore(config.concurrency)
    emitter = CaseEmitter(bus)
    pool = NoisePool() if config.noise_samples else None
    async with contextlib.AsyncExitStack() as stack:
        connections = Connections(config)
        stack.push_async_callback(connections.aclose)
        timer = await stack.enter_async_context(case_timer(config, bus))

        async def worker() -> None:
            while (pulled := pull()) is not None:
                index, case = pulled
                result = await probe_case(connections, gate, config, case, pool)
                event = case_event(result, index)
                if timer is not None:  # `[parity.latency]`: the case timed after its first answers
                    event = await timer.time(result, event, gate)
                if on_result is not None:
                    on_result(result, event)
                emitter.emit(result, event)

        workers = [asyncio.create_task(worker()) for _ in range(config.concurrency)]
        try:
            await asyncio.gather(*workers)
        finally:
            for task in workers:
                task.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
    if pool is not None:
        settle_noise(pool, bus, shard=shard is not None)
    if failed:
        raise failed[0]


@dataclass(frozen=True)
class AimCheck:
    """What one case per endpoint drew from each target, before a long run: `statuses` per
    target in the endpoints' order (None: no answer), and why a target looks misaimed."""

    endpoints: tuple[str, ...]
    statuses: dict[str, tuple[int | None, ...]]
    misaimed: dict[str, tuple[str, str]]  # target -> (what every case got, the likely cause)


async def check_aim(config: ParityConfig) -> AimCheck:
    """Send the first case of each endpoint to every target, one request at a time per target:
    a target answering every endpoint with the same error status, or refusing every
    connection, is misaimed (a base path, credentials), said before a run of 100,000 cases."""
    firsts: dict[str, ParityCase] = {}
    for case in config.iter_cases():
        firsts.setdefault(endpoint_of(case), case)
    aims = {t: Aim() for t in config.targets}
    statuses: dict[str, list[int | None]] = {t: [] for t in config.targets}
    async with contextlib.AsyncExitStack() as stack:
        clients = {t: await stack.enter_async_context(httpx.AsyncClient(timeout=config.timeout, trust_env=False,
                                                                          headers=config.headers_for(t)))
                   for t in config.targets}
        for case in firsts.values():
            answers = await asyncio.gather(*(fetch(clients[t], case, t, url, config.timeout)
                                             for t, url in config.targets.items()))
            for answer in answers:
                aims[answer.target].add(answer.status, answer.error, case.expect_status)
                statuses[answer.target].append(answer.status)
    misaimed = {t: why for t, aim in aims.items() if (why := aim.misaimed(minimum=1)) is not None}
    return AimCheck(tuple(firsts), {t: tuple(s) for t, s in statuses.items()}, misaimed)


def settle_noise(pool: NoisePool, bus: EventBus, *, shard: bool = False) -> None:
    """The pool's final word, which the boards judge every landed case again by (a shard's
    with what `gauntlet merge` needs to unite the shards' pools); the cases whose reference
    answer is all noise are named as a notice, never a silent match, as are the samples that
    taught nothing."""
    settled = pool.settled(shard=shard)
    bus.emit(settled)
    for notice in noise_notices(settled):
        bus.emit(notice)


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


def diverged(result: CaseResult) -> bool:
    """Whether a person has something to look at: a target's error, an expected status
    missed, or a difference that counts (noise and ignored paths do not)."""
    return (any(a.error for a in result.answers.values()) or bool(result.expect_failures)
            or any(d.counts for diffs in result.diffs.values() for d in diffs))


def _meta(result: CaseResult, answer: Answer) -> dict[str, Any]:
    """An answer as received: status, headers as received (so `content-encoding` and
    `content-length` tell of the wire), `body_bytes` the stored body's length (content codings
    undone), `wire_bytes` the body's length on the wire and `decoded` the codings undone."""
    return {"url": answer.url, "status": answer.status, "headers": answer.headers,
            "elapsed_ms": round(answer.elapsed * 1000, 2), "error": answer.error,
            "body_bytes": len(answer.body), "wire_bytes": answer.wire_bytes, "decoded": list(answer.decoded),
            "request": _request_record(result.case, answer.url)}


def case_record(result: CaseResult, event: ParityCaseFinished,
                bodies: Mapping[str, dict[str, Any]] | None) -> dict[str, Any]:
    """One line of parity/results.jsonl.gz: the case's verdict on every target, every difference,
    and each answer's meta with `body`, the reference of its stored body (`bodies`; None: not
    kept). A case whose answers were not kept matched: its line keeps statuses and timings
    only, so 100,000 matching cases stay a file one can scan. Empty fields are left out."""
    record: dict[str, Any] = {
        "case": result.case.name, "method": result.case.method, "path": result.case.path, "endpoint": result.endpoint,
        "statuses": event.statuses, "errors": event.errors, "kinds": event.kinds,
        "status_kinds": event.status_kinds, "classes": event.classes, "fingerprints": event.fingerprints,
        "status_match": event.status_match, "body_match": event.body_match, "noise": list(result.noise),
        "expect_failures": list(result.expect_failures),
    }
    if bodies is None:
        record["answers"] = {t: {"elapsed_ms": round(a.elapsed * 1000, 2), "body_bytes": len(a.body), "body": None}
                             for t, a in result.answers.items()}
    else:
        record["differences"] = result.rows
        record["answers"] = {t: {**_meta(result, a), "body": bodies[t]} for t, a in result.answers.items()}
    for row in event.latency:  # each target's timings beside its answer, for the diff viewer
        record["answers"][row.target]["latency"] = asdict(row)
    return {k: v for k, v in record.items() if not _empty(v)}


def _empty(value: Any) -> bool:
    """Nothing to say: an empty list, map or text, or a map of targets to nothing."""
    return value == [] or value == "" or (isinstance(value, dict) and all(v is None for v in value.values()))


def run_head(config: ParityConfig, keep_bodies: str) -> dict[str, Any]:
    """The first line of parity/results.jsonl.gz: what every case line is read against."""
    return {"reference": config.reference, "targets": dict(config.targets), "ignore": list(config.ignore),
            "noise_samples": config.noise_samples, "unordered": list(config.rules.unordered),
            "tolerance": {p: str(t) for p, t in config.rules.tolerance.items()}, "numbers": config.rules.numbers,
            "keep_bodies": keep_bodies,
            "order": "landing: one case a line as each lands (not the config's order)",
            "bodies": "bodies.pack: each answer's body once, at the offset and length its reference gives"}
