"""`gauntlet watch` ends: on a run whose writer died before finishing it (abandoned), and,
like every face of the app, on SIGHUP, SIGTERM, SIGINT or its tmux window closing."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import shlex
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from rich.console import Console

from probes.core.events import RunStarted
from probes.core._rundir import WRITER_FILE, RunDir
from tui.app import GauntletApp
from tui.sources import FileSource

from ..cli import gauntlet
from ..conftest import pid_alive, until, wait_until
from .test_tmux import GAUNTLET, Tmux, wait_for_file
from ..tui_helpers import demo_run_copy, settle

ABANDONED_WITHIN = 2.0  # seconds from the writer's death to the app saying so
# Seconds from a signal (or a closed window) to no process left: five apps end at once, each
# spending about a second of CPU on its verdict, page and history, on two cores the suite's
# other worker shares (a face that waited for its smoke's 60 s, or never ended, still fails).
ENDS_WITHIN = 10.0


def shown(app: GauntletApp, selector: str) -> str:
    """The text a Static shows, as plain text."""
    console = Console(width=300, file=io.StringIO(), record=True, color_system=None)
    console.print(app.query_one(selector).content)
    return console.export_text()


@pytest.fixture
def smoke_pids(tmp_path: Path):
    """Where each slow smoke writes its pid; a smoke its killed writer left running is ended."""
    folder = tmp_path / "pids"
    folder.mkdir()
    yield folder
    for pidfile in folder.iterdir():
        try:
            os.kill(int(pidfile.read_text()), signal.SIGKILL)
        except (ProcessLookupError, ValueError):
            pass


@pytest.fixture
def slow_config(write_config, script) -> Path:
    """One smoke that sleeps for minutes, its pid in $SMOKE_PIDFILE."""
    script("slow.sh", '#!/bin/sh\necho $$ > "$SMOKE_PIDFILE"\necho started\nexec sleep 300\n')
    return write_config('[[smoke]]\nname = "slow"\nrun = "./scripts/slow.sh"\ntimeout = "10m"\n')


def smoke_started(out: Path) -> bool:
    return any('"type":"SmokeStarted"' in events.read_text() for events in out.glob("*/events.jsonl"))


class WritingRun:
    """A real `gauntlet smokes` process writing a run directory, killed by the test."""

    def __init__(self, config: Path, out: Path, pidfile: Path) -> None:
        self.out = out
        self.proc = subprocess.Popen([GAUNTLET, "smokes", str(config), "--headless", "--out", str(out)],
                                     env={**os.environ, "SMOKE_PIDFILE": str(pidfile)},
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_until(lambda: smoke_started(out), 30, "the writer's smoke started")
            wait_until(pidfile.exists, 30, "the smoke wrote its pid")
        except BaseException:
            self.kill()
            raise
        self.run_dir = next(p for p in out.iterdir() if p.is_dir())

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(10)


@pytest.fixture
def writer(slow_config, smoke_pids, tmp_path):
    run = WritingRun(slow_config, tmp_path / "out", smoke_pids / "writer")
    yield run
    if run.proc.poll() is None:
        run.kill()


def abandoned_reason(pid: int) -> str:
    return f"abandoned: the writer (pid {pid}) ended without finishing the run"


# ---- an abandoned run ------------------------------------------------------------------------

async def test_watch_says_abandoned_within_2s_of_the_writer_being_killed(writer):
    app = GauntletApp(FileSource(writer.run_dir, follow=True), clock=False)
    async with app.run_test(size=(160, 40)) as pilot:
        await until(lambda: app.model.phase_state("smokes") == "running", pilot, 10, "the smoke shown running")
        await settle(app, pilot)
        assert "(live: phases still running)" in shown(app, "#verdict-body")
        assert not app.source_finished.is_set()
        writer.kill()
        await asyncio.wait_for(app.source_finished.wait(), ABANDONED_WITHIN)
        await settle(app, pilot)
        header = shown(app, "#header")
        assert "BLOCK (incomplete)" in header and "abandoned" in header and "▶smokes" not in header
        verdict = shown(app, "#verdict-body")
        assert "BLOCK (incomplete)" in verdict and abandoned_reason(writer.proc.pid) in verdict
        assert "live: phases still running" not in verdict


async def test_watch_no_follow_says_abandoned_at_once(writer):
    live = GauntletApp(FileSource(writer.run_dir, follow=False), clock=False)
    async with live.run_test(size=(160, 40)) as pilot:
        await asyncio.wait_for(live.source_finished.wait(), 5)
        await settle(live, pilot)
        assert live.model.running and "abandoned" not in shown(live, "#header")
    writer.kill()
    app = GauntletApp(FileSource(writer.run_dir, follow=False), clock=False)
    async with app.run_test(size=(160, 40)) as pilot:
        await asyncio.wait_for(app.source_finished.wait(), 1)
        await settle(app, pilot)
        assert not app.model.running
        assert abandoned_reason(writer.proc.pid) in shown(app, "#verdict-body")


def history(*args: str) -> str:
    proc = gauntlet("history", *args)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_history_lists_a_killed_run_as_abandoned(writer):
    row = next(line for line in history(str(writer.out)).splitlines() if writer.run_dir.name in line)
    assert "running" in row
    writer.kill()
    row = next(line for line in history(str(writer.out)).splitlines() if writer.run_dir.name in line)
    assert "abandoned" in row and "running" not in row
    with sqlite3.connect(writer.out / "history.sqlite") as db:  # recorded so by reading it, not only shown
        assert db.execute("SELECT finished, verdict, complete FROM runs").fetchall() == [("abandoned", "BLOCK", 0)]
    rebuilt = history(str(writer.out), "--rebuild")
    row = next(line for line in rebuilt.splitlines() if writer.run_dir.name in line)
    assert "abandoned" in row and "running" not in row


def started(run: RunDir) -> None:
    run.record(0.0, RunStarted(run.run_id, "t", "c.toml", str(run.path), ("smokes", "verdict"), "2026-05-02T09:00:00"))


async def replay(run_dir: Path) -> GauntletApp:
    app = GauntletApp(FileSource(run_dir, follow=False), clock=False)
    async with app.run_test(size=(120, 30)):
        await asyncio.wait_for(app.source_finished.wait(), 5)
    return app


async def test_a_recycled_pid_is_not_taken_for_the_writer(tmp_path):
    run = RunDir(tmp_path / "out")  # written by this process, which is alive
    started(run)
    assert (await replay(run.path)).model.running
    record = json.loads((run.path / WRITER_FILE).read_text())
    record["start"] = "another process that had this pid"
    (run.path / WRITER_FILE).write_text(json.dumps(record))
    app = await replay(run.path)
    assert not app.model.running and app.model.abandoned == abandoned_reason(os.getpid())
    run.close()


async def test_a_writer_that_closed_without_finishing_is_abandoned(tmp_path):
    run = RunDir(tmp_path / "out")
    started(run)
    run.close()
    assert (await replay(run.path)).model.abandoned == abandoned_reason(os.getpid())


async def test_a_run_without_a_writer_file_still_replays(tmp_path):
    old = demo_run_copy(tmp_path)
    assert not (old / WRITER_FILE).exists()
    app = GauntletApp(FileSource(old, follow=True), clock=False)
    async with app.run_test(size=(120, 30)):
        await asyncio.wait_for(app.source_finished.wait(), 10)
    assert app.model.abandoned is None and app.model.verdict.verdict == "SHIP_WITH_KNOWN_GAP"
    cut = tmp_path / "cut"
    cut.mkdir()
    (cut / "events.jsonl").write_text("".join((old / "events.jsonl").read_text().splitlines(keepends=True)[:20]))
    app = await replay(cut)  # nobody can tell whether its writer lives: live, as before
    assert app.model.running and app.model.abandoned is None


# ---- signals and closed windows --------------------------------------------------------------

# How each app is ended: a signal to it, its window closed, or its window closed while the app
# sits in a session of its own, which no SIGHUP reaches: it must notice the terminal is gone.
ENDINGS = ("SIGTERM", "SIGHUP", "SIGINT", "kill-window", "hang-up")
OWN_SESSION = (f"{shlex.quote(sys.executable)} -c "
               "'import os, sys; os.setsid(); os.execvp(sys.argv[1], sys.argv[1:])'")


def launch(tmux: Tmux, cwd: Path, name: str, argv: list[str], env: dict[str, str]) -> int:
    """Open a window running the app under sh (which records its exit code); the app's pid."""
    own = f"{OWN_SESSION} " if name == "hang-up" else ""
    settings = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
    app = f"env -u COLUMNS -u LINES TERM=tmux-256color {settings} {own}{shlex.join(argv)}"
    command = f"{app}; echo $? > {shlex.quote(str(cwd / ('exit-' + name)))}; sleep 600"
    tmux("new-window", "-d", "-t", "faces", "-n", name, "-c", str(cwd), f"sh -c {shlex.quote(command)}")
    pane = psutil.Process(int(tmux("display-message", "-p", "-t", f"faces:{name}", "#{pane_pid}")))
    found: list[int] = []

    def app_started() -> bool:
        # `env` and the session launcher exec the app: the pid that names it is the app's.
        for child in pane.children(recursive=True):
            with contextlib.suppress(psutil.NoSuchProcess):
                if GAUNTLET in child.cmdline():
                    found.append(child.pid)
                    return True
        return False

    wait_until(app_started, 30, f"the app started in window {name}")
    return found[0]


