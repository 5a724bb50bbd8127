"""Writing a parity run's record as the cases land: `parity/results.jsonl.gz` and `parity/bodies.pack`.

A line per case, appended in the order the cases land and flushed at least once a second
(and at the end), so `watch` and `diff` see a case soon after it lands and an interrupted
run keeps what landed. Each flush appends one gzip member (a file of members is one gzip
stream to `zcat`): a case's line repeats most of its neighbour's, so 100,000 of them take
a few megabytes instead of a hundred and fifty. Bodies are kept where a person can use them: every divergent, errored
or slower case's, the first MATCH_SAMPLE matching cases' (to see what matching looks like),
or every case's under `keep_bodies = "all"`. Each distinct body is written once to the pack
(identical answers, the usual error body, share one copy), before the line that names it,
so a reader never finds a reference to bytes not yet written. What stays in memory is the
digest index of the bodies written, never the results.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from ..core import GauntletError, RunDirUnwritable, Secrets, write_all
from ..core.events import ParityCaseFinished
from ._latency import SLOWER
from ._exchange import CaseResult
from ._probe import case_record, diverged
from ._results import PACK, RESULTS

MATCH_SAMPLE = 20  # matching cases whose answers are kept under keep_bodies = "divergent"
FLUSH_EVERY = 1.0  # seconds a landed case may wait in the buffer
BUFFER_BYTES = 1 << 20
LEVEL = 6  # zlib's default: a tenth of the size at level 1's CPU, give or take; a flush takes milliseconds


class ResultWriter:
    """The parity record of one run; `add` each result as it lands, `close` at the end."""

    def __init__(self, folder: Path, head: dict[str, Any], keep_bodies: str, secrets: Secrets = Secrets()) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self._keep_all = keep_bodies == "all"
        self._sampled = 0
        self.pack = BodyPack(folder / PACK, secrets)
        self._timer: asyncio.TimerHandle | None = None
        self._failed: GauntletError | None = None
        self.record = RecordFile(folder / RESULTS, head, secrets)

    def add(self, result: CaseResult, event: ParityCaseFinished) -> None:
        """Store the answers worth keeping, then buffer the case's line."""
        if self._failed is not None:
            raise self._failed
        matched = not diverged(result) and not any(row.state == SLOWER for row in event.latency)
        keep = self._keep_all or not matched or self._sampled < MATCH_SAMPLE
        if keep and matched:
            self._sampled += 1
        bodies = {t: self.pack.store(a.body) for t, a in result.answers.items()} if keep else None
        if self.record.add(record_line(case_record(result, event, bodies))):
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

    def flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.record.flush()

    def close(self) -> list[Path]:
        """Flush and close; the files written (the pack only when a body was kept)."""
        try:
            self.flush()
            if self._failed is not None:
                raise self._failed
        finally:
            self.record.close()
            stored = self.pack.close()
        return [self.record.path] + ([self.pack.path] if stored else [])


class RecordFile:
    """`results.jsonl.gz` as it is written: lines gathered, each flush one gzip member
    appended; the probe's record and a merge share it. Secrets are masked once per flush,
    over the whole batch (a URL's userinfo in the head and in every answer's `url`)."""

    def __init__(self, path: Path, head: dict[str, Any], secrets: Secrets = Secrets()) -> None:
        self.path = path
        self._secrets = secrets
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        self._fd: int | None = _open(path)
        self.add(record_line(head))
        self.flush()

    def add(self, line: bytes) -> bool:
        """Gather a line; whether enough is gathered to flush."""
        self._pending.append(line)
        self._pending_bytes += len(line)
        return self._pending_bytes >= BUFFER_BYTES

    def flush(self) -> None:
        if self._pending and self._fd is not None:
            data = gzip.compress(self._secrets.mask_bytes(b"".join(self._pending)), LEVEL, mtime=0)
            self._pending, self._pending_bytes = [], 0
            _append(self.path, self._fd, data)

    def close(self) -> None:
        try:
            self.flush()
        finally:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None


class BodyPack:
    """`bodies.pack`: each distinct body once, appended; a reference is its sha256, offset and
    length. Opened when the first body is stored; the probe's record and a merge share it.
    A body that echoes a secret is kept masked (its reference is the masked bytes')."""

    def __init__(self, path: Path, secrets: Secrets = Secrets()) -> None:
        self.path = path
        self._secrets = secrets
        self._index: dict[str, dict[str, Any]] = {}  # sha256 -> the body's reference
        self._fd: int | None = None
        self._size = 0

    def known(self, digest: str) -> dict[str, Any] | None:
        return self._index.get(digest)

    def store(self, body: bytes) -> dict[str, Any]:
        body = self._secrets.mask_bytes(body)
        digest = hashlib.sha256(body).hexdigest()
        ref = self._index.get(digest)
        if ref is None:
            if self._fd is None:
                self._fd = _open(self.path)
            _append(self.path, self._fd, body)
            ref = self._index[digest] = {"sha256": digest, "offset": self._size, "length": len(body)}
            self._size += len(body)
        return ref

    def close(self) -> bool:
        """Whether a body was stored."""
        if self._fd is None:
            return False
        os.close(self._fd)
        self._fd = None
        return True


def _open(path: Path) -> int:
    try:
        return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    except OSError as exc:
        raise _record_error(path, exc) from None


def _append(path: Path, fd: int, data: bytes) -> None:
    try:
        write_all(fd, data)
    except OSError as exc:
        raise _record_error(path, exc) from None


def _record_error(path: Path, exc: OSError) -> GauntletError:
    """A full disk stops the run (RunDirUnwritable); another failure fails the record alone."""
    if RunDirUnwritable.refused(exc):
        return RunDirUnwritable(path, exc)
    return GauntletError(f"{path}: cannot write the parity record: {exc.strerror or exc}")


def record_line(value: dict[str, Any]) -> bytes:
    """One line of results.jsonl.gz: compact, `"case"` first (a reader finds a case by its line's start)."""
    return (json.dumps(value, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
