"""One parity case's two answers, laid side by side: the model behind the diff viewer and
`gauntlet diff --headless`, with no terminal UI in it.

Bodies are pretty-printed (JSON with sorted keys, 2-space indent, one item a line) and
aligned line by line, so equal lines sit side by side and an inserted or removed line
leaves a gap on the other side. Bodies can be 20 MB: pretty-printing is orjson's, the
alignment only runs difflib on the part between the first and last differing line, and
JSON paths are found by searching the text, not by walking a tree in Python.
"""

from __future__ import annotations

import difflib
import json
import re
from array import array
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import orjson

from ..core import InputError, neutralise
from ..core.events import LatencyRow
from ._compare import Layout, Rules, TooDeep, displayed, pair_unordered, shallow_dump
from ._latency import stored_latency
from ._noise_report import explain as explain_noise
from ._results import StoredDifference, kept_answer, read_body, read_case

GAP = -1
CONTEXT = 3  # equal rows shown around a difference in a hunk
# A row's mark between the two sides, by the kind of difference covering it ("changed": the
# lines differ where no difference was recorded, e.g. a moved line): the viewer's and the page's.
KIND_MARK = {"status": "S", "shape": "◆", "type": "T", "value": "≠", "duplicate-key": "2", "header": "H",
             "changed": "·"}


@dataclass
class Body:
    """One side's text, and the same as lines."""

    text: str
    lines: list[str]
    is_json: bool = False

    @classmethod
    def of(cls, text: str, is_json: bool, *, safe: bool = False) -> Body:
        """`safe`: the text is known to hold no terminal controls (skips the scan)."""
        text = text if safe else neutralise(text)
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        return cls(text, lines, is_json)

    def line_of_offset(self, offset: int) -> int:
        """Counted when asked (a few times per case), not indexed for every line."""
        return self.text.count("\n", 0, offset)


def pretty(raw: bytes, content_type: str, *, normalise: bool = True) -> Body:
    """The body as the viewer shows it: JSON pretty-printed with sorted keys, text as is."""
    if normalise and ("json" in content_type or raw[:1] in (b"{", b"[")):
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError:
            value = None
        else:
            try:
                return pretty_value(value)
            except TooDeep:
                pass  # shown as received
    return Body.of(raw.decode("utf-8", errors="replace"), False)


def pretty_value(value: Any) -> Body:
    """A parsed JSON value as the viewer shows it (sorted keys, 2-space indent).

    A JSON string may spell any control as an escape, which parsing turns into the control
    itself: the text is neutralised unless it is ASCII without DEL (serialised JSON escapes
    every C0 control), which str knows in O(1) and a memchr, where the scan costs 0.3 s on
    20 MB."""
    dumped = shallow_dump(value, orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)  # raises TooDeep
    # integers beyond 64 bits: the standard library copes
    text = dumped.decode() if dumped is not None else json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)
    return Body.of(text, True, safe=text.isascii() and "\x7f" not in text)


def _paired(run_dir: Path, case: str, head: dict[str, Any], metas: list[dict[str, Any]]) -> tuple[Body, Body, Layout] | None:
    """Both JSON bodies with the run's unordered arrays laid out by their pairs, so an item
    sits beside the one it was compared with; None when the run has no such rule or a body
    is not JSON (or is nested too deep to lay out)."""
    if not head.get("unordered"):
        return None
    try:
        values = [orjson.loads(read_body(run_dir, case, m["body"])) for m in metas]
        for value in values:
            shallow_dump(value)
    except (orjson.JSONDecodeError, TooDeep):
        return None
    rules = Rules(unordered=tuple(head["unordered"]), numbers=head.get("numbers", "strict"))
    ref, cand, layout = pair_unordered(values[0], values[1], rules)
    return pretty_value(ref), pretty_value(cand), layout


