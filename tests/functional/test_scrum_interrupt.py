"""An interrupt during the reviews: gauntlet ends 130 and no reviewer's process outlives it,
whatever other reviewers were in flight beside the command one."""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import sys

import pytest

from probes.core import procs

from ..conftest import REPO, kill_all, only_run, processes_with, until, wait_until
from .test_scrum import KEY, openai, scrum_config

pytestmark = pytest.mark.usefixtures("gateway_key")


def stubborn(on_term: str = "") -> tuple[list[str], tuple[str, str]]:
    """A program that ignores SIGTERM (or runs `on_term` then), and so do the two sleeps it
    leaves behind; the marks that find them, unique to this test run."""
    background = random.SystemRandom().randrange(1_000_000, 9_000_000)
    argv = ["sh", "-c", f"trap '{on_term}' TERM; cat >/dev/null; sleep {background} & sleep {background + 1}"]
    return argv, (f"sleep {background}", f"sleep {background + 1}")


def command_reviewer(argv: list[str]) -> str:
    return f"""
        [[scrum.reviewer]]
        name = "local"
        lineage = "local"
        kind = "command"
        run = {json.dumps(argv)}
    """


def interrupt_scrum(gateway, path, marks: tuple[str, ...], sig: signal.Signals, *,
                    with_openai: bool) -> tuple[int, str]:
    """Run `gauntlet scrum PATH --headless`; once every reviewer is under way, send sig.
    (exit code, output); asserts that no process with the marks is left."""
    proc = subprocess.Popen([sys.executable, "-m", "tui.cli", "scrum", str(path), "--headless"], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "TEST_GATEWAY_KEY": KEY})
    try:
        wait_until(lambda: len(processes_with(marks)) == 3, 30, "the command reviewer's sh and sleeps")
        if with_openai:
            wait_until(lambda: gateway.attempts.get("hang"), 30, "the request to the silent gateway")
        proc.send_signal(sig)
        out, _ = proc.communicate(timeout=30)
        wait_until(lambda: not processes_with(marks), 1.0, f"no survivor of {marks}")
    finally:
        kill_all(marks)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, out


@pytest.mark.parametrize(("sig", "with_openai"), [
    pytest.param(signal.SIGINT, True, id="SIGINT-beside-a-silent-gateway"),
    pytest.param(signal.SIGTERM, True, id="SIGTERM-beside-a-silent-gateway"),
    pytest.param(signal.SIGHUP, True, id="SIGHUP-beside-a-silent-gateway"),
    pytest.param(signal.SIGINT, False, id="SIGINT-command-reviewer-alone"),
])
def test_an_interrupt_stops_every_reviewer_process(gateway, write_config, tmp_path, sig, with_openai):
    argv, marks = stubborn()
    reviewers = command_reviewer(argv) + (openai("opus", "hang", "anthropic") if with_openai else "")
    path = scrum_config(write_config, tmp_path, gateway.url, reviewers, timeout="300s")
    code, out = interrupt_scrum(gateway, path, marks, sig, with_openai=with_openai)
    assert code == 130, out
    verdict = json.loads((only_run(tmp_path / "out") / "verdict.json").read_text())
    assert verdict["interrupted"] is True and verdict["complete"] is False and verdict["verdict"] == "BLOCK"
    assert "Traceback" not in out


async def test_a_stop_cut_short_kills_the_group_at_once(tmp_path):
    """Whoever cancels a stop (a second interrupt, the loop shutting down) will not wait out
    the grace: the group is killed then, not left running."""
    argv, marks = stubborn()
    child = await procs.spawn(argv, procs.ToMemory(lambda data: None), cwd=tmp_path)
    try:
        await until(lambda: len(processes_with(marks)) == 3, None, 30, "sh and both sleeps")
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(procs.stop_group(child, grace=60), 0.2)
        await until(lambda: not processes_with(marks), None, 1.0, f"no survivor of {marks}")
    finally:
        kill_all(marks)


def test_the_scrum_waits_for_a_reviewer_cleaning_up_on_sigterm(gateway, write_config, tmp_path):
    """The interrupt ends the scrum only once every reviewer's group has stopped: one that
    takes a second to clean up on SIGTERM gets it, even when the other reviewer (a silent
    gateway) is cancelled at once."""
    cleaned = tmp_path / "cleaned"
    argv, marks = stubborn(f"sleep 1; echo cleaned > {cleaned}; exit 0")
    path = scrum_config(write_config, tmp_path, gateway.url,
                        command_reviewer(argv) + openai("opus", "hang", "anthropic"), timeout="300s")
    code, out = interrupt_scrum(gateway, path, marks, signal.SIGINT, with_openai=True)
    assert code == 130, out
    assert cleaned.read_text() == "cleaned\n"
