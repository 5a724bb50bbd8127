"""The native twins: validatord built in Rust (serde) and in Go (encoding/json), brought up
by the stack phase of a real `gauntlet run`.

The pair is built by the shipped build script into the user's cache, keyed by the sources'
sha256 (with the toolchains' versions): the first session after a change builds it, and
every later test and session reuses it. The tests share one xdist worker, so the runs
below are made once per session. The shipped configs run as they are
but for where things live: free ports instead of :3100/:4110/:3221, this session's
binaries, a run directory under tmp. Each drift case's expected finding is read from its
`# finding:` comment in native/drift.toml, so a case is held to what its comment says.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
import tomli_w

from probes.parity._compare import SEVERITY
from probes.parity._results import read_case, stored_answer

from ..cli import gauntlet
from ..conftest import REPO, free_ports, only_run

# The first test after a change of the sources pays for a cold build.
pytestmark = [pytest.mark.timeout(300), pytest.mark.xdist_group("native")]

NATIVE = REPO / "sample_configs" / "native"
NATIVE_CONFIG = REPO / "sample_configs" / "native.toml"
DRIFT_CONFIG = NATIVE / "drift.toml"
HEADLINE = "6/6 status codes match · 5/6 body shapes diverge"
MISSING = "missing — required for Phase 25 validity window"


def _build_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("native_build", NATIVE / "build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


native_build = _build_script()


def stated_findings(config: Path = DRIFT_CONFIG) -> dict[str, str | None]:
    """Each case's `# finding: KIND` comment (`match` is None), keyed by the case's name."""
    findings: dict[str, str | None] = {}
    pending: str | None = None
    for line in config.read_text("utf-8").splitlines():
        stated = re.match(r"#\s*finding:\s*([\w-]+)\s*$", line)
        named = re.match(r'name\s*=\s*"([^"]+)"', line)
        if stated:
            pending = stated.group(1)
        elif named and pending is not None:
            findings[named.group(1)] = None if pending == "match" else pending
            pending = None
    return findings


FINDINGS = stated_findings()


def localised(config: Path, build: Any, where: Path, **parity: Any) -> Path:
    """The shipped config with its services on free ports, run from this session's build
    (and any `parity` keys given here in place of its own)."""
    doc = tomllib.loads(config.read_text("utf-8"))
    doc["parity"].update(parity)
    doc["gauntlet"]["workdir"] = str(config.parent)
    doc["gauntlet"]["out_dir"] = str(where / "out")
    services = doc["stack"]["service"]
    shipped = sorted({s["port"] for s in services})
    ports = dict(zip(shipped, free_ports(len(shipped))))
    binaries = {build.rust.name: build.rust, build.go.name: build.go}
    for s in services:
        s["bin"] = str(binaries[Path(s["bin"]).name])
        s["args"] = [str(ports[int(a)]) if a.isdigit() and int(a) in ports else a for a in s["args"]]
        s["port"] = ports[s["port"]]
    targets = doc["parity"]["targets"]
    for name, url in targets.items():
        base, port = url.rsplit(":", 1)
        targets[name] = f"{base}:{ports[int(port)]}"
    where.mkdir(parents=True, exist_ok=True)
    path = where / config.name
    path.write_text(tomli_w.dumps(doc), "utf-8")
    return path


def gauntlet_run(config: Path, *argv: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    """`gauntlet run CONFIG --headless` (or another command given in argv) and its run directory."""
    command = list(argv) or ["run"]
    proc = gauntlet(*command, str(config), "--headless")
    assert (config.parent / "out").is_dir(), proc.stdout + proc.stderr
    return proc, only_run(config.parent / "out")


@pytest.fixture(scope="session")
def native_cache() -> Path:
    return native_build.user_cache()


@pytest.fixture(scope="session")
def built(native_cache: Path) -> Any:
    try:
        native_build.ensure_toolchain(install_missing=True)
    except native_build.ToolchainError as exc:  # `make test` installs it (scripts/system-packages)
        pytest.fail(f"the native toolchain is missing: {exc}")
    return native_build.build(native_cache)


@pytest.fixture(scope="session")
def native_run(built: Any, tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    return gauntlet_run(localised(NATIVE_CONFIG, built, tmp_path_factory.mktemp("native-run")))


@pytest.fixture(scope="session")
def drift_run(built: Any, tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    return gauntlet_run(localised(DRIFT_CONFIG, built, tmp_path_factory.mktemp("drift-run")))


def answer(run_dir: Path, case: str, target: str) -> tuple[dict[str, Any], bytes]:
    return stored_answer(run_dir, case, target)


def test_the_build_is_keyed_by_the_sources_and_reused(built, native_cache, tmp_path):
    again = native_build.build(native_cache)
    assert again.cached and again.dir == built.dir and again.rust.is_file() and again.go.is_file()
    copy = tmp_path / "native"
    shutil.copytree(NATIVE, copy, ignore=shutil.ignore_patterns("bin"))
    assert native_build.build_key(copy) == native_build.build_key(NATIVE)
    with open(copy / "go" / "main.go", "a") as fh:
        fh.write("\n// a change\n")
    assert native_build.build_key(copy) != native_build.build_key(NATIVE)
    assert not (NATIVE / "rust" / "Cargo.lock").exists(), "cargo must build from a copy, not in the repo"


def test_the_native_twins_end_with_the_seed_headline(native_run):
    proc, run_dir = native_run
    out = proc.stdout + proc.stderr
    for service in ("validatord-rust", "validatord-go", "validatord"):
        assert f"stack: {service} is healthy" in out, out
    assert HEADLINE in out, out
    assert proc.returncode == 0 and "SHIP_WITH_KNOWN_GAP" in out, out
    rust_meta, rust_body = answer(run_dir, "playbook_missing_fingerprint", "rust")
    go_meta, go_body = answer(run_dir, "playbook_missing_fingerprint", "go")
    # serde_json and encoding/json write compactly, each in its own way; tiny_http names itself.
    assert rust_body == json.dumps({"Schema": {"field": "fingerprint", "reason": MISSING}},
                                   ensure_ascii=False, separators=(",", ":")).encode()
    assert go_body == json.dumps({"Kind": "schema", "Field": "fingerprint", "Reason": MISSING},
                                 ensure_ascii=False, separators=(",", ":")).encode()
    assert rust_meta["headers"]["server"].startswith("tiny-http")
    assert "server" not in go_meta["headers"] and "date" in go_meta["headers"]
    _, limit = answer(run_dir, "playbook_overfull", "go")
    assert json.loads(limit) == {"Kind": "limit", "Field": "endorsed", "Max": 8, "Got": 12}


def test_every_drift_case_states_its_finding():
    cases = [c["name"] for c in tomllib.loads(DRIFT_CONFIG.read_text("utf-8"))["parity"]["case"]]
    assert sorted(FINDINGS) == sorted(cases)
    assert {f for f in FINDINGS.values() if f} <= set(SEVERITY)


def finding(run_dir: Path, case: str) -> tuple[str | None, list[dict[str, Any]]]:
    """The most severe kind among Go's counted differences (None: a match), and them all."""
    _, result = read_case(run_dir, case)
    assert not result.get("errors"), result["errors"]
    counted = [d for d in result.get("differences", []) if d["target"] == "go" and not (d["noise"] or d["ignored"])]
    return min((d["kind"] for d in counted), key=SEVERITY.__getitem__, default=None), counted


