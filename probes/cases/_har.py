"""Parity cases from recorded traffic: a HAR 1.2 file, as browsers and proxies export it.

Recorded traffic is what callers really send, so it finds the divergences a contract does
not state. It also carries credentials: Authorization, cookies, API keys, passwords in
forms. None of them may reach a cases file (which is committed) or a report (which is
shared), so secret headers are dropped unless named with `keep_headers`, secret-named
query parameters and body fields and token-like path segments have their text replaced,
and hop-by-hop headers (about one connection, meaningless on another) are never kept.
A body is stored decoded, so the `Content-Encoding` it travelled with is dropped too; a
WebSocket upgrade (101) is a conversation, not a request to replay, and is skipped with a
note. Requests are deduplicated by (method, path template, body shape): a thousand GETs
of /users/<id> are one case.
"""

from __future__ import annotations

import functools
import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from ..core import InputError, read_input
from ._case import UNSET
from ._casefile import (
    GeneratedCase,
    cases_jsonl,
    cases_toml,
    safe_name,
    shape,
    unique_names,
)

HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection",
                        "te", "trailer", "trailers", "transfer-encoding", "upgrade"})
# Set by the client for its own connection or cache, or the browser's context: sending the
# recorded value would describe a client that is not the probe.
CLIENT_OWNED = frozenset({"host", "content-length", "accept-encoding", "user-agent", "referer", "origin",
                          "accept-language", "cache-control", "pragma", "dnt", "upgrade-insecure-requests",
                          "priority", "if-none-match", "if-modified-since"})
SECRET_HEADERS = frozenset({"authorization", "cookie", "set-cookie", "x-api-key", "x-auth-token", "x-csrf-token",
                            "x-xsrf-token", "x-amz-security-token"})
SECRET_NAME = re.compile(r"(?i)(^key$|api[-_]?key|passw(or)?d|passphrase|secret|token|^auth$|authoriz|session|"
                         r"cookie|credential|signature|csrf|xsrf|bearer)")
REDACTED = "REDACTED"
SENDABLE = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
_ID_SEGMENTS = (
    (re.compile(r"^\d+$"), "{n}"),
    (re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"), "{uuid}"),
    (re.compile(r"^[0-9a-fA-F]{8,}$"), "{hex}"),
    (re.compile(r"^(?=.*\d)[A-Za-z0-9_-]{16,}$"), "{token}"),
    (re.compile(r"^eyJ[A-Za-z0-9_=-]{8,}(\.[A-Za-z0-9_=-]*){0,2}$"), "{token}"),  # a JWT, base64url JSON
)
TOKEN = "{token}"  # a path segment that is a credential, as likely as an identifier


@functools.lru_cache(maxsize=1024)
def secret_header(name: str) -> bool:
    """Remembered: a mirror asks it of every header of every answer, and a service's header
    names are a handful."""
    lowered = name.lower()
    return lowered in SECRET_HEADERS or bool(SECRET_NAME.search(lowered))


def path_template(path: str) -> str:
    """`/users/42/orders/9f1c…` → `/users/{n}/orders/{uuid}`: requests to one endpoint, one key."""
    return "/".join(_slot(segment) or segment for segment in path.split("/"))


@functools.lru_cache(maxsize=4096)
def _slot(segment: str) -> str | None:
    """Remembered: a mirror asks it twice of every segment of every request's path."""
    return next((slot for rx, slot in _ID_SEGMENTS if rx.match(segment)), None)


def _path_without_tokens(path: str, redacted: set[str], template: str) -> str:
    """The path with each token-like segment replaced: a share link's or a session's token
    is a credential wherever it travels (`/meval/eyJhbm9u…` → `/meval/REDACTED`)."""
    segments = path.split("/")
    kept = [REDACTED if _slot(s) == TOKEN else s for s in segments]
    if kept != segments:
        redacted.add(f"path {template}")
    return "/".join(kept)


@dataclass(frozen=True)
class HarCases:
    source: Path
    requests: int  # entries read (after the host filter)
    cases: tuple[GeneratedCase, ...]
    dropped_headers: tuple[str, ...]  # secret or client-owned header names left out, sorted
    redacted: tuple[str, ...]  # query parameters and body fields whose text was replaced
    hosts: Mapping[str, int]  # every host in the file, with its request count
    notes: tuple[str, ...] = ()

    def toml(self) -> str:
        header = [
            f"Parity cases from recorded traffic {self.source.name} by `gauntlet cases from-har`:",
            f"{self.requests} requests, {len(self.cases)} cases (one per method, path template and body shape).",
        ]
        if self.dropped_headers:
            header.append(f"Headers left out: {', '.join(self.dropped_headers)} (--keep-header NAME keeps one).")
        if self.redacted:
            header.append(f"Secret-named values replaced by {REDACTED}: {', '.join(self.redacted)}.")
        return cases_toml(header, self.cases)

    def jsonl(self) -> str:
        return cases_jsonl(self.cases)


def read_har(path: Path) -> list[dict[str, Any]]:
    """The entries of a HAR file; anything else is an InputError naming where."""
    text = read_input(path, "a HAR file", "utf-8-sig")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}:{exc.lineno}:{exc.colno}: not a HAR file (invalid JSON: {exc.msg})") from None
    log = doc.get("log") if isinstance(doc, dict) else None
    if not isinstance(log, dict) or not isinstance(log.get("entries"), list):
        raise InputError(f"{path}: not a HAR file (no log.entries list)")
    for i, entry in enumerate(log["entries"]):
        request = entry.get("request") if isinstance(entry, dict) else None
        if not isinstance(request, dict):
            raise InputError(f"{path}: log.entries[{i}].request: missing or not an object")
        for key in ("method", "url"):
            if not isinstance(request.get(key), str) or not request[key]:
                raise InputError(f"{path}: log.entries[{i}].request.{key}: missing or not a string")
    entries: list[dict[str, Any]] = log["entries"]
    return entries


