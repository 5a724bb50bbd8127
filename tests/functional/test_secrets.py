"""Secrets gauntlet knows never reach what it writes or shows: the gateway key, a header value
taken from the environment, the password of a URL (shown as `http://***@host`), whoever prints
them (a smoke, a reviewer on stdout or stderr, an answer's body) and wherever they would land."""

from __future__ import annotations

import base64
import gzip
import json
import sys

import pytest

from probes.core.events import ReviewChunk
from probes.core._redact import Secrets
from tui.cli import main

from ..conftest import GATEWAY_KEY, free_port, only_run

GATEWAY_PW = "gwSECRETPW99"
TARGET_PW = "hunter2SECRETPW"
TOKEN = "tok-4b1e77a0-from-the-env"
BASIC = base64.b64encode(f"admin:{TARGET_PW}".encode()).decode()
SECRETS = (GATEWAY_KEY, GATEWAY_PW, TARGET_PW, TOKEN, BASIC)

DIFF = """diff --git a/src/lib.rs b/src/lib.rs
--- a/src/lib.rs
+++ b/src/lib.rs
@@ -1,3 +1,4 @@
 fn a() {}
+fn b() {}
 fn c() {}
 fn d() {}
"""

LEAKY_REVIEWER = """
import os, sys
sys.stdin.read()
key = os.environ["TEST_GATEWAY_KEY"]
half = len(key) // 2
sys.stderr.write("debug: calling with " + key[:half]); sys.stderr.flush()
sys.stderr.write(key[half:] + " and " + os.environ["PARITY_TOKEN"] + "\\n"); sys.stderr.flush()
print("WHERE: src/lib.rs:2\\nSEVERITY: WARN\\nWHAT: the key " + key + " is in the prompt\\nVERDICT: SHIP")
"""


def _everything_written(out_dir) -> dict[str, str]:
    """Every file under the out dir as text, .gz files decompressed."""
    texts = {}
    for path in sorted(p for p in out_dir.rglob("*") if p.is_file()):
        data = path.read_bytes()
        if path.suffix == ".gz":
            data = gzip.decompress(data)
        texts[str(path.relative_to(out_dir))] = data.decode("utf-8", errors="replace")
    return texts


@pytest.fixture
def leaky_env(monkeypatch, gateway_key):
    monkeypatch.setenv("PARITY_TOKEN", TOKEN)


def test_no_secret_reaches_any_file_or_the_terminal(servers, gateway, write_config, tmp_path, script, capsys,
                                                    leaky_env):
    seen: list[dict] = []

    async def reference(method, path, headers, body):
        seen.append(headers)
        ok = headers.get("authorization") == f"Basic {BASIC}" and headers.get("x-api-token") == TOKEN
        payload = {"echo": headers.get("x-api-token", ""), "who": headers.get("authorization", "")} if ok else {}
        return (200 if ok else 401), {"content-type": "application/json"}, json.dumps(payload).encode()

    async def candidate(method, path, headers, body):
        payload = {"echo": headers.get("x-api-token", ""), "who": f"Basic {BASIC}"}
        return 200, {"content-type": "application/json"}, json.dumps(payload).encode()

    ref_url = servers.serve_http(reference).replace("http://", f"http://admin:{TARGET_PW}@")
    cand_url = servers.serve_http(candidate)
    gateway.reviews["normal"] = f"WHERE: src/lib.rs:2\nSEVERITY: WARN\nWHAT: saw {GATEWAY_KEY}\nVERDICT: SHIP\n"
    gateway_url = gateway.url.replace("http://", f"http://bob:{GATEWAY_PW}@")
    (tmp_path / "b1.diff").write_text(DIFF)
    leaky = script("leaky.py", LEAKY_REVIEWER)
    config = write_config(f"""
        [[smoke]]
        name = "echo-key"
        shell = 'echo "the key is $TEST_GATEWAY_KEY"; echo "and $PARITY_TOKEN" >&2; exit 1'

        [scrum]
        gateway = "{gateway_url}"
        api_key_env = "TEST_GATEWAY_KEY"
        retries = 0
        timeout = "10s"
        [[scrum.reviewer]]
        name = "opus"
        lineage = "anthropic"
        model = "normal"
        [[scrum.reviewer]]
        name = "leaky"
        lineage = "local"
        kind = "command"
        run = ["{sys.executable}", "{leaky}"]
        [[scrum.bundle]]
        name = "b1"
        diff = "b1.diff"

        [parity]
        reference = "ref"
        keep_bodies = "all"
        headers = {{x-api-token = "${{PARITY_TOKEN}}"}}
        [parity.targets]
        ref = "{ref_url}"
        cand = "{cand_url}"
        [[parity.case]]
        name = "a"
        path = "/a"
    """)
    code = main(["run", str(config), "--headless"])
    terminal = capsys.readouterr()
    assert code == 1, terminal.out + terminal.err  # the smoke failed: BLOCK
    # The requests still carried every credential, and the reference answered them.
    assert seen and seen[0]["authorization"] == f"Basic {BASIC}" and seen[0]["x-api-token"] == TOKEN
    run = only_run(tmp_path / "out")
    written = _everything_written(tmp_path / "out")
    for name in ("smokes/echo-key.log", "smokes/junit.xml", "events.jsonl", "scrum/b1/leaky.stderr.log",
                 "scrum/b1/leaky.md", "scrum/findings.sarif", "parity/results.jsonl.gz", "parity/bodies.pack"):
        assert f"{run.name}/{name}" in written, name
    assert "***" in written[f"{run.name}/smokes/echo-key.log"]
    assert "debug: calling with ***" in written[f"{run.name}/scrum/b1/leaky.stderr.log"]
    results = written[f"{run.name}/parity/results.jsonl.gz"]
    assert "http://***@127.0.0.1:" in results  # the target's userinfo shown as ***, its host kept
    leaks = {(name, secret) for name, text in written.items() for secret in SECRETS if secret in text}
    leaks |= {("terminal", s) for s in SECRETS if s in terminal.out + terminal.err}
    assert not leaks