@dataclass
class Alignment:
    """Row r shows left line `left[r]` beside right line `right[r]` (GAP: nothing there);
    `left_row[l]` and `right_row[r]` go back from a line to its row."""

    left: array[int]
    right: array[int]
    left_row: array[int]
    right_row: array[int]

    def __len__(self) -> int:
        return len(self.left)

    def row_of(self, side: str, line: int) -> int | None:
        rows = self.left_row if side == "left" else self.right_row
        return rows[line] if 0 <= line < len(rows) else None


RESYNC_WINDOW = 32  # lines looked ahead on each side to find where two bodies agree again


def align(a: list[str], b: list[str]) -> Alignment:
    """Line alignment for bodies that are mostly equal: equal runs are walked, and difflib
    only looks at a window around each place they part, growing it until they agree again
    (one SequenceMatcher over 500,000 lines takes seconds; this takes a walk)."""
    al = Alignment(array("i"), array("i"), array("i", bytes(4 * len(a))), array("i", bytes(4 * len(b))))
    left, right = al.left, al.right

    def pair(i: int, j: int) -> None:
        if i != GAP:
            al.left_row[i] = len(left)
        if j != GAP:
            al.right_row[j] = len(left)
        left.append(i)
        right.append(j)

    i = j = 0
    n, m = len(a), len(b)
    while i < n and j < m:
        if a[i] == b[j]:
            i0, j0 = i, j
            while i < n and j < m and a[i] == b[j]:
                i += 1
                j += 1
            base = len(left)
            al.left_row[i0:i] = array("i", range(base, base + i - i0))
            al.right_row[j0:j] = array("i", range(base, base + j - j0))
            left.extend(range(i0, i))
            right.extend(range(j0, j))
            continue
        window = RESYNC_WINDOW
        while True:
            wa, wb = a[i:i + window], b[j:j + window]
            ops = difflib.SequenceMatcher(None, wa, wb, autojunk=False).get_opcodes()
            sync = next((op for op in ops[1:] if op[0] == "equal" and op[2] - op[1] >= min(3, len(wa), len(wb))), None)
            whole = i + window >= n and j + window >= m
            if sync is not None or whole:
                for tag, i1, i2, j1, j2 in ops:
                    if sync is not None and (i1, j1) == (sync[1], sync[3]):
                        break
                    if tag == "equal":
                        for k in range(i2 - i1):
                            pair(i + i1 + k, j + j1 + k)
                        continue
                    for k in range(max(i2 - i1, j2 - j1)):
                        pair(i + i1 + k if k < i2 - i1 else GAP, j + j1 + k if k < j2 - j1 else GAP)
                if sync is None:
                    i, j = n, m
                else:
                    i, j = i + sync[1], j + sync[3]
                break
            window *= 4
    for k in range(i, n):
        pair(k, GAP)
    for k in range(j, m):
        pair(GAP, k)
    return al


_CLOSERS: dict[int, re.Pattern[str]] = {}
_ITEMS: dict[int, re.Pattern[str]] = {}


def _closer(depth: int) -> re.Pattern[str]:
    if depth not in _CLOSERS:
        _CLOSERS[depth] = re.compile("\n" + "  " * depth + "[}\\]]")
    return _CLOSERS[depth]


def _items(depth: int) -> re.Pattern[str]:
    """Lines that open an item of an array at `depth` (group 1), or lines at the array's own
    depth or shallower: its closing bracket and beyond, where the counting must stop."""
    if depth not in _ITEMS:
        _ITEMS[depth] = re.compile("\n(" + "  " * (depth + 1) + ")(?=[^ \\]}])|\n {0,%d}(?=[^ ])" % (2 * depth))
    return _ITEMS[depth]


