"""The real program in tmux: the demo at 80x24 and at 200x50, and `gauntlet watch` of that
run in a second window, driven with send-keys and read with capture-pane.

capture-pane never returns more than the pane's width, so a layout that does not fit shows
as a pane without its right border or a key missing from the footer: that is what is read.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rich.cells import cell_len

from ..conftest import demo_copy, only_run
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

    def wait_for(self, target: str, text: str, timeout: float = 60, *, still: bool = False) -> str:
        """Read the pane until `text` is on it (the program draws when it likes); with `still`,
        until it also stays the same between two reads (a switch of pane animates the tabs)."""
        deadline = time.monotonic() + timeout
        previous = None
        while True:
            screen = self.screen(target)
            if text in screen and (not still or screen == previous):
                return screen
            if time.monotonic() > deadline:
                pytest.fail(f"{text!r} never appeared{' and held still' if still else ''} on {target}; "
                            f"the screen was:\n{screen}")
            previous = screen
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


FOOTER_KEYS = "1 Smokes  2 Scrum  3 Parity  4 Verdict  ? Help  q Quit"


def corners(screen: str) -> dict[str, tuple[int, int]]:
    """Each pane's top-left corner on screen, (row, column), by its title."""
    found = {}
    for row, line in enumerate(screen.splitlines()):
        for match in re.finditer(r"╭─ (\w+) ─", line):
            found[match.group(1)] = (row, cell_len(line[:match.start()]))
    return found


def assert_edge_to_edge(lines: list[str], rows: range, width: int) -> None:
    """Every row of these panes is `width` cells, border to border."""
    for row in rows:
        line = lines[row]
        assert cell_len(line) == width and line[0] in "╭│╰" and line[-1] in "╮│╯", f"row {row}: {line!r}"


def assert_one_pane_fits(screen: str, title: str, size: tuple[int, int]) -> list[str]:
    """The narrow layout: header, tabs, the one pane whole, every footer key."""
    width, height = size
    lines = screen.splitlines()
    assert len(lines) == height
    assert " SHIP_WITH_KNOWN_GAP " in lines[0] and "✔parity" in lines[0]
    assert lines[1].strip() == "1 Smokes  2 Scrum  3 Parity  4 Verdict"
    assert corners(screen) == {title: (3, 0)}
    assert lines[height - 2].startswith("╰")
    assert_edge_to_edge(lines, range(3, height - 1), width)
    assert lines[-1].startswith(f" {FOOTER_KEYS}") and lines[-1].endswith("^p palette")
    return lines


def run_demo(tmux: Tmux, tmp_path: Path, size: tuple[int, int], ports: dict[int, int]) -> Path:
    """The demo's config on the test's own ports, in the TUI, with stderr on the terminal."""
    demo_copy(tmp_path / "sample_configs", ports)
    exit_file = tmp_path / "exit"
    summary = tmp_path / "step_summary.md"  # as on GitHub Actions: the app's run adds its verdict too
    command = f"sh -c {shlex.quote(f'GITHUB_STEP_SUMMARY={summary} {GAUNTLET} run sample_configs/demo.toml; echo $? > {exit_file}; sleep 600')}"
    tmux.start("demo", size, command, tmp_path)
    tmux.wait_for("demo", "✔parity")  # the last phase is done: the verdict on screen is the final one
    tmux.wait_for("demo", "SHIP_WITH_KNOWN_GAP")
    return exit_file


@pytest.mark.slow
@pytest.mark.parametrize("tmux", ["screen-256color"], indirect=True)
def test_demo_at_80x24_switch_panes_and_quit(tmux, tmp_path, demo_ports):
    size = (80, 24)
    exit_file = run_demo(tmux, tmp_path, size, demo_ports)
    assert_one_pane_fits(tmux.wait_for("demo", "21/21 PASS", still=True), "Smokes", size)
    tmux("send-keys", "-t", "demo", "2")
    assert_one_pane_fits(tmux.wait_for("demo", "c3_materializer", still=True), "Scrum", size)
    tmux("send-keys", "-t", "demo", "3")
    lines = assert_one_pane_fits(tmux.wait_for("demo", "playbook_overfull", still=True), "Parity", size)
    # The names whole; latency as its ratio alone (its timings need a wider screen).
    assert any(re.match(r"│  playbook_missing_fingerprint   422   422 ✓         \d+\.\d\d×   ✗ shape \(known", line)
               for line in lines), "\n".join(lines)
    tmux("send-keys", "-t", "demo", "4")
    lines = assert_one_pane_fits(tmux.wait_for("demo", "covered by known gap", still=True), "Verdict", size)
    assert re.fullmatch(r"│ Verdict  SHIP_WITH_KNOWN_GAP +│", lines[4])
    tmux("send-keys", "-t", "demo", "q")
    assert wait_for_file(exit_file) == "0"
    run_dir = only_run(tmp_path / "gauntlet-runs")
    assert_seed_figures(run_dir)
    assert "**SHIP_WITH_KNOWN_GAP**" in (tmp_path / "step_summary.md").read_text()


@pytest.mark.slow
@pytest.mark.parametrize("tmux", ["tmux-256color"], indirect=True)
def test_demo_at_200x50_shows_every_pane_and_a_second_operator_watches(tmux, tmp_path, demo_ports):
    exit_file = run_demo(tmux, tmp_path, (200, 50), demo_ports)
    screen = tmux.wait_for("demo", "6/6 status codes match", still=True)
    lines = screen.splitlines()
    at = corners(screen)
    bottom, right = at["Parity"][0], at["Scrum"][1]
    assert at == {"Smokes": (1, 0), "Scrum": (1, right), "Parity": (bottom, 0), "Verdict": (bottom, right)}
    assert 1 < bottom < 49 and 0 < right < 200
    assert_edge_to_edge(lines, range(1, 49), 200)  # the grid fills the screen, no pane wider than its half
    assert lines[bottom - 1][right - 1:right + 1] == "╯╰" and lines[48][right - 1:right + 1] == "╯╰"
    assert lines[49].startswith(f" {FOOTER_KEYS}")
    run_dir = only_run(tmp_path / "gauntlet-runs")
    tmux("new-window", "-t", "demo", "-n", "watch", "-c", str(tmp_path),
         f"env -u COLUMNS -u LINES TERM=tmux-256color {GAUNTLET} watch {run_dir}")
    # A frame may be read half drawn (the header before the panes): wait for the whole of it.
    watched = tmux.wait_for("demo:watch", "21/21 PASS", still=True)
    assert "watch" in watched and "SHIP_WITH_KNOWN_GAP" in watched
    tmux("send-keys", "-t", "demo:watch", "q")
    tmux("send-keys", "-t", "demo:0", "q")
    assert wait_for_file(exit_file) == "0"
    assert json.loads((run_dir / "verdict.json").read_text())["verdict"] == "SHIP_WITH_KNOWN_GAP"
