"""Reading a run's parity record back, for the diff viewer and for recording known gaps: one
reader, one set of messages.

The record is two files in `parity/`: `results.jsonl.gz`, a head line (reference, targets,
ignore rules) then one line per case in the order the cases landed, gzip-compressed a block
at a time (`zcat` reads it; a block still being written is not read yet), and `bodies.pack`,
the answers' bodies each stored once, found by the `{sha256, offset, length}` reference in a
case's line. An uncompressed `results.jsonl` reads the same. A case is found by one pass over
the lines, matching only their start: the writer puts `"case"` first.
"""

from __future__ import annotations

import hashlib
import json
import re
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core import InputError
from ..core.events import DiffRow, read_row

RESULTS = "results.jsonl.gz"
PLAIN = "results.jsonl"  # the same record uncompressed (written by hand, or before compression)
PACK = "bodies.pack"
NAMES_SHOWN = 10
KEEP_ALL_HINT = 'keep_bodies = "all" keeps them'
_NAME = re.compile(rb'\{\s*"case"\s*:\s*"([^"\\]*)"')
_QUOTED = re.compile(rb'\{\s*"case"\s*:\s*("(?:[^"\\]|\\.)*")\s*,')  # the name as JSON spells it
CHUNK = 1 << 20


def _results(run_dir: Path) -> Path:
    folder = run_dir / "parity"
    for name in (RESULTS, PLAIN):
        if (folder / name).is_file():
            return folder / name
    if (folder / "results.json").is_file():
        raise InputError(f"{run_dir}: parity/results.json is an older gauntlet's record, this one reads "
                         f"parity/{RESULTS}: probe again to view it")
    raise InputError(f"{run_dir}: no parity/{RESULTS}: not a run with a parity phase")


def _chunks(path: Path) -> Iterator[bytes]:
    """The record's bytes, gzip members undone one after another; a member cut short (still
    being written) ends the reading where its bytes end."""
    with open(path, "rb") as fh:
        if path.name != RESULTS:
            while chunk := fh.read(CHUNK):
                yield chunk
            return
        member = zlib.decompressobj(wbits=31)
        while raw := fh.read(CHUNK):
            while raw:
                try:
                    out = member.decompress(raw)
                except zlib.error as exc:
                    raise InputError(f"{path}: damaged, not a gzip stream ({exc})") from None
                if out:
                    yield out
                raw = b""
                if member.eof:
                    raw, member = member.unused_data, zlib.decompressobj(wbits=31)


def _lines(path: Path) -> Iterator[bytes]:
    """Every complete line (a line still being written is not one)."""
    rest = b""
    for chunk in _chunks(path):
        lines = (rest + chunk).split(b"\n")
        rest = lines.pop()
        for line in lines:
            yield line + b"\n"


def _parse(path: Path, line: bytes, number: str) -> dict[str, Any]:
    try:
        value = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: {number}: not valid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise InputError(f"{path}: {number}: expected a JSON object")
    return value


def read_head(run_dir: Path) -> dict[str, Any]:
    """The head line of a run's record (reference, targets, the rules it was probed with)."""
    path = _results(run_dir)
    head = next(_lines(path), None)
    if head is None:
        raise InputError(f"{path}: empty (the run stopped before its parity phase began)")
    return _parse(path, head, "the head line")