def locate(body: Body, path: list[Any]) -> tuple[int, int] | None:
    """(first line, last line) of a JSON path in a pretty-printed body; None if absent.

    Works on the 2-space, one-item-a-line layout `pretty` makes: a key is found by its
    quoted name at the expected indent inside its object, an array item by counting the
    lines that open an item at that indent. An ancestor's extent is only measured when a
    key must be searched inside it, so a path into a 20 MB array never scans all of it.
    """
    if not body.is_json:
        return None
    text = body.text
    start, limit = 0, len(text)
    for depth, key in enumerate(path):
        if isinstance(key, int):
            found = None
            for n, match in enumerate(_items(depth).finditer(text, text.find("\n", start), limit)):
                if match.group(1) is None:
                    break  # the array closed before item `key`
                if n == key:
                    found = match.start() + 1
                    break
            if found is None:
                return None
            start = found
        else:
            needle = "\n" + "  " * (depth + 1) + neutralise(json.dumps(key, ensure_ascii=False)) + ":"  # as shown
            pos = text.find(needle, start, limit)
            if pos < 0:
                return None
            start = pos + 1
        following = path[depth + 1] if depth + 1 < len(path) else None
        if not isinstance(following, int):  # a key search (or the end) needs this value's extent
            limit = _value_end(text, start, depth + 1, limit)
    return body.line_of_offset(start), body.line_of_offset(max(start, limit - 1))


def _value_end(text: str, start: int, depth: int, limit: int) -> int:
    """Where the value that starts on the line at `start` ends (its last line's end)."""
    line_end = text.find("\n", start, limit)
    line_end = limit if line_end < 0 else line_end
    if not text[start:line_end].rstrip(",").endswith(("{", "[")):
        return line_end
    close = _closer(depth).search(text, line_end, limit)
    if close is None:
        return limit
    end = text.find("\n", close.end(), limit)
    return limit if end < 0 else end


@dataclass
class CaseView:
    """Everything the viewer needs for one case and one candidate."""

    case: str
    reference: str
    candidate: str
    targets: list[str]
    left: Body
    right: Body
    alignment: Alignment
    differences: list[StoredDifference]  # the candidate's, each with the aligned rows it covers
    meta: dict[str, dict[str, Any]]
    latency: tuple[LatencyRow, ...] = ()  # each target's timings, when the case was timed

    @property
    def statuses(self) -> tuple[Any, Any]:
        return self.meta[self.reference].get("status"), self.meta[self.candidate].get("status")

    def row_kinds(self, *, hide_noise: bool = False) -> dict[int, tuple[str, bool]]:
        """Row -> (the kind of the first difference covering it, dimmed: noise or ignored), the
        noise and ignored differences left out with `hide_noise`: how every face marks rows."""
        marked: dict[int, tuple[str, bool]] = {}
        for d in self.differences:
            if not (hide_noise and (d.noise or d.ignored)):
                for row in d.rows:
                    marked.setdefault(row, (d.kind, d.noise or d.ignored))
        return marked

    def differs(self, row: int) -> bool:
        """The row's two sides are not the same line (one of them a gap, or both there and unequal)."""
        left, right = self.alignment.left[row], self.alignment.right[row]
        return left == GAP or right == GAP or self.left.lines[left] != self.right.lines[right]

    def hunks(self, context: int = CONTEXT) -> list[tuple[int, int]]:
        """Row ranges [lo, hi) around every differing row, `context` rows either side, merged
        when they touch: what a printed or a page's diff shows of two long bodies."""
        spans: list[tuple[int, int]] = []
        for r in range(len(self.alignment)):
            if not self.differs(r):
                continue
            lo, hi = max(0, r - context), min(len(self.alignment), r + context + 1)
            if spans and lo <= spans[-1][1]:
                spans[-1] = (spans[-1][0], max(spans[-1][1], hi))
            else:
                spans.append((lo, hi))
        return spans


def load_case(run_dir: Path, case: str, *, candidate: str | None = None, normalise: bool = True,
              headers: bool = False) -> CaseView:
    """Read a stored case from a run directory (no server needed) and lay it out."""
    head, entry = read_case(run_dir, case)
    return case_view(run_dir, head, entry, candidate=candidate, normalise=normalise, headers=headers)


