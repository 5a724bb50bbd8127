"""Compare two answers: JSON trees, text and bytes, each difference with a path and a kind.

Bodies can be megabytes, so the JSON walk skips equal subtrees with a C-speed `==` first
and descends only where the two sides differ. `==` alone is not type-strict (`True == 1`,
`1 == 1.0`), so an equal subtree is also checked with `marshal`, which is; when only key
order differs, that check fails and the walk descends and finds nothing, which is right.
DeepDiff is the oracle in the tests. Short arrays of different lengths are aligned
(difflib), where index-by-index would report every element after an insertion.

Per-path rules (`Rules`) change what is equal only where a difference was found: arrays
compared as multisets (`unordered`), numbers within a `tolerance`, and `numbers =
"numeric"` (1 equals 1.0). They are compiled into a trie walked alongside the bodies, so a
comparison without rules, or away from the paths they name, costs what it did.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import json
import marshal
import math
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from ..core import UNSAFE, schema_type

# A key given twice in one object: parsers differ on which value wins (serde refuses the
# body, encoding/json keeps the last), so the same bytes are two answers.
DUPLICATE_KEY = "duplicate-key"
KINDS = ("status", "shape", "type", "value", DUPLICATE_KEY, "header")
SEVERITY = {kind: i for i, kind in enumerate(KINDS)}
HEAD_KINDS = ("status", "header")  # the answer's head, judged apart from its body
# What learned noise never covers: the head, and a key given twice (the value varying
# between the reference's answers makes its repetition no less ambiguous).
NOT_NOISE = (*HEAD_KINDS, DUPLICATE_KEY)
ALIGN_MAX_ITEMS = 200  # arrays of different lengths up to this size are aligned
TEXT_DIFF_MAX_LINES = 200
# JSON nested deeper than this is not compared: the walks recurse once a level, and the
# standard library's parser itself gives up near a thousand. It is the deepest orjson
# serialises, so one C-speed `orjson.dumps` tells a body is no deeper (serde_json's own
# default is 128: no real answer comes near).
MAX_DEPTH = 254


class _Absent:
    """The side of a difference where the key or item is missing."""

    def __repr__(self) -> str:
        return "<absent>"


ABSENT: Any = _Absent()
PathKey = str | int


@dataclass(frozen=True)
class Difference:
    kind: str  # one of KINDS
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


@functools.lru_cache(maxsize=4096)
def render_path(path: tuple[PathKey, ...], *, wildcard: bool = False) -> str:
    """`$.Schema.field`, `$.errors[0]`, `$["odd key"]`; status and headers by name.

    With `wildcard`, every index is `[*]`: the form ignore rules and fingerprints match.
    Remembered: one difference's path is rendered by its row, its class, its fingerprint and
    the noise check, and a service's answers diverge on a handful of paths.
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
            out.append(f"[{_quoted(key)}]")
    return "".join(out)


def _quoted(key: str) -> str:
    """A key as a JSON string in which every character a terminal would act on is a `\\u`
    escape: still JSON (a rendered path is parsed back), never raw on a screen. (JSON
    escapes the C0 controls itself, not DEL, the C1 ones or the bidirectional overrides.)"""
    return UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", json.dumps(key, ensure_ascii=False))


class TooDeep(ValueError):
    """A JSON body nested deeper than MAX_DEPTH: it is the answer's error, not the run's."""

    def __init__(self) -> None:
        super().__init__(f"body nested deeper than {MAX_DEPTH} levels")


@dataclass(frozen=True)
class Repeat:
    """A key given more than once in one object of a body: its path, each value in order."""

    path: tuple[PathKey, ...]
    values: tuple[Any, ...]

    def __str__(self) -> str:
        return f"given {len(self.values)} times: " + ", ".join(json.dumps(v, ensure_ascii=False) for v in self.values)


def load_json(raw: bytes) -> tuple[Any, tuple[Repeat, ...]]:
    """A JSON body parsed by the standard library (integers of any size, as the comparison
    wants them), and every key it gives twice in one object; raises TooDeep for one nested
    deeper than MAX_DEPTH, json.JSONDecodeError and UnicodeDecodeError for one not JSON.

    Finding the repeats costs an orjson serialisation and three byte scans (a tenth of the
    parse): only a body they cannot clear is parsed again, seeing every object's pairs."""
    try:
        value = json.loads(raw)
    except RecursionError:
        raise TooDeep() from None
    if _may_repeat(raw, shallow_dump(value)):
        return _parse_seeing_repeats(raw)
    return value, ()


