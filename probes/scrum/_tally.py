"""The lineage-aware tally: parse reviewers' WHERE lines, anchor them in the diff, count.

What it encodes: a finding only counts where it points into the bundle's diff (else it is
*unanchored*: shown, never counted); findings on one path within `line_tolerance` lines
are one location; a reviewer family saying the same thing three times is still one voice,
so a location is *convergent* only when two or more distinct lineages flag it. WHERE paths
are only ever compared with the diff's paths as strings: no file is opened by them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from unidiff.errors import UnidiffParseError
from unidiff.patch import PatchSet

from ..core import FindingState, InputError, neutralise
from ..core.events import DismissalRow, ResolvedRow
from ._findings import Anchors, normalise_what, pair_findings
from ._ledger import dismissal

SEVERITIES = ("BLOCK", "WARN", "INFO")
RANK = {s: i for i, s in enumerate(SEVERITIES)}

_MD = r"[\s>*_`~\-+•]*"  # markdown decoration before a label: bullets, bold, quotes
_LABEL = re.compile(rf"^{_MD}(?:\d+[.)]\s*)?{_MD}(WHERE|SEVERITY|WHAT|VERDICT)(?![A-Za-z])[*_`]*\s*:[*_`]*\s*(.*)$",
                    re.IGNORECASE)
_LOCATION = re.compile(r"^(?P<path>[^\s:`'\"()<>\[\]]+)(?::(?P<start>\d+)(?:\s*[-–]\s*(?P<end>\d+))?)?")
_RETRACT = re.compile(r"\b(retract\w*|withdraw\w*|rescind\w*|false alarm|not (?:actually |really )?a block\w*|"
                      r"downgrad\w*|scratch that|on reflection|i was wrong)\b", re.IGNORECASE)


@dataclass
class Finding:
    path: str
    start: int | None  # None: the finding is about the file as a whole
    end: int | None
    severity: str
    what: str
    raw_where: str
    line_no: int  # where the WHERE line is in the review
    anchored: bool = False
    retracted: bool = False
    why_unanchored: str = ""

    @property
    def effective_severity(self) -> str:
        """A BLOCK its own author retracted counts as a WARN."""
        return "WARN" if self.retracted and self.severity == "BLOCK" else self.severity

    @property
    def where(self) -> str:
        if self.start is None:
            return self.path
        return f"{self.path}:{self.start}" + (f"-{self.end}" if self.end and self.end != self.start else "")


@dataclass
class Review:
    """One reviewer's parsed response."""

    reviewer: str
    lineage: str
    findings: list[Finding] = field(default_factory=list)
    verdict: str | None = None
    verdict_retracted: bool = False
    tokens_out: int = 0
    tokens_estimated: bool = False
    tokens_in: int = 0
    cost: float | None = None
    partial: bool = False
    error: str | None = None
    cut_kb: int = 0  # cut at max_review_kb: partial, and the note says where

    def blocks(self) -> int:
        """BLOCK verdicts that stand: BLOCK findings not retracted, plus a final BLOCK verdict."""
        return sum(1 for f in self.findings if f.severity == "BLOCK" and not f.retracted) + \
            (1 if self.verdict == "BLOCK" else 0)

    def retracted(self) -> int:
        return sum(1 for f in self.findings if f.retracted and f.severity == "BLOCK") + \
            (1 if self.verdict_retracted else 0)


def _clean(text: str) -> str:
    """A label's value without the emphasis around it. Backticks that open and close code stay
    (`` `a > b` is unchecked `` keeps both); an unpaired one at an end goes. Locations take
    theirs off themselves (`_parse_locations`)."""
    text = text.strip().strip("*_'\" ").strip()
    return text.strip("`").strip() if text.count("`") % 2 else text


def _parse_locations(text: str) -> list[tuple[str, int | None, int | None]]:
    """`path:12`, `path:12-18`, `path` alone; several separated by commas or 'and'."""
    out = []
    for part in re.split(r",|;|\s+and\s+|\s+&\s+", text):
        part = part.strip().strip("*_`'\"[]() ").strip()
        if not part:
            continue
        match = _LOCATION.match(part + " ")
        if not match:
            continue
        path = match.group("path").rstrip(".,;")
        start = int(match.group("start")) if match.group("start") else None
        end = int(match.group("end")) if match.group("end") else start
        if start is not None and end is not None and end < start:
            start, end = end, start
        out.append((path, start, end))
    return out


