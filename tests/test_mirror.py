"""`gauntlet mirror`: shadow traffic judged like the parity probe, without touching the client.

Real servers on 127.0.0.1 port 0, real `gauntlet` processes, conditions polled with a bound.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from probes.config import load_config
from probes.core._errors import ConfigError

REPO = Path(__file__).resolve().parent.parent


def problems_of(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    return [str(p) for p in info.value.problems]


# ---- (d) the config ---------------------------------------------------------------------------------

def test_mirror_section_defaults_are_safe(write_config):
    config = load_config(write_config("""
        [parity]
        reference = "rust"
        [parity.targets]
        rust = "http://127.0.0.1:3100"
        go = "http://127.0.0.1:4110"
        [mirror]
    """), env={})
    mirror = config.mirror
    assert mirror is not None
    assert (mirror.host, mirror.port, mirror.listen) == ("127.0.0.1", 0, "127.0.0.1:0")  # loopback unless stated
    assert mirror.sample == 0.1 and mirror.queue == 1000 and str(mirror.max_dropped) == "1%"
    assert mirror.copied("GET", "/v1/x") and mirror.copied("HEAD", "/") and mirror.copied("OPTIONS", "/")
    assert not mirror.copied("POST", "/v1/validate")  # a side effect is never copied unasked
    assert config.phases_present() == ("verdict",)  # `gauntlet run` probes no live traffic


def test_a_route_opts_a_method_in_or_a_path_out(write_config):
    mirror = load_config(write_config("""
        [parity]
        reference = "rust"
        [parity.targets]
        rust = "http://127.0.0.1:3100"
        go = "http://127.0.0.1:4110"
        [mirror]
        listen = "[::1]:8080"
        sample = "100%"
        max_dropped = 10
        roll_every = "1h"
        roll_mb = 64
        [[mirror.route]]
        method = "post"
        path = "/v1/validate"
        mirror = true
        [[mirror.route]]
        method = "*"
        path = "/admin/*"
        mirror = false
    """), env={}).mirror
    assert mirror is not None
    assert (mirror.host, mirror.port, mirror.listen) == ("::1", 8080, "[::1]:8080")
    assert mirror.sample == 1.0 and str(mirror.max_dropped) == "10" and mirror.roll_every == 3600 and mirror.roll_mb == 64
    assert mirror.copied("POST", "/v1/validate") and not mirror.copied("POST", "/v1/other")
    assert not mirror.copied("GET", "/admin/users/1")
    assert mirror.max_dropped.exceeded(11, 1000) and not mirror.max_dropped.exceeded(10, 1000)


def test_every_mirror_problem_is_named_by_its_key_path(write_config):
    path = write_config("""
        [parity]
        reference = "rust"
        [parity.targets]
        rust = "http://127.0.0.1:3100"
        [mirror]
        listen = "localhost"
        secondary = "ftp://127.0.0.1:3101"
        sample = 2
        queue = 0
        max_dropped = "lots"
        roll_every = 60
        colour = "blue"
        [[mirror.route]]
        method = "FETCH"
        path = "v1/validate"
    """)
    problems = problems_of(path)
    for expected in ("parity.targets: the mirror needs the reference and at least one candidate",
                     "mirror.listen: expected HOST:PORT", "mirror.secondary: expected the http(s) URL",
                     "mirror.sample: expected a share", "mirror.queue: must be between 1 and 100000",
                     "mirror.max_dropped: expected a share", "mirror.roll_every: expected a duration",
                     "mirror.colour: unknown key", "mirror.route[0].method: expected one of",
                     "mirror.route[0].path: a path starts with '/'", "mirror.route[0].mirror: is required"):
        assert any(p.startswith(expected) for p in problems), (expected, problems)
    # `gauntlet check` says the same, every problem with its key path, and exits 2
    check = subprocess.run([sys.executable, "-m", "tui.cli", "check", str(path)], cwd=REPO, capture_output=True,
                           text=True, timeout=60)
    assert check.returncode == 2
    assert "mirror.route[0].mirror: is required" in check.stderr and "mirror.queue" in check.stderr
    assert "Traceback" not in check.stderr