def _may_repeat(raw: bytes, dumped: bytes | None) -> bool:
    """Whether a body may give a key twice in one object. A colon outside a string follows a
    key, so the body's colons are its keys and its strings' colons, and the parsed value
    serialised again has its kept keys and the kept strings' colons: a key given twice (and
    the value it dropped) only adds to the body's count, so equal counts clear it. Unless a
    colon was spelled `\\u003a` (a colon in the value, none in the body) or the body is
    UTF-16 or UTF-32 (where a 0x3A byte may be half of another character): JSON in those has
    a NUL byte in every ASCII character, JSON in UTF-8 has none."""
    return (dumped is None or raw.count(b":") != dumped.count(b":") or b"\\u003" in raw
            or b"\x00" in raw)


def _parse_seeing_repeats(raw: bytes) -> tuple[Any, tuple[Repeat, ...]]:
    """The body parsed with a hook given each object's pairs (the value the same as without:
    the last of a key's values, at its first place), then walked to name where each
    object repeating a key is. A repeat inside a value another repeat dropped is said with it."""
    repeating: dict[int, tuple[dict[str, Any], list[tuple[str, Any]]]] = {}

    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj = dict(pairs)
        if len(obj) != len(pairs):
            repeating[id(obj)] = (obj, pairs)  # the object held: its id is never reused meanwhile
        return obj

    value = json.loads(raw, object_pairs_hook=hook)
    found: list[Repeat] = []
    stack: list[tuple[tuple[PathKey, ...], Any]] = [((), value)]
    while stack and repeating:  # in document order, without recursion
        path, node = stack.pop()
        if type(node) is dict:
            if (seen := repeating.pop(id(node), None)) is not None:
                given: dict[str, list[Any]] = {}
                for key, item in seen[1]:
                    given.setdefault(key, []).append(item)
                found += (Repeat(path + (key,), tuple(items)) for key, items in given.items() if len(items) > 1)
            stack.extend((path + (key,), item) for key, item in reversed(node.items()))
        elif type(node) is list:
            stack.extend((path + (i,), node[i]) for i in range(len(node) - 1, -1, -1))
    return value, tuple(found)


def shallow_dump(value: Any, option: int = 0) -> bytes | None:
    """A parsed JSON value serialised by orjson (C speed; `option` its options), which goes no
    deeper than MAX_DEPTH; None when it cannot for another reason (an integer beyond 64 bits,
    a lone surrogate) and the value is measured no deeper; raises TooDeep when it is deeper."""
    try:
        return orjson.dumps(value, option=option)
    except TypeError:
        if deeper_than(value, MAX_DEPTH):
            raise TooDeep() from None
        return None


def deeper_than(value: Any, limit: int) -> bool:
    """Whether a parsed JSON value nests more than `limit` levels, found a level at a time
    (no recursion: the value may be as deep as the parser allows)."""
    level = [value] if type(value) is dict or type(value) is list else []
    for _ in range(limit):
        if not level:
            return False
        level = [child for node in level for child in (node.values() if type(node) is dict else node)
                 if type(child) is dict or type(child) is list]
    return bool(level)


def json_type(value: Any) -> str:
    """The JSON Schema name of a parsed value's type; `absent` for a missing side."""
    return "absent" if value is ABSENT else schema_type(value)


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


def diff_json(ref: Any, cand: Any, rules: Rules | None = None) -> list[Difference]:
    """Every place two parsed JSON values differ, in document order of the reference."""
    out: list[Difference] = []
    if not _same(ref, cand):
        if rules is None or rules.empty:
            _walk(ref, cand, (), out, (), None, False)
        else:
            _walk(ref, cand, (), out, (rules.root,), rules.root.tolerance, rules.numbers == "numeric")
    return out


def diff_repeats(ref: Any, ref_repeats: Sequence[Repeat], cand: Any, cand_repeats: Sequence[Repeat]) -> list[Difference]:
    """A `duplicate-key` difference for every key given twice on either side, the repeating
    side shown by its values, the other by its value there (or absent)."""
    if not ref_repeats and not cand_repeats:  # nearly always: no walk, no maps
        return []
    mine = {r.path: r for r in ref_repeats}
    theirs = {r.path: r for r in cand_repeats}
    return [Difference(DUPLICATE_KEY, path, mine[path] if path in mine else _at(ref, path),
                       theirs[path] if path in theirs else _at(cand, path))
            for path in {**mine, **theirs}]


