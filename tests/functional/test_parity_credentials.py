"""Credentials once: a contract whose operations need a token gives cases that carry none,
and says the one config line that sends it with every case (`[parity] headers`, and per
target in `[parity.targets]`), expanded from the environment and masked in every artifact."""

from __future__ import annotations

import gzip
import json
import textwrap

import pytest

from probes.cases._openapi import from_openapi
from probes.config import load_config
from tui.cli import main

REF_TOKEN = "ref-token-5d1f0c8e-secret"
CAND_TOKEN = "cand-token-9a7b3e21-secret"
TENANT = "tenant-0042-shared-secret"

SECURED = """
openapi: 3.0.3
info: {title: secured, version: "1"}
security: [{bearer: []}]
paths:
  /orders:
    get:
      operationId: listOrders
      responses: {"200": {description: the orders}}
  /orders/{id}:
    get:
      operationId: getOrder
      parameters: [{name: id, in: path, required: true, schema: {type: string}}]
      responses: {"200": {description: the order}, "404": {description: none}}
components:
  securitySchemes:
    bearer: {type: http, scheme: bearer}
"""


def test_the_generated_file_says_the_one_line_that_sends_credentials(tmp_path):
    spec = tmp_path / "secured.yaml"
    spec.write_text(textwrap.dedent(SECURED))
    result = from_openapi(spec)
    line = '[parity] headers = {authorization = "Bearer ${TOKEN}"}'
    assert line in result.toml() and "not in each case" in result.toml()
    assert any(line in note and "2 operation(s) need credentials" in note for note in result.notes)
    assert all("authorization" not in {k.lower() for k in c.headers} for c in result.cases)


def _guarded(token: str):
    """A target that answers only requests carrying its own token and the shared tenant."""
    async def handle(method, path, headers, body):
        ok = headers.get("authorization") == f"Bearer {token}" and headers.get("x-tenant") == TENANT
        return 200 if ok else 401, {"content-type": "application/json"}, json.dumps({"path": path.split("?")[0]}).encode()
    return handle


@pytest.fixture
def guarded(servers, tmp_path, write_config, monkeypatch):
    """Two targets, each wanting its own token; a config that gives both once, from the environment."""
    monkeypatch.setenv("REF_TOKEN", REF_TOKEN)
    monkeypatch.setenv("CAND_TOKEN", CAND_TOKEN)
    monkeypatch.setenv("TENANT", TENANT)
    spec = tmp_path / "secured.yaml"
    spec.write_text(textwrap.dedent(SECURED))
    (tmp_path / "cases.toml").write_text(from_openapi(spec).toml())
    ref, cand = servers.serve_http(_guarded(REF_TOKEN)), servers.serve_http(_guarded(CAND_TOKEN))
    return write_config(f"""
        [parity]
        reference = "ref"
        cases_file = "cases.toml"
        headers = {{x-tenant = "${{TENANT}}"}}
        [parity.targets]
        ref = {{url = "{ref}", headers = {{authorization = "Bearer ${{REF_TOKEN}}"}}}}
        cand = {{url = "{cand}", headers = {{authorization = "Bearer ${{CAND_TOKEN}}"}}}}
    """)


def test_per_target_headers_reach_every_case_and_no_artifact(guarded, tmp_path, capsys):
    config = load_config(guarded)
    assert config.parity.headers_for("cand") == {"x-tenant": TENANT, "authorization": f"Bearer {CAND_TOKEN}"}
    assert main(["check", "--probe", str(guarded)]) == 0  # the probe sends them too: no target misaimed
    assert main(["parity", str(guarded), "--headless"]) == 0
    out = capsys.readouterr()
    assert "401" not in out.out and "SHIP" in out.out, out.out
    written = [p.read_bytes() for p in (tmp_path / "out").rglob("*") if p.is_file()]
    texts = [gzip.decompress(b) if b[:2] == b"\x1f\x8b" else b for b in written]
    for secret in (REF_TOKEN, CAND_TOKEN, TENANT):
        assert not [t for t in texts if secret.encode() in t], secret
        assert secret not in out.out + out.err


def test_a_target_table_without_a_url_is_named(write_config, capsys):
    config = write_config("""
        [parity]
        reference = "a"
        [parity.targets]
        a = "http://127.0.0.1:1"
        b = {headers = {authorization = "Bearer x"}}
        [[parity.case]]
        name = "c"
    """)
    assert main(["check", str(config)]) == 2
    assert "parity.targets.b.url" in capsys.readouterr().err
