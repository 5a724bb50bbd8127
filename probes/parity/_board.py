"""The parity phase's state as the event stream tells it (its reports are in _render.py).

Built for 100,000 cases: a case is kept as a compact row (its dictionaries shared with every
other case that has the same ones), divergences are grouped by class, and the reports list
classes with a few example cases each rather than a section per case. Cases and each class's
cases are kept in the order the config declares them (_order.py), so whatever reads the board
lists them the same way every run, however they landed.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, TypeVar

from ..core.events import DiffRow, DivergenceClassFound, Event, NoiseSettled, ParityCaseFinished, ParityPlanned
from ._compare import HEAD_KINDS, SEVERITY
from ._latency import LatencyBoard
from ._noise import Settler
from ._order import DeclaredOrder

Dict = TypeVar("Dict", bound=dict[str, Any])
INCONCLUSIVE = "inconclusive"  # a case whose reference answer is all noise: neither a match nor a divergence
EXAMPLES = 3  # cases named per class in a sentence


@dataclass(frozen=True, slots=True)
class CaseRow:
    """One probed case as the boards keep it: the event without its difference rows."""

    case: str
    reference: str
    statuses: dict[str, int | None]
    errors: dict[str, str]
    kinds: dict[str, str | None]
    fingerprints: dict[str, str | None]
    status_match: bool
    body_match: bool
    expect_failures: tuple[str, ...]
    status_kinds: dict[str, str | None]
    classes: dict[str, str | None]
    endpoint: str = ""
    shape: str = ""
    inconclusive: bool = False  # the reference's answer is all noise: a match here proves nothing
    expect_status: int | None = None
    unsteady: dict[str, tuple[str, ...]] = field(default_factory=dict)  # per candidate: candidate noise
    weight: int = 1  # the requests it stands for (a mirror's count of requests judged alike)

    def status_word(self, target: str) -> str:
        """The target's status code as the tables show it, `error` when it gave none."""
        status = self.statuses.get(target)
        return "error" if status is None else str(status)

    @property
    def unsure(self) -> bool:
        """The bodies match, but on noise alone: the reference's answer is all noise."""
        return self.inconclusive and self.body_match


@dataclass(frozen=True)
class ClassGroup:
    """The cases of one candidate that diverge in one class (`class_id` None: a run recorded
    before classes, grouped by each case's fingerprint)."""

    target: str
    class_id: str | None
    kind: str
    description: str
    cases: list[str]
    example_diffs: tuple[DiffRow, ...]
    weight: int = 0  # the requests in it: its cases, each counted for the requests it stands for

    @property
    def named(self) -> str:
        """`a, b, c and 14,997 more`, counting the requests a case stands for."""
        return examples(self.cases, total=self.weight)


# What a target answering every case with one status most likely means: it was never asked
# what the cases ask (a base path, credentials), so nothing was compared.
MISAIMED_CAUSES = {
    401: "missing credentials? ([parity] headers)", 403: "missing credentials? ([parity] headers)",
    407: "a proxy asks for credentials", 404: "a base path? (the target URL's path, or the cases' paths)",
    410: "a base path? (the target URL's path, or the cases' paths)",
    405: "the cases' methods or routes are not this service's", 421: "a host name the service does not serve",
    429: "rate limited on every request", 500: "the service fails every request",
    502: "nothing healthy behind a proxy", 503: "the service is not ready", 504: "nothing answers behind a proxy",
}


MISAIMED_MIN_CASES = 2


@dataclass
class Aim:
    """Whether a target answered anything the cases asked: a target that answers every case
    with the same error status, or fails every request, was misaimed (the run checked nothing
    there), unless the cases expect that status."""

    cases: int = 0
    status: int | None = None  # the status of every case so far (uniform)
    uniform: bool = True
    failed: int = 0
    first_error: str = ""
    expected: int = 0  # cases that expect the status they got

    def add(self, status: int | None, error: str | None, expect: int | None, n: int = 1) -> None:
        """`n` cases that got this (a mirror's requests judged alike)."""
        if not self.cases:
            self.status = status
        elif status != self.status:
            self.uniform = False
        self.cases += n
        if error:
            self.failed += n
            self.first_error = self.first_error or error
        self.expected += n * (expect is not None and expect == status)

    def misaimed(self, *, minimum: int = MISAIMED_MIN_CASES) -> tuple[str, str] | None:
        """(what every case got, the likely cause), or None while the target answered something.
        A run needs `minimum` cases for a pattern (one case failing is that case's result); a
        check that sends one case per endpoint takes what it gets."""
        if self.cases < minimum or not self.cases:
            return None
        if self.failed == self.cases:
            return f"every case ({self.cases:,}) failed", self.first_error
        if self.uniform and self.status in MISAIMED_CAUSES and self.expected < self.cases:
            return f"every case ({self.cases:,}) answered {self.status}", MISAIMED_CAUSES[self.status]
        return None


