"""Child processes in their own process group, stopped as a group so no grandchild survives.

Shared by smokes, command reviewers and `stack up`: each child is a session leader, so
one signal to its group reaches everything it forked. A process can leave the group
(setsid, a daemon's double fork): every process a child starts carries the child's mark in
its environment (STEP_ENV), by which it is found and stopped with the group, whatever its
group. On Linux this process is also the children's subreaper, so what a child orphans comes
to it, not to init, and is reaped here (an init that reaps nothing, as in some containers,
would keep every such zombie).
"""

from __future__ import annotations

import asyncio
import ctypes
import fcntl
import functools
import os
import secrets
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from ._redact import Secrets
from ._rundir import write_all

READ_CHUNK = 1 << 18
PIPE_SIZE = 1 << 20
F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)
PR_SET_CHILD_SUBREAPER = 36
STEP_ENV = "GAUNTLET_STEP"  # the marks of the children a process descends from, space-separated
POLL = 0.02  # seconds between looks at processes that hold no pipe to wait on
REAP_WITHIN = 1.0  # seconds for SIGKILLed processes to be reaped


@dataclass
class Child:
    """A started child and the future that completes when its output pipe reaches EOF.

    The pipe is ours, not asyncio's: asyncio's `wait()` would also wait for every holder
    of the pipe (a grandchild left in the background), hiding the moment the child exits.
    """

    proc: asyncio.subprocess.Process
    drained: asyncio.Future[None]
    mark: str  # in STEP_ENV of every process it starts
    # No later than it started (ticks after boot, as /proc counts): only what started since
    # can carry its mark, and the environment of every older process (most of the machine's)
    # is not read.
    started: int = 0

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
    _become_subreaper()
    full_env = dict(os.environ)
    # Children find the same gauntlet and python as the parent (a venv not on PATH).
    bindir = os.path.dirname(sys.executable)
    if bindir not in full_env.get("PATH", "").split(os.pathsep):
        full_env["PATH"] = bindir + os.pathsep + full_env.get("PATH", "")
    if env:
        full_env.update(env)
    mark = secrets.token_hex(8)  # kept after the step's own (a gauntlet run by a smoke)
    full_env[STEP_ENV] = f"{full_env.get(STEP_ENV, '')} {mark}".lstrip()
    read_fd, write_fd = _pipe()
    err_read, err_write = _pipe() if stderr is not None else (read_fd, write_fd)
    started = _ticks_now()  # before: the child may be gone and reaped by the time it is looked up
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
        drained = _both(drained, _read_until_eof(err_read, stderr))
    return Child(proc, drained, mark, started)


def _both(first: asyncio.Future[None], second: asyncio.Future[None]) -> asyncio.Future[None]:
    """A future done when both are (the child's stdout and stderr pipes at EOF)."""
    async def wait() -> None:
        await asyncio.gather(first, second)
    return asyncio.ensure_future(wait())


def _pipe() -> tuple[int, int]:
    read_fd, write_fd = os.pipe()
    try:
        fcntl.fcntl(read_fd, F_SETPIPE_SZ, PIPE_SIZE)
    except OSError:
        pass  # a smaller pipe only costs context switches
    return read_fd, write_fd


@functools.cache
def _become_subreaper() -> bool:
    """Once per process, on Linux: orphans of the children come here (see the module's doc)."""
    if not sys.platform.startswith("linux"):
        return False
    answer: int = ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    return answer == 0


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
            if masking is not None and isinstance(output, ToFile):
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


def _ticks_now() -> int:
    """Now, in the ticks after boot /proc counts a process's start in, never ahead of it: the
    earlier of the boot clock (which /proc counts starts by) and the monotonic clock (which a
    time namespace may set apart from it), a tick less for the rounding."""
    now = min(time.clock_gettime(time.CLOCK_BOOTTIME), time.clock_gettime(time.CLOCK_MONOTONIC))
    return int(now * os.sysconf("SC_CLK_TCK")) - 1


class Stat(NamedTuple):
    state: str
    parent: int
    group: int
    session: int
    start: int  # clock ticks after boot: a process started before the step cannot carry its mark


