"""The one vocabulary the engine, the TUI, the headless printer, `watch` and the writers share.

Events are frozen dataclasses of plain values (str, numbers, bools, tuples, dicts) so they
serialise to one JSON line each and come back equal; `events.jsonl` is the record that
`gauntlet watch` follows and replays. The time stamp lives on the line, not on the event.
"""

from __future__ import annotations

import json
import time
import types
import typing
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import MISSING, dataclass, field, fields, is_dataclass
from enum import Enum
from typing import Any, ClassVar, TypeVar

import orjson

from ._states import FindingState, LatencyState, SmokeStatus, VerdictWord

EVENT_TYPES: dict[str, type[Event]] = {}


@dataclass(frozen=True)
class Event:
    """Base of every engine event; subclasses register themselves by class name."""

    event_type: ClassVar[str] = "Event"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.event_type = cls.__name__
        EVENT_TYPES[cls.__name__] = cls


# ---- rows carried inside events ----------------------------------------------------------

@dataclass(frozen=True)
class PlannedSmoke:
    name: str
    layer: str


@dataclass(frozen=True)
class PlannedBundle:
    name: str
    kb: float
    kb_sent: float  # the prompt as sent: the diff and the instructions around it
    guard: str  # ok | warn | refused | error
    reason: str = ""


@dataclass(frozen=True)
class PlannedReviewer:
    name: str
    lineage: str
    kind: str  # openai | command | replay
    model: str = ""  # what an openai reviewer asks for (SARIF names it)


@dataclass(frozen=True)
class ReviewerRow:
    """One review's part in a bundle's tally."""

    reviewer: str
    lineage: str
    tokens_out: int
    tokens_estimated: bool
    thin: bool
    partial: bool
    error: str | None
    findings: int
    anchored: int
    blocks: int
    retracted_blocks: int
    verdict: str | None
    tokens_in: int = 0  # the prompt as the gateway counted it (estimated with tokens_out)
    cost: float | None = None  # from the reviewer's price_per_mtok; None: no price given
    cut_kb: int = 0  # the review reached max_review_kb and was cut there; 0: read whole


@dataclass(frozen=True)
class LocationRow:
    """A place in the diff that one or more reviewers flagged (display-safe)."""

    where: str
    path: str
    start: int
    end: int
    lineages: tuple[str, ...]
    reviewers: tuple[str, ...]
    convergent: bool
    severity: str
    what: str
    id: str = ""  # the stable finding id: file, enclosing symbol, normalised WHAT (probes/scrum/_findings.py)
    ids: tuple[str, ...] = ()  # each finding's own id here: a later wave matches on any of them
    state: FindingState = FindingState.UNCOMPARED  # new | recurring | "" (no earlier wave to compare with)
    waves: int = 0  # waves in a row it has been seen, this one included
    since: str = ""  # the run of the first of those waves


@dataclass(frozen=True)
class ResolvedRow:
    """A finding of the previous wave that this wave no longer has."""

    id: str
    where: str
    severity: str
    lineages: tuple[str, ...]
    what: str
    waves: int


@dataclass(frozen=True)
class DismissalRow:
    """An entry of the findings ledger: a finding answered and put to rest until `expires`."""

    id: str
    reason: str
    owner: str
    opened: str  # ISO date
    expires: str = ""  # ISO date; "" never


@dataclass(frozen=True)
class TokenRow:
    """One review's tokens and cost, of this wave or the previous one."""

    bundle: str
    reviewer: str
    lineage: str
    tokens_in: int
    tokens_out: int
    estimated: bool
    cost: float | None = None


@dataclass(frozen=True)
class UnanchoredRow:
    """A finding whose location is not in the diff: shown, never counted."""

    reviewer: str
    lineage: str
    where: str
    severity: str
    why: str
    what: str


@dataclass(frozen=True)
class DiffRow:
    """One difference of a candidate from the reference, values display-safe and cut short."""

    target: str
    kind: str
    path: str
    ref: str
    cand: str
    noise: bool
    ignored: bool


