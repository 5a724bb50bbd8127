"""The gauntlet config (`gauntlet.toml`): loading, defaults and validation of the whole contract.

Every problem is collected with its key path and reported at once (ConfigError), so an
operator fixes a config in one pass. Relative paths are resolved against `workdir` here,
once, so no later phase has to know where the config lived.
"""

from __future__ import annotations

import glob as globlib
import json
import os
import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ._reader import TableReader
from .compare import NUMBERS, Rules, Tolerance, parse_pattern, parse_tolerance
from .errors import ConfigError, InputError, Problem, read_input
from .redact import MIN_LENGTH, Secrets, shown_url, url_secrets

PHASES = ("stack", "smokes", "scrum", "parity", "verdict")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
UNSET: Any = object()  # a parity case with no `json` key (None is a valid JSON body: null)


@dataclass(frozen=True)
class Smoke:
    name: str
    layer: str
    argv: tuple[str, ...] | None
    shell: str | None
    timeout: float
    cwd: Path
    env: Mapping[str, str] = field(default_factory=dict)
    needs: tuple[str, ...] = ()

    @property
    def command(self) -> tuple[str, ...]:
        """The argv actually executed: the shell is used only when asked for."""
        return ("/bin/sh", "-c", self.shell) if self.shell is not None else self.argv or ()


@dataclass(frozen=True)
class SmokesConfig:
    stop_on_fail: bool = True
    parallel: int = 1
    timeout: float = 120.0
    grace: float = 5.0
    smokes: tuple[Smoke, ...] = ()


@dataclass(frozen=True)
class Reviewer:
    name: str
    lineage: str
    kind: str
    model: str | None = None
    run: tuple[str, ...] | None = None
    file: str | None = None
    timeout: float = 300.0
    price_per_mtok: tuple[float, float] | None = None  # (input, output) per million tokens


@dataclass(frozen=True)
class Bundle:
    name: str
    diff: Path | None = None
    git_range: str | None = None
    git_paths: tuple[str, ...] = ()


@dataclass(frozen=True)
class ScrumConfig:
    gateway: str | None = None
    api_key_env: str | None = None
    warn_kb: int = 60
    max_kb: int = 100
    max_review_kb: int = 1024  # a review longer than this is cut there (and the reviewer stopped)
    min_tokens_out: int = 100
    line_tolerance: int = 3
    concurrency: int = 6
    retries: int = 3
    timeout: float = 300.0
    prompt_file: Path | None = None
    reviewers: tuple[Reviewer, ...] = ()
    bundles: tuple[Bundle, ...] = ()
    block_on: str = "convergent"  # or "any-lineage": a BLOCK from one lineage blocks too
    findings_ignore: Path | None = None  # the ledger of dismissed findings
    min_lineages: int = 0  # lineages that must review for the scrum to be complete; 0: every one configured


@dataclass(frozen=True)
class ParityCase:
    name: str
    method: str = "GET"
    path: str = "/"
    query: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    json: Any = UNSET
    body: str | None = None
    expect_status: int | None = None
    template: str | None = None  # the endpoint's path template (`/v1/playbooks/{id}`): noise is pooled by it


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


@dataclass(frozen=True)
class VerdictConfig:
    known_gaps: Path | None = None
    tracker: Path | None = None
    latency: str = "block"  # what a slower candidate does to the verdict: "block" or "report"


@dataclass(frozen=True)
class StackService:
    name: str
    bin: str | None = None
    run: tuple[str, ...] | None = None
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    port: int | None = None
    health: str | None = None
    health_timeout: float = 30.0


@dataclass(frozen=True)
class StackConfig:
    output: Path | None = None
    up: bool = False
    services: tuple[StackService, ...] = ()


@dataclass(frozen=True)
class Config:
    path: Path
    name: str
    workdir: Path
    out_dir: Path
    smokes: SmokesConfig = SmokesConfig()
    scrum: ScrumConfig = ScrumConfig()
    parity: ParityConfig = ParityConfig()
    verdict: VerdictConfig = VerdictConfig()
    stack: StackConfig = StackConfig()
    secrets: Secrets = Secrets()  # what must never be written or shown (probes/redact.py)

    def phases_present(self) -> tuple[str, ...]:
        """Phases this config has something to do for, in run order."""
        have = {
            "stack": self.stack.up and bool(self.stack.services),
            "smokes": bool(self.smokes.smokes),
            "scrum": bool(self.scrum.bundles),
            "parity": bool(self.parity.cases) or self.parity.cases_stream is not None,
            "verdict": True,
        }
        return tuple(p for p in PHASES if have[p])


