"""Reading a finished run's parity results back (parity/results.json), for the diff
viewer and for recording known gaps: one reader, one set of messages."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .errors import InputError


def read_case(run_dir: Path, case: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the whole results.json, the entry of `case`); InputError naming what is missing."""
    path = run_dir / "parity" / "results.json"
    try:
        results = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise InputError(f"{run_dir}: no parity/results.json: not a run with a parity phase") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: not valid JSON ({exc})") from None
    entry = next((c for c in results.get("cases", []) if c.get("case") == case), None)
    if entry is None:
        names = ", ".join(c.get("case", "?") for c in results.get("cases", []))
        raise InputError(f"{run_dir.name}: no parity case {case!r} (cases: {names})")
    return results, entry
