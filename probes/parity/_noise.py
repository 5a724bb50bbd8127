"""Learned noise: what the reference itself does not answer the same way twice.

Each case asks the reference `noise_samples` more times; every path on which a sample
differs from the reference's first answer is noise, in wildcarded form (an array that
changes length or items is `$.steps[*]`, not the indexes that happened to differ). Noise is
pooled per endpoint (the method and the path template: the case's `template`, from an
OpenAPI or HAR import, or its path with numeric, uuid, hex and token segments wildcarded),
so a thousand cases of one endpoint teach each other what one case alone would miss.

A case is judged against its endpoint's pool as it stands when it lands (its own samples
included). Cases keep landing and the pool keeps growing, so the pool is settled at the
end of the phase (`NoiseSettled`) and every board judges the early cases again from it: a
divergence whose every path turned out to be noise no longer counts, one that keeps a
stable path keeps counting, in the class of what is left. The pool only grows, so the
final judgement does not depend on the order the cases landed in.

A path the reference answers the same way in every sample is never noise, however noisy
its neighbours. A sample that fails, or answers with another status or another kind of body
than the first answer (a 429 among 200s), teaches nothing: every path would differ in it.
It is counted as failed, and the noise table says so. A case whose reference answer is noise
through and through (every leaf) is *inconclusive*: shown and counted, never a silent match.

Memory is per endpoint, never per case: at most ENDPOINT_PATHS noise paths with
EVIDENCE example values each, and SHAPES reference shapes (the set of leaf paths an answer
has, for telling an inconclusive case at the end); beyond ENDPOINTS endpoints, a new
endpoint learns from its own case's samples only, and the settled table says so.

This module learns and settles; what the settled noise says to people and to files (the
notices, the report's table, the suggested ignore lines, parity/noise.json) is in
_noise_report.py.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ..cases import ParityCase, path_template
from ..core import neutralise
from ..core.events import (
    DiffRow,
    DivergenceClassFound,
    NoiseEndpointRow,
    NoisePathRow,
    NoiseSettled,
    NoiseShapeRow,
)
from ._classes import class_of_entries
from ._compare import (
    ABSENT,
    HEAD_KINDS,
    NOT_NOISE,
    SEVERITY,
    Difference,
    compile_ignore,
    covered,
    fingerprint_of,
    render_path,
)

ENDPOINT_PATHS = 500
ENDPOINTS = 10_000
EVIDENCE = 3
EVIDENCE_CHARS = 60
SHAPES = 32
OPEN_LEAVES = 100  # leaves of a shard's shape its noise leaves open, told to the merge; beyond, it is never hollow
ARRAY_SAMPLE = 4  # items of an array looked at for its shape (their paths are wildcarded alike)
TEXT_LINES = 200
ABSENT_EVIDENCE = "absent"  # the evidence of a key the reference's answer did not have
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


def endpoint_of(case: ParityCase) -> str:
    """`GET /v1/playbooks/{n}`: the key noise is pooled under."""
    return f"{case.method} {case.template or path_template(case.path)}"


def split_ignore(rule: str) -> tuple[str | None, str]:
    """An ignore rule: `$.path` on every endpoint, or `GET /v1/playbooks/{n} $.path` on that
    endpoint only (what `gauntlet noise suggest` writes); raises ValueError."""
    if rule.startswith("$"):
        return None, rule
    parts = rule.split(" ", 2)
    if len(parts) == 3 and parts[0] in METHODS and parts[1].startswith("/") and parts[2].startswith("$"):
        return f"{parts[0]} {parts[1]}", parts[2]
    raise ValueError(f"a JSON path starts with '$' (or 'METHOD /template $.path' for one endpoint), got {rule!r}")


class IgnoreRules:
    """The run's ignore rules compiled once for every endpoint, and once more for each
    endpoint that has rules of its own."""

    def __init__(self, rules: Iterable[str]) -> None:
        everywhere: list[str] = []
        scoped: dict[str, list[str]] = {}
        for rule in rules:
            endpoint, path = split_ignore(rule)
            (everywhere if endpoint is None else scoped.setdefault(endpoint, [])).append(path)
        self._everywhere = compile_ignore(everywhere)
        self._scoped = {e: compile_ignore([*everywhere, *paths]) for e, paths in scoped.items()}

    def for_case(self, case: ParityCase) -> re.Pattern[str] | None:
        return self._scoped.get(endpoint_of(case), self._everywhere) if self._scoped else self._everywhere


def leaf_paths(kind: str, value: Any) -> frozenset[str]:
    """Every leaf of an answer, wildcarded (an empty object or array is a leaf; an array's
    first ARRAY_SAMPLE items stand for the rest): what must all be noise for a case to be
    inconclusive. A text is its lines, bytes are one leaf."""
    if kind == "text":
        return frozenset(f"line {n}" for n in range(1, min(value.count("\n") + 1, TEXT_LINES) + 1))
    if kind != "json":
        return frozenset({"$"})
    out: set[str] = set()

    def walk(node: Any, path: tuple[Any, ...]) -> None:
        if isinstance(node, dict) and node:
            for key, child in node.items():
                walk(child, path + (key,))
        elif isinstance(node, list) and node:
            for child in node[:ARRAY_SAMPLE]:
                walk(child, path + (0,))
        else:
            out.add(render_path(path, wildcard=True))

    walk(value, ())
    return frozenset(out)


def all_noise(leaves: Collection[str], noise: Collection[str]) -> bool:
    return bool(leaves) and _hollow(leaves, noise)


def _hollow(leaves: Collection[str], noise: Collection[str]) -> bool:
    """A shape is noise through and through; a shard's hollow shape comes to the merge with
    no leaf left open, and stays hollow under the (larger) noise of every shard."""
    return bool(noise) and all(covered(p, noise) for p in leaves)


def shape_id(leaves: frozenset[str]) -> str:
    return hashlib.sha256("\0".join(sorted(leaves)).encode()).hexdigest()[:12]


def _evidence(value: Any) -> str:
    """The start of a value, display-safe: only what is shown is serialised (a differing
    subtree can be megabytes)."""
    if value is ABSENT:
        text = ABSENT_EVIDENCE
    elif isinstance(value, str):
        text = value[:2 * EVIDENCE_CHARS]
    else:
        text = _prefix(json.JSONEncoder(ensure_ascii=False).iterencode(value), 2 * EVIDENCE_CHARS)
    text = neutralise(text)
    return text if len(text) <= EVIDENCE_CHARS else text[:EVIDENCE_CHARS - 1] + "…"


def _evidence_of(d: Difference) -> tuple[str, str]:
    """The values a sample's difference shows: the first answer's and the sample's."""
    return _evidence(d.ref), _evidence(d.cand)


