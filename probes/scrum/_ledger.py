"""The findings ledger (`[scrum] findings_ignore`): scrum findings answered and put to rest.

An entry names a finding by its stable id, with the reason, the owner, the day it was
opened and optionally the day it expires. A dismissed finding is still shown (dimmed, with
its reason) but never counts and never blocks; once its entry expires it is back. Like the
known gaps, the file is edited by people and by `record_dismissal` (the CLI and the scrum
pane alike): entries appended under a lock, the file replaced in one step, the rest of it
untouched. A missing file is an empty ledger: the first dismissal creates it.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path
from typing import Protocol

from ..core import ConfigError, GauntletError, InputError, Problem, TableReader, append_entry
from ..core.events import BundleTallied, DismissalRow, LocationRow, ScrumPlanned, read_events
from ._findings import ID_PREFIX

_ENTRY = ("id", "reason", "owner", "opened", "expires", "bundle", "where", "what")


def load_ledger(path: Path) -> list[DismissalRow]:
    """Every entry, validated; every problem at once with its key path (ConfigError)."""
    try:
        raw = tomllib.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        return []
    except IsADirectoryError:
        raise ConfigError(str(path), [Problem(str(path), "is a directory, not a findings ledger")]) from None
    except OSError as exc:
        raise ConfigError(str(path), [Problem(str(path), exc.strerror or str(exc))]) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), [Problem(str(path), f"invalid TOML: {exc}")]) from None
    problems: list[Problem] = []
    rows = []
    for r in TableReader(raw, "", problems, ("finding",)).tables("finding", _ENTRY):
        finding = r.string("id", required=True) or ""
        if finding and not finding.startswith(ID_PREFIX):
            r.problem("id", f"expected a finding id like {ID_PREFIX}3a9c1d2e7b4f, got {finding!r}")
        rows.append(DismissalRow(finding, r.string("reason", required=True) or "", r.string("owner", required=True) or "",
                                 _day(r, "opened", required=True), _day(r, "expires")))
    if problems:
        raise ConfigError(str(path), problems)
    return rows


def _day(r: TableReader, key: str, *, required: bool = False) -> str:
    value = r.raw.get(key)
    if value is None:
        if required:
            r.problem(key, "is required (a date like 2026-05-02)")
        return ""
    if isinstance(value, date):
        return value.isoformat()
    r.problem(key, f"expected a date like 2026-05-02, got {value!r}")
    return ""


def active(rows: Iterable[DismissalRow], today: date) -> dict[str, DismissalRow]:
    """The entries in force today, by finding id (an expired one puts nothing to rest)."""
    return {row.id: row for row in rows if not row.expires or date.fromisoformat(row.expires) >= today}


class Identified(Protocol):
    """A location as the ledger names it (a tallied one or one replayed from the events)."""

    @property
    def id(self) -> str: ...

    @property
    def ids(self) -> tuple[str, ...]: ...


def dismissal(loc: Identified, in_force: Mapping[str, DismissalRow]) -> DismissalRow | None:
    """The entry that puts this location to rest, by its id or any of its findings' ids."""
    return next((in_force[k] for k in (loc.id, *loc.ids) if k in in_force), None)


def run_findings(run_dir: Path) -> tuple[str, dict[str, tuple[str, LocationRow]]]:
    """(the ledger the run was configured with, each finding of the run by every id it has:
    its bundle and its location)."""
    events = run_dir / "events.jsonl"
    if not events.is_file():
        raise InputError(f"{run_dir}: not a run directory (no events.jsonl)")
    ledger = ""
    found: dict[str, tuple[str, LocationRow]] = {}
    try:
        for _, event in read_events(str(events)):
            if isinstance(event, ScrumPlanned):
                ledger = event.ledger
            elif isinstance(event, BundleTallied):
                for loc in event.locations:
                    for key in (loc.id, *loc.ids):
                        if key:
                            found.setdefault(key, (event.bundle, loc))
    except ValueError as exc:
        raise InputError(str(exc)) from None
    return ledger, found


def record_dismissal(run_dir: Path, finding: str, ledger: Path, *, reason: str, owner: str,
                     expires: date | None = None, today: date | None = None) -> DismissalRow:
    """Append an entry for a finding of `run_dir` to `ledger`, the other entries untouched;
    refused when the run has no such finding or an entry for it is still in force."""
    today = today or date.today()
    if not reason.strip() or not owner.strip():
        raise InputError("a dismissal needs a reason and an owner")
    _, found = run_findings(run_dir)
    if finding not in found:
        known = ", ".join(sorted({loc.id for _, loc in found.values()})[:5]) or "none"
        raise InputError(f"{run_dir.name} has no scrum finding {finding!r} (its findings: {known}…)"
                         if found else f"{run_dir.name} has no scrum finding with an id")
    bundle, loc = found[finding]
    if expires is not None and expires < today:
        raise InputError(f"--expires {expires} is already past")
    row = DismissalRow(loc.id, reason.strip(), owner.strip(), today.isoformat(), expires.isoformat() if expires else "")
    entry: dict[str, object] = {"id": row.id, "reason": row.reason, "owner": row.owner, "opened": today}
    if expires is not None:
        entry["expires"] = expires
    entry.update({"bundle": bundle, "where": loc.where, "what": loc.what})

    def standing() -> None:
        held = dismissal(loc, active(load_ledger(ledger), today))
        if held is not None:
            raise GauntletError(f"{ledger}: {loc.id} is dismissed already ({held.reason}, owner {held.owner}"
                                + (f", until {held.expires}" if held.expires else "") + ")")

    append_entry(ledger, "finding", entry, standing)
    return row