@pytest.mark.parametrize("case", sorted(FINDINGS))
def test_a_drift_case_is_classified_as_its_comment_says(drift_run, case):
    kind, differences = finding(drift_run[1], case)
    assert kind == FINDINGS[case], json.dumps(differences, ensure_ascii=False)


@pytest.mark.parametrize("case", sorted(c for c, kind in FINDINGS.items() if kind))
def test_a_divergent_drift_case_reaches_the_verdict(drift_run, case):
    """The drift config has no known gaps: whatever diverges is a reason the run blocks."""
    _, run_dir = drift_run
    verdict = json.loads((run_dir / "verdict.json").read_text("utf-8"))
    assert verdict["verdict"] == "BLOCK"
    named = re.compile(rf"parity( case {case}:|: \d+ cases \([^)]*\b{case}\b)")
    assert any(named.match(line) for line in verdict["reasons"]), verdict["reasons"]


@pytest.mark.parametrize(("case", "compare_headers"), [
    ("drift_content_type", []),  # content-type not compared: the same body, a match
])
def test_a_header_diverges_only_as_configured(built, tmp_path, case, compare_headers):
    config = localised(DRIFT_CONFIG, built, tmp_path, compare_headers=compare_headers)
    proc, run_dir = gauntlet_run(config, "parity", "--case", case)
    kind, differences = finding(run_dir, case)
    assert kind is None, json.dumps(differences, ensure_ascii=False) + proc.stdout