@dataclass(frozen=True)
class LatencyRow:
    """One target's timed requests of a case, in milliseconds. A candidate's row holds the ratio
    of its median to the reference's, that ratio's 95 % interval, the Mann–Whitney p and what
    they come to; the reference's row has no ratio and no state."""

    target: str
    n: int  # timed requests counted (each answered as the target's first answer did)
    p50: float | None = None
    p95: float | None = None
    hist: tuple[int, ...] = ()  # the timed requests in bins over `span`, for a sparkline
    span: tuple[float, float] = (0.0, 0.0)  # the range `hist` covers: the same for every target of a case
    ratio: float | None = None
    low: float | None = None
    high: float | None = None
    p_value: float | None = None
    state: LatencyState = LatencyState.REFERENCE  # a candidate's: slower | ok | no data
    why: str = ""  # no data: why
    class_id: str | None = None  # slower: its latency divergence class, which a known gap may cover


@dataclass(frozen=True)
class ClassEntry:
    """One part of a divergence class: a kind at a normalised path, with each side's JSON type
    (`absent` where a side lacks it; a status entry holds the two codes)."""

    kind: str
    path: str
    ref: str
    cand: str


@dataclass(frozen=True)
class DeltaLine:
    """One line of what changed since the previous run, with its direction."""

    text: str
    tone: str = ""  # worse | better | "" (neither)


@dataclass(frozen=True)
class EngagementRow:
    """Tokens out per reviewer for one bundle of one wave (the previous run's, or this one's)."""

    wave: str
    kb: float
    tokens: dict[str, int]


# ---- run and phases ---------------------------------------------------------------------

@dataclass(frozen=True)
class RunStarted(Event):
    run_id: str
    name: str
    config: str
    run_dir: str
    phases: tuple[str, ...]
    started_at: str  # ISO 8601, UTC
    shard: str = ""  # "K/N": the parity phase probes only shard K of N of the cases (`--shard`)


@dataclass(frozen=True)
class PhaseStarted(Event):
    phase: str


@dataclass(frozen=True)
class PhaseFinished(Event):
    phase: str
    complete: bool
    summary: str
    reason: str = ""  # why a phase could not run to completion


@dataclass(frozen=True)
class Notice(Event):
    """Something the operator should read that is not a result (a warning, a fallback)."""

    phase: str
    level: str  # info | warn | error
    message: str


@dataclass(frozen=True)
class VerdictChanged(Event):
    verdict: VerdictWord
    reasons: tuple[str, ...]
    complete: bool


@dataclass(frozen=True)
class ComparedWithPrevious(Event):
    """This run against the previous complete run of the same config (probes/verdict/_delta.py)."""

    previous_run_id: str
    lines: tuple[DeltaLine, ...]
    regressed: tuple[str, ...]  # one reason per known gap whose divergence changed
    engagement: tuple[EngagementRow, ...] = ()
    gap_states: dict[str, str] = field(default_factory=dict)  # known gap id -> documented / regressed (…) / gone


@dataclass(frozen=True)
class InternalError(Event):
    """A fault of gauntlet itself, not of what it measures: the run goes on where it can,
    its verdict is incomplete and it exits 3; the traceback is in the run's crash.txt."""

    phase: str  # the phase in flight, or "" between phases
    message: str  # one line: the exception's type and message


@dataclass(frozen=True)
class ArtifactWritten(Event):
    path: str  # relative to the run directory
    what: str


@dataclass(frozen=True)
class RunFinished(Event):
    verdict: VerdictWord
    complete: bool
    duration: float
    exit_code: int
    interrupted: bool = False


# ---- phase 1: smokes ----------------------------------------------------------------------

@dataclass(frozen=True)
class SmokesPlanned(Event):
    smokes: tuple[PlannedSmoke, ...]  # in run order
    parallel: int