def _at(value: Any, path: Sequence[PathKey]) -> Any:
    """The value at a path of a parsed body; ABSENT where the path leads nowhere."""
    for key in path:
        if type(value) is dict and type(key) is str and key in value:
            value = value[key]
        elif type(value) is list and type(key) is int and key < len(value):
            value = value[key]
        else:
            return ABSENT
    return value


def _is_number(value: Any) -> bool:
    return type(value) is int or type(value) is float


def _walk(a: Any, b: Any, path: tuple[PathKey, ...], out: list[Difference], nodes: tuple[_Node, ...],
          tol: Tolerance | None, numeric: bool) -> None:
    """`nodes`: where the rules' trie stands at `path` (empty: no rule below); `tol`: the
    tolerance in force; `numeric`: an integer and a float of one value are equal."""
    ta, tb = type(a), type(b)
    if ta is not tb:
        if numeric and _is_number(a) and _is_number(b):
            if not _close(a, b, tol):
                out.append(Difference("value", path, a, b))
        else:
            out.append(Difference(_type_kind(a, b), path, a, b))
    elif ta is dict:
        for key, x in a.items():
            if key in b:
                y = b[key]
                if not _same(x, y):
                    inner = _step(nodes, key) if nodes else nodes
                    _walk(x, y, path + (key,), out, inner, _tolerance(inner, tol), numeric)
            else:
                out.append(Difference("shape", path + (key,), x, ABSENT))
        for key, y in b.items():
            if key not in a:
                out.append(Difference("shape", path + (key,), ABSENT, y))
    elif ta is list:
        if nodes and any(n.unordered for n in nodes):
            _unordered(a, b, path, out, nodes, tol, numeric)
            return
        if len(a) != len(b) and len(a) <= ALIGN_MAX_ITEMS and len(b) <= ALIGN_MAX_ITEMS:
            out.extend(_aligned(a, b, path, nodes, tol, numeric))
            return
        for i, (x, y) in enumerate(zip(a, b)):
            if not _same(x, y):
                inner = _step(nodes, i) if nodes else nodes
                _walk(x, y, path + (i,), out, inner, _tolerance(inner, tol), numeric)
        for i in range(len(b), len(a)):
            out.append(Difference("shape", path + (i,), a[i], ABSENT))
        for i in range(len(a), len(b)):
            out.append(Difference("shape", path + (i,), ABSENT, b[i]))
    elif a != b and not (tol is not None and (ta is int or ta is float) and _close(a, b, tol)):
        out.append(Difference("value", path, a, b))


def _aligned(a: list[Any], b: list[Any], path: tuple[PathKey, ...], nodes: tuple[_Node, ...],
             tol: Tolerance | None, numeric: bool) -> list[Difference]:
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
            inner = _step(nodes, i1 + k) if nodes else nodes
            _walk(a[i1 + k], b[j1 + k], path + (i1 + k,), out, inner, _tolerance(inner, tol), numeric)
        for i in range(i1 + paired, i2):
            out.append(Difference("shape", path + (i,), a[i], ABSENT))
        for j in range(j1 + paired, j2):
            out.append(Difference("shape", path + (j,), ABSENT, b[j]))
    return out


def _unordered(a: list[Any], b: list[Any], path: tuple[PathKey, ...], out: list[Difference],
               nodes: tuple[_Node, ...], tol: Tolerance | None, numeric: bool) -> None:
    """An array compared as a multiset: each pair `unordered_pairs` makes is compared item to
    item (at the reference's index), an item left alone on one side is a shape difference."""
    for i, j in unordered_pairs(a, b, numeric=numeric):
        if i is None and j is not None:
            out.append(Difference("shape", path + (j,), ABSENT, b[j]))
        elif j is None and i is not None:
            out.append(Difference("shape", path + (i,), a[i], ABSENT))
        elif i is not None and j is not None and not _same(a[i], b[j]):
            inner = _step(nodes, i)
            _walk(a[i], b[j], path + (i,), out, inner, _tolerance(inner, tol), numeric)