def parse_review(text: str, reviewer: str, lineage: str) -> Review:
    """Parse what models really write: bullets, bold, backticks, ranges, CRLF, several
    WHERE lines per finding; a later retraction of a BLOCK is recorded on that BLOCK."""
    review = Review(reviewer, lineage)
    lines = neutralise(text.replace("\r\n", "\n").replace("\r", "\n")).split("\n")
    current: list[Finding] = []  # the finding being read (one per WHERE location)
    verdicts: list[str] = []
    expecting_where = False
    for number, line in enumerate(lines, 1):
        match = _LABEL.match(line)
        if match:
            label, value = match.group(1).upper(), _clean(match.group(2))
            if label == "WHERE":
                if not expecting_where:
                    current = []
                for path, start, end in _parse_locations(value):
                    finding = Finding(path, start, end, "INFO", "", value, number)
                    current.append(finding)
                    review.findings.append(finding)
                expecting_where = True
                continue
            expecting_where = False
            if label == "SEVERITY":
                word = next((s for s in SEVERITIES if re.search(rf"\b{s}\b", value, re.IGNORECASE)), None)
                for f in current:
                    f.severity = word or f.severity
            elif label == "WHAT":
                for f in current:
                    f.what = value
            elif label == "VERDICT":
                said = re.search(r"\b(BLOCK|SHIP|PASS|APPROVE|WARN)\b", value, re.IGNORECASE)
                verdicts.append(said.group(1).upper() if said else value.upper())
            continue
        if line.strip():
            expecting_where = False
        if _RETRACT.search(line):
            _retract(review, line, verdicts)
    if verdicts:
        review.verdict = verdicts[-1]
        review.verdict_retracted = "BLOCK" in verdicts[:-1] and verdicts[-1] != "BLOCK"
    return review


def _retract(review: Review, line: str, verdicts: list[str]) -> None:
    """A retraction names the location it takes back, or else takes back the latest BLOCK."""
    blocks = [f for f in review.findings if f.severity == "BLOCK" and not f.retracted]
    if not blocks:
        return
    named = [f for f in blocks if f.path in line]
    for f in (named or blocks[-1:]):
        f.retracted = True


def parse_diff(diff_text: str, source: str = "diff") -> PatchSet:
    try:
        patch = PatchSet(diff_text)
    except UnidiffParseError as exc:
        raise InputError(f"{source}: not a unified diff: {exc}") from None
    if not len(patch):
        raise InputError(f"{source}: not a unified diff: no file header (`diff --git` or `---`/`+++`) found")
    return patch


def diff_files(patch: PatchSet) -> dict[str, list[tuple[int, int]]]:
    """Each path in a unified diff and the line ranges its hunks touch (new and old side)."""
    files: dict[str, list[tuple[int, int]]] = {}
    for patched in patch:
        ranges = files.setdefault(_strip_prefix(patched.path), [])
        for hunk in patched:
            if hunk.target_length:
                ranges.append((hunk.target_start, hunk.target_start + hunk.target_length - 1))
            if hunk.source_length:
                ranges.append((hunk.source_start, hunk.source_start + hunk.source_length - 1))
    return files


def _strip_prefix(path: str) -> str:
    for prefix in ("a/", "b/"):
        if path.startswith(prefix):
            return path[len(prefix):]
    return path.removeprefix("./")


def anchor(review: Review, files: dict[str, list[tuple[int, int]]], tolerance: int) -> None:
    for f in review.findings:
        path = _strip_prefix(f.path)
        if path not in files:
            f.anchored, f.why_unanchored = False, "path not in the diff"
            continue
        f.path = path
        if f.start is None:
            f.anchored = True
            continue
        end = f.end or f.start
        f.anchored = any(f.start <= hi + tolerance and end >= lo - tolerance for lo, hi in files[path])
        if not f.anchored:
            f.why_unanchored = "line outside every hunk of that file"


