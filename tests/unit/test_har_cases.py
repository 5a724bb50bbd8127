"""Parity cases from recorded traffic: secrets never reach an output, requests deduplicated."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest

from probes.config import load_config
from probes.core._errors import InputError
from probes.cases._har import from_har, path_template
from tui.cli import main


SECRETS = ("s3cr3t-bearer", "s3cr3t-session", "s3cr3t-apikey", "s3cr3t-query", "s3cr3t-password",
           "s3cr3t-form", "s3cr3t-setcookie", "s3cr3t-userinfo", "s3cr3t-csrf")


def entry(method: str, url: str, headers: dict[str, str] | None = None, post: dict | None = None,
          status: int = 200, response_headers: dict[str, str] | None = None) -> dict:
    request = {"method": method, "url": url, "httpVersion": "HTTP/1.1",
               "headers": [{"name": k, "value": v} for k, v in (headers or {}).items()],
               "queryString": [], "cookies": [], "headersSize": -1, "bodySize": -1}
    if post is not None:
        request["postData"] = post
    return {"startedDateTime": "2026-05-02T10:00:00.000Z", "time": 12, "request": request,
            "response": {"status": status, "statusText": "", "httpVersion": "HTTP/1.1", "cookies": [],
                         "headers": [{"name": k, "value": v} for k, v in (response_headers or {}).items()],
                         "content": {"size": 2, "mimeType": "application/json", "text": "{}"},
                         "redirectURL": "", "headersSize": -1, "bodySize": 2},
            "cache": {}, "timings": {"send": 0, "wait": 10, "receive": 2}}


BROWSER = {"Host": "api.example.com", "Connection": "keep-alive", "User-Agent": "Mozilla/5.0",
           "Accept": "application/json", "Accept-Encoding": "gzip", "sec-ch-ua": '"Chromium"',
           "Authorization": "Bearer s3cr3t-bearer", "Cookie": "session=s3cr3t-session",
           "X-Api-Key": "s3cr3t-apikey", "X-CSRF-Token": "s3cr3t-csrf", "X-Trace": "trace-1"}


def write_har(tmp_path: Path) -> Path:
    entries = [
        entry("GET", "https://u:s3cr3t-userinfo@api.example.com/v1/users/42?page=2&access_token=s3cr3t-query",
              BROWSER, response_headers={"Set-Cookie": "sid=s3cr3t-setcookie"}),
        entry("GET", "https://api.example.com/v1/users/43?page=3", BROWSER),  # same endpoint: folded
        entry("POST", "https://api.example.com/v1/login", {**BROWSER, "Content-Type": "application/json"},
              {"mimeType": "application/json", "text": json.dumps({"user": "ann", "password": "s3cr3t-password",
                                                                   "remember": True})}),
        entry("POST", "https://api.example.com/v1/login", {"Content-Type": "application/x-www-form-urlencoded"},
              {"mimeType": "application/x-www-form-urlencoded", "text": "user=ann&password=s3cr3t-form"}),
        entry("PUT", "https://api.example.com/v1/users/7", {"Content-Type": "application/json", "Connection": "close"},
              {"mimeType": "application/json", "text": '{"name": "ann", "tags": ["a"]}'}),
        entry("PUT", "https://api.example.com/v1/users/8", {"Content-Type": "application/json"},
              {"mimeType": "application/json", "text": '{"name": "bob", "tags": ["b", "c"]}'}),  # same shape
        entry("PUT", "https://api.example.com/v1/users/9", {"Content-Type": "application/json"},
              {"mimeType": "application/json", "text": '{"name": "cy", "age": 3}'}),  # another shape
        entry("GET", "https://cdn.example.com/app.js", {"Accept": "*/*"}),
        entry("POST", "https://api.example.com/v1/upload", {},
              {"mimeType": "multipart/form-data; boundary=x", "params": [{"name": "f", "fileName": "a.txt"}]}),
    ]
    path = tmp_path / "traffic.har"
    path.write_text(json.dumps({"log": {"version": "1.2", "creator": {"name": "test", "version": "1"},
                                        "entries": entries}}))
    return path


def test_secrets_never_reach_any_output(tmp_path, capsys):
    har = write_har(tmp_path)
    out = tmp_path / "cases.toml"
    assert main(["cases", "from-har", str(har), "--out", str(out)]) == 0
    assert main(["cases", "from-har", str(har)]) == 0  # the file on stdout, the summary on stderr
    captured = capsys.readouterr()
    outputs = {"file": out.read_text(), "stdout": captured.out, "stderr": captured.err}
    for where, text in outputs.items():
        leaked = [s for s in SECRETS if s in text]
        assert not leaked, f"{where} leaks {leaked}"
    assert "Authorization" in outputs["file"] and "REDACTED" in outputs["file"]  # named as left out, not shown
    cases = {c["name"]: c for c in tomllib.loads(outputs["file"])["case"]}
    user = cases["get_v1_users_n"]
    assert user["headers"] == {"Accept": "application/json", "X-Trace": "trace-1"}
    assert user["query"] == {"page": "2", "access_token": "REDACTED"}
    assert user["path"] == "/v1/users/42"
    assert cases["post_v1_login"]["json"] == {"user": "ann", "password": "REDACTED", "remember": True}
    assert cases["post_v1_login-2"]["body"] == "user=ann&password=REDACTED"


def test_requests_fold_by_method_path_template_and_body_shape(tmp_path):
    result = from_har(write_har(tmp_path))
    names = [c.name for c in result.cases]
    assert names == ["get_v1_users_n", "post_v1_login", "post_v1_login-2", "put_v1_users_n", "put_v1_users_n-2",
                     "get_app.js"]
    assert result.requests == 9
    assert result.hosts == {"api.example.com": 8, "cdn.example.com": 1}
    assert any("multipart" in note for note in result.notes)
    assert "Connection" not in result.cases[3].headers  # hop-by-hop


def test_keep_header_keeps_a_secret_on_request_but_never_a_hop_by_hop_one(tmp_path):
    har = write_har(tmp_path)
    kept = from_har(har, keep_headers=["authorization"], hosts=["api.example.com"])
    assert kept.cases[0].headers["Authorization"] == "Bearer s3cr3t-bearer"
    assert "Cookie" not in kept.cases[0].headers
    assert [c.name for c in kept.cases][-1] == "put_v1_users_n-2"  # the cdn request filtered out
    with pytest.raises(InputError, match="hop-by-hop headers are never kept"):
        from_har(har, keep_headers=["Connection"])


def test_the_cases_load_as_a_cases_file(tmp_path, write_config):
    (tmp_path / "cases.toml").write_text(from_har(write_har(tmp_path)).toml())
    config = load_config(write_config("""
        [parity]
        reference = "a"
        cases_file = "cases.toml"
        [parity.targets]
        a = "http://127.0.0.1:1"
        b = "http://127.0.0.1:2"
    """), env={})
    assert len(config.parity.cases) == 6
    login = next(c for c in config.parity.cases if c.name == "post_v1_login")
    assert login.method == "POST" and login.headers["Content-Type"] == "application/json"


@pytest.mark.parametrize("text,expected", [
    ('{"log": {"entries": [}}', r"traffic\.har:1:22: not a HAR file \(invalid JSON"),
    ('{"entries": []}', r"traffic\.har: not a HAR file \(no log\.entries list\)"),
    ('{"log": {"entries": [{"request": {"method": "GET", "url": "http://x/"}}, {"request": {"method": "GET"}}]}}',
     re.escape("traffic.har: log.entries[1].request.url: missing or not a string")),
    ('{"log": {"entries": [42]}}', re.escape("traffic.har: log.entries[0].request: missing or not an object")),
    ('{"log": {"entries": [{"request": {"method": "GET", "url": "http://h:99999/?token=s3cr3t-query"}}]}}',
     re.escape("traffic.har: log.entries[0].request.url: the port is not a number from 0 to 65535")),
])
def test_a_broken_har_is_named_with_where(tmp_path, text, expected, capsys):
    path = tmp_path / "traffic.har"
    path.write_text(text)
    assert main(["cases", "from-har", str(path)]) == 2
    captured = capsys.readouterr()
    assert re.search(expected, captured.err), captured.err
    assert "s3cr3t" not in captured.out + captured.err


def test_path_templates_fold_identifiers():
    assert path_template("/v1/users/42/orders/0f8fad5b-d9cb-469f-a165-70867728950e") == "/v1/users/{n}/orders/{uuid}"
    assert path_template("/blobs/deadbeefcafe/raw") == "/blobs/{hex}/raw"
    assert path_template("/share/AbC123xyz789QRst00") == "/share/{token}"
    assert path_template("/v1/users/me") == "/v1/users/me"


def _har_of(tmp_path: Path, entries: list[dict]) -> Path:
    path = tmp_path / "traffic.har"
    path.write_text(json.dumps({"log": {"version": "1.2", "creator": {"name": "test", "version": "1"},
                                        "entries": entries}}))
    return path


# Shapes from real captures (a browser's share-link fetch, a sync client's gzip POST, a
# WebSocket upgrade), written anew for this test with made-up tokens.
JWT = "eyJhbm9ueW1vdXMiOnRydWV9.eyJzdWIiOiJzM2NyM3QtcGF0aCJ9.c2lnbmF0dXJl"


def test_a_token_in_a_path_segment_is_replaced_in_the_case_not_only_named(tmp_path, capsys):
    har = _har_of(tmp_path, [entry("GET", f"https://api.example.com/meval/{JWT}"),
                             entry("GET", "https://api.example.com/share/AbC123xyz789QRst00/raw")])
    out = tmp_path / "cases.toml"
    assert main(["cases", "from-har", str(har), "--out", str(out)]) == 0
    text = out.read_text() + capsys.readouterr().out
    assert JWT not in text and "AbC123xyz789QRst00" not in text and "eyJ" not in text
    cases = {c["name"]: c for c in tomllib.loads(out.read_text())["case"]}
    assert cases["get_meval_token"]["path"] == "/meval/REDACTED"
    assert cases["get_meval_token"]["template"] == "/meval/{token}"
    assert cases["get_share_token_raw"]["path"] == "/share/REDACTED/raw"
    assert "path /meval/{token}" in from_har(har).redacted


def test_a_decoded_body_is_not_sent_with_the_encoding_it_travelled_in(tmp_path):
    har = _har_of(tmp_path, [entry("POST", "https://sync.example.com/command/", {
        "Content-Type": "application/json", "Content-Encoding": "gzip", "X-Client": "sync"},
        {"mimeType": "application/json", "text": '{"batch": [1, 2]}'})])
    result = from_har(har)
    case = result.cases[0]
    assert case.json == {"batch": [1, 2]}
    assert {k.lower() for k in case.headers} == {"content-type", "x-client"}
    assert "Content-Encoding" in result.dropped_headers


def test_a_websocket_upgrade_is_skipped_with_a_note(tmp_path):
    har = _har_of(tmp_path, [
        entry("GET", "https://chat.example.com/socket", {"Upgrade": "websocket", "Connection": "Upgrade"}, status=101),
        entry("GET", "https://chat.example.com/rooms?tag=a&tag=b")])
    result = from_har(har)
    assert [c.path for c in result.cases] == ["/rooms"]
    assert result.cases[0].query == {"tag": ["a", "b"]}  # a repeated parameter keeps every value
    assert any("WebSocket upgrade (101) is not replayed" in note and "/socket" in note for note in result.notes)
