"""The real program in tmux: `gauntlet demo` at 80x24 and at 200x50, and `gauntlet watch`
of that run in a second window, driven with send-keys and read with capture-pane."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import only_run
from .test_demo import assert_seed_figures

GAUNTLET = str(Path(sys.executable).parent / "gauntlet")


class Tmux:
    """One private tmux server (its own socket), killed at the end."""

    def __init__(self, socket: str, term: str) -> None:
        if shutil.which("tmux") is None:
            pytest.fail("tmux is not installed (.ci/run installs it)")
        self.base = ["tmux", "-L", socket]
        self.term = term

    def __call__(self, *args: str) -> str:
        return subprocess.run([*self.base, *args], capture_output=True, text=True, check=True).stdout

    def start(self, name: str, size: tuple[int, int], command: str, cwd: Path) -> None:
        self("-f", "/dev/null", "new-session", "-d", "-s", name, "-x", str(size[0]), "-y", str(size[1]),
             "-c", str(cwd), f"env -u COLUMNS -u LINES TERM={self.term} {command}")

    def screen(self, target: str) -> str:
        return self("capture-pane", "-p", "-t", target)

    def wait_for(self, target: str, text: str, timeout: float = 60) -> str:
        """Read the pane until `text` is on it (the program draws when it likes)."""
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen(target)
            if text in screen:
                return screen
            if time.monotonic() > deadline:
                pytest.fail(f"{text!r} never appeared on {target}; the screen was:\n{screen}")
            time.sleep(0.1)

    def kill(self) -> None:
        subprocess.run([*self.base, "kill-server"], capture_output=True)


def wait_for_file(path: Path, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while not path.exists() or not path.read_text().strip():
        if time.monotonic() > deadline:
            pytest.fail(f"{path} never appeared: the program did not exit")
        time.sleep(0.1)
    return path.read_text().strip()


@pytest.fixture
def tmux(request, tmp_path):
    server = Tmux(f"gauntlet-test-{tmp_path.name}", request.param if hasattr(request, "param") else "tmux-256color")
    yield server
    server.kill()


def run_demo(tmux: Tmux, tmp_path: Path, size: tuple[int, int]) -> tuple[Path, str]:
    exit_file = tmp_path / "exit"
    command = f"sh -c {shlex.quote(f'{GAUNTLET} demo; echo $? > {exit_file}; sleep 600')}"
    tmux.start("demo", size, command, tmp_path)
    tmux.wait_for("demo", "✔parity")  # the last phase is done: the verdict on screen is the final one
    screen = tmux.wait_for("demo", "SHIP_WITH_KNOWN_GAP")
    return exit_file, screen


@pytest.mark.parametrize("tmux", ["screen-256color"], indirect=True)
def test_demo_at_80x24_switch_panes_and_quit(tmux, tmp_path):
    exit_file, screen = run_demo(tmux, tmp_path, (80, 24))
    tmux.wait_for("demo", "21/21 PASS")
    tmux("send-keys", "-t", "demo", "2")
    tmux.wait_for("demo", "c3_materializer")
    tmux("send-keys", "-t", "demo", "3")
    tmux.wait_for("demo", "playbook_overfull")
    tmux("send-keys", "-t", "demo", "4")
    verdict_screen = tmux.wait_for("demo", "covered by known gap")
    assert max(len(line) for line in verdict_screen.splitlines()) <= 80
    tmux("send-keys", "-t", "demo", "q")
    assert wait_for_file(exit_file) == "0"
    run_dir = only_run(tmp_path / "gauntlet-runs")
    assert_seed_figures(run_dir)


@pytest.mark.parametrize("tmux", ["tmux-256color"], indirect=True)
def test_demo_at_200x50_shows_every_pane_and_a_second_operator_watches(tmux, tmp_path):
    exit_file, screen = run_demo(tmux, tmp_path, (200, 50))
    screen = tmux.wait_for("demo", "6/6 status codes match")
    for title in ("Smokes", "Scrum", "Parity", "Verdict"):
        assert f"─ {title} ─" in screen, title
    run_dir = only_run(tmp_path / "gauntlet-runs")
    tmux("new-window", "-t", "demo", "-n", "watch", "-c", str(tmp_path),
         f"env -u COLUMNS -u LINES TERM=tmux-256color {GAUNTLET} watch {run_dir}")
    watched = tmux.wait_for("demo:watch", "SHIP_WITH_KNOWN_GAP")
    assert "watch" in watched and "21/21 PASS" in watched
    tmux("send-keys", "-t", "demo:watch", "q")
    tmux("send-keys", "-t", "demo:0", "q")
    assert wait_for_file(exit_file) == "0"
    assert json.loads((run_dir / "verdict.json").read_text())["verdict"] == "SHIP_WITH_KNOWN_GAP"