@dataclass
class Location:
    path: str
    start: int | None
    end: int | None
    findings: list[tuple[Review, Finding]] = field(default_factory=list)
    id: str = ""  # stable across waves (probes/scrum/_findings.py)
    ids: tuple[str, ...] = ()  # each finding's id
    state: FindingState = FindingState.UNCOMPARED
    waves: int = 0
    since: str = ""

    @property
    def lineages(self) -> list[str]:
        return sorted({r.lineage for r, _ in self.findings})

    @property
    def reviewers(self) -> list[str]:
        return sorted({r.reviewer for r, _ in self.findings})

    @property
    def convergent(self) -> bool:
        return len(self.lineages) >= 2

    @property
    def severity(self) -> str:
        return min((f.effective_severity for _, f in self.findings), key=RANK.__getitem__)

    @property
    def where(self) -> str:
        if self.start is None:
            return self.path
        return f"{self.path}:{self.start}" + (f"-{self.end}" if self.end != self.start else "")

    @property
    def lead(self) -> Finding:
        """The finding that speaks for the location (its WHAT, its id): the most severe, then
        one that says something, then by its words, whoever said it."""
        return min((f for _, f in self.findings),
                   key=lambda f: (RANK[f.severity], not f.what, normalise_what(f.what), f.start or 0))

    @property
    def what(self) -> str:
        return self.lead.what


def recall(locations: Sequence[Location], previous: Sequence[Mapping[str, Any]] | None,
           run_id: str) -> list[ResolvedRow]:
    """Mark each location new or recurring against the previous wave's findings of the same
    bundle (None: no previous wave, nothing to say) and return what that wave had and this
    one has not. A recurring location keeps the id it had, and counts its waves."""
    matches, unmatched = pair_findings(({loc.id, *loc.ids} for loc in locations), previous or ())
    for loc, match in zip(locations, matches):
        if match is None:
            loc.state = FindingState.NEW if previous is not None else FindingState.UNCOMPARED
            loc.waves, loc.since = 1, run_id
            continue
        loc.id, loc.state = match["id"], FindingState.RECURRING
        loc.waves, loc.since = int(match.get("waves") or 1) + 1, match.get("since") or ""
    if previous is None:
        return []
    return [ResolvedRow(p["id"], p["where"], p["severity"], tuple(p["lineages"]), p["what"], int(p.get("waves") or 1))
            for p in unmatched]


def locate(reviews: Iterable[Review], tolerance: int) -> list[Location]:
    """Group anchored findings into locations: same path, lines within `tolerance` of the
    previous one (file-level findings are their own location per path)."""
    by_path: dict[str, list[tuple[Review, Finding]]] = {}
    for review in reviews:
        for f in review.findings:
            if f.anchored:
                by_path.setdefault(f.path, []).append((review, f))
    locations: list[Location] = []
    for path in sorted(by_path):
        items = by_path[path]
        whole = [(r, f) for r, f in items if f.start is None]
        if whole:
            locations.append(Location(path, None, None, whole))
        lined = sorted(((r, f) for r, f in items if f.start is not None), key=lambda rf: rf[1].start or 0)
        current: Location | None = None
        for r, f in lined:
            assert f.start is not None
            end = f.end or f.start
            if current is not None and current.end is not None and f.start <= current.end + tolerance:
                current.end = max(current.end, end)
                current.findings.append((r, f))
            else:
                current = Location(path, f.start, end, [(r, f)])
                locations.append(current)
    return locations


