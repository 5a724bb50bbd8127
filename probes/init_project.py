"""`gauntlet init`: a starter gauntlet.toml from what a project already has.

It looks for smoke scripts (and offers other test commands, commented out), an OpenAPI
contract found by its content (turned into parity cases), a Procfile
(the stack's services, and from their ports the parity targets), and git history (scrum
bundles cut under the size limit at file boundaries). What it found, what it guessed and
what a person must decide are said on the terminal and left as comments in the file
(`GUESSED`, `DECIDE`), and the file is loaded back before it is kept: a config init
writes is one `gauntlet check` accepts.
"""

from __future__ import annotations

import fnmatch
import os
import re
import shlex
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import tomlkit
from tomlkit.items import Table

from .cases import OpenApiCases, distinct, from_openapi, read_document, safe_name
from .config import load_config
from .core import InputError, write_atomic
from .scrum import ScrumConfig, guess_lineage, prompt_template, split_diff

CONFIG_NAME = "gauntlet.toml"
CASES_NAME = "gauntlet-cases.toml"
DEFAULT_LAYER = "smokes"
WARN_KB = 60  # the scrum's default warn size: bundles are cut so the prompt stays under it
SKIP_DIRS = frozenset({".git", ".hg", ".venv", "venv", "node_modules", "target", "__pycache__", "dist", "build",
                       ".tox", ".mypy_cache", ".pytest_cache", "reports"})
MAX_DEPTH = 4
CONTRACT_NAME = re.compile(r"(?i)^((.*[._-])?openapi([._-].*)?|api)\.(ya?ml|json)$")  # looked at first
CONTRACT_SUFFIXES = (".yaml", ".yml", ".json")
CONTRACT_DEPTH = 3
MAX_CONTRACT_BYTES = 20 * 1024 * 1024  # a larger YAML or JSON file is data, not a contract
# A top-level `openapi` key: at the start of a YAML line, or as a JSON key; a file without
# one is not parsed at all (a repository has many YAML and JSON files: CI, lock files).
OPENAPI_KEY = re.compile(rb'(?m)^openapi\s*:|"openapi"\s*:')
TEST_SCRIPTS = ("scripts/test.sh", "scripts/tests.sh", "scripts/run_tests.sh", "test.sh", "run_tests.sh")
MAKE_TEST = re.compile(r"(?m)^test\s*:(?!=)")
HEALTH_PATHS = ("/health", "/healthz", "/livez", "/ready", "/readyz")
PORT_IN_COMMAND = (re.compile(r"--port[= ](\d{2,5})\b"), re.compile(r"\bPORT=(\d{2,5})\b"),
                   re.compile(r"(?:^|\s)-p\s?(\d{2,5})\b"), re.compile(r":(\d{2,5})\b"))
SHELL_SYNTAX = re.compile(r"[$&|;<>`]")


@dataclass(frozen=True)
class InitOptions:
    directory: Path
    targets: Sequence[tuple[str, str]] = ()  # NAME=URL, the first is the reference
    layers: Sequence[tuple[str, str]] = ()  # LAYER=GLOB over smoke names and paths, first match wins
    git_range: str | None = None
    reviewers: Sequence[tuple[str, str]] = ()  # NAME=MODEL, through the gateway
    gateway: str | None = None
    force: bool = False


@dataclass
class InitReport:
    """What init saw, for the terminal: each line already says what it is about."""

    config: Path
    cases_file: Path | None = None
    found: list[str] = field(default_factory=list)
    guessed: list[str] = field(default_factory=list)
    decide: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Service:
    name: str
    run: list[str]
    port: int | None
    health: str | None


