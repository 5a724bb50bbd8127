"""Phase 2: the per-component scrum.

Each bundle (a diff under the size limit) goes to every reviewer at once, up to
`scrum.concurrency` reviews in flight. The lesson it encodes: a 165 KB diff made two of
three reviewers give up, so the size guard warns above `warn_kb` and refuses above
`max_kb` unless forced. Reviews stream into the event stream as they arrive; the tally
(tally.py) runs per bundle when its last review lands. The API key is read from the
environment at the moment of the request and scrubbed from anything that is kept.
"""

from __future__ import annotations

import asyncio
import codecs
import email.utils
import json
import os
import re
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from string import Template
from typing import Any, TypeVar

import httpx

from ..core import FindingState, Secrets, neutralise, procs
from ..core.events import (
    BundleTallied,
    DismissalRow,
    EventBus,
    LocationRow,
    Notice,
    PlannedBundle,
    PlannedReviewer,
    ReviewChunk,
    ReviewerRow,
    ReviewFinished,
    ReviewStarted,
    ScrumPlanned,
    UnanchoredRow,
)
from ._config import Bundle, Reviewer, ScrumConfig, prompt_template
from ._findings import summary_tokens
from ._hunks import BUNDLE_DIFF
from ._ledger import active, load_ledger
from ._tally import Review, Tally, estimate_tokens, parse_review, recall, tally

T = TypeVar("T")

CHUNK_EVERY = 0.1  # seconds between ReviewChunk events for one review
EXCERPT_CHARS = 16 * 1024  # most of a review the events carry: the review file has the rest
BACKOFF = (0.5, 1.0, 2.0, 4.0, 8.0)
MAX_RETRY_AFTER = 60.0
ABSURD_RETRY_AFTER = 86400.0  # a gateway asking for more than a day is not giving advice
_DELAY_SECONDS = re.compile(r"\d+(?:\.\d+)?")  # delay-seconds, digits only (a fraction tolerated)


@dataclass(frozen=True)
class BundleText:
    name: str
    diff: str
    prompt: str
    guard: str  # ok | warn | refused | error
    reason: str = ""

    @property
    def kb(self) -> float:
        return len(self.diff.encode()) / 1024

    @property
    def sent_kb(self) -> float:
        return len(self.prompt.encode()) / 1024


@dataclass
class ReviewOutcome:
    text: str = ""
    parts: list[str] = field(default_factory=list)  # the text as it streams in
    tokens_out: int = 0
    tokens_estimated: bool = False
    tokens_in: int = 0
    partial: bool = False
    error: str | None = None
    retries: int = 0
    cap: int = 0  # bytes of review kept at most (`max_review_kb`); 0: no cap
    size: int = 0  # bytes taken so far
    cut_kb: int = 0  # set when the review reached the cap: the rest was never read

    def take(self, text: str) -> str:
        """What of `text` fits under the cap. A 50 MB answer must not be held (nor written,
        nor carried by events) whole: at the cap the review is cut, marked partial, and the
        caller stops reading."""
        size = len(text.encode())
        if not self.cap or self.size + size <= self.cap:
            self.size += size
            return text
        kept = text.encode()[:self.cap - self.size].decode(errors="ignore")
        self.size, self.cut_kb, self.partial = self.cap, self.cap // 1024, True
        return kept


async def load_bundle(bundle: Bundle, config: ScrumConfig, workdir: Path, template: Template,
                      force_oversize: bool) -> BundleText:
    """The bundle's diff and prompt, with the size guard applied to the bytes sent."""
    try:
        diff = await _diff_text(bundle, workdir)
    except (OSError, RuntimeError) as exc:
        return BundleText(bundle.name, "", "", "error", str(exc))
    prompt = template.safe_substitute(bundle=bundle.name, diff=diff, kb=f"{len(diff.encode()) / 1024:.0f}")
    sent_kb = len(prompt.encode()) / 1024
    if sent_kb > config.max_kb:
        if not force_oversize:
            return BundleText(bundle.name, diff, prompt, "refused",
                              f"{sent_kb:.0f} KB to send is over max_kb {config.max_kb}: split it "
                              "(gauntlet bundle split) or force with --force-oversize / SCRUM_FORCE_OVERSIZE=1")
        return BundleText(bundle.name, diff, prompt, "warn", f"{sent_kb:.0f} KB is over max_kb {config.max_kb} (forced)")
    if sent_kb > config.warn_kb:
        return BundleText(bundle.name, diff, prompt, "warn",
                          f"{sent_kb:.0f} KB is over warn_kb {config.warn_kb}: reviewers may disengage")
    return BundleText(bundle.name, diff, prompt, "ok")


