"""A step (a smoke, a command reviewer) that succeeds ends with everything it started: a child
left in the background, one that left the process group (setsid) too, none left a zombie; and
the stack's services, meant for the whole run, are not a step's to stop."""

from __future__ import annotations

import random
from pathlib import Path

import psutil
import pytest

from probes.config import load_config
from probes.core.events import ReviewFinished, SmokeFinished

from ..conftest import kill_all, processes_with, run_engine
from .test_scrum import scrum_config
from .test_scrum_interrupt import command_reviewer


def sleeps(count: int) -> list[str]:
    """`sleep` arguments found nowhere else: each marks the one process that gets it."""
    rng = random.SystemRandom()
    return [f"{rng.randrange(1000, 9000)}.{rng.randrange(100_000, 999_999)}" for _ in range(count)]


# Four ways to leave a process behind: in the group, holding the output pipe or not; out of the
# group (setsid), holding the pipe or not. Each writes its pid to a file of its own; the script
# goes on once the setsid ones are out of its session.
LEFT_BEHIND = (
    "sleep {0} & echo $! > {dir}/0.pid",
    "sleep {1} >/dev/null 2>&1 & echo $! > {dir}/1.pid",
    "setsid sleep {2} & echo $! > {dir}/2.pid; until left $!; do sleep 0.01; done",
    "setsid sleep {3} >/dev/null 2>&1 & echo $! > {dir}/3.pid; until left $!; do sleep 0.01; done",
)
SESSION = "cut -d' ' -f6 /proc/$1/stat"  # the session id (a sleep's name holds no space)


def leaving_behind(marks: list[str], pids: Path, then: str) -> str:
    """A shell script that starts the four, then does `then` and exits 0."""
    pids.mkdir()
    starts = "\n".join(line.format(*marks, dir=pids) for line in LEFT_BEHIND)
    return (f"#!/bin/sh\nleft() {{ [ \"$({SESSION.replace('$1', '$$')})\" != \"$({SESSION})\" ]; }}\n"
            f"{starts}\n{then}\nexit 0\n")


def assert_none_left(marks: list[str], pids: Path) -> None:
    alive = processes_with(tuple(f"sleep {m}" for m in marks))
    assert not alive, f"left running: {[p.cmdline() for p in alive]}"
    for file in sorted(pids.iterdir()):  # nor a zombie of them waits to be reaped
        assert not psutil.pid_exists(int(file.read_text())), file.name


@pytest.fixture
def marks() -> list[str]:
    made = sleeps(len(LEFT_BEHIND))
    yield made
    kill_all(tuple(f"sleep {m}" for m in made))


def test_a_smoke_that_passes_leaves_nothing_running(write_config, script, tmp_path, marks):
    script("bg.sh", leaving_behind(marks, tmp_path / "pids", "echo started"))
    config = load_config(write_config('[[smoke]]\nname = "bg"\nrun = "./scripts/bg.sh"\n'), env={})
    outcome, seen = run_engine(config)
    (smoke,) = [e for e in seen if isinstance(e, SmokeFinished)]
    assert smoke.status == "pass" and "started" in smoke.tail
    assert outcome.exit_code == 0
    assert_none_left(marks, tmp_path / "pids")


def test_a_command_reviewer_that_succeeds_leaves_nothing_running(write_config, script, tmp_path, marks):
    script("reviewer.sh", leaving_behind(marks, tmp_path / "pids", """
        cat >/dev/null
        printf 'WHERE: crates/validatord/src/lib.rs:42\\nSEVERITY: WARN\\nWHAT: from the command\\n'
    """))
    path = scrum_config(write_config, tmp_path, "http://127.0.0.1:9/v1", command_reviewer(["./scripts/reviewer.sh"]))
    outcome, seen = run_engine(load_config(path))
    (review,) = [e for e in seen if isinstance(e, ReviewFinished)]
    assert (review.status, review.error, review.findings) == ("ok", "", 1)  # it succeeded, and says so
    assert (outcome.run_dir / "scrum" / "c1_validatord" / "local.md").read_text().startswith("WHERE: crates/")
    assert_none_left(marks, tmp_path / "pids")


def test_a_smoke_leaves_the_stack_services_running(write_config, script, marks):
    """The services run for the whole run: a smoke's end stops what the smoke started, not
    them (the smoke checks its service is still there after the smoke before it ended)."""
    service = marks[0]
    script("service.sh", f"#!/bin/sh\nexec sleep {service}\n")
    config = load_config(write_config(f"""
        [stack]
        up = true
        [[stack.service]]
        name = "idle"
        run = ["./scripts/service.sh"]
        [[smoke]]
        name = "first"
        run = ["true"]
        [[smoke]]
        name = "second"
        needs = ["first"]
        run = ["pgrep", "-f", "sleep {service}"]
    """), env={})
    outcome, seen = run_engine(config)
    results = {e.name: e.status for e in seen if isinstance(e, SmokeFinished)}
    assert results == {"first": "pass", "second": "pass"}
    assert outcome.exit_code == 0
    assert not processes_with((f"sleep {service}",))  # and the run's end stops them
