"""The persistent stack: merging without clobbering, check and up with real processes."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tomllib

import pytest

from probes.config import load_config
from probes.stack._stack import StackUpError, bring_up, check_services, stop_all, write_merged

from ..cli import gauntlet
from ..conftest import REPO, free_port, pid_alive

EXISTING = """\
note = "hand-written by ops"

[services.storaged]
bin = "/opt/lakehouse/bin/storaged"
port = 3201
restart = "always"

[services.validatord]
port = 9999
owner_note = "kept"
"""


def stack_config(write_config, output: str = "persistent.toml"):
    return load_config(write_config(f"""
        [stack]
        output = "{output}"
        [[stack.service]]
        name = "validatord"
        bin = "bin/persistent-validatord"
        port = 3221
        health = "/health"
    """), env={})


def test_merge_keeps_other_services_and_keys_and_writes_a_backup(write_config, tmp_path):
    target = tmp_path / "persistent.toml"
    target.write_text(EXISTING)
    config = stack_config(write_config)
    proc = gauntlet("stack", "write", str(config.path))
    assert proc.returncode == 0, proc.stderr
    merged = tomllib.loads(target.read_text())
    assert merged["note"] == "hand-written by ops"
    assert merged["services"]["storaged"] == {"bin": "/opt/lakehouse/bin/storaged", "port": 3201, "restart": "always"}
    validatord = merged["services"]["validatord"]
    assert validatord["port"] == 3221 and validatord["owner_note"] == "kept"
    assert validatord["bin"] == str(tmp_path / "bin" / "persistent-validatord")
    assert validatord["health"] == "http://127.0.0.1:3221/health"
    assert (tmp_path / "persistent.toml.bak").read_text() == EXISTING


def test_a_failure_mid_write_leaves_the_old_file_intact(write_config, tmp_path, monkeypatch):
    target = tmp_path / "persistent.toml"
    target.write_text(EXISTING)
    import probes.core._rundir

    real_replace = os.replace

    def failing_replace(src, dst):
        if str(dst) == str(target):
            raise OSError(28, "No space left on device")
        return real_replace(src, dst)

    monkeypatch.setattr(probes.core._rundir.os, "replace", failing_replace)
    from probes.stack._stack import stack_document

    config = stack_config(write_config)
    with pytest.raises(OSError):
        write_merged(target, stack_document(config.stack, config.workdir, "test"))
    assert target.read_text() == EXISTING
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_two_writers_at_once_both_land(tmp_path):
    target = tmp_path / "persistent.toml"
    script = (
        "import sys; from pathlib import Path; from probes.stack import write_merged\n"
        "name = sys.argv[1]\n"
        "for i in range(30):\n"
        "    write_merged(Path(sys.argv[2]), {'services': {f'{name}-{i}': {'port': i}}})\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", script, name, str(target)], cwd=REPO) for name in ("a", "b")]
    assert [p.wait(60) for p in procs] == [0, 0]
    services = tomllib.loads(target.read_text())["services"]
    assert len(services) == 60


def test_an_invalid_existing_file_is_not_overwritten(tmp_path):
    from probes.core._errors import InputError

    target = tmp_path / "persistent.toml"
    target.write_text("[services\nbroken")
    with pytest.raises(InputError, match="not a valid stack file"):
        write_merged(target, {"services": {"x": {"port": 1}}})
    assert target.read_text() == "[services\nbroken"


def _doc(tmp_path, **services):
    return {"services": {name: {"cwd": str(tmp_path), **entry} for name, entry in services.items()}}


def test_stack_check_reports_binary_port_and_health(tmp_path, servers):
    tool = tmp_path / "tool.sh"
    tool.write_text("#!/bin/sh\n")
    tool.chmod(0o755)
    (tmp_path / "plain").write_text("")

    async def ok(*_):
        return 200, {}, b"ok"

    url = servers.serve_http(ok)
    port = int(url.rsplit(":", 1)[1])
    closed = free_port()
    checks = asyncio.run(check_services(_doc(
        tmp_path,
        up={"bin": str(tool), "port": port, "health": url + "/health"},
        missing={"bin": str(tmp_path / "nope"), "port": closed, "health": f"http://127.0.0.1:{closed}/health"},
        plain={"bin": str(tmp_path / "plain")},
    )))
    by = {c.name: c for c in checks}
    assert by["up"].runnable and by["up"].port_taken and by["up"].health_note == "answers 200"
    assert not by["missing"].runnable and "no such file" in by["missing"].program_note
    assert by["missing"].port_taken is False and by["missing"].health_note.startswith("no answer")
    assert not by["plain"].runnable and "not executable" in by["plain"].program_note


def test_stack_up_waits_for_health_and_stops_everything(tmp_path):
    port = free_port()
    doc = _doc(tmp_path, twin={"run": [sys.executable, "-m", "tui.cli", "twins", "--only", "rust", "--rust-port", str(port)],
                               "port": port, "health": f"http://127.0.0.1:{port}/health", "cwd": str(REPO)})
    doc["services"]["twin"]["cwd"] = str(REPO)

    async def go():
        services = await bring_up(doc, tmp_path / "logs")
        pid = services[0].child.pid
        assert pid_alive(pid)
        await stop_all(services)
        return pid

    pid = asyncio.run(go())
    assert not pid_alive(pid)
    assert "twins ready" in (tmp_path / "logs" / "twin.log").read_text()


def test_stack_up_refuses_a_port_another_process_serves(tmp_path, servers):
    async def healthy(*_):
        return 200, {}, b"ok"

    port = int(servers.serve_http(healthy).rsplit(":", 1)[1])  # someone else's service, answering health
    doc = _doc(tmp_path, twin={"run": [sys.executable, "-m", "tui.cli", "twins", "--only", "rust", "--rust-port", str(port)],
                               "port": port, "health": f"http://127.0.0.1:{port}/health", "cwd": str(REPO)})
    with pytest.raises(StackUpError, match=rf"^service twin: port {port} is already taken by another process"):
        asyncio.run(bring_up(doc, tmp_path / "logs"))
    assert not (tmp_path / "logs" / "twin.log").exists()  # nothing was started


def test_stack_up_names_a_first_service_that_cannot_start(tmp_path):
    doc = _doc(tmp_path, missing={"run": [str(tmp_path / "nope")], "port": free_port()})
    with pytest.raises(StackUpError, match=rf"^service missing: cannot start {tmp_path / 'nope'}: No such file"):
        asyncio.run(bring_up(doc, tmp_path / "logs"))


def test_stack_up_names_a_service_that_exits_at_once(tmp_path):
    port = free_port()
    doc = _doc(tmp_path, quitter={"run": ["sh", "-c", "echo boom; exit 3"], "port": port,
                                  "health": f"http://127.0.0.1:{port}/health"})
    with pytest.raises(StackUpError, match=r"service quitter exited with code 3 before answering"):
        asyncio.run(bring_up(doc, tmp_path / "logs"))
    assert (tmp_path / "logs" / "quitter.log").read_text() == "boom\n"


def test_stack_up_names_a_service_that_never_becomes_healthy_and_stops_the_others(tmp_path):
    port, other = free_port(), free_port()
    doc = _doc(tmp_path,
               first={"run": [sys.executable, "-m", "tui.cli", "twins", "--only", "go", "--go-port", str(other)],
                      "port": other, "health": f"http://127.0.0.1:{other}/health", "cwd": str(REPO)},
               mute={"run": ["sleep", "300"], "port": port, "health": f"http://127.0.0.1:{port}/health",
                     "health_timeout_s": 0.5})
    doc["services"]["first"]["cwd"] = str(REPO)
    with pytest.raises(StackUpError, match=r"service mute did not answer .* within 0.5s"):
        asyncio.run(bring_up(doc, tmp_path / "logs"))
    from probes.stack._stack import port_taken

    assert not port_taken(other)  # the first service, already up, was stopped too


def test_stack_up_command_exit_code_and_message(tmp_path):
    port = free_port()
    (tmp_path / "stack.toml").write_text(
        f'[services.quitter]\nrun = ["sh", "-c", "exit 3"]\nport = {port}\nhealth = "http://127.0.0.1:{port}/health"\n'
        f'cwd = "{tmp_path}"\n')
    proc = gauntlet("stack", "up", str(tmp_path / "stack.toml"), "--logs", str(tmp_path / "logs"))
    assert proc.returncode == 1 and "service quitter exited with code 3" in proc.stderr
    assert "Traceback" not in proc.stderr