async def _diff_text(bundle: Bundle, workdir: Path) -> str:
    if bundle.diff is not None:
        try:
            return bundle.diff.read_bytes().decode("utf-8", errors="replace")
        except FileNotFoundError:
            raise OSError(f"no such diff file: {bundle.diff}") from None
    argv = ["git", "diff", "--no-color", "--no-ext-diff", bundle.git_range or "HEAD", "--", *bundle.git_paths]
    proc = await asyncio.create_subprocess_exec(*argv, cwd=str(workdir), stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE, stdin=asyncio.subprocess.DEVNULL)
    out, err = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"`{' '.join(argv)}` in {workdir} failed: {neutralise(err.decode(errors='replace')).strip()}")
    if not out.strip():
        raise RuntimeError(f"`{' '.join(argv)}` in {workdir} gave an empty diff")
    return out.decode("utf-8", errors="replace")


class _Chunks:
    """Throttles a review's stream into ReviewChunk events (display-safe, key redacted).

    The last few characters are held back until more arrive, so a secret split across
    two chunks is still whole when it is redacted. The events carry the first
    EXCERPT_CHARS of a review and then say how much more the review file holds.
    """

    def __init__(self, bus: EventBus, bundle: str, reviewer: str, redact: Callable[[str], str],
                 hold: int) -> None:
        self.bus, self.bundle, self.reviewer = bus, bundle, reviewer
        self.redact, self.hold = redact, hold
        self.pending: list[str] = []
        self.last = 0.0
        self.room = EXCERPT_CHARS  # characters the events may still carry
        self.withheld = 0

    def add(self, text: str) -> None:
        if len(text) > self.room:
            self.withheld += len(text) - self.room
            text = text[:self.room]
        self.room -= len(text)
        if text:
            self.pending.append(text)
        if time.monotonic() - self.last >= CHUNK_EVERY:
            self.flush(final=False)

    def flush(self, *, final: bool = True) -> None:
        text = self.redact("".join(self.pending))
        cut = len(text) if final or not self.hold else max(0, len(text) - self.hold)
        self.pending = [text[cut:]] if cut < len(text) else []
        shown = text[:cut]
        if final and self.withheld:
            shown += f"\n… {self.withheld:,} more characters in the review file\n"
            self.withheld = 0
        if shown:
            self.bus.emit(ReviewChunk(self.bundle, self.reviewer, neutralise(shown)))
            self.last = time.monotonic()


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """The wait a Retry-After header asks for, capped at MAX_RETRY_AFTER; None when the
    header is no usable advice (not delay-seconds nor an HTTP date with a zone, a date not
    in the future, or absurdly far off), so the caller falls back to its own schedule."""
    value = (value or "").strip()
    if _DELAY_SECONDS.fullmatch(value):
        delay = float(value)
    else:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when.tzinfo is None:  # no zone, or "-0000": not an HTTP date, which is always GMT
            return None
        delay = (when - now).total_seconds()
        if delay <= 0:
            return None
    return min(delay, MAX_RETRY_AFTER) if delay <= ABSURD_RETRY_AFTER else None


def _retry_after(response: httpx.Response, attempt: int) -> tuple[float, str]:
    """(seconds to wait, a note for the operator when the gateway's advice was ignored)."""
    value = response.headers.get("retry-after")
    wait = parse_retry_after(value, datetime.now(UTC))
    if wait is not None:
        return wait, ""
    note = f" (its Retry-After {neutralise(value[:40])!r} is unusable)" if value else ""
    return BACKOFF[min(attempt, len(BACKOFF) - 1)], note