@dataclass(frozen=True)
class SmokeStarted(Event):
    name: str
    layer: str
    command: str


@dataclass(frozen=True)
class SmokeOutput(Event):
    """New output of a running smoke, as display-safe text.

    Throttled: when a smoke prints faster than anyone can read, only the newest text is
    carried and `dropped` says how many bytes were left to the log file.
    """

    name: str
    text: str
    dropped: int = 0


@dataclass(frozen=True)
class SmokeFinished(Event):
    name: str
    layer: str
    status: SmokeStatus  # pass | fail | timeout | skipped | interrupted
    duration: float
    exit_code: int | None
    reason: str
    tail: str  # the last lines of output, display-safe
    log_bytes: int = 0


# ---- phase 2: scrum --------------------------------------------------------------------

@dataclass(frozen=True)
class ScrumPlanned(Event):
    bundles: tuple[PlannedBundle, ...]
    reviewers: tuple[PlannedReviewer, ...]
    min_tokens_out: int = 100  # below it a review is thin
    block_on: str = "convergent"  # convergent | any-lineage: which BLOCK findings block
    ledger: str = ""  # the findings ledger (findings_ignore) the run was configured with
    dismissed: tuple[DismissalRow, ...] = ()  # its entries as the run started
    previous_run_id: str = ""  # the previous wave of this config, "" when there is none
    previous_tokens: tuple[TokenRow, ...] = ()  # that wave's tokens, for the engagement table
    min_lineages: int = 0  # lineages that must review for the scrum to be complete; 0: every one planned


@dataclass(frozen=True)
class ReviewStarted(Event):
    bundle: str
    reviewer: str
    kind: str


@dataclass(frozen=True)
class ReviewChunk(Event):
    """Review text as it streams in (display-safe)."""

    bundle: str
    reviewer: str
    text: str


@dataclass(frozen=True)
class ReviewFinished(Event):
    bundle: str
    reviewer: str
    lineage: str
    status: str  # ok | partial | error
    tokens_out: int
    tokens_estimated: bool
    findings: int
    error: str = ""
    retries: int = 0
    tokens_in: int = 0
    cost: float | None = None
    cut_kb: int = 0  # the review reached max_review_kb and was cut there; 0: read whole


@dataclass(frozen=True)
class BundleTallied(Event):
    """One bundle's tally, display-safe (tally.json has every finding of every location)."""

    bundle: str
    kb: float
    convergent: int
    distinct: int
    line: str
    notes: tuple[str, ...]
    reviewers: tuple[ReviewerRow, ...]
    locations: tuple[LocationRow, ...]
    unanchored: tuple[UnanchoredRow, ...]
    convergent_blocks: int = 0
    resolved: tuple[ResolvedRow, ...] = ()  # the previous wave's findings gone from this one


# ---- phase 3: parity -----------------------------------------------------------------------

@dataclass(frozen=True)
class ParityPlanned(Event):
    cases: tuple[str, ...]
    targets: tuple[str, ...]
    reference: str
    concurrency: int
    cases_digest: str = ""  # a shard's: every case of the config counted and digested, the same in each shard
    max_inconclusive: float = 0.1  # the share of inconclusive cases above which the probe is incomplete


