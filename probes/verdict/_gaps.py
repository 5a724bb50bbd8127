"""Known gaps: parity divergences that are documented and accepted for now.

A gap covers one or more divergence classes (`classes`), in every case or only in the
cases its `cases` glob names: fifteen thousand cases that diverge the same way are one
gap. A case that diverges another way is in another class and is not hidden. The older
form (one `case`, its `kind` and the divergence's `fingerprint`) still loads and covers
exactly that case's divergence. An expired gap covers nothing. `record_gap` is the one way
to add a gap, for `gauntlet gap add` and the TUI alike.
"""

from __future__ import annotations

import fnmatch
import glob
import os
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from ..config import load_config
from ..core import ConfigError, GauntletError, Problem, TableReader, append_entry, md_cell, write_atomic, writing
from ..core.events import RunStarted, read_events
from ..parity import KINDS, LATENCY, LATENCY_CLASS, read_case, latency_classes

_GAP = ("id", "classes", "cases", "case", "kind", "fingerprint", "note", "owner", "opened", "expires")


@dataclass(frozen=True)
class KnownGap:
    id: str
    case: str  # a case name or glob ("*": every case)
    kind: str  # what the gap covers, for people (a class-form gap matches by class alone)
    fingerprints: tuple[str, ...]  # the older, per-case form
    note: str
    owner: str
    opened: date | None
    expires: date | None = None
    classes: tuple[str, ...] = ()

    def expired(self, today: date) -> bool:
        return self.expires is not None and today > self.expires

    def covers(self, case: str, kind: str | None, fingerprint: str | None, class_id: str | None,
               today: date) -> bool:
        if self.expired(today):
            return False
        if self.classes:  # the class first: most cases of a run are not in it, and it needs no glob
            if class_id not in self.classes:
                return False
        elif kind != self.kind or fingerprint not in self.fingerprints:
            return False
        return case == self.case or fnmatch.fnmatchcase(case, self.case)


def load_gaps(path: Path) -> list[KnownGap]:
    """Read and validate a known-gaps file; every problem at once, with its key path."""
    try:
        raw = tomllib.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise ConfigError(str(path), [Problem(str(path), "no such file")]) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), [Problem(str(path), f"invalid TOML: {exc}")]) from None
    problems: list[Problem] = []
    gaps = []
    seen: dict[str, str] = {}
    for r in TableReader(raw, "", problems, ("gap",)).tables("gap", _GAP):
        gap_id = r.string("id", required=True) or ""
        if gap_id in seen:
            r.problem("id", f"duplicate gap id {gap_id!r} (first at {seen[gap_id]})")
        seen.setdefault(gap_id, r.path)
        classes = r.string_list("classes")
        for cls in classes:
            if not cls.startswith("cls:") or len(cls) < 8:
                r.problem("classes", f"expected 'cls:' and hex digits, got {cls!r}")
        if classes:
            for legacy in ("case", "fingerprint"):
                if legacy in r.raw:
                    r.problem(legacy, "belongs to the per-case form; with `classes`, limit the cases with `cases`")
            case = r.string("cases", "*") or "*"
            fingerprints: tuple[str, ...] = ()
        else:
            fingerprint = r.raw.get("fingerprint")
            fingerprints = (fingerprint,) if isinstance(fingerprint, str) else r.string_list("fingerprint")
            if not fingerprints:
                r.problem("classes", "is required: the divergence classes it covers (gauntlet gap add fills them in)")
            for fp in fingerprints:
                if not fp.startswith("sha256:") or len(fp) < 15:
                    r.problem("fingerprint", f"expected 'sha256:' and hex digits, got {fp!r}")
            case = r.string("case", required=bool(fingerprints)) or ""
        gaps.append(KnownGap(
            id=gap_id,
            case=case,
            kind=r.string("kind", required=not classes, choices=(*KINDS, LATENCY)) or "",
            fingerprints=tuple(fingerprints),
            note=r.string("note", "") or "",
            owner=r.string("owner", required=True) or "",
            opened=_date(r, "opened"),
            expires=_date(r, "expires"),
            classes=tuple(classes),
        ))
    if problems:
        raise ConfigError(str(path), problems)
    return gaps


def _date(r: TableReader, key: str) -> date | None:
    value = r.raw.get(key)
    if value is None:
        return None
    if isinstance(value, date):
        return value
    r.problem(key, f"expected a date like 2026-05-02, got {value!r}")
    return None


def divergence(run_dir: Path, case: str) -> tuple[str, list[str], list[str]]:
    """The recorded case's most severe kind (`latency` when it is only slower), its candidates'
    divergence classes, the latency class among them when one was slower, and their
    fingerprints (classes are empty for runs recorded before them)."""
    _, entry = read_case(run_dir, case)
    fingerprints = [fp for fp in entry.get("fingerprints", {}).values() if fp]
    classes = [c for c in (entry.get("classes") or {}).values() if c]
    kinds = [k for k in entry.get("kinds", {}).values() if k]
    if "status" in kinds:  # a run recorded before status kinds were apart from body kinds
        raise GauntletError(f"case {case!r} answers with different status codes: a status mismatch always "
                            "blocks and cannot be a known gap")
    kinds += [k for k in (entry.get("status_kinds") or {}).values() if k == "header"]
    slower = latency_classes(entry.get("answers") or {})
    if not slower and (not kinds or not (classes or fingerprints)):
        raise GauntletError(f"case {case!r} did not diverge in {run_dir.name}: there is no gap to record")
    kind = min(kinds, key=KINDS.index) if kinds else LATENCY
    return kind, sorted({*classes, *slower}), sorted(set(fingerprints))