def _evidence_told(p: NoisePathRow) -> tuple[str, ...]:
    """The values a shard's settled path already shows."""
    return p.evidence


def _prefix(chunks: Iterable[str], chars: int) -> str:
    """At least `chars` characters of an encoding, or all of it: the encoder stops there."""
    taken: list[str] = []
    size = 0
    for chunk in chunks:
        taken.append(chunk)
        size += len(chunk)
        if size >= chars:
            break
    return "".join(taken)


@dataclass
class _Path:
    differed: int = 0  # samples in which this path (or something under it) differed
    evidence: list[str] = field(default_factory=list)  # the reference's own values there


@dataclass
class _Endpoint:
    samples: int = 0
    failed: int = 0  # samples that taught nothing: no answer, or another status or body kind
    cases: int = 0
    paths: dict[str, _Path] = field(default_factory=dict)
    noise: frozenset[str] = frozenset()
    shapes: dict[str, tuple[frozenset[str], int]] = field(default_factory=dict)  # id -> (leaves, cases)
    truncated: bool = False


class NoisePool:
    """The run's noise, per endpoint, learned as cases land; `settled()` is the final word."""

    def __init__(self) -> None:
        self._endpoints: dict[str, _Endpoint] = {}
        self._overflow = 0  # endpoints beyond ENDPOINTS, learning from their own case only

    def _state(self, endpoint: str) -> _Endpoint:
        """The endpoint's state; beyond ENDPOINTS, a new one is counted and forgotten."""
        state = self._endpoints.get(endpoint)
        if state is None:
            state = _Endpoint()
            if len(self._endpoints) < ENDPOINTS:
                self._endpoints[endpoint] = state
            else:
                self._overflow += 1
        return state

    def learn(self, endpoint: str, samples: Sequence[Sequence[Difference]],
              leaves: frozenset[str] | None, failed: int = 0) -> tuple[frozenset[str], frozenset[str], str]:
        """Fold in one case: its reference's differences from each extra sample, the leaf
        paths of its first answer (None: it could not be read), and how many samples failed.
        Returns the endpoint's noise now, the paths this case's own samples differed on, and
        the case's shape id."""
        state = self._state(endpoint)
        state.cases += 1
        state.failed += failed
        own: set[str] = set()
        for diffs in samples:
            state.samples += 1
            hit: dict[str, Difference] = {}
            for d in diffs:
                if d.path[:1] in (("@status",), ("@header",)):
                    continue
                hit.setdefault(render_path(d.path, wildcard=True), d)
            for where in _outermost(hit):
                own.add(where)
                self._count(state, where, 1, functools.partial(_evidence_of, hit[where]))
        shape = ""
        if leaves is not None:
            shape = shape_id(leaves)
            self._shape(state, shape, leaves, 1)
        return state.noise, frozenset(own), shape

    def absorb(self, settled: NoiseSettled) -> None:
        """Fold in a shard's settled pool (`gauntlet merge`): samples, cases and each path's
        count added, evidence and paths bounded as when learning, every shape with the leaves
        the shard's noise left open. The merged pool is then what one run of every case learns."""
        self._overflow += settled.overflow
        for row in settled.endpoints:
            state = self._state(row.endpoint)
            state.samples += row.samples
            state.cases += row.cases
            state.failed += row.failed
            state.truncated |= row.truncated
            for p in row.paths:
                self._count(state, p.path, p.differed, functools.partial(_evidence_told, p))
            for s in row.shapes:
                self._shape(state, s.id, frozenset(s.open), s.cases)

    @staticmethod
    def _shape(state: _Endpoint, shape: str, leaves: frozenset[str], cases: int) -> None:
        seen = state.shapes.get(shape)
        if seen is not None:
            state.shapes[shape] = (seen[0], seen[1] + cases)
        elif len(state.shapes) < SHAPES:
            state.shapes[shape] = (leaves, cases)

    def _count(self, state: _Endpoint, where: str, times: int, shown: Callable[[], Iterable[str]]) -> None:
        """`times` samples differed at `where`: counted on the noise path covering it, or
        learned as a new one (which takes in the narrower paths it covers); `shown` gives the
        values seen there, asked for only while the path lacks evidence."""
        home = next((p for p in ancestors(where) if p in state.paths), None)
        if home is None:
            if len(state.paths) >= ENDPOINT_PATHS:
                state.truncated = True
                return
            narrower = [p for p in state.paths if covered(p, (where,))]
            entry = state.paths[where] = _Path(max((state.paths[p].differed for p in narrower), default=0))
            for p in narrower:
                entry.evidence += state.paths.pop(p).evidence[:EVIDENCE - len(entry.evidence)]
            state.noise = frozenset(state.paths)
            home = where
        entry = state.paths[home]
        entry.differed += times
        if len(entry.evidence) >= EVIDENCE:
            return
        for value in shown():
            if len(entry.evidence) < EVIDENCE and value not in entry.evidence:
                entry.evidence.append(value)

    def settled(self, *, shard: bool = False) -> NoiseSettled:
        """Every endpoint that was sampled, its noise with counts and evidence, and the shapes
        of its reference answers that are noise through and through; a `shard`'s also every
        shape with the leaves left open (one with more than OPEN_LEAVES is left out: the
        merge never calls it hollow)."""
        rows = []
        for endpoint, state in sorted(self._endpoints.items()):
            if not state.samples and not state.failed:
                continue
            paths = tuple(NoisePathRow(p, e.differed, tuple(e.evidence)) for p, e in sorted(state.paths.items()))
            hollow = tuple(sorted(s for s, (leaves, _) in state.shapes.items() if _hollow(leaves, state.noise)))
            inconclusive = sum(state.shapes[s][1] for s in hollow)
            shapes: tuple[NoiseShapeRow, ...] = ()
            if shard:
                open_ = {s: sorted(p for p in leaves if not covered(p, state.noise))
                         for s, (leaves, _) in state.shapes.items()}
                shapes = tuple(NoiseShapeRow(s, state.shapes[s][1], tuple(left))
                               for s, left in sorted(open_.items()) if len(left) <= OPEN_LEAVES)
            rows.append(NoiseEndpointRow(endpoint, state.samples, state.cases, paths, hollow, inconclusive,
                                         state.truncated, shapes, state.failed))
        return NoiseSettled(tuple(rows), self._overflow)