_TOP = ("gauntlet", "smokes", "smoke", "scrum", "parity", "verdict", "stack")
_GAUNTLET = ("name", "workdir", "out_dir")
_SMOKES = ("stop_on_fail", "parallel", "timeout", "grace", "glob", "layer")
_SMOKE = ("name", "layer", "run", "shell", "timeout", "env", "needs", "cwd")
_SCRUM = ("gateway", "api_key_env", "warn_kb", "max_kb", "max_review_kb", "min_tokens_out", "line_tolerance",
          "concurrency", "retries", "timeout", "prompt_file", "reviewer", "bundle", "block_on", "findings_ignore",
          "min_lineages")
_REVIEWER = ("name", "lineage", "kind", "model", "run", "file", "timeout", "price_per_mtok")
BLOCK_ON = ("convergent", "any-lineage")
_BUNDLE = ("name", "diff", "git")
# Framing and hop-by-hop headers: chunked against content-length is never a divergence.
TRANSFER_HEADERS = frozenset({"transfer-encoding", "content-length", "connection", "keep-alive", "te", "trailer",
                              "upgrade", "proxy-connection"})
_PARITY = ("reference", "targets", "concurrency", "timeout", "noise_check", "noise_samples", "compare_headers",
           "ignore", "unordered", "tolerance", "numbers", "cases_file", "cases_openapi", "keep_bodies", "case",
           "latency", "max_inconclusive", "headers")
_LATENCY = ("repeats", "warmup", "max_ratio")
LATENCY_MODES = ("block", "report")
MIN_REPEATS = 10  # fewer timed requests cannot tell a slowdown from noise
MAX_REPEATS, MAX_WARMUP = 1000, 100  # a case's timing is serial: more would never end
KEEP_BODIES = ("divergent", "all")
JSONL_SUFFIXES = (".jsonl", ".ndjson")
_CASE = ("name", "method", "path", "query", "headers", "json", "body", "expect_status", "template")
_VERDICT = ("known_gaps", "tracker", "latency")
_STACK = ("output", "up", "service")
_SERVICE = ("name", "bin", "run", "args", "env", "port", "health", "health_timeout")
_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


def load_config(path: str | os.PathLike[str], env: Mapping[str, str] | None = None) -> Config:
    """Read, validate and resolve a config; raise ConfigError listing every problem."""
    env = os.environ if env is None else env
    source = Path(path)
    raw = _read_toml(source)
    problems: list[Problem] = []
    top = TableReader(raw, "", problems, _TOP)
    g = top.table("gauntlet", _GAUNTLET)
    base = source.resolve().parent
    workdir = _resolve(base, g.string("workdir", ".") or ".")
    if not workdir.is_dir():
        g.problem("workdir", f"no such directory: {workdir}")
    config = Config(
        path=source.resolve(),
        name=g.string("name", source.stem) or source.stem,
        workdir=workdir,
        out_dir=_resolve(workdir, g.string("out_dir", "reports/gauntlet") or "reports/gauntlet"),
        smokes=_smokes(top, workdir),
        scrum=_scrum(top, workdir, env),
        parity=_parity(top, workdir, env),
        verdict=_verdict(top, workdir),
        stack=_stack(top, workdir),
    )
    config = replace(config, secrets=_secrets(config, top, env))
    if config.parity.latency is not None:  # the verdict's word on latency travels with the probe's events
        config = replace(config, parity=replace(config.parity, latency=replace(
            config.parity.latency, blocking=config.verdict.latency == "block")))
    elif isinstance(raw.get("verdict"), dict) and "latency" in raw["verdict"]:
        problems.append(Problem("verdict.latency", "judges latency, but [parity.latency] is not set: nothing is timed"))
    if problems:
        raise ConfigError(str(source), problems)
    return config