@dataclass(frozen=True)
class ParityCaseFinished(Event):
    """One case probed on every target: statuses, errors and the differences found.

    `diffs` are the first differences, display-safe; `more_diffs` says how many were left to parity/results.jsonl.gz. A candidate's status and
    its body are judged apart (a status mismatch always blocks, a body divergence may be a
    known gap), so each has its own kind; runs recorded before `status_kinds` have none.
    """

    case: str
    reference: str
    statuses: dict[str, int | None]
    errors: dict[str, str] = field(default_factory=dict)
    kinds: dict[str, str | None] = field(default_factory=dict)  # per candidate: the body's kind (shape/type/value), None = the body matches
    fingerprints: dict[str, str | None] = field(default_factory=dict)  # per candidate: everything that differs but the status code
    status_match: bool = True
    body_match: bool = True
    diffs: tuple[DiffRow, ...] = ()
    more_diffs: int = 0
    noise: tuple[str, ...] = ()
    expect_failures: tuple[str, ...] = ()
    status_kinds: dict[str, str | None] = field(default_factory=dict)  # per candidate: status, header or None
    classes: dict[str, str | None] = field(default_factory=dict)  # per candidate: its divergence class, None = none
    endpoint: str = ""  # `GET /v1/playbooks/{n}`: the noise pool it learns from (set when noise is sampled)
    shape: str = ""  # the reference answer's leaf paths, hashed: settled noise can make it inconclusive
    inconclusive: bool = False  # the reference's answer is noise through and through (so far)
    latency: tuple[LatencyRow, ...] = ()  # per target, with `[parity.latency]` (probes/parity/_latency.py)
    expect_status: int | None = None  # the status the case expects: a target answering it is not misaimed
    unsteady: dict[str, tuple[str, ...]] = field(default_factory=dict)  # per candidate: paths its own answers differ on
    index: int = -1  # its place among the config's cases from 0 (-1: a run recorded before): what reports list by
    # The requests it stands for: 1, or a mirror's count of live requests judged alike (the
    # same endpoint, statuses, errors and classes) past the few it lists one by one, sent
    # again under the same name as the count grows.
    weight: int = 1

    SPARSE: ClassVar[tuple[str, ...]] = ("kinds", "fingerprints", "status_kinds", "classes")

    def __post_init__(self) -> None:
        """Every candidate has its entry in each SPARSE map, however the event was made: a
        line leaves off a map of candidates to None (most cases match), and the event read
        back must be the one emitted."""
        if self.weight < 1:
            raise ValueError(f"weight {self.weight}: a case stands for one request or more")
        for name in ("statuses", *self.SPARSE):  # a damaged line's null or list, named rather than failing below
            if not isinstance(getattr(self, name), dict):
                raise TypeError(f"{name}: expected an object of targets, got {getattr(self, name)!r:.40}")
        candidates = self.statuses.keys() - {self.reference}  # checked as a set: 100,000 events are read back
        blank: dict[str, None] | None = None
        for name in self.SPARSE:
            value = getattr(self, name)
            if not value.keys() >= candidates:
                if blank is None:
                    blank = dict.fromkeys(t for t in self.statuses if t != self.reference)
                object.__setattr__(self, name, {**blank, **value})


@dataclass(frozen=True)
class LatencyPlanned(Event):
    """`[parity.latency]` as the probe times the cases: the figures each case's rows are read against."""

    repeats: int
    warmup: int
    max_ratio: float
    blocking: bool = True  # `[verdict] latency = "block"`; False: "report", shown and never blocking
    # A mirror's: each way of answering timed on its own live requests (up to `repeats` a target,
    # sampled across the run, past its first `warmup`), never asked again.
    live: bool = False


@dataclass(frozen=True)
class NoisePathRow:
    """A path the reference answered differently among its own samples (wildcarded)."""

    path: str
    differed: int  # samples in which it (or something under it) differed from the first answer
    evidence: tuple[str, ...]  # a few of the reference's own values there, display-safe


@dataclass(frozen=True)
class NoiseShapeRow:
    """A shard's reference-answer shape: what `gauntlet merge` needs to tell, from the union of
    the shards' noise, whether the shape is noise through and through."""

    id: str
    cases: int
    open: tuple[str, ...]  # its leaf paths that the shard's own noise does not cover


@dataclass(frozen=True)
class NoiseEndpointRow:
    endpoint: str  # method and path template
    samples: int  # extra answers asked of the reference, over every case of the endpoint
    cases: int
    paths: tuple[NoisePathRow, ...]
    hollow_shapes: tuple[str, ...] = ()  # shapes of reference answers that are noise through and through
    inconclusive: int = 0  # cases of those shapes
    truncated: bool = False  # more noisy paths than are kept
    shapes: tuple[NoiseShapeRow, ...] = ()  # a shard's only: every shape, for the merge
    failed: int = 0  # samples that taught nothing: no answer, or another status or body kind than the first