def from_har(path: str | Path, keep_headers: Iterable[str] = (), hosts: Sequence[str] = ()) -> HarCases:
    """The parity cases of a HAR file, secrets out; `hosts` keeps only requests to those."""
    source = Path(path)
    keep = {h.lower() for h in keep_headers}
    refused = sorted(keep & HOP_BY_HOP)
    if refused:
        raise InputError(f"--keep-header {', '.join(refused)}: hop-by-hop headers are never kept "
                         "(they describe one connection, not the request)")
    wanted = {h.lower() for h in hosts}
    entries = read_har(source)
    seen_hosts: Counter[str] = Counter()
    dropped: set[str] = set()
    redacted: set[str] = set()
    notes: list[str] = []
    cases: list[GeneratedCase] = []
    keys: set[tuple[str, str, str]] = set()
    requests = 0
    for i, entry in enumerate(entries):
        request = entry["request"]
        url = urlsplit(request["url"])
        try:
            host = f"{url.hostname or ''}:{url.port}" if url.port else url.hostname or ""
        except ValueError:
            raise InputError(f"{source}: log.entries[{i}].request.url: the port is not a number "
                             "from 0 to 65535") from None  # the URL itself may carry a secret
        seen_hosts[host] += 1
        if wanted and host.lower() not in wanted and (url.hostname or "").lower() not in wanted:
            continue
        requests += 1
        method = request["method"].upper()
        recorded = entry.get("response")
        response: dict[str, Any] = recorded if isinstance(recorded, dict) else {}
        if response.get("status") == 101 or _header(request.get("headers"), "upgrade").lower() == "websocket":
            notes.append(f"log.entries[{i}]: {method} {url.path}: a WebSocket upgrade (101) is not replayed")
            continue
        if url.scheme not in ("http", "https") or method not in SENDABLE:
            notes.append(f"log.entries[{i}]: {method} {url.scheme}: not replayed")
            continue
        status = response.get("status")
        case = _recorded(request, method, url.path or "/", url.query, keep, dropped, redacted,
                         f", recorded {status}" if isinstance(status, int) and status else "")
        if case is None:
            notes.append(f"log.entries[{i}]: {method} {url.path}: a multipart body is not replayed")
            continue
        key = (method, case.template or case.path, _body_shape(case.json, case.body))
        if key in keys:
            continue
        keys.add(key)
        cases.append(case)
    return HarCases(source, requests, tuple(unique_names(cases)), tuple(sorted(dropped)), tuple(sorted(redacted)),
                    dict(sorted(seen_hosts.items())), tuple(notes))


def _recorded(request: Mapping[str, Any], method: str, path: str, query: str, keep: set[str], dropped: set[str],
              redacted: set[str], said: str = "") -> GeneratedCase | None:
    """One recorded request (a HAR `request` object) as a case, its secrets out: what is left
    out is added to `dropped` and `redacted`. None for a multipart body, never replayed."""
    body = _body(request, redacted)
    if body is None:
        return None
    json_body, text_body = body
    template = path_template(path)
    headers = _headers(request.get("headers"), keep, dropped)
    for name in [h for h in headers if h.lower() == "content-encoding" and "content-encoding" not in keep]:
        del headers[name]  # the stored body is decoded: sent with its coding named, it would be read as coded
        dropped.add(name)
    return GeneratedCase(
        name=_name(method, template), method=method, path=_path_without_tokens(path, redacted, template),
        query=_query(query, redacted), headers=headers, json=json_body, body=text_body,
        why=f"{method} {template}{said}", template=template, kind=method)


UNRECORDED_BODY = "its body (multipart, or not UTF-8 text) is not recorded"