def test_framing_headers_are_never_compared(built, tmp_path):
    """Chunked against content-length is how the answer travelled: asking to compare it is
    a config error, never a divergence."""
    config = localised(DRIFT_CONFIG, built, tmp_path,
                       compare_headers=["content-type", "transfer-encoding", "content-length"])
    proc = gauntlet("check", str(config))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "parity.compare_headers[1]: transfer-encoding is how the answer travelled" in proc.stderr
    assert "parity.compare_headers[2]: content-length" in proc.stderr


# What each runtime really put on the wire: a drift judged `match` is a judgement, not two
# identical answers. (where, Rust's, Go's): the whole body, the body's start, or a header.
WIRE: dict[str, tuple[str, Any, Any]] = {
    "drift_html_escape": ("body", b'{"text":"<b>fish & chips</b>"}',
                          rb'{"text":"\u003cb\u003efish \u0026 chips\u003c/b\u003e"}'),
    "drift_float_exponent": ("body", b'{"x":1e21}', b'{"x":1e+21}'),
    "drift_float_integral": ("body", b'{"x":1.0}', b'{"x":1}'),
    "drift_omitempty": ("body", b'{"name":"ada","nickname":null}', b'{"name":"ada"}'),
    "drift_key_order": ("body", b'{"zulu":1,"alpha":2,"mike":3}', b'{"alpha":2,"mike":3,"zulu":1}'),
    "drift_content_type": ("content-type", "application/json", "application/json; charset=utf-8"),
    "drift_big_int": ("body", b'{"id":9007199254740993}', b'{"id":9007199254740992}'),
    "drift_big_int_typed": ("body", b'{"id":9007199254740993}', b'{"id":9007199254740993}'),
    "drift_invalid_utf8": ("body-start", b'{"error":', '{"text":"caf\ufffd"}'.encode()),
    "drift_lone_surrogate": ("body-start", b'{"error":', '{"text":"\ufffd"}'.encode()),
    "drift_chunked": ("transfer-encoding", None, "chunked"),
}


@pytest.mark.parametrize("case", sorted(WIRE))
def test_the_drift_is_on_the_wire(drift_run, case):
    _, run_dir = drift_run
    where, rust_expected, go_expected = WIRE[case]
    for target, expected in (("rust", rust_expected), ("go", go_expected)):
        meta, body = answer(run_dir, case, target)
        if where == "body":
            assert body == expected, target
        elif where == "body-start":
            assert body.startswith(expected), (target, body[:200])
        else:
            assert meta["headers"].get(where) == expected, (target, meta["headers"])
    if case == "drift_chunked":
        rust_meta, rust_body = answer(run_dir, case, "rust")
        assert rust_meta["headers"]["content-length"] == str(len(rust_body))


def test_a_missing_package_is_named_with_the_command_that_installs_it(tmp_path):
    (tmp_path / "apt-packages.txt").write_text("# a comment\ngauntlet-no-such-package\n")
    with pytest.raises(native_build.ToolchainError) as raised:
        native_build.ensure_toolchain(install_missing=False, root=tmp_path)
    assert "missing Debian packages: gauntlet-no-such-package (" in str(raised.value)
    assert "apt-get install -y gauntlet-no-such-package" in str(raised.value)


@pytest.mark.parametrize("binary", ["rust", "go"])
def test_the_port_can_come_from_the_environment(built, binary):
    port = free_ports(1)[0]
    proc = subprocess.Popen([str(getattr(built, binary))], env={"PORT": str(port)},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == f"validatord-{binary} listening on http://127.0.0.1:{port}"
        response = httpx.get(f"http://127.0.0.1:{port}/health", timeout=5, trust_env=False)
        assert response.status_code == 200 and response.json() == {"status": "ok"}
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.mark.parametrize("binary", ["rust", "go"])
def test_a_bad_port_is_named_not_a_crash(built, binary):
    proc = subprocess.run([str(getattr(built, binary)), "--port", "nope"], capture_output=True, text=True, timeout=10)
    assert proc.returncode == 2
    assert "nope" in proc.stderr and "panic" not in proc.stderr