async def review_openai(client: httpx.AsyncClient, config: ScrumConfig, reviewer: Reviewer, prompt: str,
                        on_text: Callable[[str], None], notice: Callable[[str], None],
                        out: ReviewOutcome) -> ReviewOutcome:
    """One streamed chat completion into `out`; 429 and 5xx retried (Retry-After honoured)
    until the first byte of an answer, after which a broken stream keeps its text, marked
    partial. `out` is the caller's, so a timeout from outside still has the text so far."""
    url = f"{config.gateway}/chat/completions"
    body = {"model": reviewer.model, "stream": True, "stream_options": {"include_usage": True},
            "messages": [{"role": "user", "content": prompt}]}
    headers = {"Accept": "text/event-stream"}
    key = os.environ.get(config.api_key_env or "") if config.api_key_env else None
    if key:
        headers["Authorization"] = f"Bearer {key}"
    parts = out.parts
    for attempt in range(config.retries + 1):
        out.retries = attempt
        try:
            async with client.stream("POST", url, json=body, headers=headers) as response:
                if response.status_code == 429 or response.status_code >= 500:
                    detail = (await response.aread())[:200].decode(errors="replace")
                    if attempt < config.retries:
                        wait, note = _retry_after(response, attempt)
                        notice(f"HTTP {response.status_code}, retry {attempt + 1}/{config.retries} in {wait:g}s{note}")
                        await asyncio.sleep(wait)
                        continue
                    out.error = f"HTTP {response.status_code} after {attempt + 1} attempts: {detail.strip()}"
                    return out
                if response.status_code >= 400:
                    detail = (await response.aread())[:300].decode(errors="replace")
                    out.error = f"HTTP {response.status_code}: {detail.strip()}"
                    return out
                malformed = await _read_stream(response, parts, out, on_text)
                if malformed:
                    notice(f"{malformed} malformed stream chunk(s) skipped")
                break
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            if attempt < config.retries:
                wait = BACKOFF[min(attempt, len(BACKOFF) - 1)]
                notice(f"cannot connect ({exc}), retry {attempt + 1}/{config.retries} in {wait:g}s")
                await asyncio.sleep(wait)
                continue
            out.error = f"cannot connect to the gateway {config.gateway}: {exc}"
            return out
        except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
            if not parts and attempt < config.retries:
                continue
            out.partial = True
            out.error = None if parts else f"the stream broke before any text: {exc}"
            break
    out.text = "".join(parts)
    if not out.tokens_out:  # the gateway sent no usage: both sides estimated, and marked so
        out.tokens_out, out.tokens_in, out.tokens_estimated = estimate_tokens(out.text), estimate_tokens(prompt), True
    return out


async def _read_stream(response: httpx.Response, parts: list[str], out: ReviewOutcome,
                       on_text: Callable[[str], None]) -> int:
    """Server-sent events of an OpenAI-compatible stream; returns the malformed count."""
    malformed = 0
    async for line in response.aiter_lines():
        if not line.startswith("data:"):
            continue
        data = line[5:].strip()
        if data == "[DONE]":
            return malformed
        try:
            chunk = json.loads(data)
            if "error" in chunk:
                raise RuntimeError(str(chunk["error"]))
            usage = chunk.get("usage") or {}
            if usage.get("completion_tokens") is not None:
                out.tokens_out = int(usage["completion_tokens"])
                out.tokens_in = int(usage.get("prompt_tokens") or 0)
            for choice in chunk.get("choices") or ():
                text = out.take((choice.get("delta") or {}).get("content") or "")
                if text:
                    parts.append(text)
                    on_text(text)
                if out.cut_kb:
                    return malformed  # leaving the stream closes the response: the rest is never read
        except (json.JSONDecodeError, AttributeError, TypeError, ValueError):
            malformed += 1
        except RuntimeError as exc:
            out.error = f"the gateway reported an error mid-stream: {exc}"
            out.partial = bool(parts)
            return malformed
    out.partial = True  # the stream ended without [DONE]
    return malformed