@dataclass
class Tally:
    bundle: str
    kb: float
    reviews: list[Review]
    locations: list[Location]
    min_tokens_out: int
    dismissed: Mapping[str, DismissalRow] = field(default_factory=dict)  # the ledger in force, by id
    resolved: list[ResolvedRow] = field(default_factory=list)  # the previous wave's, gone from this one

    def dismissal(self, loc: Location) -> DismissalRow | None:
        return dismissal(loc, self.dismissed)

    @property
    def counted(self) -> list[Location]:
        """The locations that count: a dismissed finding is shown, never counted."""
        return [loc for loc in self.locations if self.dismissal(loc) is None]

    @property
    def convergent(self) -> list[Location]:
        return [loc for loc in self.counted if loc.convergent]

    @property
    def distinct(self) -> int:
        """Every anchored location after de-duplication by (lineage, location), dismissed ones left out."""
        return len(self.counted)

    def convergent_blocks(self) -> list[Location]:
        return [loc for loc in self.convergent if loc.severity == "BLOCK"]

    def thin(self, review: Review) -> bool:
        return review.error is None and review.tokens_out < self.min_tokens_out

    def line(self) -> str:
        """The greppable line: `c1_validatord (46KB) → 0 convergent / 11 distinct`."""
        dismissed = len(self.locations) - self.distinct
        return (f"{self.bundle} ({self.kb:.0f}KB) → {len(self.convergent)} convergent / {self.distinct} distinct"
                + (f" ({dismissed} dismissed)" if dismissed else ""))

    def notes(self) -> list[str]:
        notes = []
        for r in self.reviews:
            if r.error:
                notes.append(f"{r.reviewer}: {r.error}")
            elif self.thin(r):
                notes.append(f"{r.reviewer} thin ({r.tokens_out} tokens out)")
            if r.cut_kb:
                notes.append(f"{r.reviewer} cut at {r.cut_kb} KB")
            elif r.partial:
                notes.append(f"{r.reviewer} partial")
            if r.retracted():
                notes.append(f"{r.reviewer} emitted a BLOCK then retracted it")
        if self.locations and not self.convergent:
            notes.append("single-reviewer findings only")
        return notes

    def to_json(self) -> dict[str, Any]:
        def finding(r: Review, f: Finding) -> dict[str, Any]:
            return {"reviewer": r.reviewer, "lineage": r.lineage, "where": f.where, "severity": f.severity,
                    "retracted": f.retracted, "what": f.what}

        return {
            "bundle": self.bundle,
            "kb": round(self.kb, 1),
            "convergent": len(self.convergent),
            "distinct": self.distinct,
            "line": self.line(),
            "notes": self.notes(),
            "reviewers": [{"reviewer": r.reviewer, "lineage": r.lineage, "tokens_out": r.tokens_out,
                           "tokens_estimated": r.tokens_estimated, "tokens_in": r.tokens_in, "cost": r.cost,
                           "thin": self.thin(r), "partial": r.partial, "cut_kb": r.cut_kb,
                           "error": r.error, "findings": len(r.findings),
                           "anchored": sum(1 for f in r.findings if f.anchored),
                           "blocks": r.blocks(), "retracted_blocks": r.retracted(), "verdict": r.verdict}
                          for r in self.reviews],
            "locations": [{"where": loc.where, "path": loc.path, "start": loc.start, "end": loc.end,
                           "lineages": loc.lineages, "reviewers": loc.reviewers, "convergent": loc.convergent,
                           "severity": loc.severity, "what": loc.what, "id": loc.id, "ids": list(loc.ids),
                           "state": loc.state, "waves": loc.waves, "since": loc.since,
                           "dismissed": (d := self.dismissal(loc)) and d.reason,
                           "findings": [finding(r, f) for r, f in loc.findings]}
                          for loc in self.locations],
            "resolved": [row.__dict__ for row in self.resolved],
            "unanchored": [dict(finding(r, f), why=f.why_unanchored)
                           for r in self.reviews for f in r.findings if not f.anchored],
        }


def tally(bundle: str, kb: float, diff_text: str, reviews: Sequence[Review], *, tolerance: int,
          min_tokens_out: int, source: str = "diff", dismissed: Mapping[str, DismissalRow] | None = None) -> Tally:
    patch = parse_diff(diff_text, source)
    files = diff_files(patch)
    for review in reviews:
        anchor(review, files, tolerance)
    locations = locate(reviews, tolerance)
    anchors = Anchors(patch, _strip_prefix)
    for loc in locations:
        ids = anchors.finding_ids(loc.path, ((f.start, f.what) for _, f in loc.findings))
        loc.ids = tuple(sorted(set(ids)))
        loc.id = ids[next(i for i, (_, f) in enumerate(loc.findings) if f is loc.lead)]
    return Tally(bundle, kb, list(reviews), locations, min_tokens_out, dict(dismissed or {}))


LINEAGE_HINTS = {"opus": "anthropic", "sonnet": "anthropic", "haiku": "anthropic", "claude": "anthropic",
                 "kimi": "moonshot", "qwen": "qwen", "gpt": "openai", "o3": "openai", "gemini": "google",
                 "deepseek": "deepseek", "llama": "meta", "mistral": "mistral", "grok": "xai", "glm": "zhipu"}


def guess_lineage(reviewer: str) -> str:
    """For saved reviews named by reviewer: the model family its name says, else itself."""
    lowered = reviewer.lower()
    return next((lineage for hint, lineage in LINEAGE_HINTS.items() if hint in lowered), lowered)


def estimate_tokens(text: str) -> int:
    """About four characters a token: used only when the gateway sent no usage."""
    return max(1, round(len(text) / 4)) if text.strip() else 0