def preflight(config: Config) -> list[Problem]:
    """Problems with the world rather than the file: scripts and inputs that are missing.

    Kept apart from load_config so a run still starts (a missing script is that smoke's
    failure, reported as a result) while `gauntlet check` reports them up front.
    """
    problems: list[Problem] = []
    for i, smoke in enumerate(config.smokes.smokes):
        if smoke.argv and ("/" in smoke.argv[0]):
            script = _resolve(smoke.cwd, smoke.argv[0])
            if not script.exists():
                problems.append(Problem(f"smoke[{i}].run", f"no such file: {script}"))
            elif not os.access(script, os.X_OK):
                problems.append(Problem(f"smoke[{i}].run", f"not executable: {script} (chmod +x)"))
        if not smoke.cwd.is_dir():
            problems.append(Problem(f"smoke[{i}].cwd", f"no such directory: {smoke.cwd}"))
    for i, bundle in enumerate(config.scrum.bundles):
        if bundle.diff is not None and not bundle.diff.is_file():
            problems.append(Problem(f"scrum.bundle[{i}].diff", f"no such file: {bundle.diff}"))
    if config.scrum.prompt_file is not None and not config.scrum.prompt_file.is_file():
        problems.append(Problem("scrum.prompt_file", f"no such file: {config.scrum.prompt_file}"))
    if config.scrum.bundles and config.scrum.api_key_env and any(
        r.kind == "openai" for r in config.scrum.reviewers
    ) and not os.environ.get(config.scrum.api_key_env):
        problems.append(Problem("scrum.api_key_env",
                                f"environment variable {config.scrum.api_key_env} is not set"))
    if config.verdict.known_gaps is not None and not config.verdict.known_gaps.is_file():
        problems.append(Problem("verdict.known_gaps", f"no such file: {config.verdict.known_gaps}"))
    unwritable = unwritable_dir(config.out_dir)
    if unwritable:
        problems.append(Problem("gauntlet.out_dir", unwritable))
    return problems


def unwritable_dir(out_dir: Path) -> str | None:
    """Why no run directory can be made under out_dir, or None. A run refuses such an out_dir
    before it starts rather than fail making its directory; a missing out_dir is made."""
    existing = out_dir
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return f"{existing} is a file, not a directory: no run directory can be made in {out_dir}"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"{existing} is not writable: no run directory can be made in {out_dir}"
    return None


def _read_toml(source: Path) -> dict[str, Any]:
    try:
        text = source.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise ConfigError(str(source), [Problem(str(source), "no such file")]) from None
    except IsADirectoryError:
        raise ConfigError(str(source), [Problem(str(source), "is a directory, not a config file")]) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(str(source), [Problem(str(source), f"not UTF-8 text ({exc.reason} at byte {exc.start})")]) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(source), [Problem(str(source), f"invalid TOML: {exc}")]) from None


def _resolve(base: Path, value: str | os.PathLike[str]) -> Path:
    path = Path(value).expanduser()
    return Path(os.path.normpath(path if path.is_absolute() else base / path))


def _check_name(r: TableReader, name: str | None) -> None:
    if name and not NAME_RE.match(name):
        r.problem("name", f"{name!r} must be letters, digits, '_', '.' or '-' (it names files)")


def _duplicates(readers: list[TableReader], names: list[str | None], what: str) -> None:
    seen: dict[str, str] = {}
    for r, name in zip(readers, names):
        if name is None:
            continue
        if name in seen:
            r.problem("name", f"duplicate {what} name {name!r} (first at {seen[name]})")
        else:
            seen[name] = r.path


def _smokes(top: TableReader, workdir: Path) -> SmokesConfig:
    s = top.table("smokes", _SMOKES)
    timeout = s.duration("timeout", 120.0)
    default_layer = s.string("layer", "smokes") or "smokes"
    smokes: list[Smoke] = []
    readers = top.tables("smoke", _SMOKE)
    for r in readers:
        smokes.append(_smoke(r, workdir, timeout, default_layer))
    pattern = s.string("glob")
    if pattern:
        matches = sorted(globlib.glob(str(_resolve(workdir, pattern))))
        if not matches:
            s.problem("glob", f"matches no file under {workdir}")
        for match in matches:
            name = Path(match).stem.removesuffix("_smoke")
            smokes.append(Smoke(name=name, layer=default_layer, argv=(match,), shell=None,
                                timeout=timeout, cwd=workdir))
    names = [sm.name for sm in smokes]
    _duplicates(readers + [s] * (len(smokes) - len(readers)), names, "smoke")
    _check_needs(readers, smokes)
    parallel = s.integer("parallel", 1, minimum=1) or 1
    return SmokesConfig(
        stop_on_fail=s.boolean("stop_on_fail", True),
        parallel=parallel,
        timeout=timeout,
        grace=s.duration("grace", 5.0),
        smokes=tuple(smokes),
    )