@dataclass
class Tally:
    """The headline's counts, case by case: a screen that redraws ten times a second keeps
    one up to date as cases land rather than going over 100,000 rows each time."""

    cases: int = 0
    status_match: int = 0
    divergent: int = 0  # bodies that diverge, of the cases that could be compared
    not_shape: int = 0  # of those, bodies that differ otherwise than in shape alone
    errored: int = 0
    inconclusive: int = 0
    aims: dict[str, Aim] = field(default_factory=dict)  # per target, in the order the targets are given
    # (candidate, path) -> [cases, the first few]: where a candidate disagreed with itself
    unsteady: dict[tuple[str, str], tuple[int, list[str]]] = field(default_factory=dict)

    def add(self, r: CaseRow, n: int | None = None) -> None:
        """Count the case for the requests it stands for, or `n` more of them (its count grew)."""
        n = r.weight if n is None else n
        self.cases += n
        for target, paths in r.unsteady.items():
            for path in paths:
                count, named = self.unsteady.get((target, path), (0, []))
                # the first cases by name, not by landing: the verdict reads the same every run
                self.unsteady[(target, path)] = (count + n, sorted({*named, r.case})[:EXAMPLES])
        for target, status in r.statuses.items():
            aim = self.aims.get(target)  # not setdefault(target, Aim()): an Aim made and dropped per case
            if aim is None:
                aim = self.aims[target] = Aim()
            aim.add(status, r.errors.get(target), r.expect_status, n)
        self.inconclusive += n * r.inconclusive
        self.status_match += n * r.status_match
        if r.errors:
            self.errored += n
        elif not r.body_match:
            self.divergent += n
            self.not_shape += n * (body_kinds(r) != ["shape"])

    def headline(self) -> str:
        n = self.cases
        noun = "bodies diverge" if self.not_shape else "body shapes diverge"
        text = f"{self.status_match}/{n} status codes match · {self.divergent}/{n} {noun}"
        if self.errored:
            text += f" · {self.errored}/{n} could not be compared"
        if self.inconclusive:
            text += f" · {self.inconclusive}/{n} inconclusive (the reference's answer is all noise)"
        for target, (what, _) in self.misaimed():
            text += f" · {target} misaimed ({what})"
        for target in dict.fromkeys(t for t, _ in self.unsteady):
            text += f" · {target} disagrees with itself"
        return text

    def candidate_noise(self) -> dict[str, list[tuple[str, int, list[str]]]]:
        """Per candidate, each path where its own answers differed and the reference's did not:
        (path, cases, the first few of them by name), by candidate and path, never by landing order."""
        out: dict[str, list[tuple[str, int, list[str]]]] = {}
        for (target, path), (count, named) in sorted(self.unsteady.items()):
            out.setdefault(target, []).append((path, count, named))
        return out

    def misaimed(self) -> list[tuple[str, tuple[str, str]]]:
        return [(target, why) for target, aim in self.aims.items() if (why := aim.misaimed()) is not None]


class Shared:
    """One object per distinct small dictionary: 100,000 cases share a handful of them."""

    def __init__(self) -> None:
        self._seen: dict[Any, Any] = {}

    def __call__(self, value: Dict) -> Dict:
        shared: Dict = self._seen.setdefault(tuple(value.items()), value)
        return shared