def case_view(run_dir: Path, head: dict[str, Any], entry: dict[str, Any], *, candidate: str | None = None,
              normalise: bool = True, headers: bool = False) -> CaseView:
    """Lay out a case from its line already read (the head line and the case's), so a reader
    of many cases goes over the record once (`entries`) rather than once a case."""
    case = str(entry.get("case"))
    reference = head["reference"]
    targets = list(head.get("targets") or [reference, *entry.get("statuses", {})])
    candidates = [t for t in targets if t != reference]
    candidate = candidate or (candidates[0] if candidates else reference)
    if candidate not in candidates:
        raise InputError(f"{case}: no candidate {candidate!r} (candidates: {', '.join(candidates)})")
    meta = {t: kept_answer(entry, t) for t in (reference, candidate)}
    layout: Layout = {}
    if headers:
        left = Body.of("".join(f"{k}: {v}\n" for k, v in sorted(meta[reference].get("headers", {}).items())), False)
        right = Body.of("".join(f"{k}: {v}\n" for k, v in sorted(meta[candidate].get("headers", {}).items())), False)
    elif normalise and (paired := _paired(run_dir, case, head, [meta[reference], meta[candidate]])) is not None:
        left, right, layout = paired
    else:
        left, right = (pretty(read_body(run_dir, case, meta[t]["body"]), _ctype(meta[t]), normalise=normalise)
                       for t in (reference, candidate))
    alignment = align(left.lines, right.lines)
    differences = [replace(d, rows=_rows_of(d, left, right, alignment, layout) if not headers
                           else _header_rows(d, left, right, alignment))
                   for d in explain_noise(run_dir, entry, StoredDifference.of_entry(entry, candidate))]
    return CaseView(case, reference, candidate, targets, left, right, alignment, differences, meta,
                    stored_latency(entry.get("answers") or {}))


def _ctype(meta: dict[str, Any]) -> str:
    return str(meta.get("headers", {}).get("content-type", "")).lower()


_PATH_TOKEN = re.compile(r'\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]')


def parse_path(rendered: str) -> list[Any] | None:
    """`$.a[0]["odd key"]` back into keys; None for status, header and line paths."""
    if not rendered.startswith("$"):
        return None
    keys: list[Any] = []
    pos = 1
    while pos < len(rendered):
        match = _PATH_TOKEN.match(rendered, pos)
        if not match:
            return None
        name, index, quoted = match.groups()
        keys.append(name if name is not None else int(index) if index is not None else json.loads(quoted))
        pos = match.end()
    return keys


def _rows_of(d: StoredDifference, left: Body, right: Body, alignment: Alignment, layout: Layout) -> tuple[int, ...]:
    path = parse_path(d.path)
    rows: list[int] = []
    if path is not None:
        path = displayed(path, layout, candidate_side=d.ref == "absent") if layout else path
        for side, body in (("left", left), ("right", right)):
            span = locate(body, path)
            if span is None:
                continue
            for line in range(span[0], span[1] + 1):
                row = alignment.row_of(side, line)
                if row is not None:
                    rows.append(row)
    elif d.path.startswith("line "):
        line = int(d.path.split()[1]) - 1
        row = alignment.row_of("left", line)
        rows = [row] if row is not None else []
    return tuple(sorted(set(rows)))


def _header_rows(d: StoredDifference, left: Body, right: Body, alignment: Alignment) -> tuple[int, ...]:
    if not d.path.startswith("header "):
        return ()
    name = d.path.split(" ", 1)[1] + ":"
    rows = []
    for side, body in (("left", left), ("right", right)):
        for i, line in enumerate(body.lines):
            if line.lower().startswith(name):
                row = alignment.row_of(side, i)
                if row is not None:
                    rows.append(row)
    return tuple(sorted(set(rows)))