def _item_key(value: Any, numeric: bool) -> str:
    """Equal items get one key, whatever the order of their objects' keys; 1, 1.0 and True
    get three (two under `numeric`: an integral float is keyed as its integer)."""
    if numeric:
        value = _integral(value)
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _integral(value: Any) -> Any:
    if type(value) is float and value.is_integer():
        return int(value)
    if type(value) is dict:
        return {k: _integral(v) for k, v in value.items()}
    if type(value) is list:
        return [_integral(v) for v in value]
    return value


def unordered_pairs(a: Sequence[Any], b: Sequence[Any], *, numeric: bool = False) -> list[tuple[int | None, int | None]]:
    """How two arrays compared as multisets line up: (index in a, index in b) for each pair,
    None on the side an item is missing from. Equal items pair first (in a's order); the
    rest pair in order, numbers by value (so 1.0001 meets 1.0 under a tolerance); what is
    left over stands alone. The diff viewer lays the two arrays out by these pairs."""
    waiting: dict[str, list[int]] = {}
    for j in range(len(b) - 1, -1, -1):
        waiting.setdefault(_item_key(b[j], numeric), []).append(j)
    pairs: list[tuple[int | None, int | None]] = []
    left_a: list[int] = []
    for i, x in enumerate(a):
        js = waiting.get(_item_key(x, numeric))
        if js:
            pairs.append((i, js.pop()))
        else:
            left_a.append(i)
    left_b = sorted(j for js in waiting.values() for j in js)
    if all(_is_number(a[i]) for i in left_a) and all(_is_number(b[j]) for j in left_b):
        left_a.sort(key=a.__getitem__)
        left_b.sort(key=b.__getitem__)
    elif len(left_a) * len(left_b) <= PAIR_BY_FIELDS_MAX:
        left_a, left_b = _by_fields(a, b, left_a, left_b, numeric)
    pairs += zip(left_a, left_b)
    pairs += ((i, None) for i in left_a[len(left_b):])
    pairs += ((None, j) for j in left_b[len(left_a):])
    return pairs


PAIR_BY_FIELDS_MAX = 10_000  # leftover pairs weighed field by field; beyond, they pair in order


def _by_fields(a: Sequence[Any], b: Sequence[Any], left_a: list[int], left_b: list[int],
               numeric: bool) -> tuple[list[int], list[int]]:
    """Leftover objects paired with the one sharing most fields with them (`{"id": 2, "p": 7}`
    meets `{"id": 2, "p": 8}`, not whatever came next); the rest pair in order."""
    fields_b = {j: {(k, _item_key(v, numeric)) for k, v in b[j].items()} if type(b[j]) is dict else set()
                for j in left_b}
    taken: set[int] = set()
    first_a: list[int] = []
    first_b: list[int] = []
    rest_a: list[int] = []
    for i in left_a:
        mine = {(k, _item_key(v, numeric)) for k, v in a[i].items()} if type(a[i]) is dict else set()
        best = max((j for j in left_b if j not in taken), key=lambda j: (len(mine & fields_b[j]), -j), default=None)
        if best is not None and mine & fields_b[best]:
            taken.add(best)
            first_a.append(i)
            first_b.append(best)
        else:
            rest_a.append(i)
    return first_a + rest_a, first_b + [j for j in left_b if j not in taken]


@dataclass(frozen=True)
class Tolerance:
    """How far two numbers may be apart and still be equal: `amount` absolute, or relative
    (a fraction of the larger magnitude, as math.isclose takes it)."""

    amount: float
    relative: bool = False

    def __str__(self) -> str:
        return f"{self.amount * 100:g}%" if self.relative else f"{self.amount:g}"


def _close(a: int | float, b: int | float, tol: Tolerance | None) -> bool:
    if tol is None:
        return a == b
    if tol.relative:
        return math.isclose(a, b, rel_tol=tol.amount, abs_tol=0.0)
    return math.isclose(a, b, rel_tol=0.0, abs_tol=tol.amount)


class _Node:
    """A place in the rules' trie: its children by key or index, the wildcards `[*]` (any
    index) and `.*` (any key), and the rules set at exactly this path."""

    __slots__ = ("keys", "any_index", "any_key", "unordered", "tolerance")

    def __init__(self) -> None:
        self.keys: dict[PathKey, _Node] = {}
        self.any_index: _Node | None = None
        self.any_key: _Node | None = None
        self.unordered = False
        self.tolerance: Tolerance | None = None


ANY_INDEX = "[*]"
ANY_KEY = ".*"
_PATTERN_TOKEN = re.compile(r'\.([A-Za-z_][A-Za-z0-9_]*)|\.(\*)|\[(\d+)\]|\[(\*)\]|\[("(?:[^"\\]|\\.)*")\]')