async def review_command(reviewer: Reviewer, prompt: str, cwd: Path, stderr_log: Path,
                         on_text: Callable[[str], None], grace: float = 2.0,
                         secrets: Secrets = Secrets(), cap: int = 0) -> ReviewOutcome:
    """A program that reads the prompt on stdin and writes the review on stdout; its stderr
    goes to `stderr_log`, masked as it is written like a smoke's log. A review reaching
    `cap` bytes is cut there and the program stopped."""
    assert reviewer.run is not None
    out = ReviewOutcome(cap=cap)
    chunks = out.parts
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    enough: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def keep(text: str) -> None:
        if out.cut_kb:
            return  # the program is being stopped: what it still writes is not read
        text = out.take(text)
        if text:
            chunks.append(text)
            on_text(text)
        if out.cut_kb and not enough.done():
            enough.set_result(None)

    def on_data(data: bytes) -> None:
        keep(decoder.decode(data))

    stderr_log.parent.mkdir(parents=True, exist_ok=True)
    with open(stderr_log, "wb") as err:
        try:
            child = await procs.spawn(reviewer.run, procs.ToMemory(on_data), cwd=cwd, stdin=asyncio.subprocess.PIPE,
                                      stderr=procs.ToFile(err.fileno(), lambda _: None, secrets=secrets))
        except OSError as exc:
            out.error = f"cannot start {reviewer.run[0]}: {exc.strerror or exc}"
            return out
        assert child.proc.stdin is not None
        try:
            try:
                child.proc.stdin.write(prompt.encode())
                await child.proc.stdin.drain()
                child.proc.stdin.close()
            except (BrokenPipeError, ConnectionResetError):
                pass  # the program stopped reading; what it wrote is still its review
            exited = asyncio.ensure_future(child.proc.wait())
            await asyncio.wait((exited, enough), timeout=reviewer.timeout, return_when=asyncio.FIRST_COMPLETED)
            if not exited.done():
                raise TimeoutError  # cut at the cap or out of time: stopped alike, below
            code = exited.result()
        except TimeoutError:
            code = None
        finally:
            # Whatever the reviewer left running goes too, answered or not, and its output is
            # drained (an interrupt waits for that as well).
            await procs.end(child, grace)
    if code is None:
        out.partial = True
        out.error = None if chunks else f"no answer within {reviewer.timeout:g}s"
    keep(decoder.decode(b"", final=True))  # a last character cut in two
    out.text = "".join(chunks)
    if code not in (0, None):
        if out.text.strip():
            out.partial = True  # it wrote a review, then failed: keep the review, say so
        else:
            out.error = f"exited with code {code} and wrote nothing"
    out.tokens_out, out.tokens_in, out.tokens_estimated = estimate_tokens(out.text), estimate_tokens(prompt), True
    return out


def review_replay(reviewer: Reviewer, bundle: str, workdir: Path, prompt: str, cap: int = 0) -> ReviewOutcome:
    """A saved review: re-tally without calling anyone (its tokens are what the prompt and the
    review would have cost, estimated). No more than `cap` bytes of it are read."""
    assert reviewer.file is not None
    path = Path(reviewer.file.replace("{bundle}", bundle))
    path = path if path.is_absolute() else workdir / path
    out = ReviewOutcome(cap=cap)
    try:
        with open(path, "rb") as fh:
            text = out.take(fh.read(cap + 1 if cap else -1).decode("utf-8", errors="replace"))
    except OSError as exc:
        return ReviewOutcome(error=f"cannot read the saved review {path}: {exc.strerror or exc}")
    out.text, out.tokens_out, out.tokens_estimated, out.tokens_in = (text, estimate_tokens(text), True,
                                                                      estimate_tokens(prompt))
    return out


def review_cost(reviewer: Reviewer, tokens_in: int, tokens_out: int) -> float | None:
    if reviewer.price_per_mtok is None:
        return None
    price_in, price_out = reviewer.price_per_mtok
    return round((tokens_in * price_in + tokens_out * price_out) / 1e6, 6)