def write_starter(options: InitOptions) -> InitReport:
    """Write `<dir>/gauntlet.toml` (and the cases a contract gives); never over a file
    already there unless `force`."""
    root = options.directory
    if not root.is_dir():
        raise InputError(f"{root}: no such directory")
    config_path, cases_path = root / CONFIG_NAME, root / CASES_NAME
    for path in (config_path, cases_path):
        if path.exists() and not options.force:
            raise InputError(f"{path}: already exists; nothing was written (--force overwrites it)")
    _check_targets(options.targets)
    if options.reviewers and not (options.gateway or os.environ.get("LH_GATEWAY")):
        raise InputError("--reviewer: reviewers need a gateway (--gateway URL, or set LH_GATEWAY)")
    report = InitReport(config_path)
    doc = tomlkit.document()
    doc.add(tomlkit.comment(f"gauntlet config for {root.resolve().name}, written by `gauntlet init`."))
    doc.add(tomlkit.comment("GUESSED marks what init inferred (check it); DECIDE marks what a person must choose."))
    doc.add(tomlkit.nl())
    head = tomlkit.table()
    head.add("name", root.resolve().name)
    head.add("out_dir", "reports/gauntlet")
    doc.add("gauntlet", head)
    _smokes(doc, root, options.layers, report)
    _other_tests(doc, root, report)
    _scrum(doc, root, options, report)
    contract = _contract(root, report)
    services = _services(root, contract, report)
    generated = _cases(contract, report)
    _parity(doc, options.targets, services, contract, generated, report)
    _stack(doc, services, report)
    if generated is not None:
        write_atomic(cases_path, generated.toml())
        report.cases_file = cases_path
    write_atomic(config_path, tomlkit.dumps(doc))
    load_config(config_path)  # what init writes, `gauntlet check` reads: a slip here is ours, and loud
    return report


def _check_targets(targets: Sequence[tuple[str, str]]) -> None:
    for name, url in targets:
        if not url.startswith(("http://", "https://")):
            raise InputError(f"--target {name}={url}: expected an http(s) URL")
    names = [name for name, _ in targets]
    if len(set(names)) != len(names):
        raise InputError(f"--target: a name is given twice ({', '.join(names)})")
    if len(targets) == 1:
        raise InputError("--target: parity needs the reference and at least one candidate (give two)")


def _walk(root: Path, depth: int) -> list[Path]:
    """Files under root to `depth` folders down, build and tool folders left out, sorted."""
    out = []
    for folder, dirs, files in os.walk(root):
        rel = Path(folder).relative_to(root)
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith(".")
                         and len(rel.parts) < depth)
        out += [Path(folder) / f for f in files]
    return sorted(out, key=lambda p: (len(p.relative_to(root).parts), str(p)))


# ---- smokes -----------------------------------------------------------------------------

def find_smokes(root: Path) -> list[Path]:
    """`scripts/*_smoke.sh`, and any executable file with `smoke` in its name."""
    found = set(root.glob("scripts/*_smoke.sh"))
    found.update(p for p in _walk(root, MAX_DEPTH) if "smoke" in p.name.lower() and os.access(p, os.X_OK))
    return sorted((p for p in found if p.is_file()), key=lambda p: str(p.relative_to(root)))


def _smoke_name(path: Path) -> str:
    stem = path.stem
    for affix in ("_smoke", "-smoke", ".smoke"):
        stem = stem.removesuffix(affix)
    for affix in ("smoke_", "smoke-"):
        stem = stem.removeprefix(affix)
    return safe_name(stem, "smoke")