def parse_pattern(text: str) -> tuple[PathKey, ...]:
    """`$.a[*].b`, `$.stats.*`, `$["odd key"][0]` into keys (`[*]` and `.*` as ANY_INDEX and
    ANY_KEY); raises ValueError saying what is wrong where."""
    if not text.startswith("$"):
        raise ValueError(f"a JSON path starts with '$', got {text!r}")
    keys: list[PathKey] = []
    pos = 1
    while pos < len(text):
        match = _PATTERN_TOKEN.match(text, pos)
        if not match:
            raise ValueError(f"cannot read {text!r} from {text[pos:]!r} (expected .key, .*, [N], [*] or [\"key\"])")
        name, any_key, index, any_index, quoted = match.groups()
        keys.append(name if name is not None else ANY_KEY if any_key else int(index) if index is not None
                    else ANY_INDEX if any_index else json.loads(quoted))
        pos = match.end()
    return tuple(keys)


def parent_path(text: str) -> tuple[str, PathKey] | None:
    """A rendered path's parent and its last key (`$.a[*].b` → (`$.a[*]`, "b")); None for `$`
    or a path that does not parse."""
    try:
        keys = parse_pattern(text)
    except ValueError:
        return None
    if not keys:
        return None
    start = 1
    for _ in keys[:-1]:
        match = _PATTERN_TOKEN.match(text, start)
        assert match is not None
        start = match.end()
    return text[:start], keys[-1]


