"""Writing a parity run's record as the cases land: `parity/results.jsonl` and `parity/bodies.pack`.

A line per case, appended in the order the cases land and flushed at least once a second
(and at the end), so `watch` and `diff` see a case soon after it lands and an interrupted
run keeps what landed. Bodies are kept where a person can use them: every divergent or
errored case's, the first MATCH_SAMPLE matching cases' (to see what matching looks like),
or every case's under `keep_bodies = "all"`. Each distinct body is written once to the pack
(identical answers, the usual error body, share one copy), before the line that names it,
so a reader never finds a reference to bytes not yet written. What stays in memory is the
digest index of the bodies written, never the results.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from .errors import GauntletError
from .events import ParityCaseFinished
from .parity import CaseResult, case_record, diverged
from .results import PACK, RESULTS

MATCH_SAMPLE = 20  # matching cases whose answers are kept under keep_bodies = "divergent"
FLUSH_EVERY = 1.0  # seconds a landed case may wait in the buffer
BUFFER_BYTES = 1 << 20


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


class ResultWriter:
    """The parity record of one run; `add` each result as it lands, `close` at the end."""

    def __init__(self, folder: Path, head: dict[str, Any], keep_bodies: str) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.results_path = folder / RESULTS
        self.pack_path = folder / PACK
        self._keep_all = keep_bodies == "all"
        self._sampled = 0
        self._index: dict[bytes, tuple[int, int]] = {}  # digest -> (offset, length) in the pack
        self._pack_fd: int | None = None
        self._pack_size = 0
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        self._timer: asyncio.TimerHandle | None = None
        self._failed: GauntletError | None = None
        self._fd: int | None = self._open(self.results_path)
        self._append(self.results_path, self._fd, _line(head))

    def _open(self, path: Path) -> int:
        try:
            return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        except OSError as exc:
            raise GauntletError(f"{path}: cannot write the parity record: {exc.strerror or exc}") from None

    def _append(self, path: Path, fd: int, data: bytes) -> None:
        try:
            _write_all(fd, data)
        except OSError as exc:
            raise GauntletError(f"{path}: cannot write the parity record: {exc.strerror or exc}") from None

    def add(self, result: CaseResult, event: ParityCaseFinished) -> None:
        """Store the answers worth keeping, then buffer the case's line."""
        if self._failed is not None:
            raise self._failed
        matched = not diverged(result)
        keep = self._keep_all or not matched or self._sampled < MATCH_SAMPLE
        if keep and matched:
            self._sampled += 1
        bodies = {t: self._store(a.body) for t, a in result.answers.items()} if keep else None
        line = _line(case_record(result, event, bodies))
        self._pending.append(line)
        self._pending_bytes += len(line)
        if self._pending_bytes >= BUFFER_BYTES:
            self.flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(FLUSH_EVERY, self._flush_later)

    def _flush_later(self) -> None:
        """The timer's flush: a failure is raised by the next `add` or by `close`, in the
        phase, rather than lost in the event loop's log."""
        self._timer = None
        try:
            self.flush()
        except GauntletError as exc:
            self._failed = exc

    def _store(self, body: bytes) -> dict[str, Any]:
        digest = hashlib.sha256(body).digest()
        if digest not in self._index:
            if self._pack_fd is None:
                self._pack_fd = self._open(self.pack_path)
            self._append(self.pack_path, self._pack_fd, body)
            self._index[digest] = (self._pack_size, len(body))
            self._pack_size += len(body)
        offset, length = self._index[digest]
        return {"sha256": digest.hex(), "offset": offset, "length": length}

    def flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._pending and self._fd is not None:
            data = b"".join(self._pending)
            self._pending, self._pending_bytes = [], 0
            self._append(self.results_path, self._fd, data)

    def close(self) -> list[Path]:
        """Flush and close; the files written (the pack only when a body was kept)."""
        try:
            self.flush()
            if self._failed is not None:
                raise self._failed
        finally:
            for fd in (self._fd, self._pack_fd):
                if fd is not None:
                    os.close(fd)
            written = [self.results_path] + ([self.pack_path] if self._pack_fd is not None else [])
            self._fd = self._pack_fd = None
        return written


def _line(value: dict[str, Any]) -> bytes:
    """Compact, `"case"` first (the reader finds a case by the start of its line)."""
    return (json.dumps(value, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