def _smoke(r: TableReader, workdir: Path, default_timeout: float, default_layer: str) -> Smoke:
    name = r.string("name", required=True)
    _check_name(r, name)
    argv = r.argv("run")
    shell = r.string("shell")
    if argv is None and shell is None and not r.has("run"):
        r.problem(None, "needs `run` (a command) or `shell` (a /bin/sh -c string)")
    if r.has("run") and r.has("shell"):
        r.problem("shell", "give either `run` or `shell`, not both")
    cwd_value = r.string("cwd")
    return Smoke(
        name=name or f"<{r.path}>",
        layer=r.string("layer", default_layer) or default_layer,
        argv=argv,
        shell=shell,
        timeout=r.duration("timeout", default_timeout),
        cwd=_resolve(workdir, cwd_value) if cwd_value else workdir,
        env=r.string_map("env"),
        needs=r.string_list("needs"),
    )


def _check_needs(readers: list[TableReader], smokes: list[Smoke]) -> None:
    known = {s.name for s in smokes}
    graph = {s.name: s.needs for s in smokes}
    for r, smoke in zip(readers, smokes):
        for need in smoke.needs:
            if need not in known:
                r.problem("needs", f"names an unknown smoke {need!r}")
            elif need == smoke.name:
                r.problem("needs", "a smoke cannot need itself")
    cycle = _find_cycle(graph)
    if cycle:
        where = next((r for r, s in zip(readers, smokes) if s.name == cycle[0]), None)
        message = "dependency cycle: " + " -> ".join(cycle)
        if where is not None:
            where.problem("needs", message)