@dataclass(frozen=True)
class NoiseSettled(Event):
    """The run's learned noise, final: the boards judge the cases that landed earlier again
    from it (a case is judged against the pool as it stood when it landed)."""

    endpoints: tuple[NoiseEndpointRow, ...]
    overflow: int = 0  # cases of endpoints beyond the pool's limit, judged by their own samples


@dataclass(frozen=True)
class DivergenceClassFound(Event):
    """A way of diverging seen for the first time in this run; cases name it by `id`."""

    id: str
    kind: str  # the most severe kind among its entries
    entries: tuple[ClassEntry, ...]
    description: str  # e.g. `$.Schema` absent, `$.Kind` `$.Field` added (shape)


# ---- shadow traffic (the mirror) --------------------------------------------------------------

@dataclass(frozen=True)
class MirrorPlanned(Event):
    """A mirror taking live requests into this run (its cases are the requests it judges)."""

    listen: str  # where clients (or nginx and Envoy, as a sink) reach it, its real port
    sink: bool  # fed copies by another proxy, whose answer is discarded, rather than in the path
    sample: float
    queue: int
    max_dropped: int | None  # copies the full queue may refuse; None: a share of the copies made
    max_dropped_share: float
    candidates: tuple[str, ...]
    secondary: str = ""  # a second instance of the reference teaching noise ("" none)


@dataclass(frozen=True)
class MirrorCounted(Event):
    """The mirror's counts in this run so far (each event says them all): requests answered,
    copies made, dropped by the full queue and judged. A mirror that dropped more than its
    `max_dropped`, or whose judging process ended, is incomplete."""

    received: int  # requests answered from the reference (a sink: copies received)
    copied: int  # copies put on the queue for the candidates
    dropped: int  # copies the full queue refused (or still waiting when the mirror stopped)
    judged: int  # copies whose answers were compared and recorded
    skipped: int = 0  # requests not copied: a method not opted in, sampled out, a body too large
    reference_failed: int = 0  # requests the reference did not answer (its failure went to the client)
    judge_lost: bool = False  # the judging process ended: from then on every copy was dropped


# ---- serialisation ------------------------------------------------------------------------

_DEFAULTS: dict[type, tuple[tuple[str, Any], ...]] = {}
_NO_DEFAULT = object()


def _defaults(cls: type) -> tuple[tuple[str, Any], ...]:
    """(name, default) of each field; a field whose value is its default is left off the
    line (a case that matched carries no empty lists), as is a SPARSE map of targets to None
    (the event fills it back in), and from_json gives it back."""
    found = _DEFAULTS.get(cls)
    if found is None:
        found = _DEFAULTS[cls] = tuple(
            (f.name, f.default if f.default is not MISSING else
             f.default_factory() if f.default_factory is not MISSING else _NO_DEFAULT) for f in fields(cls))
    return found


def to_json(event: Event, t: float) -> str:
    """One JSON line: `{"t": seconds since the run started, "type": ..., fields...}`."""
    payload: dict[str, Any] = {"t": round(t, 4), "type": event.event_type}
    sparse = getattr(event, "SPARSE", ())
    for name, default in _defaults(type(event)):
        value = getattr(event, name)
        if default is _NO_DEFAULT or (value != default and not (name in sparse and _all_none(value))):
            payload[name] = value
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), default=_row_fields)


def _all_none(value: dict[str, Any]) -> bool:
    return all(v is None for v in value.values())


def _row_fields(row: Any) -> dict[str, Any]:
    """A row inside an event serialises as an object of its fields."""
    if is_dataclass(row) and not isinstance(row, type):
        fields: dict[str, Any] = row.__dict__
        return fields
    raise TypeError(f"{type(row).__name__} is not part of the event vocabulary")


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    return _HINTS.get(cls) or _HINTS.setdefault(cls, typing.get_type_hints(cls))