def end(tmux: Tmux, name: str, pid: int) -> None:
    if name.startswith("SIG"):
        os.kill(pid, getattr(signal, name))
    else:
        tmux("kill-window", "-t", f"faces:{name}")


@pytest.fixture
def flood_run(write_config, script, tmp_path):
    """A run in progress whose smoke prints without pause: a watch of it redraws all the time."""
    script("flood.py", "#!/usr/bin/env python3\nimport time\nwhile True:\n"
                       "    print('flood ' * 12, flush=True)\n    time.sleep(0.002)\n")
    config = write_config('[[smoke]]\nname = "flood"\nrun = "./scripts/flood.py"\ntimeout = "10m"\n', "flood.toml")
    out = tmp_path / "flood-out"
    proc = subprocess.Popen([GAUNTLET, "smokes", str(config), "--headless", "--out", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: smoke_started(out), 30, "the flood started")
        yield next(p for p in out.iterdir() if p.is_dir())
    finally:
        proc.terminate()
        assert proc.wait(30) == 130


@pytest.fixture
def faces_tmux(tmp_path):
    server = Tmux(f"gauntlet-faces-{os.getpid()}-{tmp_path.name}", "tmux-256color")  # one per test session
    server("-f", "/dev/null", "new-session", "-d", "-s", "faces", "-x", "120", "-y", "40", "sleep 600")
    yield server
    server.kill()


@pytest.fixture
def app_pids():
    """The apps a test started, by ending; one still running at the end is killed."""
    pids: dict[str, int] = {}
    yield pids
    for pid in pids.values():
        if pid_alive(pid):
            os.kill(pid, signal.SIGKILL)


@pytest.fixture
def mirror_config(servers, parity_config) -> Path:
    """A mirror in front of two of the test's own servers (asked nothing: no request comes)."""
    from probes.parity._twins import twin_handler

    return parity_config(servers.serve_http(twin_handler("rust")), servers.serve_http(twin_handler("go")),
                         after="[mirror]")


@pytest.mark.parametrize("face", ["watch", "diff", "run", "mirror"])
def test_every_face_ends_on_signals_and_closed_windows(face, faces_tmux, request, tmp_path, smoke_pids, app_pids):
    """Ended by a signal, or by its window closing: every face is gone within ENDS_WITHIN,
    and so is what it started (a run's smoke, a mirror's judging process). A signal ends it
    in order: the terminal restored and its exit code told (130, interrupted; a mirror is
    judged on what it saw: no request, nothing checked, BLOCK)."""
    env = {"XDG_CONFIG_HOME": str(tmp_path / "config")}
    if face == "watch":
        argv, ready = [GAUNTLET, "watch", str(request.getfixturevalue("flood_run"))], "flood"
    elif face == "diff":
        argv = [GAUNTLET, "diff", str(demo_run_copy(tmp_path, keep_paths=True)), "playbook_missing_fingerprint"]
        ready = "differences"
    elif face == "run":
        argv, ready = [GAUNTLET, "run", str(request.getfixturevalue("slow_config"))], "▶smokes"
    else:
        argv, ready = [GAUNTLET, "mirror", str(request.getfixturevalue("mirror_config"))], "0 judged · 0 dropped"
    pids = app_pids
    for name in ENDINGS:
        extra = ["--out", str(tmp_path / f"out-{name}")] if face in ("run", "mirror") else []
        pids[name] = launch(faces_tmux, tmp_path, name, argv + extra,
                            {**env, "SMOKE_PIDFILE": str(smoke_pids / name)})
    for name in ENDINGS:
        faces_tmux.wait_for(f"faces:{name}", ready)
        if face == "run":
            wait_until((smoke_pids / name).exists, 30, f"the smoke of {name} started")
    children = {name: psutil.Process(pid).children(recursive=True) for name, pid in pids.items()}
    if face == "mirror":  # each mirror's judging process, which must end with it
        assert all(len(found) == 1 for found in children.values()), children
    for name in ENDINGS:
        end(faces_tmux, name, pids[name])
    deadline = time.monotonic() + ENDS_WITHIN
    while any(pid_alive(pid) for pid in pids.values()) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = [name for name, pid in pids.items() if pid_alive(pid)]
    assert not left, f"{face} still running {ENDS_WITHIN}s after {', '.join(left)}"
    wait_until(lambda: not any(pid_alive(c.pid) for found in children.values() for c in found), 5,
               f"what each {face} started ended with it")
    for name in ENDINGS:
        if name.startswith("SIG"):  # ended in order (terminal restored), not killed by the signal: interrupted
            assert wait_for_file(tmp_path / f"exit-{name}", 5) == ("1" if face == "mirror" else "130"), name
        if face == "mirror":  # the run's verdict written as it stood: no request came, nothing was checked
            (run_dir,) = [p for p in (tmp_path / f"out-{name}").iterdir() if p.is_dir()]
            verdict = json.loads((run_dir / "verdict.json").read_text())
            assert verdict["verdict"] == "BLOCK" and "nothing was checked" in " ".join(verdict["reasons"]), name
        if face == "run":  # the run stopped its smoke and wrote its verdict, marked incomplete
            assert not pid_alive(int((smoke_pids / name).read_text())), name
            (run_dir,) = [p for p in (tmp_path / f"out-{name}").iterdir() if p.is_dir()]
            verdict = json.loads((run_dir / "verdict.json").read_text())
            assert verdict["complete"] is False and verdict["interrupted"] is True, name