def _find_cycle(graph: Mapping[str, tuple[str, ...]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in graph.get(node, ()):
            if nxt == node or nxt not in graph:
                continue
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in graph:
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def _scrum(top: TableReader, workdir: Path, env: Mapping[str, str]) -> ScrumConfig:
    s = top.table("scrum", _SCRUM)
    timeout = s.duration("timeout", 300.0)
    reviewers: list[Reviewer] = []
    r_readers = s.tables("reviewer", _REVIEWER)
    for r in r_readers:
        name = r.string("name", required=True)
        _check_name(r, name)
        kind = r.string("kind", "openai", choices=("openai", "command", "replay")) or "openai"
        reviewer = Reviewer(
            name=name or f"<{r.path}>",
            lineage=r.string("lineage", required=True) or "",
            kind=kind,
            model=r.string("model"),
            run=r.argv("run"),
            file=r.string("file"),
            timeout=r.duration("timeout", timeout),
            price_per_mtok=_price(r),
        )
        needed = {"openai": "model", "command": "run", "replay": "file"}[kind]
        if not r.has(needed):
            r.problem(needed, f"is required for a reviewer of kind {kind!r}")
        reviewers.append(reviewer)
    _duplicates(r_readers, [r.name for r in reviewers], "reviewer")
    bundles: list[Bundle] = []
    b_readers = s.tables("bundle", _BUNDLE)
    for b in b_readers:
        name = b.string("name", required=True)
        _check_name(b, name)
        diff = b.string("diff")
        git = b.table("git", ("range", "paths")) if b.has("git") else None
        if (diff is None) == (git is None):
            b.problem(None, "needs exactly one of `diff` (a file) or `git = { range, paths }`")
        bundles.append(Bundle(
            name=name or f"<{b.path}>",
            diff=_resolve(workdir, diff) if diff else None,
            git_range=git.string("range", required=True) if git else None,
            git_paths=git.string_list("paths") if git else (),
        ))
    _duplicates(b_readers, [b.name for b in bundles], "bundle")
    gateway = env.get("LH_GATEWAY") or s.string("gateway")
    if bundles and any(r.kind == "openai" for r in reviewers) and not gateway:
        s.problem("gateway", "is required for openai reviewers (or set LH_GATEWAY)")
    if gateway and not gateway.startswith(("http://", "https://")):
        s.problem("gateway", f"expected an http(s) URL, got {shown_url(gateway)!r}")
    warn_kb = s.integer("warn_kb", 60, minimum=1) or 60
    max_kb = s.integer("max_kb", 100, minimum=1) or 100
    if warn_kb > max_kb:
        s.problem("warn_kb", f"({warn_kb}) is above max_kb ({max_kb})")
    if bundles and not reviewers:
        s.problem("reviewer", "bundles are listed but no [[scrum.reviewer]] is")
    prompt = s.string("prompt_file")
    ledger = s.string("findings_ignore")
    lineages = len({r.lineage for r in reviewers})
    min_lineages = s.integer("min_lineages", None, minimum=1) or 0
    if min_lineages > lineages:
        s.problem("min_lineages", f"({min_lineages}) is more than the {lineages} lineages the reviewers have")
    return ScrumConfig(
        gateway=gateway.rstrip("/") if gateway else None,
        api_key_env=s.string("api_key_env"),
        warn_kb=warn_kb,
        max_kb=max_kb,
        max_review_kb=s.integer("max_review_kb", 1024, minimum=1) or 1024,
        min_tokens_out=s.integer("min_tokens_out", 100, minimum=0) or 0,
        line_tolerance=s.integer("line_tolerance", 3, minimum=0) or 0,
        concurrency=s.integer("concurrency", 6, minimum=1) or 6,
        retries=s.integer("retries", 3, minimum=0) or 0,
        timeout=timeout,
        prompt_file=_resolve(workdir, prompt) if prompt else None,
        reviewers=tuple(reviewers),
        bundles=tuple(bundles),
        block_on=s.string("block_on", "convergent", choices=BLOCK_ON) or "convergent",
        findings_ignore=_resolve(workdir, ledger) if ledger else None,
        min_lineages=min_lineages,
    )


def _price(r: TableReader) -> tuple[float, float] | None:
    """`price_per_mtok = {input = 3.0, output = 15.0}`: what a million tokens cost each way."""
    if not r.has("price_per_mtok"):
        return None
    p = r.table("price_per_mtok", ("input", "output"))
    prices = []
    for key in ("input", "output"):
        value = p.raw.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 1e6:
            prices.append(float(value))
        elif value is None:
            p.problem(key, "is required: the price of a million tokens")
        else:
            p.problem(key, f"expected a price per million tokens (a number from 0 to 1000000), got {value!r}")
    return (prices[0], prices[1]) if len(prices) == 2 else None


def _parity(top: TableReader, workdir: Path, env: Mapping[str, str]) -> ParityConfig:
    p = top.table("parity", _PARITY)
    t = p.table("targets", None)
    targets: dict[str, str] = {}
    for name, url in t.raw.items():
        if isinstance(url, str) and url.startswith(("http://", "https://")):
            targets[name] = url.rstrip("/")
            if not _valid_port(url):
                t.problem(name, f"expected a port from 1 to 65535, got {url!r}")
        else:
            t.problem(name, f"expected an http(s) URL, got {shown_url(url) if isinstance(url, str) else url!r}")
    case_readers = p.tables("case", _CASE)
    cases_file = p.string("cases_file")
    stream: Path | None = None
    if cases_file:
        path = _resolve(workdir, cases_file)
        if path.suffix.lower() in JSONL_SUFFIXES:
            stream = path
            if not path.is_file():
                p.problem("cases_file", f"no such file: {path}")
        else:
            case_readers += _cases_from_file(p, path)
    spec = p.string("cases_openapi")
    generated_cases = None
    if spec:
        from .openapi_cases import from_openapi  # imports this module

        try:
            generated = from_openapi(_resolve(workdir, spec))
        except InputError as exc:
            p.problem("cases_openapi", str(exc))
        else:
            case_readers += TableReader({"case": generated.tables()}, f"{Path(spec).name}: ", p.problems,
                                        ("case",)).tables("case", _CASE)
            generated_cases = generated.toml()
    cases = [_case(c) for c in case_readers]
    for c in case_readers:  # a body is sent as JSON, and TOML says more (a JSON Lines file is checked as it is read)
        try:
            json.dumps(c.raw.get("json"), allow_nan=False)
        except (ValueError, TypeError) as exc:
            c.problem("json", f"not JSON data: {exc} (JSON has no nan, inf, date or time: write a string)")
    _duplicates(case_readers, [c.name for c in cases], "case")
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
        headers={name: _expand(p, f"headers.{name}", value, env) for name, value in p.string_map("headers").items()},
    )


_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _expand(r: TableReader, key: str, value: str, env: Mapping[str, str]) -> str:
    """`${NAME}` in a value replaced by that environment variable (a token kept out of the file)."""
    def one(match: re.Match[str]) -> str:
        if match.group(1) not in env:
            r.problem(key, f"environment variable {match.group(1)} is not set")
            return ""
        return env[match.group(1)]

    return _ENV_REF.sub(one, value)


def _secrets(config: Config, top: TableReader, env: Mapping[str, str]) -> Secrets:
    """Every secret the config knows, each checked long enough to mask (probes/redact.py)."""
    found: list[tuple[str, str, str]] = []  # (key path, what holds it, value)
    if config.scrum.api_key_env and env.get(config.scrum.api_key_env):
        found.append(("scrum.api_key_env", f"environment variable {config.scrum.api_key_env}",
                      env[config.scrum.api_key_env]))
    parity = top.raw.get("parity")
    headers = parity.get("headers") if isinstance(parity, dict) else None
    for name, value in headers.items() if isinstance(headers, dict) else ():
        for variable in _ENV_REF.findall(str(value)):
            if env.get(variable):
                found.append((f"parity.headers.{name}", f"environment variable {variable}", env[variable]))
    urls = [("scrum.gateway", "LH_GATEWAY" if env.get("LH_GATEWAY") else "", config.scrum.gateway or "")]
    urls += [(f"parity.targets.{name}", "", url) for name, url in config.parity.targets.items()]
    for where, variable, url in urls:
        holder = f"the password of the URL in {variable or where}"
        found += [(where, holder, value) for value in url_secrets(url)]
    for where, holder, value in found:
        if len(value) < MIN_LENGTH:
            top.problems.append(Problem(where, f"{holder} is too short to mask ({len(value)} characters, "
                                               f"at least {MIN_LENGTH}): a shorter secret would be masked "
                                               "wherever its letters occur"))
    return Secrets(tuple(value for _, _, value in found))


def _latency(p: TableReader) -> LatencyConfig:
    r = p.table("latency", _LATENCY)
    return LatencyConfig(
        repeats=r.integer("repeats", 30, minimum=MIN_REPEATS, maximum=MAX_REPEATS) or 30,
        warmup=r.integer("warmup", 3, minimum=0, maximum=MAX_WARMUP) or 0,
        max_ratio=r.number("max_ratio", 1.25, minimum=1.0, maximum=100.0),
    )


NOISE_SAMPLES_MAX = 20


def _valid_port(url: str) -> bool:
    """No port, or one a connection can be made to (`:99999` and `:notaport` are neither)."""
    try:
        port = urlsplit(url).port
    except ValueError:
        return False
    return port != 0


def _compare_rules(p: TableReader, ignore: tuple[str, ...]) -> tuple[int, Rules]:
    """`noise_samples` (`noise_check = true` is one sample), and the per-path rules: `ignore`
    (optionally scoped to one endpoint), `unordered`, `tolerance` and `numbers`."""
    from .noise import split_ignore  # imports this module

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


def _cases_from_file(p: TableReader, path: Path) -> list[TableReader]:
    try:
        raw = tomllib.loads(read_input(path, "a cases file"))
    except InputError as exc:
        p.problem("cases_file", str(exc))
        return []
    except tomllib.TOMLDecodeError as exc:
        p.problem("cases_file", f"{path}: invalid TOML: {exc}")
        return []
    return TableReader(raw, f"{path.name}: ", p.problems, ("case",)).tables("case", _CASE)


def read_case_lines(path: Path, taken: set[str]) -> Iterator[tuple[ParityCase | None, list[Problem]]]:
    """A JSON Lines cases file, one case object a line with the keys of [[parity.case]]: per
    line the case and its problems, each located `file:line`. `taken` holds the names seen so
    far (it grows as the file is read): a set of names is all that is kept of the file."""
    try:
        fh = open(path, "rb")
    except OSError as exc:
        raise InputError(f"{path}: cannot read the cases file: {exc.strerror or exc}") from None
    with fh:
        for number, raw in enumerate(fh, 1):
            if not raw.strip():
                continue
            where = f"{path.name}:{number}"
            problems: list[Problem] = []
            try:
                value = _CASE_JSON.decode(raw.rstrip(b"\r\n").decode("utf-8"))
            except UnicodeDecodeError as exc:
                yield None, [Problem(where, f"not UTF-8 text ({exc.reason} at byte {exc.start})")]
                continue
            except json.JSONDecodeError as exc:
                yield None, [Problem(where, f"invalid JSON: {exc.msg} (column {exc.colno})")]
                continue
            except ValueError as exc:
                yield None, [Problem(where, f"invalid JSON: {exc}")]
                continue
            if not isinstance(value, dict):
                yield None, [Problem(where, f"expected a JSON object (one case), got {json.dumps(value)[:40]}")]
                continue
            case = _case(TableReader(value, f"{where}: ", problems, _CASE))
            if case.name in taken:
                problems.append(Problem(f"{where}: name",
                                        f"duplicate case name {case.name!r} (an earlier case has it)"))
            taken.add(case.name)
            yield (None if problems else case), problems


def _no_constant(name: str) -> Any:
    """Python reads NaN and Infinity in JSON; no JSON body can carry them."""
    raise ValueError(f"{name} is not a JSON value")


_CASE_JSON = json.JSONDecoder(parse_constant=_no_constant)  # one decoder: json.loads with an option makes one a call


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


def _case(c: TableReader) -> ParityCase:
    name = c.string("name", required=True)
    _check_name(c, name)
    if c.has("json") and c.has("body"):
        c.problem("body", "give either `json` or `body`, not both")
    method = (c.string("method", "GET") or "GET").upper()
    if method not in _METHODS:
        c.problem("method", f"expected one of {', '.join(_METHODS)}, got {method!r}")
    path = c.string("path", "/") or "/"
    if not path.startswith("/"):
        c.problem("path", f"must start with '/', got {path!r}")
    template = c.string("template")
    if template is not None and not template.startswith("/"):
        c.problem("template", f"a path template starts with '/', got {template!r}")
    return ParityCase(
        name=name or f"<{c.path}>",
        method=method,
        path=path,
        query=c.string_map("query"),
        headers=c.string_map("headers"),
        json=c.raw.get("json", UNSET),
        body=c.string("body"),
        expect_status=c.integer("expect_status", None, minimum=100, maximum=599),
        template=template,
    )


def _verdict(top: TableReader, workdir: Path) -> VerdictConfig:
    v = top.table("verdict", _VERDICT)
    gaps = v.string("known_gaps")
    tracker = v.string("tracker")
    return VerdictConfig(
        known_gaps=_resolve(workdir, gaps) if gaps else None,
        tracker=_resolve(workdir, tracker) if tracker else None,
        latency=v.string("latency", "block", choices=LATENCY_MODES) or "block",
    )


def _stack(top: TableReader, workdir: Path) -> StackConfig:
    st = top.table("stack", _STACK)
    services: list[StackService] = []
    readers = st.tables("service", _SERVICE)
    for r in readers:
        name = r.string("name", required=True)
        _check_name(r, name)
        if r.has("bin") == r.has("run"):
            r.problem(None, "needs exactly one of `bin` (a program) or `run` (a command)")
        health = r.string("health")
        if health and not health.startswith(("/", "http://", "https://")):
            r.problem("health", f"expected a path like '/health' or a URL, got {health!r}")
        if health and health.startswith("/") and not r.has("port"):
            r.problem("port", "is required when `health` is a path")
        services.append(StackService(
            name=name or f"<{r.path}>",
            bin=r.string("bin"),
            run=r.argv("run"),
            args=r.string_list("args"),
            env=r.string_map("env"),
            port=r.integer("port", None, minimum=1, maximum=65535),
            health=health,
            health_timeout=r.duration("health_timeout", 30.0),
        ))
    _duplicates(readers, [s.name for s in services], "service")
    ports: dict[int, str] = {}
    for r, svc in zip(readers, services):
        if svc.port is not None:
            if svc.port in ports:
                r.problem("port", f"{svc.port} is also the port of {ports[svc.port]!r}")
            ports.setdefault(svc.port, svc.name)
    output = st.string("output")
    return StackConfig(
        output=_resolve(workdir, output) if output else None,
        up=st.boolean("up", False),
        services=tuple(services),
    )
