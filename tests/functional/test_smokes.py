"""The smoke runner with real processes: outcomes, process groups, output, ordering."""

from __future__ import annotations

import asyncio
import json
import os
import select
import signal
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from probes.config import load_config
from probes.engine import Engine, select_phases
from probes.core.events import EventBus, SmokeFinished, SmokeOutput, SmokeStarted, read_events

from ..cli import gauntlet
from ..conftest import REPO, only_run, pid_alive


def run(config_path: Path, **engine_kw):
    config = load_config(config_path, env={})
    bus = EventBus()
    seen: list = []
    bus.subscribe(lambda t, e: seen.append((t, e)))
    engine = Engine(config, select_phases(config), bus=bus, **engine_kw)
    outcome = asyncio.run(engine.run())
    return outcome, seen


def finished(seen) -> dict[str, SmokeFinished]:
    return {e.name: e for _, e in seen if isinstance(e, SmokeFinished)}


def test_pass_fail_and_exit_codes(write_config, script):
    script("ok.sh", "#!/bin/sh\necho fine\n")
    script("bad.sh", "#!/bin/sh\necho broken >&2\nexit 3\n")
    path = write_config("""
        [smokes]
        stop_on_fail = false
        [[smoke]]
        name = "ok"
        run = "./scripts/ok.sh"
        [[smoke]]
        name = "bad"
        run = "./scripts/bad.sh"
    """)
    outcome, seen = run(path)
    result = finished(seen)
    assert result["ok"].status == "pass" and result["ok"].exit_code == 0
    assert result["bad"].status == "fail" and result["bad"].exit_code == 3
    assert result["bad"].reason == "exit code 3"
    assert "broken" in result["bad"].tail
    assert outcome.exit_code == 1 and outcome.verdict.verdict == "BLOCK"
    assert (outcome.run_dir / "smokes" / "bad.log").read_bytes() == b"broken\n"


def test_timeout_kills_the_grandchild(write_config, script, tmp_path):
    pidfile = tmp_path / "grandchild.pid"
    script("forks.sh", f"""
        #!/bin/sh
        sleep 300 &
        echo $! > {pidfile}
        echo forked
        wait
    """)
    path = write_config("""
        [smokes]
        grace = "1s"
        [[smoke]]
        name = "forks"
        run = "./scripts/forks.sh"
        timeout = "1s"
    """)
    _, seen = run(path)
    result = finished(seen)["forks"]
    assert result.status == "timeout"
    assert result.reason == "timed out after 1s"
    grandchild = int(pidfile.read_text())
    assert not pid_alive(grandchild)


def test_smoke_ignoring_sigterm_is_killed_after_grace(write_config, script):
    script("stubborn.sh", """
        #!/bin/sh
        trap '' TERM
        echo ignoring term
        while :; do sleep 0.05; done
    """)
    path = write_config("""
        [smokes]
        grace = "300ms"
        [[smoke]]
        name = "stubborn"
        run = "./scripts/stubborn.sh"
        timeout = "500ms"
    """)
    _, seen = run(path)
    result = finished(seen)["stubborn"]
    assert result.status == "timeout"
    # SIGTERM was ignored, so the group was killed: well under a second past timeout+grace.
    assert result.duration < 0.5 + 0.3 + 1.0


def test_background_child_of_a_passing_smoke_is_stopped(write_config, script, tmp_path):
    pidfile = tmp_path / "bg.pid"
    script("leaves.sh", f"#!/bin/sh\nsleep 300 &\necho $! > {pidfile}\necho done\n")
    path = write_config('[[smoke]]\nname = "leaves"\nrun = "./scripts/leaves.sh"\n')
    _, seen = run(path)
    assert finished(seen)["leaves"].status == "pass"
    assert not pid_alive(int(pidfile.read_text()))


def test_missing_and_non_executable_scripts_fail_clearly(write_config, script):
    script("plain.sh", "echo hi\n", executable=False)
    path = write_config("""
        [smokes]
        stop_on_fail = false
        [[smoke]]
        name = "gone"
        run = "./scripts/gone.sh"
        [[smoke]]
        name = "plain"
        run = "./scripts/plain.sh"
    """)
    outcome, seen = run(path)
    result = finished(seen)
    assert result["gone"].status == "fail"
    assert "no such file: ./scripts/gone.sh" in result["gone"].reason
    assert result["plain"].status == "fail"
    assert "permission denied" in result["plain"].reason
    assert outcome.exit_code == 1