def _smokes(doc: tomlkit.TOMLDocument, root: Path, layers: Sequence[tuple[str, str]], report: InitReport) -> None:
    scripts = find_smokes(root)
    if not scripts:
        doc.add(tomlkit.comment("DECIDE: no smoke script found (scripts/*_smoke.sh or an executable *smoke*);"))
        doc.add(tomlkit.comment("add [[smoke]] tables: name, layer, run"))
        doc.add(tomlkit.nl())
        report.decide.append("smokes: none found; add [[smoke]] tables")
        return
    section = tomlkit.table()
    section.add("stop_on_fail", True)
    section.add("timeout", tomlkit.item("120s").comment("DECIDE: the longest a smoke may take"))
    doc.add("smokes", section)
    tables = tomlkit.aot()
    counts: dict[str, int] = {}
    for script, name in zip(scripts, distinct(_smoke_name(s) for s in scripts)):
        rel = script.relative_to(root).as_posix()
        layer = next((layer for layer, pattern in layers
                      if fnmatch.fnmatch(name, pattern) or fnmatch.fnmatch(rel, pattern)), DEFAULT_LAYER)
        counts[layer] = counts.get(layer, 0) + 1
        table = tomlkit.table()
        table.add("name", name)
        table.add("layer", layer)
        if os.access(script, os.X_OK):
            table.add("run", [f"./{rel}"])
        else:
            table.add("run", tomlkit.item(["sh", rel]).comment("GUESSED: not executable, so run with sh"))
            report.guessed.append(f"smoke {name}: {rel} is not executable; run with sh")
        tables.append(table)
    doc.add("smoke", tables)
    layer_text = ", ".join(f"{layer} ({n})" for layer, n in counts.items())
    report.found.append(f"{len(scripts)} smoke script(s) in layer(s) {layer_text}: "
                        + ", ".join(s.relative_to(root).as_posix() for s in scripts))
    if not layers:
        report.decide.append(f"smokes: all in one layer {DEFAULT_LAYER!r}; --layer NAME=GLOB groups them")


def find_test_commands(root: Path) -> list[tuple[str, list[str], str]]:
    """Test commands that are not smokes by name: (name, argv, where found) for a test
    script (`scripts/test.sh`) and a Makefile's `test` target."""
    found = []
    for rel in TEST_SCRIPTS:
        path = root / rel
        if path.is_file():
            argv = [f"./{rel}"] if os.access(path, os.X_OK) else ["sh", rel]
            found.append((safe_name(Path(rel).stem, "test"), argv, rel))
    makefile = root / "Makefile"
    if makefile.is_file() and MAKE_TEST.search(makefile.read_text("utf-8", errors="replace")):
        found.append(("make-test", ["make", "test"], "Makefile (target test)"))
    return found


def _other_tests(doc: tomlkit.TOMLDocument, root: Path, report: InitReport) -> None:
    """Test commands offered as smokes, commented out: a whole test suite is slower and
    broader than a smoke, so a person decides."""
    commands = find_test_commands(root)
    if not commands:
        return
    names = set(distinct(_smoke_name(s) for s in find_smokes(root)))
    doc.add(tomlkit.comment("DECIDE: test commands found beside the smokes; uncomment to run them as smokes"))
    for name, argv, where in commands:
        holder = tomlkit.document()
        table = tomlkit.table()
        table.add("name", name if name not in names else f"{name}-suite")
        table.add("layer", DEFAULT_LAYER)
        table.add("run", argv)
        tables = tomlkit.aot()
        tables.append(table)
        holder.add("smoke", tables)
        for line in tomlkit.dumps(holder).strip().splitlines():
            doc.add(tomlkit.comment(line))
    doc.add(tomlkit.nl())
    report.decide.append("smokes: test commands offered commented out: "
                         + ", ".join(f"{' '.join(argv)} ({where})" for _, argv, where in commands))


# ---- scrum ------------------------------------------------------------------------------