@dataclass
class ParityBoard:
    """Every case's latest result and the divergence classes met. `cases` is the landing
    order (what a live face folds in since it last looked); `done()`, `declared()` and the
    class groups are in declared order, for everything a person or a diff reads."""

    cases: list[str] = field(default_factory=list)
    targets: tuple[str, ...] = ()
    reference: str = ""
    results: dict[str, CaseRow] = field(default_factory=dict)
    classes: dict[str, DivergenceClassFound] = field(default_factory=dict)
    tally: Tally = field(default_factory=Tally)
    noise: NoiseSettled | None = None  # the run's learned noise, once settled
    max_inconclusive: float = 0.1
    order: DeclaredOrder = field(default_factory=DeclaredOrder)
    _declared: list[str] = field(default_factory=list)  # the landed cases in declared order
    _groups: dict[tuple[str, str], list[str]] = field(default_factory=dict)  # (target, class key) -> cases, declared order
    _group_kinds: dict[tuple[str, str], str] = field(default_factory=dict)
    _group_weights: dict[tuple[str, str], int] = field(default_factory=dict)  # (target, class key) -> requests
    # (target, class key) -> (the place of the case they are of, its differences): the group's first case's
    _examples: dict[tuple[str, str], tuple[int, tuple[DiffRow, ...]]] = field(default_factory=dict)
    _shared: Shared = field(default_factory=Shared)
    latency: LatencyBoard = field(default_factory=LatencyBoard)  # with `[parity.latency]`: each case's timings

    def __post_init__(self) -> None:
        self.latency.order = self.order  # one place per case, for the timings as for the rest

    def apply(self, t: float, event: Event) -> None:
        self.order.apply(event)
        self.latency.apply(t, event)
        if isinstance(event, ParityPlanned):
            self.targets, self.reference = event.targets, event.reference
            self.max_inconclusive = event.max_inconclusive
            self.cases, self._declared, self.results = [], [], {}
            self.tally, self._groups, self._group_kinds, self._group_weights, self._examples = Tally(), {}, {}, {}, {}
            self.noise = None
        elif isinstance(event, DivergenceClassFound):
            self.classes[event.id] = event
        elif isinstance(event, NoiseSettled):
            self.settle(event)
        elif isinstance(event, ParityCaseFinished):
            before = self.results.get(event.case)
            if before is None:
                self.cases.append(event.case)
                self._insert(self._declared, event.case)
            share = self._shared
            row = self.results[event.case] = CaseRow(
                event.case, event.reference, share(event.statuses), share(event.errors), share(event.kinds),
                event.fingerprints, event.status_match, event.body_match, event.expect_failures,
                share(event.status_kinds), share(event.classes), event.endpoint, event.shape, event.inconclusive,
                event.expect_status, share({t: tuple(paths) for t, paths in event.unsteady.items()}), event.weight)
            if before is None:
                self._count(row)
            elif replace(before, weight=row.weight) == row:  # a mirror's count of requests alike, grown
                self._count(row, row.weight - before.weight, listed=True)
            else:  # a case probed twice (rare): count every case again
                self._count_all()
            if event.diffs:
                place = self.order.key(event.case)
                for target in event.kinds:
                    key = event.classes.get(target) or event.fingerprints.get(target) or ""
                    self._example((target, key), place, tuple(d for d in event.diffs if d.target == target))

    def _insert(self, cases: list[str], case: str) -> None:
        """Put a case in its declared place among `cases`: cases land mostly in that order, so
        mostly an append, one place looked up rather than a bisection's twenty."""
        key = self.order.key
        if not cases or key(cases[-1]) <= key(case):
            cases.append(case)
        else:
            bisect.insort(cases, case, key=key)

    def _example(self, key: tuple[str, str], place: int, diffs: tuple[DiffRow, ...]) -> None:
        """Keep a group's example differences of its first case in declared order, whichever landed first."""
        if key not in self._examples or place < self._examples[key][0]:
            self._examples[key] = (place, diffs)

    def settle(self, event: NoiseSettled) -> None:
        """Judge every landed case again from the settled noise (probes/parity/_noise.py): a case
        judged before its endpoint's noise was all learned loses the entries that turned out
        noise, keeps those that did not, and is inconclusive if its reference's answer is."""
        self.noise = event
        settler = Settler(event, self.classes)
        share = self._shared
        for case in self._declared:
            row = self.results[case]
            if row.errors or not row.endpoint:
                continue
            again = settler.case(case, row.endpoint, row.kinds, row.classes, row.fingerprints)
            kinds, classes, fingerprints = again or (row.kinds, row.classes, row.fingerprints)
            for target, class_id in classes.items():
                before = row.classes.get(target)
                if class_id and class_id != before:
                    _, diffs = self._examples.get((target, before or ""), (0, ()))
                    self._example((target, class_id), self.order.key(case), settler.rows(row.endpoint, diffs))
            inconclusive = row.inconclusive or settler.inconclusive(row.endpoint, row.shape)
            if again is not None or inconclusive != row.inconclusive:
                self.results[case] = replace(row, kinds=share(kinds), classes=share(classes), fingerprints=fingerprints,
                                             body_match=not any(kinds.values()), inconclusive=inconclusive)
        self.classes.update(settler.found)
        self._count_all()

    def _count(self, row: CaseRow, n: int | None = None, *, listed: bool = False) -> None:
        """The headline's counts and the class groups, kept as cases land: a report, the
        verdict or a redraw at 100,000 cases reads them instead of going over every case.
        Cases land mostly in declared order, so keeping a group in that order is an append.
        `n` more requests of a case already `listed` in its groups count without listing it again."""
        n = row.weight if n is None else n
        self.tally.add(row, n)
        for target, key, kind in divergences(row):
            if not listed:
                self._insert(self._groups.setdefault((target, key), []), row.case)
            self._group_kinds.setdefault((target, key), kind)
            self._group_weights[(target, key)] = self._group_weights.get((target, key), 0) + n

    def _count_all(self) -> None:
        self.tally, self._groups, self._group_kinds, self._group_weights = Tally(), {}, {}, {}
        for row in self.done():
            self._count(row)

    @property
    def candidates(self) -> list[str]:
        return [t for t in self.targets if t != self.reference]

    def declared(self) -> list[str]:
        """The landed cases, in the order the config declares them."""
        return self._declared

    def done(self) -> list[CaseRow]:
        """The landed cases' rows, in declared order."""
        return [self.results[c] for c in self._declared]

    def errored(self) -> list[CaseRow]:
        return [r for r in self.done() if r.errors]

    def status_mismatches(self) -> list[CaseRow]:
        return [r for r in self.done() if not r.errors and not r.status_match]

    def body_divergent(self) -> list[CaseRow]:
        return [r for r in self.done() if not r.errors and not r.body_match]

    def class_groups(self) -> list[ClassGroup]:
        """Every (candidate, class) that diverges: the body's and the compared headers' way of
        differing, the status code left out (it blocks on its own). Most requests first, then
        by candidate and class, each group's cases in declared order."""
        return [self.group(target, key, self._group_kinds[(target, key)], list(cases), self._group_weights[(target, key)])
                for (target, key), cases in sorted(self._groups.items(),
                                                   key=lambda item: (-self._group_weights[item[0]], item[0]))]

    def group(self, target: str, key: str, kind: str, cases: list[str], weight: int | None = None) -> ClassGroup:
        """The group of `cases` diverging for `target` in the class (or fingerprint) `key`, the
        class's own words when it was announced; `weight` the requests they stand for (by
        default, each case's own)."""
        found = self.classes.get(key)
        return ClassGroup(target, key if found else None, found.kind if found else kind,
                          found.description if found else f"fingerprint {key}", cases,
                          self._examples.get((target, key), (0, ()))[1],
                          sum(self.results[c].weight for c in cases) if weight is None else weight)

    def headline(self) -> str:
        """`6/6 status codes match · 5/6 body shapes diverge` (errors named when any); a case
        whose status differs too still counts its body by the body's own kind."""
        return self.tally.headline()


