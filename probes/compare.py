"""Compare two answers: JSON trees, text and bytes, each difference with a path and a kind.

Bodies can be megabytes, so the JSON walk skips equal subtrees with a C-speed `==` first
and descends only where the two sides differ. `==` alone is not type-strict (`True == 1`,
`1 == 1.0`), so an equal subtree is also checked with `marshal`, which is; when only key
order differs, that check fails and the walk descends and finds nothing, which is right.
DeepDiff is the oracle in the tests. Short arrays of different lengths are aligned
(difflib), where index-by-index would report every element after an insertion.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import marshal
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

KINDS = ("status", "shape", "type", "value", "header")
SEVERITY = {kind: i for i, kind in enumerate(KINDS)}
HEAD_KINDS = ("status", "header")  # the answer's head, judged apart from its body
ALIGN_MAX_ITEMS = 200  # arrays of different lengths up to this size are aligned
TEXT_DIFF_MAX_LINES = 200


class _Absent:
    """The side of a difference where the key or item is missing."""

    def __repr__(self) -> str:
        return "<absent>"


ABSENT: Any = _Absent()
PathKey = str | int


@dataclass(frozen=True)
class Difference:
    kind: str  # status | shape | type | value | header
    path: tuple[PathKey, ...]  # () is the root; ("@status",) and ("@header", name) are not body paths
    ref: Any
    cand: Any
    noise: bool = False
    ignored: bool = False

    @property
    def counts(self) -> bool:
        """Noise and ignored paths are shown but never diverge the case."""
        return not (self.noise or self.ignored)

    @property
    def where(self) -> str:
        return render_path(self.path)


_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def render_path(path: Sequence[PathKey], *, wildcard: bool = False) -> str:
    """`$.Schema.field`, `$.errors[0]`, `$["odd key"]`; status and headers by name.

    With `wildcard`, every index is `[*]`: the form ignore rules and fingerprints match.
    """
    if path and path[0] == "@status":
        return "status"
    if path and path[0] == "@header":
        return f"header {path[1]}"
    if path and path[0] == "@line":
        return f"line {path[1]}"
    out = ["$"]
    for key in path:
        if isinstance(key, int):
            out.append("[*]" if wildcard else f"[{key}]")
        elif _IDENT.match(key):
            out.append(f".{key}")
        else:
            out.append("[" + json.dumps(key, ensure_ascii=False) + "]")
    return "".join(out)


def json_type(value: Any) -> str:
    """The JSON Schema name of a parsed value's type; `absent` for a missing side."""
    if value is ABSENT:
        return "absent"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _type_kind(a: Any, b: Any) -> str:
    return "shape" if isinstance(a, (dict, list)) or isinstance(b, (dict, list)) else "type"


def _key(value: Any) -> bytes:
    """A type-strict key of a JSON value (True, 1 and 1.0 get three). marshal version 2: later
    versions write back-references and interned-string codes, which follow how the value was
    built (how often its document repeats a key), so two equal values got two keys."""
    return marshal.dumps(value, 2)


def _same(x: Any, y: Any) -> bool:
    """Type-strict equality, fast when it holds."""
    if x is y:
        return True
    if type(x) is not type(y) or x != y:
        return False
    if isinstance(x, (dict, list)):
        return _key(x) == _key(y)
    return True


def diff_json(ref: Any, cand: Any) -> list[Difference]:
    """Every place two parsed JSON values differ, in document order of the reference."""
    out: list[Difference] = []
    if not _same(ref, cand):
        _walk(ref, cand, (), out)
    return out


def _walk(a: Any, b: Any, path: tuple[PathKey, ...], out: list[Difference]) -> None:
    ta, tb = type(a), type(b)
    if ta is not tb:
        out.append(Difference(_type_kind(a, b), path, a, b))
    elif ta is dict:
        for key, x in a.items():
            if key in b:
                y = b[key]
                if not _same(x, y):
                    _walk(x, y, path + (key,), out)
            else:
                out.append(Difference("shape", path + (key,), x, ABSENT))
        for key, y in b.items():
            if key not in a:
                out.append(Difference("shape", path + (key,), ABSENT, y))
    elif ta is list:
        if len(a) != len(b) and len(a) <= ALIGN_MAX_ITEMS and len(b) <= ALIGN_MAX_ITEMS:
            out.extend(_aligned(a, b, path))
            return
        for i, (x, y) in enumerate(zip(a, b)):
            if not _same(x, y):
                _walk(x, y, path + (i,), out)
        for i in range(len(b), len(a)):
            out.append(Difference("shape", path + (i,), a[i], ABSENT))
        for i in range(len(a), len(b)):
            out.append(Difference("shape", path + (i,), ABSENT, b[i]))
    elif a != b:
        out.append(Difference("value", path, a, b))