def parse_tolerance(value: Any) -> Tolerance:
    """A number (absolute) or a string `"N%"` (relative); raises ValueError."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f'expected a number or a percentage like "1%", got {value!r}')
    if isinstance(value, str):
        text = value.strip()
        try:
            amount = float(text[:-1]) / 100 if text.endswith("%") else float(text)
        except ValueError:
            raise ValueError(f'expected a number or a percentage like "1%", got {value!r}') from None
        relative = text.endswith("%")
    else:
        amount, relative = float(value), False
    if not math.isfinite(amount) or amount < 0:
        raise ValueError(f"must be a finite amount of at least 0, got {value!r}")
    return Tolerance(amount, relative)


NUMBERS = ("strict", "numeric")


@dataclass(frozen=True)
class Rules:
    """The per-path comparison rules of a run, compiled into a trie once."""

    unordered: tuple[str, ...] = ()
    tolerance: Mapping[str, Tolerance] = field(default_factory=dict)
    numbers: str = "strict"  # strict: 1 against 1.0 is a type difference; numeric: equal

    def __post_init__(self) -> None:
        root = _Node()
        for pattern in self.unordered:
            _node(root, parse_pattern(pattern)).unordered = True
        for pattern, tol in self.tolerance.items():
            _node(root, parse_pattern(pattern)).tolerance = tol
        object.__setattr__(self, "root", root)

    root: _Node = field(init=False, repr=False, compare=False)

    @property
    def empty(self) -> bool:
        return not (self.unordered or self.tolerance or self.numbers != "strict")

    def unordered_at(self, path: Sequence[PathKey]) -> bool:
        """Whether the array at `path` is compared as a multiset."""
        nodes: tuple[_Node, ...] = (self.root,)
        for key in path:
            nodes = _step(nodes, key)
            if not nodes:
                return False
        return any(n.unordered for n in nodes)


def _node(root: _Node, keys: tuple[PathKey, ...]) -> _Node:
    node = root
    for key in keys:
        if key == ANY_INDEX:
            node.any_index = node = node.any_index or _Node()
        elif key == ANY_KEY:
            node.any_key = node = node.any_key or _Node()
        else:
            node = node.keys.setdefault(key, _Node())
    return node


def _step(nodes: tuple[_Node, ...], key: PathKey) -> tuple[_Node, ...]:
    out: list[_Node] = []
    for node in nodes:
        if (child := node.keys.get(key)) is not None:
            out.append(child)
        wild = node.any_index if isinstance(key, int) else node.any_key
        if wild is not None:
            out.append(wild)
    return tuple(out)


def _tolerance(nodes: tuple[_Node, ...], inherited: Tolerance | None) -> Tolerance | None:
    """The tolerance set nearest above (a rule covers its subtree); a rule at this path wins."""
    for node in nodes:
        if node.tolerance is not None:
            return node.tolerance
    return inherited


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
         noise_paths: Collection[str]) -> list[Difference]:
    """Flag differences at ignored or noisy paths (kept for display, left out of counts);
    `noise_paths` are in wildcarded form, each covering its subtree."""
    out = []
    for d in diffs:
        body = not d.path or d.path[0] not in ("@status", "@header")
        ignored = bool(ignore and body and ignore.match(d.where))
        noise = d.kind not in NOT_NOISE and covered(render_path(d.path, wildcard=True), noise_paths)
        out.append(Difference(d.kind, d.path, d.ref, d.cand, noise=noise, ignored=ignored) if (ignored or noise) else d)
    return out


_STEP = re.compile(r"[.\[]")


def covered(where: str, paths: Collection[str]) -> bool:
    """Whether a wildcarded path is one of `paths` or lies under one (`$.a[*]` covers
    `$.a[*].b`): a set lookup per ancestor, not a scan of every path."""
    if not paths:
        return False
    if where in paths:
        return True
    return any(where[:m.start()] in paths for m in _STEP.finditer(where, 1))


def summary_kind(diffs: Iterable[Difference]) -> str | None:
    """The most severe kind among the differences that count; None when none does."""
    kinds = [d.kind for d in diffs if d.counts]
    return min(kinds, key=SEVERITY.__getitem__) if kinds else None


def fingerprint(case: str, diffs: Iterable[Difference]) -> str:
    """A stable hash of the case and the set of (kind, normalised path), values excluded.

    A known gap holding it covers exactly this divergence: the same case diverging in
    another place or another way gets another fingerprint.
    """
    return fingerprint_of(case, ((d.kind, render_path(d.path, wildcard=True)) for d in diffs if d.counts))


def fingerprint_of(case: str, items: Iterable[tuple[str, str]]) -> str:
    """The fingerprint of a case from its (kind, normalised path) pairs: how a divergence
    judged again (noise learned after it landed) gets the fingerprint it would have had."""
    h = hashlib.sha256(case.encode())
    for kind, path in sorted(set(items)):
        h.update(b"\0" + kind.encode() + b"\0" + path.encode())
    return "sha256:" + h.hexdigest()[:16]


Layout = dict[tuple[PathKey, ...], tuple[dict[int, int], dict[int, int]]]


def pair_unordered(ref: Any, cand: Any, rules: Rules) -> tuple[Any, Any, Layout]:
    """Both bodies with every unordered array laid out by its pairs (`unordered_pairs`): an
    item and the one it was compared with at the same index on both sides, the items left
    alone after them. Returns the bodies and, per array (at its path as the differences name
    it), where each reference index and each candidate index went, so the viewer shows a
    difference on the rows of its pair."""
    layout: Layout = {}
    numeric = rules.numbers == "numeric"

    def walk(a: Any, b: Any, path: tuple[PathKey, ...]) -> tuple[Any, Any]:
        if type(a) is dict and type(b) is dict:
            for key in a.keys() & b.keys():
                a[key], b[key] = walk(a[key], b[key], path + (key,))
        elif type(a) is list and type(b) is list:
            if rules.unordered_at(path):
                pairs = unordered_pairs(a, b, numeric=numeric)
                left = {i: k for k, (i, _) in enumerate(pairs) if i is not None}
                right = {j: k for k, (_, j) in enumerate(pairs) if j is not None}
                layout[path] = (left, right)
                new_a = [a[i] for i, _ in pairs if i is not None]
                new_b = [b[j] for _, j in pairs if j is not None]
                for (i, j) in pairs:
                    if i is not None and j is not None:
                        new_a[left[i]], new_b[right[j]] = walk(a[i], b[j], path + (i,))
                return new_a, new_b
            for i in range(min(len(a), len(b))):
                a[i], b[i] = walk(a[i], b[i], path + (i,))
        return a, b

    ref, cand = walk(ref, cand, ())
    return ref, cand, layout


def displayed(path: Sequence[PathKey], layout: Layout, *, candidate_side: bool) -> list[PathKey]:
    """A difference's path as laid out by `pair_unordered` (`candidate_side`: an index into
    an unordered array is the candidate's, for an item only the candidate has)."""
    out: list[PathKey] = []
    for n, key in enumerate(path):
        moved = layout.get(tuple(path[:n]))
        out.append(moved[1 if candidate_side else 0].get(key, key) if moved is not None and isinstance(key, int)
                   else key)
    return out
