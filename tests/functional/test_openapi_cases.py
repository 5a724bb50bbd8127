"""The tests of tests/unit/test_openapi_cases.py that need a process or a server of their own:
the file the same in any process, a YAML bomb refused under a memory cap, the cases probing
the twins."""

from __future__ import annotations

import os
import subprocess
import sys

from probes.cases._openapi import from_openapi
from probes.parity._twins import GO, RUST, twin_handler
from tui.cli import main

from ..conftest import REPO
from ..unit.test_openapi_cases import SHOP, write_spec


def _billion_laughs(levels: int = 9, fan: int = 9) -> str:
    """Nine aliases of nine aliases of ... nine strings: a few hundred bytes of YAML that
    expand to 9**9 strings (gigabytes) once anything walks the document as a tree."""
    lines = ["openapi: 3.0.0", "info: {title: lol, version: '1'}",
             "a0: &a0 [" + ", ".join(['"lol"'] * fan) + "]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * fan) + "]" for i in range(1, levels + 1)]
    return "\n".join([*lines, "paths: {}", ""])


def _capped(memory: int) -> None:
    """Run in the child before it starts: an address space of `memory` bytes at most, so a
    regression that expands the bomb fails with a MemoryError instead of eating the machine."""
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))


def test_the_same_spec_gives_the_same_file_in_any_process(tmp_path):
    spec = write_spec(tmp_path, SHOP)
    outputs = []
    for seed in ("1", "2"):
        out = tmp_path / f"cases{seed}.toml"
        subprocess.run([sys.executable, "-m", "tui.cli", "cases", "from-openapi", str(spec), "--out", str(out)],
                       cwd=REPO, check=True, capture_output=True,
                       env={**os.environ, "PYTHONHASHSEED": seed})
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1] == from_openapi(spec).toml().encode()


def test_a_yaml_bomb_is_refused_in_bounded_memory_and_time(tmp_path):
    spec = write_spec(tmp_path, _billion_laughs())
    out = tmp_path / "out.toml"
    done = subprocess.run([sys.executable, "-m", "tui.cli", "cases", "from-openapi", str(spec), "--out", str(out)],
                          cwd=REPO, capture_output=True, text=True, timeout=60,
                          preexec_fn=lambda: _capped(1 << 30))
    assert done.returncode == 2, done.stderr
    assert f"{spec}: YAML aliases expand" in done.stderr and "Traceback" not in done.stderr
    assert not out.exists()


def test_generated_cases_probe_two_runtimes_that_implement_the_contract_differently(
        tmp_path, servers, parity_config, capsys):
    cases = tmp_path / "validatord_cases.toml"
    assert main(["cases", "from-openapi", str(REPO / "sample_configs" / "validatord.openapi.yaml"),
                 "--out", str(cases)]) == 0
    rust = servers.serve_http(twin_handler(RUST))
    go = servers.serve_http(twin_handler(GO))
    config = parity_config(rust, go, parity=f'cases_file = "{cases.name}"')
    capsys.readouterr()
    assert main(["parity", str(config), "--headless"]) == 1  # the wire shapes diverge, no gap covers them
    out = capsys.readouterr().out
    assert "20/20 status codes match · 17/20 body shapes diverge" in out
    assert "BLOCK" in out