def divergences(r: CaseRow) -> list[tuple[str, str, str]]:
    """(candidate, class key, kind) for each way the case diverges that a class names: the
    body's and the compared headers' way of differing, the status code left out (it blocks on
    its own); a case that could not be compared has none. A run recorded before classes is
    keyed by each case's fingerprint."""
    if r.errors:
        return []
    out = []
    for target, body in r.kinds.items():
        kind = body or ("header" if r.status_kinds.get(target) == "header" else None)
        if kind is not None:
            out.append((target, r.classes.get(target) or r.fingerprints.get(target) or kind, kind))
    return out


def examples(cases: list[str], limit: int = EXAMPLES, total: int | None = None) -> str:
    """`a, b, c and 14,997 more`; `total` counts more than the cases named (a mirror's
    requests judged alike stand behind one name)."""
    total = len(cases) if total is None else total
    shown = ", ".join(cases[:limit])
    return shown + (f" and {total - min(limit, len(cases)):,} more" if total > min(limit, len(cases)) else "")


class Judged(Protocol):
    """What the kind cells read of a case: a board's row or the case's own event alike."""

    @property
    def kinds(self) -> Mapping[str, str | None]: ...
    @property
    def status_kinds(self) -> Mapping[str, str | None]: ...
    @property
    def errors(self) -> Mapping[str, str]: ...
    @property
    def expect_failures(self) -> tuple[str, ...]: ...


def head_kinds(r: Judged) -> list[str]:
    """What differs in the candidates' heads (status, header), most severe first; an expected
    status not answered is a status kind too. Runs recorded before `status_kinds` carried
    these in `kinds`, so they are read from there as well."""
    kinds = {k for k in (*r.status_kinds.values(), *r.kinds.values()) if k in HEAD_KINDS}
    if r.expect_failures:
        kinds.add("status")
    return sorted(kinds, key=SEVERITY.__getitem__)


def body_kinds(r: Judged) -> list[str]:
    """How the candidates' bodies diverge (shape, type, value), most severe first."""
    return sorted({k for k in r.kinds.values() if k and k not in HEAD_KINDS}, key=SEVERITY.__getitem__)


def status_kind(r: Judged) -> str:
    """The status kind cell: `error` when a target could not be compared, else the head kinds."""
    return "error" if r.errors else ", ".join(head_kinds(r))


def body_kind(r: Judged) -> str:
    """The body kind cell: empty when the bodies match or could not be compared."""
    return ", ".join(body_kinds(r))
