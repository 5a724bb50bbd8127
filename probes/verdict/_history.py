"""Run history: what each run found, kept so the next one can say what changed.

The run directory is the record; `<out_dir>/history.sqlite` is an index of them, built
from the same events (a `RunSummary` is what a run's events say, whether they arrive live
or are replayed from events.jsonl), so `--rebuild` gives the store a live run would have.
History is a convenience: a locked, corrupt or newer store is reported once and the run
goes on without it. A run whose writer is gone without `RunFinished` is *abandoned*:
said so when the store is read or rebuilt, never left "running".
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from ..core import InputError, VerdictWord, writer_gone
from ..core.events import (
    BundleTallied,
    DivergenceClassFound,
    Event,
    NoiseSettled,
    ParityCaseFinished,
    RunFinished,
    RunStarted,
    ScrumPlanned,
    SmokeFinished,
    SmokesPlanned,
    read_events,
)
from ..parity import Settler, Shared, held, remember
from ..scrum import bundle_summary

SCHEMA_VERSION = 1
STORE_NAME = "history.sqlite"
BUSY_TIMEOUT_MS = 5000
TREND_RUNS = 10  # earlier runs a trend shows

MIGRATIONS: list[str] = [
    # 0 -> 1
    """
    CREATE TABLE runs (
        run_id TEXT PRIMARY KEY, config_name TEXT NOT NULL, config_hash TEXT, run_dir TEXT NOT NULL,
        started TEXT, finished TEXT, verdict TEXT, complete INTEGER, duration REAL, smokes_wall REAL,
        summary TEXT NOT NULL
    );
    CREATE INDEX runs_by_config ON runs (config_name, started);
    CREATE TABLE smokes (run_id TEXT, name TEXT, layer TEXT, status TEXT, duration REAL);
    CREATE TABLE reviews (run_id TEXT, bundle TEXT, kb REAL, reviewer TEXT, lineage TEXT, tokens_out INTEGER,
                          findings INTEGER, thin INTEGER);
    CREATE TABLE bundles (run_id TEXT, bundle TEXT, kb REAL, convergent INTEGER, distinct_count INTEGER);
    CREATE TABLE parity (run_id TEXT, case_name TEXT, target TEXT, status INTEGER, kind TEXT, fingerprint TEXT);
    """,
]


@dataclass(frozen=True)
class TrendRow:
    """One earlier run of a config as a trend shows it."""

    run_id: str
    started: str
    verdict: str | None
    complete: bool
    duration: float
    smokes_passed: int
    smokes: int
    convergent: int
    distinct: int
    cases: int
    divergent: int


class HistoryUnavailable(Exception):
    """The store cannot be used now (locked, corrupt, newer): said once, never fatal."""


@dataclass
class RunSummary:
    """What one run found, as its events tell it."""

    run_id: str = ""
    config_name: str = ""
    config_hash: str = ""
    run_dir: str = ""
    started: str = ""
    finished: bool = False
    verdict: str | None = None
    complete: bool = False
    abandoned: bool = False  # the writer ended without RunFinished: it will never finish
    duration: float = 0.0
    smokes: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> status, duration, layer
    smokes_wall: float = 0.0
    bundles: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> kb, convergent, distinct, reviewers
    # case -> statuses, kinds, fingerprints, classes, errors, the engine's own status_match and
    # body_match, and the endpoint its noise was pooled under; only the cases that did not match
    # (100,000 matching cases are three counts)
    parity: dict[str, dict[str, Any]] = field(default_factory=dict)
    parity_counts: dict[str, int] = field(default_factory=dict)  # cases, status_match, body_divergent
    latency: dict[str, Any] = field(default_factory=dict)  # per target and per timed case (probes/parity/_latency.py)
    _smokes_start: float | None = None
    _smokes_end: float = 0.0
    # The classes announced, for judging the kept cases again once noise is settled: the events
    # themselves, which the parity board holds too (not stored: the run's summary is settled by then).
    _classes: dict[str, DivergenceClassFound] = field(default_factory=dict)
    # The smokes and bundles as the config declares them: their tables keep that order, not the
    # order they finished in, so a comparison reads the same however they ran.
    _declared: dict[str, tuple[str, ...]] = field(default_factory=dict)
    _shared: Shared = field(default_factory=Shared, repr=False, compare=False)
    # What each case standing for more than one request (a mirror's) added to the counts: sent
    # again as its count grows, it replaces what it added. A mirror sends it first at 2 or more.
    _weighted: dict[str, tuple[int, int, int]] = field(default_factory=dict, repr=False, compare=False)

    def apply(self, t: float, event: Event) -> None:
        if isinstance(event, RunStarted):
            self.run_id, self.config_name, self.run_dir = event.run_id, event.name, event.run_dir
            self.started = event.started_at
            self.config_hash = config_hash(event.config)
        elif isinstance(event, SmokesPlanned):
            self._declared["smokes"] = tuple(s.name for s in event.smokes)
        elif isinstance(event, ScrumPlanned):
            self._declared["bundles"] = tuple(b.name for b in event.bundles)
        elif isinstance(event, SmokeFinished):
            self.smokes = self._in_order("smokes", {**self.smokes, event.name: {
                "status": event.status, "duration": event.duration, "layer": event.layer}})
            if event.status != "skipped":
                self._smokes_start = t - event.duration if self._smokes_start is None else min(
                    self._smokes_start, t - event.duration)
                self._smokes_end = max(self._smokes_end, t)
                self.smokes_wall = round(self._smokes_end - self._smokes_start, 3)
        elif isinstance(event, BundleTallied):
            self.bundles = self._in_order("bundles", {**self.bundles, event.bundle: bundle_summary(event)})
        elif isinstance(event, DivergenceClassFound):
            self._classes[event.id] = event
        elif isinstance(event, NoiseSettled):
            self._settle(event)
        elif isinstance(event, ParityCaseFinished):
            if event.latency:
                self.latency = remember(self.latency, event)
            counts = self.parity_counts = dict(self.parity_counts)  # a snapshot may hold the last one
            n = event.weight
            added = (n, n * event.status_match, n * (not event.body_match and not event.errors))
            before = self._weighted.get(event.case, (0, 0, 0))  # a mirror's count of requests alike, grown
            if n != 1:
                self._weighted[event.case] = added
            for key, new, old in zip(("cases", "status_match", "body_divergent"), added, before):
                counts[key] = counts.get(key, 0) + new - old
            if event.status_match and event.body_match and not event.errors and not any(event.classes.values()):
                self.parity.pop(event.case, None)
                return
            share = self._shared  # 75,000 divergent cases hold a handful of distinct maps
            self.parity[event.case] = {"statuses": share(event.statuses), "kinds": share(event.kinds),
                                       "fingerprints": event.fingerprints, "classes": share(event.classes),
                                       "errors": share(event.errors),
                                       "status_match": event.status_match, "body_match": event.body_match,
                                       **({"endpoint": event.endpoint} if event.endpoint else {}),
                                       **({"weight": n} if n != 1 else {})}
        elif isinstance(event, RunFinished):
            self.finished, self.verdict, self.complete = True, event.verdict, event.complete
            self.duration = event.duration

    def _in_order(self, table: str, rows: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """A table's rows in declared order, any the plan did not name after them."""
        return {name: rows[name] for name in (*self._declared.get(table, ()), *rows) if name in rows}

    def _settle(self, event: NoiseSettled) -> None:
        """The kept cases judged again from the settled noise, as the parity board judges
        them (probes/parity/_noise.py): a case whose every divergence turned out noise is a match,
        and leaves the summary; one that keeps a stable path keeps it, in its new class."""
        settler = Settler(event, self._classes)
        parity, counts = dict(self.parity), dict(self.parity_counts)
        for case, kept in self.parity.items():
            if kept["errors"] or not kept.get("endpoint"):
                continue
            again = settler.case(case, kept["endpoint"], kept["kinds"], kept["classes"], kept["fingerprints"])
            if again is None:
                continue
            kinds, classes, fingerprints = again
            body_match = not any(kinds.values())
            counts["body_divergent"] = counts.get("body_divergent", 0) - kept.get("weight", 1) * (
                body_match and not kept["body_match"])
            if kept["status_match"] and body_match and not any(classes.values()):
                del parity[case]
            else:
                parity[case] = {**kept, "kinds": kinds, "classes": classes, "fingerprints": fingerprints,
                                "body_match": body_match}
        self.parity, self.parity_counts = parity, counts

    def to_json(self) -> str:
        data = {f.name: getattr(self, f.name) for f in fields(self) if not f.name.startswith("_")}
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> RunSummary:
        summary = cls(**json.loads(text))
        for case in summary.parity.values():
            # Stored before the matches were kept: what the statuses and kinds alone say
            # (an expected status the targets agree on missing is not seen in them).
            case.setdefault("status_match", len(set(case["statuses"].values())) == 1 and not case["errors"])
            case.setdefault("body_match", not case["errors"] and not any(case["kinds"].values()))
        return summary

    def abandon(self) -> None:
        """The run will never finish: it blocks, incomplete."""
        self.abandoned, self.verdict, self.complete = True, VerdictWord.BLOCK, False

    def snapshot(self) -> RunSummary:
        """A copy as of now, for a writer on another thread: the tables are copied, their
        entries shared (an entry is replaced, never changed, when an event lands)."""
        return replace(self, smokes=dict(self.smokes), bundles=dict(self.bundles), parity=dict(self.parity),
                       latency=held(self.latency))

    def parity_totals(self) -> tuple[int, int, int]:
        """(cases, status codes matching, bodies diverging); derived from the cases for
        summaries stored before the counts were kept (they held every case)."""
        if self.parity_counts:
            c = self.parity_counts
            return c.get("cases", 0), c.get("status_match", 0), c.get("body_divergent", 0)
        cases = self.parity.values()
        return (len(self.parity), sum(1 for c in cases if c["status_match"]),
                sum(1 for c in cases if not c["body_match"] and not c["errors"]))

    @classmethod
    def of_run_dir(cls, run_dir: Path) -> RunSummary:
        summary = cls()
        for t, event in read_events(str(run_dir / "events.jsonl")):
            summary.apply(t, event)
        if not summary.finished and writer_gone(run_dir) is not None:
            summary.abandon()
        return summary