@dataclass
class ScrumRun:
    """Runs the scrum for one config; keeps what landed, so an interrupted run still has it."""

    config: ScrumConfig
    workdir: Path
    bus: EventBus
    out_dir: Path  # the run directory's scrum/ folder
    force_oversize: bool = False
    write: Callable[[str, str], None] | None = None  # (relative to out_dir, text)
    tallies: dict[str, Tally] = field(default_factory=dict)
    bundles: dict[str, BundleText] = field(default_factory=dict)
    run_id: str = ""
    previous_run_id: str = ""  # the previous wave of this config ("" none) and its bundles' summaries
    previous: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    today: date = field(default_factory=date.today)
    _dismissed: dict[str, DismissalRow] = field(default_factory=dict)  # the ledger in force, by finding id
    secrets: Secrets = Secrets()  # masked out of the review text before it is parsed, shown or kept

    async def run(self) -> list[Tally]:
        template = prompt_template(self.config)
        force = self.force_oversize or os.environ.get("SCRUM_FORCE_OVERSIZE") == "1"
        loaded = await asyncio.gather(*(load_bundle(b, self.config, self.workdir, template, force)
                                        for b in self.config.bundles))
        self.bundles = {b.name: b for b in loaded}
        ledger = self.config.findings_ignore
        rows = load_ledger(ledger) if ledger is not None else []
        self._dismissed = active(rows, self.today)
        self.bus.emit(ScrumPlanned(
            tuple(PlannedBundle(b.name, round(b.kb, 1), round(b.sent_kb, 1), b.guard, b.reason) for b in loaded),
            tuple(PlannedReviewer(r.name, r.lineage, r.kind, r.model or "") for r in self.config.reviewers),
            self.config.min_tokens_out, self.config.block_on, str(ledger or ""), tuple(rows), self.previous_run_id,
            tuple(summary_tokens(self.previous)), self.config.min_lineages))
        for b in loaded:
            if b.guard in ("refused", "error"):
                self.bus.emit(Notice("scrum", "error", f"bundle {b.name}: {b.reason}"))
            elif b.guard == "warn":
                self.bus.emit(Notice("scrum", "warn", f"bundle {b.name}: {b.reason}"))
            if b.guard in ("ok", "warn") and self.write is not None:  # what the findings point into (report.html)
                self.write(f"{b.name}/{BUNDLE_DIFF}", b.diff)
        gate = asyncio.Semaphore(self.config.concurrency)
        timeout = httpx.Timeout(connect=10.0, read=None, write=30.0, pool=None)
        async with httpx.AsyncClient(timeout=timeout, trust_env=False) as client:
            await _together(self._bundle(client, gate, b) for b in loaded if b.guard in ("ok", "warn"))
        return [self.tallies[b.name] for b in loaded if b.name in self.tallies]

    async def _bundle(self, client: httpx.AsyncClient, gate: asyncio.Semaphore, bundle: BundleText) -> None:
        reviews = await _together(self._review(client, gate, bundle, r) for r in self.config.reviewers)
        result = tally(bundle.name, bundle.kb, bundle.diff, reviews, tolerance=self.config.line_tolerance,
                       min_tokens_out=self.config.min_tokens_out, source=f"bundle {bundle.name}",
                       dismissed=self._dismissed)
        # A wave resolves a finding only where it reviewed: a bundle no review of which finished
        # says nothing of what is still there (and the next wave is matched with the last that did).
        reviewed = any(not r.error and not r.partial for r in reviews)
        result.resolved = recall(result.locations, self._previous_findings(bundle.name) if reviewed else None,
                                 self.run_id)
        self.tallies[bundle.name] = result
        if self.write is not None:
            self.write(f"{bundle.name}/tally.json", json.dumps(result.to_json(), indent=2, ensure_ascii=False) + "\n")
        self.bus.emit(bundle_event(result))

    def _previous_findings(self, bundle: str) -> list[Mapping[str, Any]] | None:
        """The previous wave's findings of a bundle; None when there is nothing to compare
        with (no previous wave, or one recorded before findings were kept)."""
        if not self.previous_run_id:
            return None
        before = self.previous.get(bundle)
        return [] if before is None else before.get("findings")

    async def _review(self, client: httpx.AsyncClient, gate: asyncio.Semaphore, bundle: BundleText,
                      reviewer: Reviewer) -> Review:
        async with gate:
            self.bus.emit(ReviewStarted(bundle.name, reviewer.name, reviewer.kind))
            chunks = _Chunks(self.bus, bundle.name, reviewer.name, self.secrets.mask,
                             max(map(len, self.secrets.values), default=0))

            def notice(message: str) -> None:
                self.bus.emit(Notice("scrum", "warn", f"{bundle.name}/{reviewer.name}: {self.secrets.mask(message)}"))

            outcome = await self._call(client, bundle, reviewer, chunks.add, notice)
            if reviewer.kind == "replay":
                chunks.add(outcome.text)  # a saved review arrives whole; show it like a stream
            chunks.flush()
        outcome.text = self.secrets.mask(outcome.text)
        if outcome.error:
            outcome.error = neutralise(self.secrets.mask(outcome.error))
        if self.write is not None and (outcome.text or outcome.error is None):
            mark = (f"\n\n[gauntlet: review cut at {outcome.cut_kb} KB (max_review_kb); the reviewer wrote more]\n"
                    if outcome.cut_kb else "")
            self.write(f"{bundle.name}/{reviewer.name}.md", outcome.text + mark)
        review = parse_review(outcome.text, reviewer.name, reviewer.lineage)
        review.tokens_out, review.tokens_estimated = outcome.tokens_out, outcome.tokens_estimated
        review.tokens_in = outcome.tokens_in
        review.cost = review_cost(reviewer, outcome.tokens_in, outcome.tokens_out)
        review.partial, review.error, review.cut_kb = outcome.partial, outcome.error, outcome.cut_kb
        status = "error" if outcome.error and not outcome.text else "partial" if outcome.partial else "ok"
        self.bus.emit(ReviewFinished(bundle.name, reviewer.name, reviewer.lineage, status, outcome.tokens_out,
                                     outcome.tokens_estimated, len(review.findings), outcome.error or "",
                                     outcome.retries, outcome.tokens_in, review.cost, outcome.cut_kb))
        return review

    def _call(self, client: httpx.AsyncClient, bundle: BundleText, reviewer: Reviewer,
              on_text: Callable[[str], None], notice: Callable[[str], None]) -> Awaitable[ReviewOutcome]:
        cap = self.config.max_review_kb * 1024
        if reviewer.kind == "openai":
            out = ReviewOutcome(cap=cap)
            return _bounded(review_openai(client, self.config, reviewer, bundle.prompt, on_text, notice, out),
                            reviewer.timeout, out, bundle.prompt)
        if reviewer.kind == "command":
            return review_command(reviewer, bundle.prompt, self.workdir,
                                  self.out_dir / bundle.name / f"{reviewer.name}.stderr.log", on_text,
                                  secrets=self.secrets, cap=cap)
        return _ready(review_replay(reviewer, bundle.name, self.workdir, bundle.prompt, cap))


