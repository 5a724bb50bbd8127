"""Child processes in their own process group, stopped as a group so no grandchild survives.

Shared by smokes, command reviewers and `stack up`: each child is a session leader, so
one signal to its group reaches everything it forked.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .redact import Secrets
from .rundir import write_all

READ_CHUNK = 1 << 18
PIPE_SIZE = 1 << 20
F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)


@dataclass
class Child:
    """A started child and the future that completes when its output pipe reaches EOF.

    The pipe is ours, not asyncio's: asyncio's `wait()` would also wait for every holder
    of the pipe (a grandchild left in the background), hiding the moment the child exits.
    """

    proc: asyncio.subprocess.Process
    drained: asyncio.Future[None]

    @property
    def pid(self) -> int:
        return self.proc.pid


async def spawn(argv: Sequence[str], output: Output, *, cwd: Path,
                env: Mapping[str, str] | None = None,
                stdin: int | None = asyncio.subprocess.DEVNULL,
                stderr: ToFile | None = None) -> Child:
    """Start argv in a new session (its own process group), stdout and stderr on one pipe
    (or stderr on a pipe of its own, pumped to a file: `drained` then waits for both).

    The output arrives interleaved as the child wrote it, either as bytes (`ToMemory`) or
    appended to a log file (`ToFile`). Raises OSError
    subclasses (FileNotFoundError, PermissionError) when it cannot start.
    """
    full_env = dict(os.environ)
    # Children find the same gauntlet and python as the parent (a venv not on PATH).
    bindir = os.path.dirname(sys.executable)
    if bindir not in full_env.get("PATH", "").split(os.pathsep):
        full_env["PATH"] = bindir + os.pathsep + full_env.get("PATH", "")
    if env:
        full_env.update(env)
    read_fd, write_fd = _pipe()
    err_read, err_write = _pipe() if stderr is not None else (read_fd, write_fd)
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv, cwd=str(cwd), env=full_env, stdin=stdin, stdout=write_fd, stderr=err_write,
            start_new_session=True,
        )
    except BaseException:
        os.close(read_fd)
        if stderr is not None:
            os.close(err_read)
        raise
    finally:
        os.close(write_fd)
        if stderr is not None:
            os.close(err_write)
    drained = _read_until_eof(read_fd, output)
    if stderr is not None:
        drained = asyncio.ensure_future(asyncio.gather(drained, _read_until_eof(err_read, stderr)))
    return Child(proc, drained)


def _pipe() -> tuple[int, int]:
    read_fd, write_fd = os.pipe()
    try:
        fcntl.fcntl(read_fd, F_SETPIPE_SZ, PIPE_SIZE)
    except OSError:
        pass  # a smaller pipe only costs context switches
    return read_fd, write_fd


@dataclass(frozen=True)
class ToMemory:
    """Hand each chunk of output to a callback, on the event loop."""

    on_data: Callable[[bytes], None]


@dataclass(frozen=True)
class ToFile:
    """Append output to an open file descriptor, its secrets masked; `on_written(total)` (the
    bytes in the file) on the event loop, at most every `every` seconds and once at the end."""

    fd: int
    on_written: Callable[[int], None]
    every: float = 0.1
    secrets: Secrets = Secrets()


Output = ToMemory | ToFile


def _read_until_eof(fd: int, output: Output) -> asyncio.Future[None]:
    """Pump the pipe on a thread of its own: blocking reads keep up with a flood that
    event-loop wake-ups per chunk would not (measured in bench/smoke_flood.py)."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()

    def settle(exc: BaseException | None) -> None:
        if done.done():
            return
        if exc is None:
            done.set_result(None)
        else:
            done.set_exception(exc)

    def pump() -> None:
        total, last = 0, 0.0
        error: BaseException | None = None
        masking = output.secrets.stream() if isinstance(output, ToFile) and output.secrets else None
        try:
            while data := os.read(fd, READ_CHUNK):
                if isinstance(output, ToMemory):
                    loop.call_soon_threadsafe(output.on_data, data)
                    continue
                total += write_all(output.fd, data if masking is None else masking.feed(data))
                now = time.monotonic()
                if now - last >= output.every:
                    last = now
                    loop.call_soon_threadsafe(output.on_written, total)
            if masking is not None:
                total += write_all(output.fd, masking.end())
        except OSError as exc:
            error = exc
        finally:
            os.close(fd)
        try:
            if isinstance(output, ToFile):
                loop.call_soon_threadsafe(output.on_written, total)
            loop.call_soon_threadsafe(settle, error)
        except RuntimeError:
            pass  # the loop is gone: nobody is waiting any more

    threading.Thread(target=pump, name=f"pump-{fd}", daemon=True).start()
    return done


def signal_group(pgid: int, sig: int) -> bool:
    """Send sig to the group; False when nothing is left in it."""
    try:
        os.killpg(pgid, sig)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:  # a member changed uid: nothing we may do about it
        return False


async def stop_group(child: Child, grace: float) -> None:
    """SIGTERM the group, wait up to `grace`, then SIGKILL whatever is left.

    The output pipe reaches EOF when every holder of it is gone, which is how a
    grandchild's exit is observed without polling. Cancelled during the grace (a second
    interrupt, a loop shutting down), it kills the group at once: whoever cancels will
    not wait, and nothing may be left running.
    """
    proc, pgid = child.proc, child.pid
    if not signal_group(pgid, signal.SIGTERM):
        if proc.returncode is None:
            await proc.wait()
        return
    exited = asyncio.ensure_future(proc.wait())
    try:
        _, pending = await asyncio.wait([exited, child.drained], timeout=grace)
    except asyncio.CancelledError:
        signal_group(pgid, signal.SIGKILL)
        raise
    if pending:
        signal_group(pgid, signal.SIGKILL)
    await exited
