"""Reading a run's parity record back, for the diff viewer and for recording known gaps: one
reader, one set of messages.

The record is two files in `parity/`: `results.jsonl`, a head line (reference, targets,
ignore rules) then one line per case in the order the cases landed, and `bodies.pack`, the
answers' bodies each stored once, found by the `{sha256, offset, length}` reference in a
case's line. A case is found by searching the file's bytes for the start of its line, not
by parsing every line: the writer puts `"case"` first, so one lookup among 100,000 lines
is a search through the bytes.
"""

from __future__ import annotations

import hashlib
import json
import mmap
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .errors import InputError

RESULTS = "results.jsonl"
PACK = "bodies.pack"
NAMES_SHOWN = 10
KEEP_ALL_HINT = 'keep_bodies = "all" keeps them'
_NAME = re.compile(rb'\n\{\s*"case"\s*:\s*"([^"\\]*)"')


def _results(run_dir: Path) -> Path:
    path = run_dir / "parity" / RESULTS
    if not path.is_file():
        if (run_dir / "parity" / "results.json").is_file():
            raise InputError(f"{run_dir}: parity/results.json is an older gauntlet's record, this one reads "
                             f"parity/{RESULTS}: probe again to view it")
        raise InputError(f"{run_dir}: no parity/{RESULTS}: not a run with a parity phase")
    return path


def _parse(path: Path, line: bytes, number: str) -> dict[str, Any]:
    try:
        value = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: {number}: not valid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise InputError(f"{path}: {number}: expected a JSON object")
    return value


def read_head(run_dir: Path) -> dict[str, Any]:
    """The head line of a run's results.jsonl (reference, targets, the rules it was probed with)."""
    path = _results(run_dir)
    with open(path, "rb") as fh:
        return _parse(path, fh.readline(), "the head line")


def read_case(run_dir: Path, case: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the head line, the line of `case`); InputError naming what is missing."""
    path = _results(run_dir)
    with open(path, "rb") as fh:
        if path.stat().st_size == 0:
            raise InputError(f"{path}: empty (the run stopped before its parity phase began)")
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
            first = data.find(b"\n")
            head = _parse(path, data[:first if first >= 0 else len(data)], "the head line")
            needle = re.compile(rb'\n\{\s*"case"\s*:\s*' + re.escape(json.dumps(case).encode()) + rb"\s*,")
            found = needle.search(data)
            if found is None:
                names = [m.group(1).decode("utf-8", "replace") for m in _NAME.finditer(data)]
                shown = ", ".join(names[:NAMES_SHOWN]) + (f" and {len(names) - NAMES_SHOWN:,} more"
                                                          if len(names) > NAMES_SHOWN else "")
                raise InputError(f"{run_dir.name}: no parity case {case!r} (cases: {shown or 'none yet'})")
            end = data.find(b"\n", found.end())
            entry = _parse(path, data[found.start() + 1:end if end >= 0 else len(data)], f"the line of {case!r}")
    return head, entry


def entries(run_dir: Path) -> Iterator[dict[str, Any]]:
    """Every case's line, in the order the cases landed (a line still being written is not one)."""
    path = _results(run_dir)
    with open(path, "rb") as fh:
        next(fh, None)
        for number, line in enumerate(fh, 2):
            if line.endswith(b"\n"):
                yield _parse(path, line, f"line {number}")


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
