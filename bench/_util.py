"""Helpers shared by the benchmarks: a scratch folder, timing, peak RSS of children."""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
GAUNTLET = [sys.executable, "-m", "tui.cli"]


def scratch(name: str) -> Path:
    path = Path(tempfile.mkdtemp(prefix=f"gauntlet-bench-{name}-"))
    return path


def cleanup(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def timed(argv: list[str], **kw) -> tuple[float, subprocess.CompletedProcess[bytes]]:
    """Wall seconds of one command run to completion."""
    start = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, cwd=kw.pop("cwd", REPO), **kw)
    return time.perf_counter() - start, proc


def children_peak_rss_mb() -> float:
    """Peak RSS of the largest child waited for so far (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def check(ok: bool, message: str) -> None:
    if not ok:
        print(f"FAILED: {message}", file=sys.stderr)
        sys.exit(1)


def env() -> dict[str, str]:
    return {**os.environ, "TERM": "dumb"}