def read_baseline(run_dir: Path, config_name: str) -> RunSummary | str:
    """A previous run's directory in place of the history (`--baseline`: a CI runner keeps none):
    its summary, or why it cannot stand in, as the history would pass it over (it did not
    finish, or finished incomplete). InputError when it is not a run of this config at all."""
    if not (run_dir / "events.jsonl").is_file():
        raise InputError(f"--baseline {run_dir}: not a run directory (no events.jsonl)")
    try:
        summary = RunSummary.of_run_dir(run_dir)
    except (OSError, ValueError) as exc:
        raise InputError(f"--baseline {run_dir}: {exc}") from None
    if summary.config_name != config_name:
        raise InputError(f"--baseline {run_dir}: a run of {summary.config_name!r}, not of {config_name!r}")
    if not summary.finished or not summary.complete:
        return (f"--baseline {run_dir.name} {'did not finish' if not summary.finished else 'is incomplete'}: "
                "this run is judged without memory, as the history would judge it")
    return summary


def config_hash(path: str) -> str:
    try:
        return "sha256:" + hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]
    except OSError:
        return ""


class HistoryStore:
    """One SQLite file in WAL mode; short transactions; a busy timeout for two writers."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._written: dict[str, dict[str, int]] = {}  # run -> rows written per part
        # Turning a new store to WAL takes an exclusive lock that SQLite does not wait for
        # (no busy handler there): two runs starting at once retry until the busy timeout.
        deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
        pause = 0.01
        while True:
            db: sqlite3.Connection | None = None
            try:
                db = self.db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
                db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
                db.execute("PRAGMA journal_mode = WAL")
                self._migrate()
                return
            except sqlite3.OperationalError as exc:
                if db is not None:
                    db.close()
                if "locked" not in str(exc) or time.monotonic() + pause > deadline:
                    raise HistoryUnavailable(f"{path}: {exc}") from None
                time.sleep(pause)
                pause = min(pause * 2, 0.2)
            except sqlite3.DatabaseError as exc:
                if db is not None:
                    db.close()
                raise HistoryUnavailable(f"{path}: {exc}") from None

    def _migrate(self) -> None:
        # The version is read inside the write lock: two runs opening a new store at once
        # must not both create its tables.
        self.db.execute("BEGIN IMMEDIATE")
        try:
            version = self.db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise HistoryUnavailable(f"{self.path} has schema {version}, newer than this gauntlet's "
                                         f"{SCHEMA_VERSION}: upgrade gauntlet to use it")
            for step in range(version, SCHEMA_VERSION):
                for statement in filter(str.strip, MIGRATIONS[step].split(";")):
                    self.db.execute(statement)
                self.db.execute(f"PRAGMA user_version = {step + 1}")
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise

    def close(self) -> None:
        self.db.close()

    def record(self, s: RunSummary) -> None:
        """Write what a run found so far, in one short transaction. A run records several
        times (as it starts, as phases end); a table is rewritten only when its part of
        the summary grew since this store last wrote it."""
        written = self._written.setdefault(s.run_id, {})
        parts = {"smokes": s.smokes, "bundles": s.bundles, "parity": s.parity}
        try:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.execute("INSERT OR REPLACE INTO runs VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                            (s.run_id, s.config_name, s.config_hash, s.run_dir, s.started,
                             "yes" if s.finished else "abandoned" if s.abandoned else None, s.verdict,
                             int(s.complete), s.duration, s.smokes_wall, s.to_json()))
            for part, rows in parts.items():
                if written.get(part) == len(rows):
                    continue
                tables = ("bundles", "reviews") if part == "bundles" else (part,)
                for table in tables:
                    self.db.execute(f"DELETE FROM {table} WHERE run_id = ?", (s.run_id,))
                self._insert(part, s)
            self.db.execute("COMMIT")
            written.update({part: len(rows) for part, rows in parts.items()})
        except sqlite3.DatabaseError as exc:
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")
            raise HistoryUnavailable(f"{self.path}: {exc}") from None

    def _insert(self, part: str, s: RunSummary) -> None:
        if part == "smokes":
            self.db.executemany("INSERT INTO smokes VALUES (?,?,?,?,?)",
                                [(s.run_id, n, v["layer"], v["status"], v["duration"]) for n, v in s.smokes.items()])
        elif part == "bundles":
            self.db.executemany("INSERT INTO bundles VALUES (?,?,?,?,?)",
                                [(s.run_id, b, v["kb"], v["convergent"], v["distinct"]) for b, v in s.bundles.items()])
            self.db.executemany("INSERT INTO reviews VALUES (?,?,?,?,?,?,?,?)",
                                [(s.run_id, b, v["kb"], r, rv["lineage"], rv["tokens_out"], rv["findings"],
                                  int(rv["thin"])) for b, v in s.bundles.items() for r, rv in v["reviewers"].items()])
        else:
            self.db.executemany("INSERT INTO parity VALUES (?,?,?,?,?,?)",
                                [(s.run_id, c, t, v["statuses"].get(t), v["kinds"].get(t), v["fingerprints"].get(t))
                                 for c, v in s.parity.items() for t in v["statuses"]])

    def previous(self, config_name: str, before: str, exclude: str = "", *, scrum: bool = False) -> RunSummary | None:
        """The last complete run of the same config started before `before`; with `scrum`, the
        last one that tallied a bundle (the previous wave of scrum findings: a run between
        that had no scrum has nothing to compare them with)."""
        try:
            row = self.db.execute(
                "SELECT summary FROM runs WHERE config_name = ? AND complete = 1 AND started <= ? AND run_id != ? "
                + ("AND run_id IN (SELECT run_id FROM bundles) " if scrum else "")
                + "ORDER BY started DESC, run_id DESC LIMIT 1", (config_name, before, exclude)).fetchone()
        except sqlite3.DatabaseError as exc:
            raise HistoryUnavailable(f"{self.path}: {exc}") from None
        return RunSummary.from_json(row[0]) if row else None

    def trend(self, config_name: str, before: str, last: int = TREND_RUNS) -> list[TrendRow]:
        """The last finished runs of a config started before `before`, oldest first: the counts
        a trend shows, read by SQL without loading each run's summary (one of 100,000 cases
        holds every divergent case)."""
        try:
            rows = self.db.execute(
                "SELECT r.run_id, r.started, r.verdict, r.complete, r.duration,"
                " (SELECT count(*) FROM smokes s WHERE s.run_id = r.run_id AND s.status = 'pass'),"
                " (SELECT count(*) FROM smokes s WHERE s.run_id = r.run_id),"
                " (SELECT coalesce(sum(b.convergent), 0) FROM bundles b WHERE b.run_id = r.run_id),"
                " (SELECT coalesce(sum(b.distinct_count), 0) FROM bundles b WHERE b.run_id = r.run_id),"
                " coalesce(json_extract(r.summary, '$.parity_counts.cases'), 0),"
                " coalesce(json_extract(r.summary, '$.parity_counts.body_divergent'), 0)"
                " FROM runs r WHERE r.config_name = ? AND r.started < ? AND r.finished = 'yes'"
                " ORDER BY r.started DESC, r.run_id DESC LIMIT ?", (config_name, before, last)).fetchall()
        except sqlite3.DatabaseError as exc:
            raise HistoryUnavailable(f"{self.path}: {exc}") from None
        return [TrendRow(run_id, started, verdict, bool(complete), duration or 0.0, *counts)
                for run_id, started, verdict, complete, duration, *counts in reversed(rows)]

    def runs(self, last: int | None = None) -> list[RunSummary]:
        """The last runs, oldest first."""
        try:
            query = "SELECT summary FROM runs ORDER BY started DESC, run_id DESC"
            rows = self.db.execute(query + (" LIMIT ?" if last else ""), (last,) if last else ()).fetchall()
        except sqlite3.DatabaseError as exc:
            raise HistoryUnavailable(f"{self.path}: {exc}") from None
        return [self._settle(RunSummary.from_json(r[0])) for r in reversed(rows)]

    def _settle(self, s: RunSummary) -> RunSummary:
        """A run recorded unfinished whose writer is gone (its directory is beside the store)
        is read again from its events: finished after all (the writer ended between its last
        record and now), or abandoned. Recorded so, when the store can be written."""
        run_dir = self.path.parent / s.run_id
        if s.finished or s.abandoned or writer_gone(run_dir) is None:
            return s
        try:
            settled = RunSummary.of_run_dir(run_dir)
        except (OSError, ValueError):  # its events cannot be read again: what was recorded, abandoned
            settled = s
            settled.abandon()
        with contextlib.suppress(HistoryUnavailable):
            self.record(settled)
        return settled

    def dump(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every table's rows, in order: for comparing a rebuilt store with a live one."""
        return {t: sorted(self.db.execute(f"SELECT * FROM {t}").fetchall(), key=repr)
                for t in ("runs", "smokes", "reviews", "bundles", "parity")}


def run_dirs(out_dir: Path) -> list[Path]:
    return sorted(p for p in out_dir.iterdir() if (p / "events.jsonl").is_file()) if out_dir.is_dir() else []


def rebuild(out_dir: Path, on_problem: Callable[[str], None]) -> int:
    """Recreate the store from the run directories alone; returns how many runs."""
    path = out_dir / STORE_NAME
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    store = HistoryStore(path)
    count = 0
    try:
        for run_dir in run_dirs(out_dir):
            try:
                store.record(RunSummary.of_run_dir(run_dir))
                count += 1
            except ValueError as exc:
                on_problem(f"{run_dir.name}: skipped ({exc})")
    finally:
        store.close()
    return count


def open_store(out_dir: Path) -> HistoryStore:
    out_dir.mkdir(parents=True, exist_ok=True)
    return HistoryStore(out_dir / STORE_NAME)


def sparkline(values: Iterable[float]) -> str:
    values = list(values)
    if not values:
        return ""
    bars = "▁▂▃▄▅▆▇█"
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    return "".join(bars[min(len(bars) - 1, int((v - low) / span * (len(bars) - 1) + 0.5))] for v in values)