def ancestors(where: str) -> Iterable[str]:
    """`$.a[*].b` itself, then `$.a[*]`, then `$.a`."""
    yield where
    for m in reversed(list(re.finditer(r"[.\[]", where[1:]))):
        yield where[:m.start() + 1]


def _outermost(paths: Iterable[str]) -> list[str]:
    """The paths that no other of them covers: one sample that changed `$.a` and `$.a.b`
    differed once, at `$.a`."""
    found = set(paths)
    return sorted(p for p in found if not any(a in found for a in list(ancestors(p))[1:]))


def own_noise(samples: Iterable[Sequence[Difference]]) -> frozenset[str]:
    """Where an answer's own extra samples differed from it (wildcarded, outermost): a
    candidate's, which no pool learns. A key present in one of its answers and absent from
    another makes its whole map the noise (the keys are data: random ones differ by case, so
    a path per key would be a new class on every case)."""
    paths: set[str] = set()
    for diffs in samples:
        for d in diffs:
            if d.path[:1] in (("@status",), ("@header",)):
                continue
            keyed = d.kind == "shape" and (d.ref is ABSENT or d.cand is ABSENT) and d.path
            paths.add(render_path(d.path[:-1] if keyed else d.path, wildcard=True))
    return frozenset(_outermost(paths))


