"""The run directory: `<out_dir>/<run-id>/`, every file written atomically (temp + rename).

`events.jsonl` is the exception by design: it is appended and flushed per event so that
`gauntlet watch` can follow a run while it happens.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from .events import Event, to_json


def new_run_id(now: datetime | None = None) -> str:
    """Sortable by time, unique across runs started in the same second."""
    now = now or datetime.now(UTC)
    return f"{now:%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


def write_atomic(path: Path, data: bytes | str, *, durable: bool = False) -> None:
    """Replace `path` in one step: a reader sees the old file or the new one, never a part.

    `durable` also fsyncs before the rename, for files that must survive a crash of the
    machine (the persistent-stack TOML); run artifacts skip it, a probe writes thousands.
    Plain os calls, no mkstemp: this is on the parity probe's hot path.
    """
    raw = data.encode("utf-8") if isinstance(data, str) else data
    tmp = f"{path.parent}/.{path.name}.{os.getpid()}.{threading.get_ident()}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        view = memoryview(raw)
        while view:
            view = view[os.write(fd, view):]
        if durable:
            os.fsync(fd)
        os.close(fd)
        fd = -1
        os.replace(tmp, path)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


class RunDir:
    """One run's folder and its event log."""

    def __init__(self, out_dir: Path, run_id: str | None = None) -> None:
        self.run_id = run_id or new_run_id()
        self.path = out_dir / self.run_id
        self.path.mkdir(parents=True, exist_ok=False)
        self._events: IO[str] | None = open(self.path / "events.jsonl", "a", encoding="utf-8")

    def record(self, t: float, event: Event) -> None:
        """EventBus subscriber: append the event as one line and flush it."""
        if self._events is not None:
            self._events.write(to_json(event, t) + "\n")
            self._events.flush()

    def write(self, relative: str, data: bytes | str) -> Path:
        target = self.path / relative
        write_atomic(target, data)
        return target

    def close(self) -> None:
        if self._events is not None:
            self._events.close()
            self._events = None