def record_gap(run_dir: Path, case: str, gaps_file: Path, *, note: str, owner: str,
               gap_id: str | None = None, expires: date | None = None, tracker: Path | None = None,
               today: date | None = None, cases: str | None = None) -> list[KnownGap]:
    """Append the gaps covering `case`'s divergence in `run_dir` to `gaps_file`, others
    untouched, and an `_open_` row a gap to the decisions tracker when one is named. Its
    body's classes are covered in the `cases` glob, by default every case. Every slowdown is
    in the one latency class, so a gap for it in every case would hide any case getting
    slower later: the latency class is covered in `case` alone unless `cases` says
    otherwise. A case both diverging and slower gets two gaps, each with its kind and its
    glob: `<case>-<kind>` for its body and `<case>-latency` for its time (given an id: the id
    and `<id>-latency`)."""
    kind, classes, fingerprints = divergence(run_dir, case)
    today = today or date.today()
    body = [c for c in classes if c != LATENCY_CLASS]
    parts: list[tuple[KnownGap, dict[str, object]]] = []
    if body:
        parts.append(_class_gap(gap_id or f"{case}-{kind}", cases or "*", kind, body, note, owner, today, expires))
    if LATENCY_CLASS in classes:
        own = f"{gap_id}-{LATENCY}" if gap_id and body else gap_id or f"{case}-{LATENCY}"
        parts.append(_class_gap(own, cases or glob.escape(case), LATENCY, [LATENCY_CLASS], note, owner, today,
                                expires))  # the name, never a pattern
    if not classes:
        gap = KnownGap(gap_id or f"{case}-{kind}", case, kind, tuple(fingerprints), note, owner, today, expires)
        parts.append((gap, {"id": gap.id, "case": gap.case, "kind": gap.kind,
                            "fingerprint": fingerprints[0] if len(fingerprints) == 1 else fingerprints,
                            **_signed(note, owner, today, expires)}))
    ids = [gap.id for gap, _ in parts]

    def taken(among: list[str]) -> Callable[[], None]:
        def refuse() -> None:
            existing = {g.id for g in load_gaps(gaps_file)}
            clash = next((i for i in among if i in existing), None)
            if clash is not None:
                raise GauntletError(f"{gaps_file}: a gap with id {clash!r} exists already (pass --id)")
        return refuse

    if tracker is not None:  # found unwritable after the gap went in, the change would be half made
        with writing(tracker):
            _tracker_lines(tracker)
    for n, (gap, entry) in enumerate(parts):
        append_entry(gaps_file, "gap", entry, taken(ids[n:]))  # the first refuses on any clash: the file as it was
        if tracker is not None:
            append_tracker_row(tracker, gap)
    return [gap for gap, _ in parts]


def _class_gap(gap_id: str, cases: str, kind: str, classes: list[str], note: str, owner: str, today: date,
               expires: date | None) -> tuple[KnownGap, dict[str, object]]:
    """A class-form gap and its `[[gap]]` entry (no `cases` key for every case)."""
    gap = KnownGap(gap_id, cases, kind, (), note, owner, today, expires, tuple(classes))
    entry: dict[str, object] = {"id": gap_id, "classes": classes, "kind": kind,
                                **({"cases": cases} if cases != "*" else {})}
    return gap, {**entry, **_signed(note, owner, today, expires)}


def _signed(note: str, owner: str, today: date, expires: date | None) -> dict[str, object]:
    return {"note": note, "owner": owner, "opened": today, **({"expires": expires} if expires is not None else {})}


TRACKER_COLUMNS = ("Gap", "Case", "Kind", "Owner", "Opened", "Status", "Note")


def append_tracker_row(tracker: Path, gap: KnownGap) -> None:
    """Add the gap as an `_open_` row to the tracker's decisions table (the first table with
    a Status column; a new table at the end when there is none), the rest untouched."""
    values = {"gap": gap.id, "id": gap.id, "decision": gap.note, "case": gap.case, "kind": gap.kind,
              "divergence": gap.kind, "owner": gap.owner, "opened": str(gap.opened or ""), "date": str(gap.opened or ""),
              "status": "_open_", "note": gap.note, "notes": gap.note}
    with writing(tracker):
        lines = _tracker_lines(tracker)
        start = _status_table(lines)
        if start is None:
            table = ["| " + " | ".join(TRACKER_COLUMNS) + " |", "|" + "---|" * len(TRACKER_COLUMNS),
                     "| " + " | ".join(md_cell(values[c.lower()]) for c in TRACKER_COLUMNS) + " |"]
            while lines and not lines[-1].strip():
                lines.pop()
            lines += (["", *table, ""] if lines else [*table, ""])
        else:
            header = [c.strip().lower() for c in lines[start].strip().strip("|").split("|")]
            end = start + 2
            while end < len(lines) and lines[end].lstrip().startswith("|"):
                end += 1
            row = "| " + " | ".join(md_cell(values.get(h, "")) for h in header) + " |"
            lines.insert(end, row)
        write_atomic(tracker, "\n".join(lines), durable=True)


def _tracker_lines(tracker: Path) -> list[str]:
    return tracker.read_text("utf-8").split("\n") if tracker.exists() else []


def _status_table(lines: Sequence[str]) -> int | None:
    for i, line in enumerate(lines[:-1]):
        if line.lstrip().startswith("|") and "status" in line.lower() and set(lines[i + 1].strip()) <= set("|-: "):
            return i
    return None


def gaps_path_of_run(run_dir: Path) -> tuple[Path | None, Path | None]:
    """The known-gaps file and tracker named by the config a run was made with."""
    for _, event in read_events(str(run_dir / "events.jsonl")):
        if isinstance(event, RunStarted):
            if not os.path.exists(event.config):
                return None, None
            config = load_config(event.config)
            return config.verdict.known_gaps, config.verdict.tracker
    return None, None