def read_case(run_dir: Path, case: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the head line, the line of `case`); InputError naming what is missing."""
    path = _results(run_dir)
    lines = _lines(path)
    first = next(lines, None)
    if first is None:
        raise InputError(f"{path}: empty (the run stopped before its parity phase began)")
    head = _parse(path, first, "the head line")
    needle = re.compile(rb'\{\s*"case"\s*:\s*' + re.escape(json.dumps(case, ensure_ascii=False).encode()) + rb"\s*,")
    names: list[str] = []
    count = 0
    for line in lines:
        if needle.match(line):
            return head, _parse(path, line, f"the line of {case!r}")
        if (name := _NAME.match(line)) is not None:
            count += 1
            if len(names) < NAMES_SHOWN:
                names.append(name.group(1).decode("utf-8", "replace"))
    shown = ", ".join(names) + (f" and {count - NAMES_SHOWN:,} more" if count > NAMES_SHOWN else "")
    raise InputError(f"{run_dir.name}: no parity case {case!r} (cases: {shown or 'none yet'})")


def read_cases(run_dir: Path, cases: Iterable[str]) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """(the head line, the line of each of `cases` the record holds), in one pass that parses
    only those lines: a report's examples out of 100,000 cases. A case probed twice: its last line."""
    path = _results(run_dir)
    lines = _lines(path)
    first = next(lines, None)
    if first is None:
        raise InputError(f"{path}: empty (the run stopped before its parity phase began)")
    head = _parse(path, first, "the head line")
    wanted = {json.dumps(case, ensure_ascii=False).encode() for case in cases}  # as record_line writes it
    found: dict[str, dict[str, Any]] = {}
    for line in lines:
        name = _QUOTED.match(line)
        if name is not None and name.group(1) in wanted:
            entry = _parse(path, line, f"the line of {name.group(1).decode('utf-8', 'replace')}")
            found[str(entry.get("case"))] = entry
    return head, found


def entries(run_dir: Path) -> Iterator[dict[str, Any]]:
    """Every case's line, in the order the cases landed."""
    path = _results(run_dir)
    lines = _lines(path)
    next(lines, None)
    for number, line in enumerate(lines, 2):
        yield _parse(path, line, f"line {number}")


@dataclass(frozen=True)
class StoredDifference(DiffRow):
    """One difference of a stored case as its line holds it (the row its event carried), and
    what reading it back adds: the settled noise's word on it (`evidence`, the reference's own
    values there) and the viewer's aligned rows it covers (`rows`)."""

    evidence: str = ""
    rows: tuple[int, ...] = ()

    @classmethod
    def of_entry(cls, entry: dict[str, Any], target: str) -> list[StoredDifference]:
        """The differences of `target` in a case's line; InputError on one that is not one."""
        out = []
        for value in entry.get("differences") or ():
            if not isinstance(value, dict) or value.get("target") != target:
                continue
            try:
                out.append(read_row(cls, value))
            except (TypeError, ValueError) as exc:
                raise InputError(f"case {entry.get('case')}: a difference of {target} in the parity record is "
                                 f"damaged ({exc})") from None
        return out


def kept_answer(entry: dict[str, Any], target: str) -> dict[str, Any]:
    """One target's answer as recorded, its body kept: status, headers, timings, the request
    and `body`, the reference of the stored body. A case whose answers were not kept (it
    matched) says so, and how to keep them."""
    case = entry.get("case")
    answer = entry.get("answers", {}).get(target)
    if answer is None:
        raise InputError(f"case {case}: no answer of {target!r} recorded")
    if answer.get("body") is None:
        raise InputError(f"case {case} matched; its answers were not kept ({KEEP_ALL_HINT})")
    return {"status": entry.get("statuses", {}).get(target), **answer}


def read_body(run_dir: Path, case: str, ref: dict[str, Any]) -> bytes:
    """The stored body a reference names, checked against its digest."""
    path = run_dir / "parity" / PACK
    try:
        with open(path, "rb") as fh:
            fh.seek(int(ref["offset"]))
            body = fh.read(int(ref["length"]))
    except FileNotFoundError:
        raise InputError(f"{path}: missing (the bodies of {case} were stored there)") from None
    except (KeyError, TypeError, ValueError):
        raise InputError(f"case {case}: a body reference needs sha256, offset and length, got {ref!r}") from None
    if hashlib.sha256(body).hexdigest() != ref.get("sha256"):
        raise InputError(f"{path}: the body of {case} at offset {ref['offset']} is not the one recorded "
                         "(the pack is damaged or cut short)")
    return body


def stored_answer(run_dir: Path, case: str, target: str) -> tuple[dict[str, Any], bytes]:
    """A target's recorded answer to a case and its body as compared (content codings undone)."""
    _, entry = read_case(run_dir, case)
    meta = kept_answer(entry, target)
    return meta, read_body(run_dir, case, meta["body"])
