"""Helpers shared by the benchmarks: a scratch folder, timing, peak RSS of children, the twins."""

from __future__ import annotations

import contextlib
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
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


@contextlib.contextmanager
def twins(*args: str) -> Iterator[dict[str, str]]:
    """`gauntlet twins ARGS` in a process of its own (the measured probe shares no loop with
    them): the URL of each twin serving, by name; stopped on leaving."""
    proc = subprocess.Popen([*GAUNTLET, "twins", *args], cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        urls = dict(re.findall(r"(rust|go) (http://\S+)", proc.stdout.readline()))
        check(bool(urls), "the twins did not start")
        yield urls
    finally:
        proc.terminate()
        proc.wait(10)


def parity_project(work: Path, urls: dict[str, str], payloads: list[dict], cases: int, *, name: str,
                   concurrency: int) -> Path:
    """A config probing the twins' /v1/validate with `cases` POSTs cycling through `payloads`,
    from a JSON Lines cases file beside it: the config's path."""
    with open(work / "cases.jsonl", "w") as fh:
        for i in range(cases):
            fh.write(json.dumps({"name": f"c{i:06d}", "method": "POST", "path": "/v1/validate",
                                 "json": payloads[i % len(payloads)]}) + "\n")
    config = work / "gauntlet.toml"
    config.write_text(f'[gauntlet]\nname = "{name}"\nout_dir = "out"\n[parity]\nreference = "rust"\n'
                      f'concurrency = {concurrency}\ncases_file = "cases.jsonl"\n'
                      f'[parity.targets]\nrust = "{urls["rust"]}"\ngo = "{urls["go"]}"\n')
    return config