def live_case(method: str, target: str, headers: Sequence[tuple[str, str]], body: bytes) -> GeneratedCase:
    """A request as it went by (the mirror's), recorded as a HAR entry is: secret headers
    dropped, secret-named query parameters and body fields and token-like path segments
    replaced, so a record of live traffic holds no credential. `target` is the path and query
    as the request line gave them. A body a case cannot hold (multipart, not text) is left
    out, and `why` says so."""
    url = urlsplit(target)
    content_type = next((v for k, v in headers if k.lower() == "content-type"), "")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    kept = bool(body) and text is not None and not content_type.lower().startswith("multipart/")
    request = {"headers": [{"name": k, "value": v} for k, v in headers],
               **({"postData": {"mimeType": content_type, "text": text}} if kept else {})}
    unused: set[str] = set()
    case = _recorded(request, method, url.path or "/", url.query, set(), unused, unused,
                     f": {UNRECORDED_BODY}" if body and not kept else "")
    assert case is not None  # only a multipart body is refused, and none is given
    return case


def _name(method: str, template: str) -> str:
    words = [s.strip("{}") if s.startswith("{") else s for s in template.split("/") if s]
    return safe_name("_".join([method.lower(), *words]) if words else f"{method.lower()}_root")


def _headers(raw: Any, keep: set[str], dropped: set[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for header in raw if isinstance(raw, list) else []:
        if not isinstance(header, dict) or not isinstance(header.get("name"), str):
            continue
        name, lowered = header["name"], header["name"].lower()
        if lowered.startswith(":") or lowered in HOP_BY_HOP:
            continue  # HTTP/2 pseudo-headers and hop-by-hop: never a property of the request
        if lowered not in keep and (secret_header(lowered) or lowered in CLIENT_OWNED or lowered.startswith("sec-")):
            dropped.add(name.title() if lowered.islower() else name)
            continue
        out[name] = str(header.get("value", ""))
    return out


def _query(query: str, redacted: set[str]) -> dict[str, str | list[str]]:
    """The query's parameters; one given more than once keeps every value, in order."""
    out: dict[str, str | list[str]] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        text = _redact(name, value, f"query {name}", redacted)
        held = out.get(name)
        out[name] = text if held is None else [*([held] if isinstance(held, str) else held), text]
    return out


def _header(raw: Any, wanted: str) -> str:
    """The value of a recorded header, by name in any case; empty when absent."""
    for header in raw if isinstance(raw, list) else []:
        if isinstance(header, dict) and str(header.get("name", "")).lower() == wanted:
            return str(header.get("value", ""))
    return ""


def _body_shape(json_body: Any, text_body: str | None) -> str:
    """JSON by its structure, a form by its field names, other text as text."""
    if json_body is not UNSET:
        return repr(shape(json_body))
    if text_body is None:
        return "none"
    fields = parse_qsl(text_body, keep_blank_values=True)
    return f"form:{sorted(k for k, _ in fields)}" if fields and "=" in text_body else "text"


def _redact(name: str, value: Any, label: str, redacted: set[str]) -> Any:
    if isinstance(value, str) and value and SECRET_NAME.search(name):
        redacted.add(label)
        return REDACTED
    return value


_SECRET_WORD = re.compile(rb"(?i)key|passw|passphrase|secret|token|auth|session|cookie|credential|signature|csrf|xsrf|"
                          rb"bearer")  # what a secret-named field's name holds: a body without any holds none


def redact_body(body: bytes) -> bytes:
    """A JSON body with the text of every secret-named field replaced (re-serialised, compact);
    the very same bytes when it names none, or is not JSON."""
    if not _SECRET_WORD.search(body):
        return body
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return body
    redacted: set[str] = set()
    clean = _redact_json(value, redacted)
    return json.dumps(clean, ensure_ascii=False, separators=(",", ":")).encode() if redacted else body


def _redact_json(value: Any, redacted: set[str]) -> Any:
    """The JSON value with the text of every secret-named field replaced (each named in `redacted`)."""
    if isinstance(value, dict):
        return {k: _redact(k, _redact_json(v, redacted), f"body {k}", redacted) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact_json(v, redacted) for v in value]
    return value


def _body(request: Mapping[str, Any], redacted: set[str]) -> tuple[Any, str | None] | None:
    """(json, text) of the recorded body, secrets replaced; None for a multipart upload."""
    post = request.get("postData")
    if not isinstance(post, dict):
        return UNSET, None
    mime = str(post.get("mimeType", "")).split(";")[0].strip().lower()
    text = post.get("text")
    if mime.startswith("multipart/"):
        return None
    if mime == "application/x-www-form-urlencoded":
        pairs = parse_qsl(text, keep_blank_values=True) if isinstance(text, str) else [
            (str(p.get("name", "")), str(p.get("value", ""))) for p in post.get("params") or [] if isinstance(p, dict)]
        return UNSET, urlencode([(k, _redact(k, v, f"body {k}", redacted)) for k, v in pairs])
    if not isinstance(text, str):
        return UNSET, None
    if mime == "application/json" or mime.endswith("+json"):
        try:
            return _redact_json(json.loads(text), redacted), None
        except json.JSONDecodeError:
            pass
    return UNSET, text
