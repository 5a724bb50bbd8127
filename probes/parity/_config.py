"""`[parity]`: targets, cases, comparison rules and latency, read and validated."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from .. import cases as case_sources
from ..cases import CASE_KEYS, ParityCase, cases_from_file, read_case, read_case_lines
from ..core import InputError, Problem, TableReader, check_duplicates, expand_env, resolve_path, shown_url
from ._compare import NUMBERS, Rules, Tolerance, parse_pattern, parse_tolerance
from ._noise import split_ignore


@dataclass(frozen=True)
class LatencyConfig:
    """`[parity.latency]`: each case timed `repeats` times a target after `warmup` requests
    not counted; a candidate is slower when its median's ratio to the reference's lies above
    `max_ratio` with 95 % confidence. `blocking` is `[verdict] latency`: "block" or "report"."""

    repeats: int = 30
    warmup: int = 3
    max_ratio: float = 1.25
    blocking: bool = True


@dataclass(frozen=True)
class ParityConfig:
    reference: str | None = None
    targets: Mapping[str, str] = field(default_factory=dict)
    concurrency: int = 8
    timeout: float = 5.0
    noise_samples: int = 0  # extra answers asked of the reference per case, to learn its noise
    rules: Rules = Rules()  # unordered arrays, tolerances, numbers
    compare_headers: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    cases: tuple[ParityCase, ...] = ()
    keep_bodies: str = "divergent"  # whose answers the run keeps: "divergent" (and a sample) or "all"
    cases_stream: Path | None = None  # a JSON Lines cases file: read a line at a time as the probe goes
    generated_cases: str | None = None  # the cases file made from `cases_openapi`, kept with the run
    latency: LatencyConfig | None = None  # `[parity.latency]`: None, latency is not measured
    max_inconclusive: float = 0.1  # the share of inconclusive cases above which the probe is incomplete
    headers: Mapping[str, str] = field(default_factory=dict)  # sent with every case (a case's own win)
    target_headers: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # per target, over `headers`

    def headers_for(self, target: str) -> dict[str, str]:
        """What every request to this target carries: `[parity] headers`, then the target's own."""
        return {**self.headers, **self.target_headers.get(target, {})}

    def iter_cases(self) -> Iterator[ParityCase]:
        """Every case: those held in memory, then the JSON Lines file's, each validated as it
        is read. A bad line or a name seen before raises InputError naming file:line, so a
        100,000-case file is never held whole and its fault surfaces where the probe reaches it."""
        yield from self.cases
        if self.cases_stream is not None:
            for case, problems in read_case_lines(self.cases_stream, {c.name for c in self.cases}):
                if problems:
                    raise InputError("; ".join(map(str, problems)))
                assert case is not None
                yield case


# Framing and hop-by-hop headers: chunked against content-length is never a divergence.
TRANSFER_HEADERS = frozenset({"transfer-encoding", "content-length", "connection", "keep-alive", "te", "trailer",
                              "upgrade", "proxy-connection"})


_PARITY = ("reference", "targets", "concurrency", "timeout", "noise_check", "noise_samples", "compare_headers",
           "ignore", "unordered", "tolerance", "numbers", "cases_file", "cases_openapi", "keep_bodies", "case",
           "latency", "max_inconclusive", "headers")


_LATENCY = ("repeats", "warmup", "max_ratio")


_TARGET = ("url", "headers")  # a target given as a table: its URL and the headers only it is sent


MIN_REPEATS = 10  # fewer timed requests cannot tell a slowdown from noise


MAX_REPEATS, MAX_WARMUP = 1000, 100  # a case's timing is serial: more would never end


KEEP_BODIES = ("divergent", "all")


JSONL_SUFFIXES = (".jsonl", ".ndjson")