Coerce = Callable[[Any], Any]
_COERCERS: dict[Any, Coerce | None] = {}
_PLANS: dict[type, dict[str, Coerce | None]] = {}


def _coercer(hint: Any) -> Coerce | None:
    """How a JSON value becomes what `hint` holds (JSON gives lists and objects where an event
    holds tuples and rows), worked out once per hint rather than per value: a replay of
    100,000 cases is read in seconds. None: the value as parsed is already right."""
    if hint not in _COERCERS:
        _COERCERS[hint] = _make_coercer(hint)
    return _COERCERS[hint]


def _make_coercer(hint: Any) -> Coerce | None:
    if isinstance(hint, type) and issubclass(hint, Enum):
        return hint  # a state, by its value: one a run never wrote is a ValueError
    if isinstance(hint, type) and is_dataclass(hint):
        plan, names = _plan(hint), [f.name for f in fields(hint)]

        def row(value: Any) -> Any:
            if isinstance(value, dict):
                return hint(**_fill(plan, value))
            # Runs recorded before rows were dataclasses hold them as arrays (or a bare string).
            return hint(**_fill(plan, dict(zip(names, value if isinstance(value, list) else [value]))))

        return row
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        item = _coercer(args[0])
        return lambda v: (tuple(v) if item is None else tuple(map(item, v))) if isinstance(v, list) else v
    if origin is tuple:
        items = [_coercer(a) or (lambda x: x) for a in args]
        return lambda v: tuple(c(x) for x, c in zip(v, items)) if isinstance(v, list) else v
    if origin is dict and len(args) == 2 and (value := _coercer(args[1])) is not None:
        return lambda v: {k: value(x) for k, x in v.items()} if isinstance(v, dict) else v
    if origin in (typing.Union, types.UnionType):
        return next((_coercer(a) for a in args if a is not type(None)), None)
    return None


def _plan(cls: type) -> dict[str, Coerce | None]:
    """Each field of an event or a row with its coercer."""
    if cls not in _PLANS:
        _PLANS[cls] = {name: _coercer(hint) for name, hint in _hints(cls).items()}
    return _PLANS[cls]


def _fill(plan: dict[str, Coerce | None], values: dict[str, Any]) -> dict[str, Any]:
    """The fields the plan knows, rebuilt (keys it does not know are left out)."""
    return {k: v if (c := plan[k]) is None else c(v) for k, v in values.items() if k in plan}


Row = TypeVar("Row")


def read_row(cls: type[Row], value: Any) -> Row:
    """A row as an artifact stored it (a latency row beside its answer in the parity record, a
    noise entry of parity/noise.json): the same reading as inside an event, and every value
    checked against its field's type, since a file, unlike the engine's own event log, may
    have been edited or damaged. Raises TypeError or ValueError naming the field."""
    if not isinstance(value, dict):
        raise TypeError(f"a {cls.__name__} is an object, got {type(value).__name__}")
    coerce = _coercer(cls)
    assert coerce is not None
    row: Row = coerce(value)
    _check(row, cls, cls.__name__)
    return row