@pytest.mark.parametrize("from_env", [False, True], ids=["config", "LH_GATEWAY"])
def test_a_url_password_is_shown_as_stars_where_the_url_is_said(write_config, tmp_path, capsys, gateway_key,
                                                                monkeypatch, from_env):
    (tmp_path / "b1.diff").write_text(DIFF)
    url = f"http://bob:{GATEWAY_PW}@127.0.0.1:{free_port()}/v1"
    if from_env:
        monkeypatch.setenv("LH_GATEWAY", url)
    config = write_config(f"""
        [scrum]
        gateway = "{"http://127.0.0.1:9/v1" if from_env else url}"
        api_key_env = "TEST_GATEWAY_KEY"
        retries = 0
        [[scrum.reviewer]]
        name = "opus"
        lineage = "anthropic"
        model = "normal"
        [[scrum.bundle]]
        name = "b1"
        diff = "b1.diff"
    """)
    main(["run", str(config), "--headless"])
    said = capsys.readouterr()
    terminal = said.out + said.err
    assert "cannot connect to the gateway http://***@127.0.0.1:" in terminal
    written = _everything_written(tmp_path / "out")
    assert any("http://***@127.0.0.1:" in text for name, text in written.items() if name.endswith("events.jsonl"))
    assert not [name for name, text in written.items() if GATEWAY_PW in text or "bob:" in text]
    assert GATEWAY_PW not in terminal


@pytest.mark.parametrize("key,token,where,variable", [
    ("E", TOKEN, "scrum.api_key_env", "TEST_GATEWAY_KEY"),
    (GATEWAY_KEY, "short", "parity.headers.x-api-token", "PARITY_TOKEN"),
], ids=["gateway-key", "header-from-env"])
def test_a_secret_too_short_to_mask_is_a_config_error(write_config, tmp_path, capsys, monkeypatch,
                                                      key, token, where, variable):
    monkeypatch.setenv("TEST_GATEWAY_KEY", key)
    monkeypatch.setenv("PARITY_TOKEN", token)
    (tmp_path / "b1.diff").write_text(DIFF)
    config = write_config("""
        [scrum]
        gateway = "http://127.0.0.1:9/v1"
        api_key_env = "TEST_GATEWAY_KEY"
        [[scrum.reviewer]]
        name = "opus"
        lineage = "anthropic"
        model = "normal"
        [[scrum.bundle]]
        name = "b1"
        diff = "b1.diff"
        [parity]
        reference = "a"
        headers = {x-api-token = "${PARITY_TOKEN}"}
        [parity.targets]
        a = "http://127.0.0.1:9"
        b = "http://127.0.0.1:9"
        [[parity.case]]
        name = "c"
    """)
    for argv in (["check", str(config)], ["run", str(config), "--headless"]):
        assert main(argv) == 2
        said = capsys.readouterr()
        message = said.out + said.err
        assert where in message and variable in message and "too short" in message, message
        assert "Traceback" not in message
        if token == "short":
            assert "short " not in message.replace("too short", "")
    assert not (tmp_path / "out").exists()


def test_a_url_that_is_not_http_is_named_without_its_password(write_config, tmp_path, capsys):
    (tmp_path / "b1.diff").write_text(DIFF)
    config = write_config("""
        [scrum]
        gateway = "ftp://bob:gwSECRETPW99@127.0.0.1:9/v1"
        [[scrum.reviewer]]
        name = "opus"
        lineage = "anthropic"
        model = "normal"
        [[scrum.bundle]]
        name = "b1"
        diff = "b1.diff"
        [parity]
        reference = "a"
        [parity.targets]
        a = "gopher://admin:hunter2SECRETPW@127.0.0.1:9"
        b = "http://127.0.0.1:9"
        [[parity.case]]
        name = "c"
    """)
    assert main(["check", str(config)]) == 2
    said = capsys.readouterr()
    message = said.out + said.err
    assert "scrum.gateway" in message and "parity.targets.a" in message, message
    assert "ftp://***@127.0.0.1:9/v1" in message, message
    assert "SECRETPW" not in message and "bob" not in message and "admin" not in message, message


@pytest.mark.parametrize("cut", range(1, 12))
def test_a_secret_split_across_two_chunks_is_still_masked(cut):
    secrets = Secrets(("s3cret-value", "another-secret-longer"))
    data = b"before s3cret-value middle another-secret-longer after"
    stream = secrets.stream()
    split = data.index(b"s3cret") + cut
    out = stream.feed(data[:split]) + stream.feed(data[split:split + 20]) + stream.feed(data[split + 20:])
    out += stream.end()
    assert out == b"before *** middle *** after"


def test_an_event_with_a_secret_deep_inside_is_masked_and_one_without_is_the_same_object():
    secrets = Secrets(("s3cret-value",))
    clean = ReviewChunk("b", "r", "nothing here")
    assert secrets.mask_event(clean) is clean
    assert secrets.mask_event(ReviewChunk("b", "r", "x s3cret-value y")).text == "x *** y"
