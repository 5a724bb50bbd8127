"""`[scrum]`: reviewers, bundles and the limits of the review scrum, read and validated."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from string import Template

from ..core import TableReader, check_duplicates, check_name, resolve_path, shown_url


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


_SCRUM = ("gateway", "api_key_env", "warn_kb", "max_kb", "max_review_kb", "min_tokens_out", "line_tolerance",
          "concurrency", "retries", "timeout", "prompt_file", "reviewer", "bundle", "block_on", "findings_ignore",
          "min_lineages")


_REVIEWER = ("name", "lineage", "kind", "model", "run", "file", "timeout", "price_per_mtok")


BLOCK_ON = ("convergent", "any-lineage")


_BUNDLE = ("name", "diff", "git")


def scrum_section(top: TableReader, workdir: Path, env: Mapping[str, str]) -> ScrumConfig:
    s = top.table("scrum", _SCRUM)
    timeout = s.duration("timeout", 300.0)
    reviewers: list[Reviewer] = []
    r_readers = s.tables("reviewer", _REVIEWER)
    for r in r_readers:
        name = r.string("name", required=True)
        check_name(r, name)
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
    check_duplicates(r_readers, [r.name for r in reviewers], "reviewer")
    bundles: list[Bundle] = []
    b_readers = s.tables("bundle", _BUNDLE)
    for b in b_readers:
        name = b.string("name", required=True)
        check_name(b, name)
        diff = b.string("diff")
        git = b.table("git", ("range", "paths")) if b.has("git") else None
        if (diff is None) == (git is None):
            b.problem(None, "needs exactly one of `diff` (a file) or `git = { range, paths }`")
        bundles.append(Bundle(
            name=name or f"<{b.path}>",
            diff=resolve_path(workdir, diff) if diff else None,
            git_range=git.string("range", required=True) if git else None,
            git_paths=git.string_list("paths") if git else (),
        ))
    check_duplicates(b_readers, [b.name for b in bundles], "bundle")
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
        prompt_file=resolve_path(workdir, prompt) if prompt else None,
        reviewers=tuple(reviewers),
        bundles=tuple(bundles),
        block_on=s.string("block_on", "convergent", choices=BLOCK_ON) or "convergent",
        findings_ignore=resolve_path(workdir, ledger) if ledger else None,
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


def prompt_template(config: ScrumConfig) -> Template:
    """The review prompt: the config's `prompt_file`, else the one shipped beside this module."""
    if config.prompt_file is not None:
        return Template(config.prompt_file.read_text("utf-8"))
    return Template(resources.files("probes.scrum").joinpath("prompt.md").read_text("utf-8"))