def _check(value: Any, hint: Any, where: str) -> None:
    """Raise TypeError unless `value` is what `hint` says (a JSON number is a float too)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        for arg in args:
            try:
                return _check(value, arg, where)
            except TypeError:
                continue
    elif hint is type(None) or hint is None:
        if value is None:
            return
    elif origin is tuple and isinstance(value, tuple):
        items = [args[0]] * len(value) if len(args) == 2 and args[1] is Ellipsis else list(args)
        if len(items) == len(value):
            for i, (item, arg) in enumerate(zip(value, items)):
                _check(item, arg, f"{where}[{i}]")
            return
    elif origin is dict and isinstance(value, dict):
        for key, item in value.items():
            _check(key, args[0], where)
            _check(item, args[1], f"{where}.{key}")
        return
    elif isinstance(hint, type) and is_dataclass(hint) and isinstance(value, hint):
        for f in fields(hint):
            _check(getattr(value, f.name), _hints(hint)[f.name], f"{where}.{f.name}")
        return
    elif hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return
    elif hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return
    elif isinstance(hint, type) and isinstance(value, hint):
        return
    raise TypeError(f"{where}: expected {getattr(hint, '__name__', hint)}, got {value!r:.40}")


def from_json(line: str) -> tuple[float, Event]:
    """Parse one events.jsonl line; raises ValueError naming what is wrong."""
    try:
        payload = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not an event line ({exc.__class__.__name__}: {exc})") from None
    return _event(payload)


def event_of_line(raw: bytes) -> tuple[float, Event]:
    """from_json of one line as read from the file: bytes that are not UTF-8 (a damaged
    record) are a ValueError saying so, like a line that is not JSON, for the reader to locate.
    orjson reads it first (a third of the cost of replaying 100,000 cases was the standard
    library's parser); a line it refuses goes the standard way, which also reads what Python
    may write and orjson does not (NaN, integers past 64 bits) and words the error."""
    try:
        return _event(orjson.loads(raw))
    except orjson.JSONDecodeError:
        pass
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    return from_json(text)


def _event(payload: Any) -> tuple[float, Event]:
    """The event a parsed line holds."""
    try:
        cls = EVENT_TYPES[payload.pop("type")]
        t = float(payload.pop("t"))
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"not an event line ({exc.__class__.__name__}: {exc})") from None
    plan = _plan(cls)
    try:
        return t, cls(**_fill(plan, payload))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"bad {cls.__name__} event: {exc}") from None


def read_events(path: str) -> Iterator[tuple[float, Event]]:
    """Every complete event in an events.jsonl file (a torn last line is left for later)."""
    with open(path, "rb") as fh:
        for number, line in enumerate(fh, 1):
            if not line.endswith(b"\n"):
                return
            try:
                yield event_of_line(line)
            except ValueError as exc:
                raise ValueError(f"{path}:{number}: {exc}") from None


Subscriber = Callable[[float, Event], None]
SubscriberFailed = Callable[[Subscriber, Event, Exception], None]


class EventBus:
    """Fan-out of engine events to consumers, on the engine's thread.

    Delivery is first in, first out for every subscriber: an event emitted by a subscriber
    while another event is being delivered waits until that one has reached everyone, so
    every consumer sees the order events.jsonl holds. A subscriber that raises is reported
    to `on_failure` and the others still get the event: one broken consumer must not cost
    the run its record. Subscribers must be quick (they run inline); slow I/O belongs on a
    thread, and the TUI hands events to its own loop.

    `mask` (the config's secrets, probes/core/_redact.py) is applied here, as an event is emitted,
    rather than by each consumer: events.jsonl, the headless printer, the TUI, `watch` and
    the history all see the same masked event, and a consumer added later cannot forget it.
    """

    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []
        self._t0 = time.monotonic()
        self._queue: deque[tuple[float, Event]] = deque()
        self._delivering = False
        self.on_failure: SubscriberFailed | None = None
        self.mask: Callable[[Event], Event] | None = None  # None: no secret, no cost

    def subscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.append(subscriber)

    def elapsed(self) -> float:
        return time.monotonic() - self._t0

    def emit(self, event: Event) -> None:
        if self.mask is not None:
            event = self.mask(event)
        self._queue.append((self.elapsed(), event))
        if self._delivering:
            return
        self._delivering = True
        try:
            while self._queue:
                t, queued = self._queue.popleft()
                for subscriber in self._subscribers:
                    try:
                        subscriber(t, queued)
                    except Exception as exc:
                        if self.on_failure is None:
                            raise
                        self.on_failure(subscriber, queued, exc)
        finally:
            self._delivering = False
