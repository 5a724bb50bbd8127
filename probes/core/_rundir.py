"""The run directory: `<out_dir>/<run-id>/`, every file written atomically (temp + rename).

`events.jsonl` is the exception by design: it is appended and flushed per event so that
`gauntlet watch` can follow a run while it happens. `writer.json` names the process that
writes the directory, so a reader can tell a run still going from one whose writer died
before `RunFinished` (killed, crashed): that run will never finish, it is *abandoned*.

A directory that stops taking writes (a full disk) stops the run: the first failure is kept
as `RunDir.failure`, later writes are skipped, and writer.json says why as far as the disk
lets it.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import threading
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from ._errors import RunDirUnwritable
from ._redact import Secrets
from .events import Event, to_json

WRITER_FILE = "writer.json"


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
        write_all(fd, raw)
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


def write_all(fd: int, data: bytes) -> int:
    """Write every byte (os.write may take part of them); how many."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
    return len(data)


def process_start(pid: int) -> str | None:
    """When a running process started (the boot and the clock tick, from /proc): what tells
    it from a later process given the same pid. None when no such process runs (a zombie
    has ended) or the system has no /proc to say."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read()
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as fh:
            boot = fh.read().strip()
    except OSError:
        return None
    state, *rest = stat.rsplit(b")", 1)[1].split()  # the name before ")" may hold spaces
    return None if state in (b"Z", b"X") else f"{boot}/{int(rest[18])}"  # field 22, starttime


def _pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


@dataclass(frozen=True)
class Writer:
    """The process writing a run directory, as it recorded itself in writer.json."""

    pid: int
    host: str
    start: str | None  # process_start() of the writer; None where the system does not say
    closed: bool = False  # set when the writer closes the directory
    stopped: str = ""  # why the writer stopped before the run's end (its directory could not be written)

    @classmethod
    def this_process(cls) -> Writer:
        pid = os.getpid()
        return cls(pid, socket.gethostname(), process_start(pid))

    @classmethod
    def of_run(cls, run_dir: Path) -> Writer | None:
        """The run's writer; None for a run written before writer files, or a damaged one."""
        try:
            data = json.loads((run_dir / WRITER_FILE).read_text(encoding="utf-8"))
            return cls(int(data["pid"]), str(data["host"]), data["start"], bool(data["closed"]),
                       str(data.get("stopped", "")))
        except (OSError, ValueError, TypeError, KeyError):
            return None

    def to_json(self) -> str:
        return json.dumps(asdict(self)) + "\n"

    def running(self) -> bool | None:
        """Whether the writer still runs; None when this machine cannot tell (another host's
        process). Without a start time (no /proc) a recycled pid passes for the writer."""
        if self.closed:
            return False
        if self.host != socket.gethostname():
            return None
        if self.start is None:
            return _pid_exists(self.pid)
        return process_start(self.pid) == self.start

    @property
    def abandoned(self) -> str:
        """Why a run without RunFinished will never get one."""
        if self.stopped:
            return f"abandoned: the writer (pid {self.pid}) stopped: {self.stopped}"
        return f"abandoned: the writer (pid {self.pid}) ended without finishing the run"


def writer_gone(run_dir: Path) -> Writer | None:
    """The run's writer once it has ended (exited or closed the directory); None while it
    may still write, or when nobody can tell (no writer file, another host's process)."""
    writer = Writer.of_run(run_dir)
    return writer if writer is not None and writer.running() is False else None


class RunDir:
    """One run's folder, its event log, and the note of who writes them."""

    def __init__(self, out_dir: Path, run_id: str | None = None, secrets: Secrets = Secrets()) -> None:
        self.run_id = run_id or new_run_id()
        self.secrets = secrets
        self.path = out_dir / self.run_id
        self.path.mkdir(parents=True, exist_ok=False)
        # Before the event log exists: whoever finds events.jsonl also finds its writer.
        self._writer = Writer.this_process()
        write_atomic(self.path / WRITER_FILE, self._writer.to_json())
        # A descriptor of our own: a buffered file that failed would try its buffer again on
        # every later write, and on close.
        self._events: int | None = os.open(self.path / "events.jsonl", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self.failure: RunDirUnwritable | None = None

    def stop(self, failure: RunDirUnwritable) -> RunDirUnwritable:
        """Take no more writes: the first failure is the one that stopped the run."""
        if self.failure is None:
            self.failure = failure
        return self.failure

    def record(self, t: float, event: Event) -> None:
        """EventBus subscriber: append the event as one line. Raises RunDirUnwritable once,
        when the line cannot be written; after that, and after close, it records nothing."""
        if self._events is None or self.failure is not None:
            return
        try:
            write_all(self._events, (to_json(event, t) + "\n").encode())
        except OSError as exc:
            raise self.stop(RunDirUnwritable(self.path / "events.jsonl", exc)) from None

    def write(self, relative: str, data: bytes | str) -> Path:
        """Write one artifact, its secrets masked (events arrive masked by the bus already). A
        storage that refuses it (RunDirUnwritable.refused) stops the directory; any other
        OSError is that file's own."""
        if self.failure is not None:
            raise self.failure
        target = self.path / relative
        if self.secrets:
            data = self.secrets.mask(data) if isinstance(data, str) else self.secrets.mask_bytes(data)
        try:
            write_atomic(target, data)
        except OSError as exc:
            if RunDirUnwritable.refused(exc):
                raise self.stop(RunDirUnwritable(target, exc)) from None
            raise
        return target

    def close(self) -> None:
        if self._events is not None:
            os.close(self._events)
            self._events = None
            # Readers also see the writer gone once this process exits; this says it sooner.
            stopped = str(self.failure) if self.failure is not None else ""
            writer = replace(self._writer, closed=True, stopped=stopped).to_json()
            try:
                write_atomic(self.path / WRITER_FILE, writer)
            except OSError:
                if stopped:
                    _overwrite(self.path / WRITER_FILE, writer.encode())


def _overwrite(path: Path, data: bytes) -> None:
    """Rewrite a small file where it lies, as far as the disk allows: on a full disk the
    blocks a file holds take new bytes when a new file gets none. A reader may catch it half
    written, which Writer.of_run takes for a writer it cannot tell about."""
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_WRONLY)
        try:
            write_all(fd, data)
            os.ftruncate(fd, len(data))
        finally:
            os.close(fd)
