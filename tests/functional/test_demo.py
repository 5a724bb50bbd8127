"""The demo end to end on ports of its own, its ports taken, an interrupted run, and the wheel."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import psutil
import pytest

from probes.stack._stack import port_taken

from ..cli import gauntlet
from ..conftest import DEMO_PORTS, REPO, demo_copy, free_port, only_run, pid_alive, rewrite_ports


def assert_seed_figures(run_dir: Path) -> None:
    verdict = json.loads((run_dir / "verdict.json").read_text())
    assert verdict["schema_version"] == 1
    assert verdict["verdict"] == "SHIP_WITH_KNOWN_GAP" and verdict["complete"] is True
    smokes = verdict["phases"]["smokes"]
    assert (smokes["passed"], smokes["total"]) == (21, 21)
    assert smokes["headline"].startswith("21/21 PASS in ")
    layers = {}
    for s in smokes["smokes"]:
        layers[s["layer"]] = layers.get(s["layer"], 0) + 1
    assert layers == {"Substrate": 9, "Domain": 9, "Distillation/validators": 3}
    bundles = verdict["phases"]["scrum"]["bundles"]
    assert sum(b["convergent"] for b in bundles) == 0
    assert {b["bundle"]: b["distinct"] for b in bundles} == {"c1_validatord": 11, "c2_vectord_substrate": 10,
                                                            "c3_materializer": 6, "c4_replay": 10}
    parity = verdict["phases"]["parity"]
    assert (parity["status_match"], parity["body_divergent"], parity["cases_total"]) == (6, 5, 6)
    assert parity["headline"] == "6/6 status codes match · 5/6 body shapes diverge"
    for artifact in ("events.jsonl", "smokes/summary.txt", "smokes/junit.xml", "scrum/summary.md",
                     "scrum/findings.sarif", "scrum/c3_materializer/tally.json", "scrum/c3_materializer/opus.md",
                     "parity/results.jsonl.gz", "parity/report.md", "parity/bodies.pack", "verdict.md",
                     "stack.toml"):
        assert (run_dir / artifact).is_file(), artifact
    tally = json.loads((run_dir / "scrum" / "c3_materializer" / "tally.json").read_text())
    opus = next(r for r in tally["reviewers"] if r["reviewer"] == "opus")
    assert opus["retracted_blocks"] == 1 and opus["blocks"] == 0
    synthesis = (run_dir / "verdict.md").read_text()
    assert "## Cutover-blocking gaps" in synthesis and "validator-wire-format" in synthesis
    assert "**SHIP_WITH_KNOWN_GAP**" in synthesis


@pytest.mark.slow
def test_the_demo_config_headless_reproduces_the_seed(tmp_path, demo_ports):
    config = demo_copy(tmp_path / "sample_configs", demo_ports)
    start = time.monotonic()
    proc = gauntlet("run", str(config), "--headless", "--out", str(tmp_path / "runs"), cwd=tmp_path)
    took = time.monotonic() - start
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    assert took < 30
    run_dir = only_run(tmp_path / "runs")
    assert_seed_figures(run_dir)
    assert "c1_validatord (46KB) → 0 convergent / 11 distinct" in proc.stdout
    assert "verdict: SHIP_WITH_KNOWN_GAP" in proc.stdout
    for smoke, port in (("d1", demo_ports[3100]), ("d2", demo_ports[4110]), ("d3", demo_ports[3221])):
        assert f"http://127.0.0.1:{port}/health ok" in (run_dir / "smokes" / f"{smoke}.log").read_text()


def test_the_demo_names_the_service_whose_port_is_taken(tmp_path):
    """The real `gauntlet demo` on its own ports, the first of them held by another process
    (by this test, or already by a demo running beside the suite: the message is the same)."""
    port = DEMO_PORTS[0]
    with socket.socket() as holder:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # past TIME_WAIT; never past a listener
        try:
            holder.bind(("127.0.0.1", port))
            holder.listen()
        except OSError:
            assert port_taken(port), f"cannot bind {port}, yet nothing listens there"
        proc = gauntlet("demo", "--headless", cwd=tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert f"service validatord-rust: port {port} is already taken" in proc.stdout, proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr


def test_sigint_mid_parity_writes_an_incomplete_verdict_and_leaves_no_child(tmp_path, servers, write_config):
    arrived = threading.Event()

    async def hang(reader, writer):
        await reader.readuntil(b"\r\n\r\n")
        arrived.set()
        await reader.read()

    hanging = servers.serve(hang)
    twin_port = free_port()
    config = write_config(f"""
        [[smoke]]
        name = "ok"
        run = "true"
        [parity]
        reference = "rust"
        timeout = "120s"
        [parity.targets]
        rust = "http://127.0.0.1:{twin_port}"
        go = "{hanging}"
        [[parity.case]]
        name = "happy"
        method = "POST"
        path = "/v1/validate"
        json = {{ kind = "playbook", fingerprint = "pb_0123456789abcdef", endorsed = ["ops"] }}
        [stack]
        up = true
        [[stack.service]]
        name = "twin"
        run = ["gauntlet", "twins", "--only", "rust", "--rust-port", "{twin_port}"]
        port = {twin_port}
        health = "/health"
    """)
    proc = subprocess.Popen([sys.executable, "-m", "tui.cli", "run", str(config), "--headless"], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert arrived.wait(60), "the parity request never arrived"
        children = psutil.Process(proc.pid).children(recursive=True)
        assert children, "the stack service should be running"
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, out
    run_dir = only_run(tmp_path / "out")
    verdict = json.loads((run_dir / "verdict.json").read_text())
    assert verdict["complete"] is False and verdict["interrupted"] is True and verdict["verdict"] == "BLOCK"
    assert any("incomplete: parity" in r for r in verdict["reasons"])
    assert (run_dir / "stack.toml").is_file()
    assert (run_dir / "parity" / "results.jsonl.gz").is_file()
    assert not any(pid_alive(c.pid) for c in children)
    assert not port_taken(twin_port)
    assert "Traceback" not in out


@pytest.mark.slow
def test_the_wheel_carries_the_demo_and_runs_it_outside_the_repo(tmp_path, demo_ports):
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path / "dist"),
                            str(REPO)], capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr
    wheel = next((tmp_path / "dist").glob("gauntlet-*.whl"))
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        zf.extractall(site)
    rewrite_ports(site / "probes" / "_sample_configs" / "demo.toml", demo_ports)
    # Compiled as pip compiles what it installs (this machine may write no bytecode as it runs).
    compiled = subprocess.run([sys.executable, "-m", "compileall", "-q", str(site)], capture_output=True, text=True)
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr
    for needed in ("probes/_sample_configs/demo.toml", "probes/_sample_configs/demo/demo_smoke.py",
                   "probes/_sample_configs/demo/known_gaps.toml", "probes/_sample_configs/parity/validator_cases.toml",
                   "probes/scrum/prompt.md", "probes/verdict/page/report.html.j2", "tui/cli.py"):
        assert needed in names, needed
    deps = [p for p in sys.path if p.endswith("site-packages")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), *deps])}
    work = tmp_path / "elsewhere"
    work.mkdir()
    proc = subprocess.run([sys.executable, "-s", "-c",
                           "import sys; from tui.cli import main; sys.exit(main(['demo', '--headless']))"],
                          cwd=work, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    assert [p.name for p in work.iterdir()] == ["gauntlet-runs"]  # under the current folder by default
    run_dir = only_run(work / "gauntlet-runs")
    assert_seed_figures(run_dir)
    loaded_from = subprocess.run([sys.executable, "-s", "-c", "import probes; print(probes.__file__)"], cwd=work,
                                 env=env, capture_output=True, text=True).stdout
    assert loaded_from.startswith(str(site))