def _stat(pid: int | str) -> Stat | None:
    """A process's state, parent, process group, session and start from /proc; None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[1].split()  # the name before ")" may hold spaces
    except OSError:
        return None
    return Stat(fields[0].decode(), int(fields[1]), int(fields[2]), int(fields[3]), int(fields[19]))


def _carries(pid: str, mark: bytes) -> bool:
    """Whether the process's environment holds the mark in STEP_ENV."""
    try:
        with open(f"/proc/{pid}/environ", "rb") as fh:
            environ = fh.read()
    except OSError:
        return False  # gone meanwhile, or another user's
    prefix = f"{STEP_ENV}=".encode()
    return any(var.startswith(prefix) and mark in var[len(prefix):].split() for var in environ.split(b"\0"))


def _signal_each(pids: Iterable[int], sig: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


class _Marked:
    """The processes carrying a child's mark, as seen so far: a zombie shows no environment,
    so one seen once is followed by its pid until it is gone."""

    def __init__(self, child: Child) -> None:
        self.child = child
        self.pids: set[int] = set()

    def look(self) -> list[int]:
        """Those running with the mark, also kept in `pids` with the zombies of ours from the
        child's session (a zombie shows no environment; its session it keeps)."""
        me, mark = os.getpid(), self.child.mark.encode()
        fresh: list[int] = []
        try:
            entries = [name for name in os.listdir("/proc") if name.isdigit() and int(name) != me]
        except OSError:
            return fresh  # no /proc: the group is all there is to stop
        for name in entries:
            stat = _stat(name)
            if stat is None:
                continue
            if stat.state in ("Z", "X"):
                if stat.parent == me and stat.session == self.child.pid:
                    self.pids.add(int(name))
            elif stat.start >= self.child.started and _carries(name, mark):
                fresh.append(int(name))
        self.pids.update(fresh)
        return fresh

    def strays(self) -> list[int]:
        """Those that left the child's process group."""
        return [pid for pid in self.look() if (stat := _stat(pid)) is not None and stat.group != self.child.pid]

    def living(self) -> bool:
        """Whether one still runs; a zombie of ours is reaped here, by its own pid (a wait for
        any child would take an exit status asyncio waits for; the child itself is asyncio's)."""
        self.look()
        me, left = os.getpid(), set()
        for pid in self.pids:
            stat = _stat(pid)
            if stat is None:
                continue
            state, parent = stat.state, stat.parent
            if state not in ("Z", "X") or parent in self.pids:
                left.add(pid)  # running, or a zombie whose parent, of the step too, is about to go
            elif parent == me and pid != self.child.pid:
                try:
                    os.waitpid(pid, os.WNOHANG)
                except ChildProcessError:
                    pass
        self.pids = left
        return bool(left)

    def kill(self) -> None:
        signal_group(self.child.pid, signal.SIGKILL)
        _signal_each(self.look(), signal.SIGKILL)


async def stop_group(child: Child, grace: float) -> None:
    """Stop everything the child started: SIGTERM to its group and to what left the group
    (marked), up to `grace` for them to end, then SIGKILL to what is left, reaped.

    The output pipe reaches EOF when every holder of it is gone, which is how a
    grandchild's exit is observed without polling; what holds no pipe is looked at every
    POLL. Cancelled during the grace (a second interrupt, a loop shutting down), it kills
    them at once: whoever cancels will not wait, and nothing may be left running.
    """
    proc = child.proc
    loop = asyncio.get_running_loop()
    deadline = loop.time() + grace
    step = _Marked(child)
    strays = step.strays()  # seen before the signal: one that dies of it is still followed, and reaped
    signal_group(child.pid, signal.SIGTERM)
    _signal_each(strays, signal.SIGTERM)
    exited = asyncio.ensure_future(proc.wait())
    try:
        both: list[asyncio.Future[Any]] = [exited, child.drained]
        await asyncio.wait(both, timeout=grace)
        while step.living() and loop.time() < deadline:
            await asyncio.sleep(POLL)
    except asyncio.CancelledError:
        step.kill()
        raise
    step.kill()
    await exited
    deadline = loop.time() + REAP_WITHIN
    while step.living() and loop.time() < deadline:
        step.kill()  # what was forked while the others were killed
        await asyncio.sleep(POLL)


async def end(child: Child, grace: float) -> None:
    """The child's step is over, however it went: whatever it started is stopped, and its
    output drained."""
    await stop_group(child, grace)
    try:
        await asyncio.wait_for(asyncio.shield(child.drained), grace)
    except TimeoutError:
        # Only a process that left the group and dropped the mark (env -i) can still hold the pipe.
        child.drained.cancel()