def _git(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    argv = ["git", "-C", str(root), *args]
    try:
        return subprocess.run(argv, capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        return subprocess.CompletedProcess(argv, 127, "", "git: not found on PATH")


def _default_range(root: Path) -> tuple[str | None, str]:
    """The latest tag to HEAD, else the last five commits; (None, why) when there is none."""
    tag = _git(root, "describe", "--tags", "--abbrev=0")
    if tag.returncode == 0 and tag.stdout.strip():
        return f"{tag.stdout.strip()}..HEAD", f"since the latest tag {tag.stdout.strip()}"
    count = _git(root, "rev-list", "--count", "HEAD")
    commits = int(count.stdout.strip()) if count.returncode == 0 and count.stdout.strip().isdigit() else 0
    if commits < 2:
        return None, "fewer than two commits: no range to review (--git-range A..B gives one)"
    n = min(5, commits - 1)
    return f"HEAD~{n}..HEAD", f"the last {n} commit(s)"


def _scrum(doc: tomlkit.TOMLDocument, root: Path, options: InitOptions, report: InitReport) -> None:
    inside = _git(root, "rev-parse", "--is-inside-work-tree")
    if inside.returncode != 0 or inside.stdout.strip() != "true":
        if options.git_range:
            raise InputError(f"--git-range: {root} is not in a git repository")
        report.found.append("no git repository: no scrum bundles")
        return
    git_range, why = (options.git_range, "as given") if options.git_range else _default_range(root)
    if git_range is None:
        report.found.append(f"git: {why}")
        return
    diff = _git(root, "diff", "--no-color", "--no-ext-diff", "--relative", git_range)
    if diff.returncode != 0:
        message = f"git diff {git_range}: {diff.stderr.strip().splitlines()[0] if diff.stderr.strip() else 'failed'}"
        if options.git_range:
            raise InputError(message)
        report.found.append(f"{message}: no scrum bundles")
        return
    if not diff.stdout.strip():
        report.found.append(f"git {git_range} ({why}): no change under {root}: no scrum bundles")
        return
    limit_kb = WARN_KB - len(prompt_template(ScrumConfig()).template.encode()) / 1024
    bundles, too_big = split_diff(diff.stdout, limit_kb, source=f"git diff {git_range}")
    active = bool(options.reviewers)
    section = _scrum_section(bundles, git_range, options if active else InitOptions(
        options.directory, gateway="http://127.0.0.1:4110/v1", reviewers=[("REVIEWER", "MODEL")]))
    report.found.append(f"git {git_range} ({why}): {len(bundles)} scrum bundle(s) under {WARN_KB} KB: "
                        + ", ".join(f"{b.name} ({b.size / 1024:.1f} KB)" for b in bundles))
    for f in too_big:
        report.decide.append(f"scrum: {f.path} alone is {f.size / 1024:.0f} KB, over the limit: "
                             "its bundle will be refused unless forced")
    if active:
        doc.add("scrum", section)
        return
    doc.add(tomlkit.nl())
    doc.add(tomlkit.comment("DECIDE: the scrum needs reviewers of two lineages or more and their gateway: fill them"))
    doc.add(tomlkit.comment("in below and uncomment (or run `gauntlet init --reviewer NAME=MODEL --gateway URL`)."))
    holder = tomlkit.document()
    holder.add("scrum", section)
    for line in tomlkit.dumps(holder).strip().splitlines():
        doc.add(tomlkit.comment(line))
    doc.add(tomlkit.nl())
    report.decide.append("scrum: written commented out; it needs reviewers (--reviewer NAME=MODEL --gateway URL)")


def _scrum_section(bundles: Sequence[Any], git_range: str, options: InitOptions) -> Table:
    section = tomlkit.table()
    if options.gateway:
        section.add("gateway", options.gateway)
    section.add("warn_kb", WARN_KB)
    section.add(tomlkit.comment('DECIDE: api_key_env = "NAME" names the variable holding the gateway key'))
    reviewers = tomlkit.aot()
    for name, model in options.reviewers:
        table = tomlkit.table()
        table.add("name", safe_name(name, "reviewer"))
        by_model = guess_lineage(model)
        table.add("lineage", tomlkit.item(by_model if by_model != model.lower() else guess_lineage(name))
                  .comment("GUESSED from the name: convergence counts distinct lineages"))
        table.add("kind", "openai")
        table.add("model", model)
        reviewers.append(table)
    if options.reviewers:
        section.add("reviewer", reviewers)
    tables = tomlkit.aot()
    for b in bundles:  # a folder that is one bundle is named as the folder; a part lists its files
        whole_folder = b.name != "root" and all(f.path.startswith(b.name + "/") for f in b.files)
        paths = [b.name] if whole_folder else [f.path for f in b.files]
        table = tomlkit.table()
        table.add("name", safe_name(b.name, "bundle"))
        git = tomlkit.inline_table()
        git.update({"range": git_range, "paths": paths})
        table.add("git", git)
        tables.append(table)
    section.add("bundle", tables)
    return section


# ---- contract, services, parity ---------------------------------------------------------

def _contract(root: Path, report: InitReport) -> Path | None:
    """The OpenAPI contract: a YAML or JSON file with a top-level `openapi: 3.x` key, whatever
    its name (`openapi.yaml`, `api.json` and the like are looked at first)."""
    files = [p for p in _walk(root, CONTRACT_DEPTH) if p.suffix.lower() in CONTRACT_SUFFIXES]
    files.sort(key=lambda p: not CONTRACT_NAME.match(p.name))
    readable = [path for path in files if _is_contract(path)]
    if not readable:
        report.found.append(f"no OpenAPI contract among {len(files)} YAML/JSON file(s) up to {CONTRACT_DEPTH} "
                            "folders deep (a top-level `openapi:` key; build, tool and hidden folders left out)")
        return None
    report.found.append(f"{readable[0].relative_to(root).as_posix()}: an OpenAPI contract (by its `openapi:` key, "
                        f"among {len(files)} YAML/JSON file(s) up to {CONTRACT_DEPTH} folders deep)")
    if len(readable) > 1:
        others = ", ".join(p.relative_to(root).as_posix() for p in readable[1:])
        report.decide.append(f"parity: several contracts; {readable[0].relative_to(root).as_posix()} "
                             f"used, not {others}")
    return readable[0]


def _is_contract(path: Path) -> bool:
    try:
        if path.stat().st_size > MAX_CONTRACT_BYTES or not OPENAPI_KEY.search(path.read_bytes()):
            return False
        doc = read_document(path)
    except (OSError, InputError):
        return False
    return isinstance(doc, dict) and str(doc.get("openapi", "")).startswith("3.")


def _cases(contract: Path | None, report: InitReport) -> OpenApiCases | None:
    if contract is None:
        return None
    try:
        generated = from_openapi(contract)
    except InputError as exc:
        report.decide.append(f"parity: the contract cannot be read, no cases made: {exc}")
        return None
    report.found.append(f"OpenAPI {generated.openapi} contract {contract.name}: {generated.operations} "
                        f"operation(s), {len(generated.cases)} parity cases → {CASES_NAME}")
    report.found += [f"  note: {note}" for note in generated.notes]
    return generated


def _health_path(contract: Path | None) -> str | None:
    if contract is None:
        return None
    try:
        paths = read_document(contract).get("paths") or {}
    except InputError:
        return None
    return next((p for p in HEALTH_PATHS if isinstance(paths.get(p), dict) and "get" in paths[p]), None)


def _splits(command: str) -> bool:
    """Whether the command splits like a shell would without one (its quotes are closed)."""
    try:
        shlex.split(command)
    except ValueError:
        return False
    return True


def _services(root: Path, contract: Path | None, report: InitReport) -> list[Service]:
    """The processes a Procfile names (`name: command`), with the port each listens on."""
    procfile = root / "Procfile"
    if not procfile.is_file():
        return []
    health = _health_path(contract)
    services = []
    for line in procfile.read_text("utf-8", errors="replace").splitlines():
        name, sep, command = line.partition(":")
        if not sep or line.lstrip().startswith("#") or not name.strip() or not command.strip():
            continue
        command = command.strip()
        port = next((int(m.group(1)) for rx in PORT_IN_COMMAND if (m := rx.search(command))), None)
        run = ["/bin/sh", "-c", command] if SHELL_SYNTAX.search(command) or not _splits(command) else (
            shlex.split(command))
        services.append(Service(safe_name(name.strip(), "service"), run, port, health if port else None))
    if services:
        report.found.append("Procfile: " + ", ".join(
            f"{s.name}" + (f" (:{s.port})" if s.port else " (port unknown)") for s in services))
    if health and any(s.port for s in services):
        report.guessed.append(f"stack: health check {health}, from the contract")
    return services


def _parity(doc: tomlkit.TOMLDocument, targets: Sequence[tuple[str, str]], services: list[Service],
            contract: Path | None, generated: OpenApiCases | None, report: InitReport) -> None:
    section = tomlkit.table()
    chosen: list[tuple[str, str]] = list(targets)
    note = "the first --target"
    if not chosen:
        with_port = [s for s in services if s.port]
        if len(with_port) >= 2:
            chosen = [(s.name, f"http://127.0.0.1:{s.port}") for s in with_port]
            note = "GUESSED: the first Procfile service"
            report.guessed.append("parity targets from the Procfile's ports: "
                                  + ", ".join(f"{n} = {u}" for n, u in chosen) + f" (reference: {chosen[0][0]})")
        else:
            chosen = [("reference", "http://127.0.0.1:8080"), ("candidate", "http://127.0.0.1:8081")]
            note = "DECIDE: the implementation the others must match"
            report.decide.append("parity: targets are placeholders; give --target NAME=URL twice "
                                 "(the first is the reference) or edit [parity.targets]")
    server = generated.server_path if generated is not None else ""
    if server and targets and not all(urlsplit(url).path.rstrip("/") == server for _, url in chosen):
        report.decide.append(f"parity: the contract's server path is {server}; each target's URL ends with it "
                             f"(--target NAME=http://host:port{server})")
    elif server and not targets:
        chosen = [(name, url + server) for name, url in chosen]
        report.guessed.append(f"parity: the targets' URLs end with the contract's server path {server}")
    section.add("reference", tomlkit.item(chosen[0][0]).comment(note))
    section.add("timeout", "5s")
    section.add("compare_headers", ["content-type"])
    if generated is not None and contract is not None:
        rel = contract.relative_to(report.config.parent).as_posix()
        section.add("cases_file", tomlkit.item(CASES_NAME).comment(f"generated from {rel}"))
        section.add(tomlkit.comment(f"regenerate after the contract changes: gauntlet cases from-openapi {rel} "
                                    f"--out {CASES_NAME}"))
    else:
        section.add(tomlkit.comment("DECIDE: no contract found; add [[parity.case]] tables or a cases_file"))
        report.decide.append("parity: no OpenAPI contract found; add cases (gauntlet cases from-har FILE makes "
                             "them from recorded traffic)")
    urls = tomlkit.table()
    for name, url in chosen:
        urls.add(name, url)
    section.add("targets", urls)
    doc.add("parity", section)


def _stack(doc: tomlkit.TOMLDocument, services: list[Service], report: InitReport) -> None:
    if not services:
        return
    ready = all(s.port and s.health for s in services)
    section = tomlkit.table()
    section.add("up", tomlkit.item(ready).comment(
        "DECIDE: true starts these for each run and stops them after; false if they run already"))
    tables = tomlkit.aot()
    for s in services:
        table = tomlkit.table()
        table.add("name", s.name)
        table.add("run", s.run)
        if s.port:
            table.add("port", s.port)
        if s.health:
            table.add("health", s.health)
        else:
            table.add(tomlkit.comment('DECIDE: health = "/health" (a path it answers once ready), and port'))
        tables.append(table)
    section.add("service", tables)
    doc.add("stack", section)
    if not ready:
        report.decide.append("stack: a service has no port or health check; `up` is false until it does")