async def _together(calls: Iterable[Coroutine[Any, Any, T]]) -> list[T]:
    """Run the calls at once; their results in order.

    A TaskGroup rather than gather: cancelled (an interrupt) or with one call failing,
    gather returns at the first call to end and leaves the rest running, so a command
    reviewer still inside its grace period would outlive the scrum. A TaskGroup waits
    for every call to end. The first failure is raised as itself, not as a group.
    """
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(call) for call in calls]
    except BaseExceptionGroup as failed:
        first: BaseException = failed
        while isinstance(first, BaseExceptionGroup):
            first = first.exceptions[0]
        raise first from None
    return [task.result() for task in tasks]


async def _ready(outcome: ReviewOutcome) -> ReviewOutcome:
    return outcome


async def _bounded(call: Awaitable[ReviewOutcome], timeout: float, out: ReviewOutcome, prompt: str) -> ReviewOutcome:
    """A reviewer that never answers becomes an error after its timeout; one that answered
    in part keeps that part, marked partial."""
    try:
        return await asyncio.wait_for(call, timeout)
    except TimeoutError:
        out.text = "".join(out.parts)
        if out.text:
            out.partial = True
            out.tokens_out, out.tokens_estimated = estimate_tokens(out.text), True
            out.tokens_in = out.tokens_in or estimate_tokens(prompt)
        else:
            out.error = f"no answer within {timeout:g}s"
        return out


def bundle_event(result: Tally) -> BundleTallied:
    data = result.to_json()
    return BundleTallied(
        bundle=result.bundle, kb=data["kb"], convergent=data["convergent"], distinct=data["distinct"],
        line=data["line"], notes=tuple(data["notes"]),
        reviewers=tuple(ReviewerRow(**r) for r in data["reviewers"]),
        locations=tuple(LocationRow(loc["where"], loc["path"], loc["start"], loc["end"], tuple(loc["lineages"]),
                                    tuple(loc["reviewers"]), loc["convergent"], loc["severity"], loc["what"],
                                    loc["id"], tuple(loc["ids"]), FindingState(loc["state"]), loc["waves"], loc["since"])
                        for loc in data["locations"]),
        unanchored=tuple(UnanchoredRow(u["reviewer"], u["lineage"], u["where"], u["severity"], u["why"], u["what"])
                         for u in data["unanchored"]),
        convergent_blocks=len(result.convergent_blocks()),
        resolved=tuple(result.resolved),
    )
