"""A run directory on a full disk: the run ends at once with a message naming the path and the
cause, the verdict it holds in memory on the terminal, exit 3, nothing of it left running, and
the run directory saying it stopped as far as the disk let it (no endless attempt to report
the failure to the record that cannot be written)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

from probes.config import load_config
from probes.engine import Engine
from probes.core.events import RunFinished, RunStarted, read_events
from probes.core._rundir import Writer

from ..conftest import REPO, kill_all, only_run, processes_with, wait_until

DISK_BYTES = 1 << 20
ENDS_WITHIN = 10.0  # seconds after the disk filled


@dataclass(frozen=True)
class Disk:
    """A folder that takes no more than DISK_BYTES: a tmpfs of that size mounted there, or
    where mounting is not allowed, a file size limit on the process (writes past it fail with
    EFBIG instead of killing it with SIGXFSZ)."""

    path: Path
    preexec: Callable[[], None] | None
    cause: str  # how gauntlet names the failure

    def full(self) -> bool:
        if self.preexec is not None:
            return any(f.stat().st_size >= DISK_BYTES for f in self.path.rglob("*") if f.is_file())
        return os.statvfs(self.path).f_bavail == 0


    @contextlib.contextmanager
    def in_this_process(self) -> Iterator[None]:
        """The file size limit on the test's own process, for a run on its event loop."""
        if self.preexec is None:
            yield
            return
        soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
        ignored = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (DISK_BYTES, hard))
        try:
            yield
        finally:
            resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
            signal.signal(signal.SIGXFSZ, ignored)


def _file_size_limit() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (DISK_BYTES, DISK_BYTES))


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Disk]:
    where = tmp_path / "disk"
    where.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={DISK_BYTES}", "tmpfs", str(where)],
                             capture_output=True).returncode == 0
    try:
        yield (Disk(where, None, "no space left") if mounted
               else Disk(where, _file_size_limit, "file too large"))
    finally:
        if mounted:
            subprocess.run(["umount", "--lazy", str(where)], check=True)


def run_until_full(disk: Disk, command: str, config: Path, marks: tuple[str, ...]) -> tuple[int, str]:
    """`gauntlet COMMAND CONFIG --headless` with its run directory on the disk: wait for the
    disk to fill, then for gauntlet to end, at most ENDS_WITHIN seconds. (exit code, output);
    asserts that no process it started outlives it."""
    out = config.parent / f"{command}.out"
    with open(out, "w") as sink:
        proc = subprocess.Popen([sys.executable, "-m", "tui.cli", command, str(config), "--headless"], cwd=REPO,
                                stdout=sink, stderr=subprocess.STDOUT, preexec_fn=disk.preexec,
                                start_new_session=True)
    try:
        wait_until(lambda: disk.full() or proc.poll() is not None, 60, "the disk filling")
        started: list[psutil.Process] = []
        with contextlib.suppress(psutil.NoSuchProcess):
            started = psutil.Process(proc.pid).children(recursive=True)
        filled = time.monotonic()
        try:
            code = proc.wait(ENDS_WITHIN)
        except subprocess.TimeoutExpired:
            cpu = psutil.Process(proc.pid).cpu_percent(0.5)
            pytest.fail(f"gauntlet still runs {ENDS_WITHIN}s after the disk filled ({cpu:.0f} % CPU):\n"
                        + out.read_text()[-2000:])
        assert time.monotonic() - filled < ENDS_WITHIN
        left = [p for p in started if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
        assert not left, f"left running: {[p.cmdline() for p in left]}"
        assert not processes_with(marks)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        kill_all(marks)
        proc.wait()
    return code, out.read_text()


def assert_stopped_on_full_disk(disk: Disk, code: int, output: str) -> None:
    assert code == 3, output
    assert "Traceback" not in output
    assert f"{disk.cause} on {disk.path}/" in output  # the cause and the file that could not be written
    assert "verdict: BLOCK  (incomplete)" in output  # the verdict held in memory, printed
    run = only_run(disk.path)
    events = list(read_events(str(run / "events.jsonl")))  # whole lines up to where the disk ended
    assert isinstance(events[0][1], RunStarted)
    assert not any(isinstance(e, RunFinished) for _, e in events)
    writer = Writer.of_run(run)  # what a reader (watch, verdict, history) tells of the run
    assert writer is not None and writer.running() is False
    assert f"{disk.cause} on {disk.path}/" in writer.abandoned


def flood_config(disk: Disk, write_config, script) -> tuple[Path, str]:
    """A config whose one smoke prints 3 MB, its run directory on the disk; the smoke's mark."""
    flood = script("flood.py", """
        import sys
        line = b"y" * 1023 + b"\\n"
        for _ in range(3 * 1024):  # 3 MB
            sys.stdout.buffer.write(line)
    """)
    config = write_config(f"""
        [gauntlet]
        name = "full"
        out_dir = "{disk.path}"
        [[smoke]]
        name = "flood"
        run = ["{sys.executable}", "{flood}"]
    """)
    return config, str(flood)


def test_a_smoke_that_fills_the_disk_ends_the_run_with_exit_3(disk, write_config, script):
    config, mark = flood_config(disk, write_config, script)
    code, output = run_until_full(disk, "smokes", config, (mark,))
    assert_stopped_on_full_disk(disk, code, output)


async def test_the_app_ends_a_run_that_fills_the_disk(disk, write_config, script):
    from tui.app import GauntletApp
    from tui.sources import LiveSource

    config, mark = flood_config(disk, write_config, script)
    engine = Engine(load_config(config, env={}), ("smokes", "verdict"))
    app = GauntletApp(LiveSource(engine))
    with disk.in_this_process():
        async with app.run_test(size=(100, 30)) as pilot:
            await asyncio.wait_for(app.source_finished.wait(), 30)
            assert app.model.finished is not None and not app.model.finished.complete
            assert any(f"{disk.cause} on {disk.path}/" in n.message for n in app.model.notices)
            await pilot.press("q")
    assert app.exit_code == 3
    assert not processes_with((mark,))


def test_a_parity_body_that_fills_the_disk_ends_the_run_with_exit_3(disk, write_config, servers):
    body = b'{"big": "' + b"z" * (20 << 20) + b'"}'  # 20 MB

    async def handle(method, path, headers, request_body):
        return 200, {"content-type": "application/json"}, body

    url = servers.serve_http(handle)
    config = write_config(f"""
        [gauntlet]
        name = "full"
        out_dir = "{disk.path}"
        [parity]
        reference = "a"
        [parity.targets]
        a = "{url}"
        b = "{url}"
        [[parity.case]]
        name = "big"
        path = "/big"
    """)
    code, output = run_until_full(disk, "parity", config, (str(config),))
    assert_stopped_on_full_disk(disk, code, output)
    assert f"{disk.cause} on {only_run(disk.path)}/parity/bodies.pack" in output  # the first write refused