def test_output_bytes_kept_exactly_and_shown_safely(write_config, script, python):
    raw = b"\x1b[2J\x1b]0;pwned\x07colour \x1b[31mred\x1b[0m\nbad utf8 \xff\xfe end\r\nlast\n"
    (Path(script("emit.py", "").parent) / "emit.bin").write_bytes(raw)
    path = write_config(f"""
        [[smoke]]
        name = "emit"
        run = ["{python}", "-c", "import sys; sys.stdout.buffer.write(open('scripts/emit.bin','rb').read())"]
    """)
    outcome, seen = run(path)
    assert (outcome.run_dir / "smokes" / "emit.log").read_bytes() == raw
    shown = "".join(e.text for _, e in seen if isinstance(e, SmokeOutput))
    assert "\x1b" not in shown and "\x07" not in shown and "\r" not in shown
    assert "␛[31mred" in shown and "\ufffd" in shown
    assert "\x1b" not in finished(seen)["emit"].tail
    events_text = (outcome.run_dir / "events.jsonl").read_text()
    assert "\\u001b" not in events_text and "\x1b" not in events_text


def test_stdout_and_stderr_interleave_in_order(write_config, script):
    script("both.sh", "#!/bin/sh\necho one\necho two >&2\necho three\necho four >&2\n")
    path = write_config('[[smoke]]\nname = "both"\nrun = "./scripts/both.sh"\n')
    outcome, _ = run(path)
    assert (outcome.run_dir / "smokes" / "both.log").read_text() == "one\ntwo\nthree\nfour\n"


def test_env_cwd_and_shell(write_config, script, tmp_path):
    (tmp_path / "sub").mkdir()
    path = write_config("""
        [[smoke]]
        name = "envcwd"
        shell = 'echo "$GREETING from $(basename "$PWD")"'
        env = { GREETING = "hello" }
        cwd = "sub"
    """)
    outcome, _ = run(path)
    assert (outcome.run_dir / "smokes" / "envcwd.log").read_text() == "hello from sub\n"


def test_stop_on_fail_skips_the_rest(write_config, script):
    script("ok.sh", "#!/bin/sh\nexit 0\n")
    script("bad.sh", "#!/bin/sh\nexit 1\n")
    path = write_config("""
        [[smoke]]
        name = "a"
        run = "./scripts/ok.sh"
        [[smoke]]
        name = "b"
        run = "./scripts/bad.sh"
        [[smoke]]
        name = "c"
        run = "./scripts/ok.sh"
        [[smoke]]
        name = "d"
        run = "./scripts/ok.sh"
    """)
    outcome, seen = run(path)
    result = finished(seen)
    assert [result[n].status for n in "abcd"] == ["pass", "fail", "skipped", "skipped"]
    assert result["c"].reason == "not run: stopped after b failed"
    started = [e.name for _, e in seen if isinstance(e, SmokeStarted)]
    assert started == ["a", "b"]
    summary = (outcome.run_dir / "smokes" / "summary.txt").read_text()
    assert "1/4 PASS, 1 FAIL, 2 SKIP in" in summary


def test_parallel_runs_four_at_once_and_honours_needs(write_config, script, tmp_path):
    """Four smokes wait for each other (a barrier); a fifth needs two of them."""
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    script("meet.sh", f"""
        #!/bin/sh
        touch {barrier}/$1
        i=0
        while [ "$(ls {barrier} | wc -l)" -lt 4 ]; do
          i=$((i+1)); [ $i -gt 400 ] && {{ echo "only $(ls {barrier} | wc -l) arrived"; exit 1; }}
          sleep 0.01
        done
        echo met
    """)
    script("after.sh", f"#!/bin/sh\nls {barrier} | wc -l\n")
    path = write_config("""
        [smokes]
        parallel = 4
        [[smoke]]
        name = "last"
        run = "./scripts/after.sh"
        needs = ["p1", "p3"]
        [[smoke]]
        name = "p1"
        run = "./scripts/meet.sh p1"
        [[smoke]]
        name = "p2"
        run = "./scripts/meet.sh p2"
        [[smoke]]
        name = "p3"
        run = "./scripts/meet.sh p3"
        [[smoke]]
        name = "p4"
        run = "./scripts/meet.sh p4"
    """)
    outcome, seen = run(path)
    result = finished(seen)
    assert all(result[f"p{i}"].status == "pass" for i in range(1, 5)), result
    t_of = {}
    for t, e in seen:
        if isinstance(e, (SmokeStarted, SmokeFinished)):
            t_of[(type(e).__name__, e.name)] = t
    assert t_of[("SmokeStarted", "last")] >= t_of[("SmokeFinished", "p1")]
    assert t_of[("SmokeStarted", "last")] >= t_of[("SmokeFinished", "p3")]
    assert result["last"].status == "pass"
    assert outcome.exit_code == 0


def test_need_that_failed_skips_its_dependent(write_config, script):
    script("bad.sh", "#!/bin/sh\nexit 1\n")
    path = write_config("""
        [smokes]
        stop_on_fail = false
        parallel = 2
        [[smoke]]
        name = "base"
        run = "./scripts/bad.sh"
        [[smoke]]
        name = "top"
        run = "true"
        needs = ["base"]
        [[smoke]]
        name = "other"
        run = "true"
    """)
    _, seen = run(path)
    result = finished(seen)
    assert result["top"].status == "skipped"
    assert result["top"].reason == "needs base, which did not pass"
    assert result["other"].status == "pass"