def parity_section(top: TableReader, workdir: Path, env: Mapping[str, str]) -> ParityConfig:
    p = top.table("parity", _PARITY)
    t = p.table("targets", None)
    targets: dict[str, str] = {}
    target_headers: dict[str, dict[str, str]] = {}
    for name, url in t.raw.items():
        if isinstance(url, dict):  # NAME = {url = "…", headers = {authorization = "Bearer ${GO_TOKEN}"}}
            one = t.table(name, _TARGET)
            target_headers[name] = {header: expand_env(one, f"headers.{header}", value, env)
                                    for header, value in one.string_map("headers").items()}
            url = one.string("url", required=True)
            if url is None:
                continue
        if isinstance(url, str) and url.startswith(("http://", "https://")):
            targets[name] = url.rstrip("/")
            if not valid_port(url):
                t.problem(name, f"expected a port from 1 to 65535, got {url!r}")
        else:
            t.problem(name, f"expected an http(s) URL, got {shown_url(url) if isinstance(url, str) else url!r}")
    case_readers = p.tables("case", CASE_KEYS)
    cases_file = p.string("cases_file")
    stream: Path | None = None
    if cases_file:
        path = resolve_path(workdir, cases_file)
        if path.suffix.lower() in JSONL_SUFFIXES:
            stream = path
            if not path.is_file():
                p.problem("cases_file", f"no such file: {path}")
        else:
            case_readers += cases_from_file(p, path)
    spec = p.string("cases_openapi")
    generated_cases = None
    if spec:
        try:
            # Looked up when a config names a spec: the YAML reader loads with it, not with every config.
            generated = case_sources.from_openapi(resolve_path(workdir, spec))
        except InputError as exc:
            p.problem("cases_openapi", str(exc))
        else:
            case_readers += TableReader({"case": generated.tables()}, f"{Path(spec).name}: ", p.problems,
                                        ("case",)).tables("case", CASE_KEYS)
            generated_cases = generated.toml()
    cases = [read_case(c) for c in case_readers]
    for c in case_readers:  # a body is sent as JSON, and TOML says more (a JSON Lines file is checked as it is read)
        try:
            json.dumps(c.raw.get("json"), allow_nan=False)
        except (ValueError, TypeError) as exc:
            c.problem("json", f"not JSON data: {exc} (JSON has no nan, inf, date or time: write a string)")
    check_duplicates(case_readers, [c.name for c in cases], "case")
    reference = p.string("reference")
    if cases or stream is not None:
        if not targets:
            p.problem("targets", "cases are listed but no target is")
        elif reference is None:
            p.problem("reference", f"is required: one of {', '.join(targets)}")
        elif reference not in targets:
            p.problem("reference", f"names no target {reference!r} (targets: {', '.join(targets)})")
        elif len(targets) < 2:
            p.problem("targets", "parity needs the reference and at least one candidate")
    compare_headers = tuple(h.lower() for h in p.string_list("compare_headers"))
    for i, name in enumerate(compare_headers):
        if name in TRANSFER_HEADERS:
            p.problems.append(Problem(f"parity.compare_headers[{i}]",
                                      f"{name} is how the answer travelled, not what it says: never compared"))
    ignore = p.string_list("ignore")
    noise_samples, rules = _compare_rules(p, ignore)
    return ParityConfig(
        reference=reference,
        targets=targets,
        concurrency=p.integer("concurrency", 8, minimum=1) or 8,
        timeout=p.duration("timeout", 5.0),
        noise_samples=noise_samples,
        rules=rules,
        compare_headers=compare_headers,
        ignore=ignore,
        cases=tuple(cases),
        keep_bodies=p.string("keep_bodies", "divergent", choices=KEEP_BODIES) or "divergent",
        cases_stream=stream,
        generated_cases=generated_cases,
        latency=_latency(p) if p.has("latency") else None,
        max_inconclusive=p.share("max_inconclusive", 0.1),
        headers={name: expand_env(p, f"headers.{name}", value, env) for name, value in p.string_map("headers").items()},
        target_headers={name: headers for name, headers in target_headers.items() if name in targets and headers},
    )


def _latency(p: TableReader) -> LatencyConfig:
    r = p.table("latency", _LATENCY)
    return LatencyConfig(
        repeats=r.integer("repeats", 30, minimum=MIN_REPEATS, maximum=MAX_REPEATS) or 30,
        warmup=r.integer("warmup", 3, minimum=0, maximum=MAX_WARMUP) or 0,
        max_ratio=r.number("max_ratio", 1.25, minimum=1.0, maximum=100.0),
    )


NOISE_SAMPLES_MAX = 20


def valid_port(url: str) -> bool:
    """No port, or one a connection can be made to (`:99999` and `:notaport` are neither)."""
    try:
        port = urlsplit(url).port
    except ValueError:
        return False
    return port != 0


def _compare_rules(p: TableReader, ignore: tuple[str, ...]) -> tuple[int, Rules]:
    """`noise_samples` (`noise_check = true` is one sample), and the per-path rules: `ignore`
    (optionally scoped to one endpoint), `unordered`, `tolerance` and `numbers`."""
    if p.has("noise_samples") and p.has("noise_check"):
        p.problem("noise_check", "give noise_samples alone (noise_check = true is noise_samples = 1)")
    samples = (p.integer("noise_samples", 0, maximum=NOISE_SAMPLES_MAX) or 0) if p.has("noise_samples") \
        else int(p.boolean("noise_check", False))
    for i, rule in enumerate(ignore):
        try:
            split_ignore(rule)
        except ValueError as exc:
            p.problems.append(Problem(f"parity.ignore[{i}]", str(exc)))
    unordered = p.string_list("unordered")
    for i, pattern in enumerate(unordered):
        try:
            parse_pattern(pattern)
        except ValueError as exc:
            p.problems.append(Problem(f"parity.unordered[{i}]", str(exc)))
    tolerance: dict[str, Tolerance] = {}
    t = p.table("tolerance", None)
    for pattern, value in t.raw.items() if isinstance(t.raw, dict) else ():
        try:
            parse_pattern(pattern)
            tolerance[pattern] = parse_tolerance(value)
        except ValueError as exc:
            t.problem(json.dumps(pattern), str(exc))
    numbers = p.string("numbers", "strict", choices=NUMBERS) or "strict"
    try:
        return samples, Rules(unordered, tolerance, numbers)
    except ValueError:  # a bad pattern, already a problem above
        return samples, Rules()


def scan_case_lines(parity: ParityConfig) -> tuple[int, list[Problem]]:
    """Read a JSON Lines cases file through once, as `gauntlet check` does: how many cases it
    holds and every bad line (the probe stops at the first)."""
    if parity.cases_stream is None or not parity.cases_stream.is_file():
        return 0, []
    count, problems = 0, []
    for case, found in read_case_lines(parity.cases_stream, {c.name for c in parity.cases}):
        count += case is not None
        problems += found
    return count, problems
