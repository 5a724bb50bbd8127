"""What the scrum remembers between waves: stable finding ids, new / recurring / resolved,
and the tokens each wave cost.

A finding's id must survive the code moving under it: a block inserted above shifts every
line number, yet the finding is the same. So the id is made of what does not move: the
file, the symbol the location sits in (the nearest definition above it in its hunk, else
git's hunk heading) and the WHAT text normalised (case, punctuation and numbers dropped,
numbers being mostly line numbers). Never the reviewer: another lineage saying the same
thing there says it of the same finding. A location carries the id of each of its findings,
so a later wave matches it when any of them is said again, and keeps the earlier id.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from itertools import chain
from typing import Any

from unidiff.patch import PatchSet

from ..core.events import BundleTallied, DeltaLine, TokenRow

ID_PREFIX = "fnd:"
# A definition: modifiers, a keyword, then the name it defines (after a Rust `impl<T>`'s
# generics or a Go method's receiver). Without the name, `type = …`, `object.x()` and
# `module.exports = …` would be taken for one, and editing them would change the ids below.
_SYMBOL = re.compile(
    r"^\s*(?:(?:pub(?:\([^)]*\))?|export|default|async|static|public|private|protected|internal|final|abstract|"
    r"unsafe|const|extern(?:\s+\"[^\"]*\")?|override|open)\s+)*"
    r"(?:fn|def|func|class|impl|struct|enum|trait|interface|type|function|module|mod|object|record|union)"
    r"(?:\s*<[^>]*>|\s*\([^)]*\))?\s+[A-Za-z_$][\w$]*")
_HEADING = re.compile(r"^#{1,6}\s")  # a document's symbol; in code, `# …` is a comment
_MARKDOWN = (".md", ".markdown")


def normalise_what(text: str) -> str:
    """The WHAT as its words: lower case, numbers as `#`, punctuation and spacing dropped."""
    text = re.sub(r"\d+", "#", text.lower())
    return " ".join(re.sub(r"[^\w#]+", " ", text).split())


def finding_id(path: str, symbol: str, what: str) -> str:
    digest = hashlib.sha256(f"{path}\n{symbol}\n{normalise_what(what)}".encode()).hexdigest()
    return ID_PREFIX + digest[:12]


@dataclass(frozen=True)
class _Hunk:
    start: int  # on one side of the diff
    end: int
    heading: str  # git's function context after `@@ … @@`
    lines: tuple[tuple[int, str], ...]  # (line number on that side, text), in order


class Anchors:
    """The symbol each line of a diff sits in, from the diff alone (no file is opened).

    A reviewer's line number is of the new side, unless it points at a deleted line: every
    hunk's new-side range is tried before any old-side one, since after a large deletion a
    new-side line can fall inside an earlier hunk's old-side range, whose symbol is not its own.
    """

    def __init__(self, patch: PatchSet, strip: Callable[[str], str]) -> None:
        self._hunks: dict[str, tuple[list[_Hunk], list[_Hunk]]] = {}  # path -> (new side, old side)
        for patched in patch:
            sides = self._hunks.setdefault(strip(patched.path), ([], []))
            for hunk in patched:
                heading = _symbol_text(hunk.section_header or "")
                for side, hunks in zip(("target", "source"), sides):
                    start, length = getattr(hunk, f"{side}_start"), getattr(hunk, f"{side}_length")
                    if length:
                        numbered = tuple((n, line.value) for line in hunk
                                         if (n := getattr(line, f"{side}_line_no")) is not None)
                        hunks.append(_Hunk(start, start + length - 1, heading, numbered))

    def symbol(self, path: str, line: int | None) -> str:
        """The nearest definition (a heading, in Markdown) at or above `line` in its hunk, else
        the hunk's heading; "" for a finding about a whole file or a line outside every hunk."""
        if line is None:
            return ""
        hunk = next((h for h in chain(*self._hunks.get(path, ())) if h.start <= line <= h.end), None)
        if hunk is None:
            return ""
        pattern = _HEADING if path.lower().endswith(_MARKDOWN) else _SYMBOL
        above = [text for n, text in hunk.lines if n <= line and pattern.match(text)]
        return _symbol_text(above[-1]) if above else hunk.heading

    def finding_ids(self, path: str, findings: Iterable[tuple[int | None, str]]) -> list[str]:
        """The stable id of each finding (its line and WHAT) at `path`: the file, the symbol
        the line sits in, the normalised WHAT."""
        return [finding_id(path, self.symbol(path, start), what) for start, what in findings]


def _symbol_text(line: str) -> str:
    return " ".join(line.strip().rstrip("{:").split())


def finding_keys(finding: Mapping[str, Any]) -> set[str]:
    return {finding["id"], *finding.get("ids", ())} - {""}


def pair_findings(keys: Iterable[set[str]], previous: Iterable[Mapping[str, Any]]
          ) -> tuple[list[Mapping[str, Any] | None], list[Mapping[str, Any]]]:
    """Each finding (its ids) paired with the first earlier finding that shares an id, each
    earlier one used once: (the match of each, None when it is new; the earlier findings
    left over, which are resolved)."""
    unmatched = list(previous)
    matches: list[Mapping[str, Any] | None] = []
    for own in keys:
        match = next((p for p in unmatched if own & finding_keys(p)), None)
        if match is not None:
            unmatched.remove(match)
        matches.append(match)
    return matches, unmatched