def _aligned(a: list[Any], b: list[Any], path: tuple[PathKey, ...]) -> list[Difference]:
    """Align two short arrays of different lengths (difflib over type-strict item keys), so
    an insertion is one difference rather than one per item after it; items the matcher
    pairs up as replaced are compared index by index within the replaced block."""
    keys_a = [_key(x) for x in a]
    keys_b = [_key(y) for y in b]
    out: list[Difference] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, keys_a, keys_b, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        paired = min(i2 - i1, j2 - j1) if tag == "replace" else 0
        for k in range(paired):
            _walk(a[i1 + k], b[j1 + k], path + (i1 + k,), out)
        for i in range(i1 + paired, i2):
            out.append(Difference("shape", path + (i,), a[i], ABSENT))
        for j in range(j1 + paired, j2):
            out.append(Difference("shape", path + (j,), ABSENT, b[j]))
    return out


def diff_text(ref: str, cand: str) -> list[Difference]:
    """A line diff of two texts: one `value` difference per changed hunk, at `$` line N."""
    if ref == cand:
        return []
    a, b = ref.splitlines(), cand.splitlines()
    out: list[Difference] = []
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        out.append(Difference("value", ("@line", i1 + 1), "\n".join(a[i1:i2]) if i2 > i1 else ABSENT,
                              "\n".join(b[j1:j2]) if j2 > j1 else ABSENT))
        if len(out) >= TEXT_DIFF_MAX_LINES:
            break
    if not out:  # only line endings differ
        out.append(Difference("value", (), ref, cand))
    return out


def diff_bytes(ref: bytes, cand: bytes) -> list[Difference]:
    if ref == cand:
        return []
    first = next((i for i, (x, y) in enumerate(zip(ref, cand)) if x != y), min(len(ref), len(cand)))
    return [Difference("value", (), f"{len(ref)} bytes, sha256 {hashlib.sha256(ref).hexdigest()[:12]}",
                       f"{len(cand)} bytes, sha256 {hashlib.sha256(cand).hexdigest()[:12]}; first differs at byte {first}")]


def compile_ignore(patterns: Iterable[str]) -> re.Pattern[str] | None:
    """One regex for all ignore rules; `[*]` matches any index, a rule covers its subtree."""
    parts = []
    for pattern in patterns:
        escaped = re.escape(pattern).replace(r"\[\*\]", r"\[(?:\d+|\*)\]")
        parts.append(escaped + r"(?=$|[.\[])")
    return re.compile("^(?:" + "|".join(parts) + ")") if parts else None


def mark(diffs: Iterable[Difference], ignore: re.Pattern[str] | None,
         noise_paths: set[str]) -> list[Difference]:
    """Flag differences at ignored or noisy paths (kept for display, left out of counts)."""
    out = []
    for d in diffs:
        body = not d.path or d.path[0] not in ("@status", "@header")
        rendered = d.where
        ignored = bool(ignore and body and ignore.match(rendered))
        noise = body and (rendered in noise_paths or render_path(d.path, wildcard=True) in noise_paths
                          or any(rendered.startswith(p + ".") or rendered.startswith(p + "[")
                                 for p in noise_paths))
        out.append(Difference(d.kind, d.path, d.ref, d.cand, noise=noise, ignored=ignored) if (ignored or noise) else d)
    return out


def summary_kind(diffs: Iterable[Difference]) -> str | None:
    """The most severe kind among the differences that count; None when none does."""
    kinds = [d.kind for d in diffs if d.counts]
    return min(kinds, key=SEVERITY.__getitem__) if kinds else None


def fingerprint(case: str, diffs: Iterable[Difference]) -> str:
    """A stable hash of the case and the set of (kind, normalised path), values excluded.

    A known gap holding it covers exactly this divergence: the same case diverging in
    another place or another way gets another fingerprint.
    """
    items = sorted({(d.kind, render_path(d.path, wildcard=True)) for d in diffs if d.counts})
    h = hashlib.sha256(case.encode())
    for kind, path in items:
        h.update(b"\0" + kind.encode() + b"\0" + path.encode())
    return "sha256:" + h.hexdigest()[:16]