def test_flood_keeps_events_bounded_and_log_complete(write_config, python):
    lines = 200_000
    path = write_config(f"""
        [[smoke]]
        name = "flood"
        run = ["{python}", "-c", "import sys\\nfor i in range({lines}): sys.stdout.write(f'line {{i}}\\\\n')"]
    """)
    outcome, seen = run(path)
    log = (outcome.run_dir / "smokes" / "flood.log").read_bytes()
    assert log.count(b"\n") == lines and log.endswith(b"line 199999\n")
    carried = sum(len(e.text) for _, e in seen if isinstance(e, SmokeOutput))
    assert carried < len(log) / 4
    assert sum(e.dropped for _, e in seen if isinstance(e, SmokeOutput)) > 0
    assert finished(seen)["flood"].tail.endswith("line 199999")


def test_run_directory_artifacts(write_config, script):
    script("ok.sh", "#!/bin/sh\necho fine\n")
    script("bad.sh", "#!/bin/sh\nprintf 'step 1\\nstep 2 <broke> & \\033[31mred\\033[0m\\n'\nexit 2\n")
    path = write_config("""
        [smokes]
        stop_on_fail = false
        [[smoke]]
        name = "ok"
        layer = "Substrate"
        run = "./scripts/ok.sh"
        [[smoke]]
        name = "bad"
        layer = "Domain"
        run = "./scripts/bad.sh"
    """)
    outcome, seen = run(path)
    rd = outcome.run_dir
    events = list(read_events(str(rd / "events.jsonl")))
    assert [type(e).__name__ for _, e in events][0] == "RunStarted"
    assert [type(e).__name__ for _, e in events][-1] == "RunFinished"
    assert [e for _, e in events] == [e for _, e in seen]
    root = ET.parse(rd / "smokes" / "junit.xml").getroot()
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert set(suites) == {"Substrate", "Domain"}
    failure = suites["Domain"].find("testcase/failure")
    assert failure is not None and "step 2 <broke> &" in failure.get("message")
    assert suites["Domain"].get("failures") == "1" and suites["Substrate"].get("failures") == "0"
    verdict = json.loads((rd / "verdict.json").read_text())
    assert verdict["verdict"] == "BLOCK" and verdict["complete"] is True
    assert verdict["phases"]["smokes"]["failed"] == 1
    assert any("smoke bad (Domain) failed" in r for r in verdict["reasons"])
    leftovers = [p for p in rd.rglob("*") if p.name.startswith(".")]
    assert leftovers == []


def test_headless_cli_sigterm_writes_incomplete_and_kills_children(write_config, script, tmp_path):
    pidfile = tmp_path / "child.pid"
    fifo = tmp_path / "started"
    os.mkfifo(fifo)
    script("slow.sh", f"#!/bin/sh\nsleep 300 &\necho $! > {pidfile}\necho up > {fifo}\nwait\n")
    path = write_config("""
        [[smoke]]
        name = "slow"
        run = "./scripts/slow.sh"
        [[smoke]]
        name = "after"
        run = "true"
    """)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    proc = subprocess.Popen([sys.executable, "-m", "tui.cli", "smokes", str(path), "--headless"],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    # The smoke writes to the FIFO once it runs: that write is the sync point.
    ready, _, _ = select.select([reader], [], [], 30)
    os.close(reader)
    assert ready, "the smoke never started"
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 130, out
    run_dir = only_run(tmp_path / "out")
    verdict = json.loads((run_dir / "verdict.json").read_text())
    assert verdict["complete"] is False and verdict["interrupted"] is True
    assert verdict["verdict"] == "BLOCK"
    statuses = {s["name"]: s["status"] for s in verdict["phases"]["smokes"]["smokes"]}
    assert statuses == {"slow": "interrupted", "after": "skipped"}
    assert (run_dir / "smokes" / "summary.txt").exists()
    assert not pid_alive(int(pidfile.read_text()))
    assert "Traceback" not in out


@pytest.mark.parametrize("cmd", [["smokes"], ["run", "--only", "smokes"]])
def test_headless_output_is_plain_when_not_a_tty(write_config, cmd):
    path = write_config('[[smoke]]\nname = "a"\nlayer = "L"\nrun = "true"\n')
    proc = gauntlet(*cmd, str(path), "--headless", env={"TERM": "xterm"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "\x1b" not in proc.stdout
    assert "PASS" in proc.stdout and "1/1 PASS in" in proc.stdout
    assert "verdict: SHIP" in proc.stdout


def test_the_shipped_smokes_only_example_passes(tmp_path):
    proc = gauntlet("smokes", str(REPO / "sample_configs" / "smokes.toml"), "--headless", "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "4/4 PASS in" in proc.stdout