def bundle_summary(event: BundleTallied) -> dict[str, Any]:
    """What the history keeps of a tallied bundle: its counts, each review's tokens and each
    finding with its ids and waves (what the next wave is matched against; left out for a
    run recorded before findings had ids, so the next wave says nothing rather than all new)."""
    summary: dict[str, Any] = {
        "kb": event.kb, "convergent": event.convergent, "distinct": event.distinct,
        "reviewers": {r.reviewer: {"lineage": r.lineage, "tokens_out": r.tokens_out, "tokens_in": r.tokens_in,
                                   "estimated": r.tokens_estimated, "cost": r.cost, "findings": r.findings,
                                   "thin": r.thin} for r in event.reviewers},
    }
    if all(loc.id for loc in event.locations):
        summary["findings"] = [{"id": loc.id, "ids": list(loc.ids), "where": loc.where, "severity": loc.severity,
                                "lineages": list(loc.lineages), "convergent": loc.convergent, "what": loc.what,
                                "waves": loc.waves or 1, "since": loc.since} for loc in event.locations]
    return summary


def summary_tokens(bundles: Mapping[str, Mapping[str, Any]]) -> list[TokenRow]:
    """A run summary's reviews as token rows (runs recorded before tokens in were kept have 0)."""
    return [TokenRow(bundle, name, r["lineage"], int(r.get("tokens_in") or 0), int(r["tokens_out"]),
                     bool(r.get("estimated", False)), r.get("cost"))
            for bundle, data in bundles.items() for name, r in data["reviewers"].items()]


@dataclass(frozen=True)
class TokenSum:
    tokens_in: int = 0
    tokens_out: int = 0
    estimated: bool = False  # some part of it is an estimate
    cost: float | None = None  # None: no review in it had a price

    def __add__(self, row: TokenRow | TokenSum) -> TokenSum:
        cost = self.cost if row.cost is None else (self.cost or 0.0) + row.cost
        return TokenSum(self.tokens_in + row.tokens_in, self.tokens_out + row.tokens_out,
                        self.estimated or row.estimated, cost)

    def text(self) -> str:
        """`~12.3k in / 1.2k out · $0.0421`; `~` marks an estimate. Runs recorded before the
        tokens in were kept say nothing of them."""
        mark = "~" if self.estimated else ""
        money = f" · ${self.cost:.4f}" if self.cost is not None else ""
        sent = f"{mark}{_k(self.tokens_in)} in / " if self.tokens_in or not self.tokens_out else ""
        return f"{sent}{mark}{_k(self.tokens_out)} out{money}"

    def short(self) -> str:
        """`~12.3k/1209 $0.0421`: in/out, for a line that holds several."""
        mark = "~" if self.estimated else ""
        money = f" ${self.cost:.4f}" if self.cost is not None else ""
        sent = f"{mark}{_k(self.tokens_in)}" if self.tokens_in or not self.tokens_out else "?"
        return f"{sent}/{mark}{_k(self.tokens_out)}{money}"


def _k(n: int) -> str:
    return f"{n / 1000:.1f}k" if n >= 10_000 else str(n)


def token_sums(rows: Iterable[TokenRow], key: str) -> dict[str, TokenSum]:
    """Rows summed by `bundle`, `lineage` or `reviewer`, in first-seen order."""
    sums: dict[str, TokenSum] = {}
    for row in rows:
        name = getattr(row, key)
        sums[name] = sums.get(name, TokenSum()) + row
    return sums


def total(rows: Iterable[TokenRow]) -> TokenSum:
    result = TokenSum()
    for row in rows:
        result = result + row
    return result


def run_tokens(bundles: Mapping[str, Mapping[str, Any]]) -> TokenSum:
    """What a run's scrum cost, from its summary's bundles."""
    return total(summary_tokens(bundles))


def scrum_delta(previous: Mapping[str, Mapping[str, Any]], current: Mapping[str, Mapping[str, Any]],
                previous_run_id: str) -> list[DeltaLine]:
    """The scrum of two runs (their summaries' bundles): per bundle its findings new,
    recurring and resolved, a BLOCK that is new or still there, and tokens per lineage."""
    out: list[DeltaLine] = []
    for bundle, now in current.items():
        before = previous.get(bundle)
        if before is None or "findings" not in before or "findings" not in now:
            continue
        matches, unmatched = pair_findings(map(finding_keys, now["findings"]), before["findings"])
        new = [f for f, match in zip(now["findings"], matches) if match is None]
        recurring = [f for f, match in zip(now["findings"], matches) if match is not None]
        if new or recurring or unmatched:
            out.append(DeltaLine(f"scrum {bundle}: {len(new)} new, {len(recurring)} recurring, "
                                 f"{len(unmatched)} resolved finding(s)",
                                 "worse" if new else "better" if unmatched else ""))
        out += [DeltaLine(f"scrum {bundle}: new BLOCK at {f['where']} ({' + '.join(f['lineages'])}): {f['what']}",
                          "worse") for f in new if f["severity"] == "BLOCK"]
        out += [DeltaLine(f"scrum {bundle}: convergent BLOCK at {f['where']} still there since "
                          f"{f.get('since') or previous_run_id}", "worse")
                for f in recurring if f["severity"] == "BLOCK" and f["convergent"]]
    before_tokens = token_sums(summary_tokens(previous), "lineage")
    for lineage, now_sum in token_sums(summary_tokens(current), "lineage").items():
        if lineage in before_tokens:
            out.append(DeltaLine(f"scrum tokens {lineage}: {before_tokens[lineage].text()} → {now_sum.text()}"))
    return out