# ---- judging again from the settled pool -------------------------------------------------------

@dataclass
class Rejudged:
    """What settling changes for one case and candidate: its class (None: nothing counts any
    more), its body's kind and its fingerprint."""

    class_id: str | None
    kind: str | None
    fingerprint: str | None


class Settler:
    """Judges landed cases again from the settled pool; each (class, endpoint) is worked out
    once, however many cases share it."""

    def __init__(self, event: NoiseSettled, classes: Mapping[str, DivergenceClassFound]) -> None:
        self.noise = {e.endpoint: frozenset(p.path for p in e.paths) for e in event.endpoints}
        self.hollow = {e.endpoint: frozenset(e.hollow_shapes) for e in event.endpoints}
        self.classes = classes
        self.found: dict[str, DivergenceClassFound] = {}  # classes met only by judging again
        self._left: dict[tuple[str, str], tuple[tuple[Any, ...], str | None, str | None] | None] = {}

    def inconclusive(self, endpoint: str, shape: str) -> bool:
        return bool(shape) and shape in self.hollow.get(endpoint, ())

    def rejudge(self, case: str, endpoint: str, class_id: str) -> Rejudged | None:
        """None: the class keeps every entry under this endpoint's noise."""
        noise = self.noise.get(endpoint)
        found = self.classes.get(class_id)
        if not noise or found is None:
            return None
        key = (class_id, endpoint)
        if key not in self._left:
            left = tuple(e for e in found.entries if e.kind in NOT_NOISE or not covered(e.path, noise))
            if len(left) == len(found.entries):
                self._left[key] = None
            else:
                reduced = class_of_entries(left)
                if reduced is not None and reduced.id not in self.classes:
                    self.found.setdefault(reduced.id, reduced.event())
                body = [e.kind for e in left if e.kind not in HEAD_KINDS]
                self._left[key] = (left, reduced.id if reduced else None,
                                   min(body, key=SEVERITY.__getitem__) if body else None)
        settled = self._left[key]
        if settled is None:
            return None
        left, new_id, kind = settled
        return Rejudged(new_id, kind, fingerprint_of(case, ((e.kind, e.path) for e in left)) if left else None)

    def case(self, case: str, endpoint: str, kinds: Mapping[str, str | None], classes: Mapping[str, str | None],
             fingerprints: Mapping[str, str | None]) -> tuple[dict[str, str | None], ...] | None:
        """A landed case's kinds, classes and fingerprints per candidate, judged again (the
        parity board and the history summary alike); None when settling changes none of them."""
        kinds, classes, fingerprints = dict(kinds), dict(classes), dict(fingerprints)
        changed = False
        for target, class_id in list(classes.items()):
            again = self.rejudge(case, endpoint, class_id) if class_id else None
            if again is not None:
                classes[target], kinds[target], fingerprints[target] = again.class_id, again.kind, again.fingerprint
                changed = True
        return (kinds, classes, fingerprints) if changed else None

    def rows(self, endpoint: str, diffs: Iterable[DiffRow]) -> tuple[DiffRow, ...]:
        """A class's example differences with the settled noise flagged."""
        noise = self.noise.get(endpoint, frozenset())
        return tuple(replace(d, noise=True) if not d.noise and d.kind not in NOT_NOISE
                     and covered(wildcarded(d.path), noise) else d for d in diffs)


_INDEX = re.compile(r"\[\d+\]")


def wildcarded(where: str) -> str:
    """A rendered path's wildcarded form (`$.a[3].b` → `$.a[*].b`)."""
    return _INDEX.sub("[*]", where)


