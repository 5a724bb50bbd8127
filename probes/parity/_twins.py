"""The demo's twin reference services: one validatord, two wire shapes.

The Rust build answers a validation error as a serde-tagged enum
(`{"Schema": {"field": …, "reason": …}}`), the Go build as flat exported fields
(`{"Kind": "schema", "Field": …, "Reason": …}`). Each round-trips inside its own runtime;
a caller swapped from one to the other breaks silently — the divergence the parity probe
exists to catch. A small HTTP/1.1 server on asyncio streams, keep-alive, loopback only.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..core import GauntletError

RUST, GO = "rust", "go"
FINGERPRINT = re.compile(r"^pb_[0-9a-f]{16}$")
MAX_ENDORSED = 8
KNOWN_PLAYBOOKS = {"pb_0123456789abcdef"}
MAX_REQUEST = 1 << 20


@dataclass(frozen=True)
class Failure:
    """A validation failure, independent of how a runtime spells it on the wire."""

    kind: str  # schema | limit | reference
    fields: dict[str, Any]


def validate(payload: Any) -> Failure | None:
    """validatord's rules for the seed's six cases."""
    if not isinstance(payload, dict):
        return Failure("schema", {"field": "$", "reason": "expected a JSON object"})
    kind = payload.get("kind")
    if kind == "fill":
        ref = payload.get("playbook")
        if ref not in KNOWN_PLAYBOOKS:
            return Failure("reference", {"id": str(ref), "reason": "phantom: no such playbook"})
        return None
    if kind != "playbook":
        return Failure("schema", {"field": "kind", "reason": f"unknown kind {kind!r}"})
    fingerprint = payload.get("fingerprint")
    if fingerprint is None:
        return Failure("schema", {"field": "fingerprint",
                                  "reason": "missing — required for Phase 25 validity window"})
    if not isinstance(fingerprint, str) or not fingerprint.startswith("pb_"):
        return Failure("schema", {"field": "fingerprint", "reason": "wrong prefix — expected pb_"})
    if not FINGERPRINT.match(fingerprint):
        return Failure("schema", {"field": "fingerprint", "reason": "malformed — expected pb_ and 16 hex digits"})
    endorsed = payload.get("endorsed")
    if not isinstance(endorsed, list) or not endorsed:
        return Failure("schema", {"field": "endorsed", "reason": "empty — at least one endorser required"})
    if len(endorsed) > MAX_ENDORSED:
        return Failure("limit", {"field": "endorsed", "max": MAX_ENDORSED, "got": len(endorsed)})
    return None


def wire(failure: Failure, shape: str) -> dict[str, Any]:
    """How each runtime serialises the same failure."""
    if shape == RUST:
        return {failure.kind.capitalize(): dict(failure.fields)}
    flat: dict[str, Any] = {"Kind": failure.kind}
    flat.update({("ID" if k == "id" else k.capitalize()): v for k, v in failure.fields.items()})
    return flat


def respond(shape: str, method: str, path: str, body: bytes) -> tuple[int, dict[str, Any]]:
    if path == "/health" and method in ("GET", "HEAD"):
        return 200, {"status": "ok"}
    if path != "/v1/validate":
        return 404, {"error": f"no route {path}"}
    if method != "POST":
        return 405, {"error": "use POST"}
    try:
        payload = json.loads(body or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError):
        return 400, {"error": "body is not JSON"}
    failure = validate(payload)
    if failure is None:
        return 200, {"valid": True, "kind": payload.get("kind"),
                     "fingerprint": payload.get("fingerprint") or payload.get("playbook")}
    return 422, wire(failure, shape)


Handler = Callable[[str, str, dict[str, str], bytes], Awaitable[tuple[int, dict[str, str], bytes]]]


async def serve_http(handler: Handler, host: str = "127.0.0.1", port: int = 0) -> asyncio.Server:
    """A minimal keep-alive HTTP/1.1 server; enough for loopback services and test peers."""

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                request_line, *header_lines = head.decode("latin-1").split("\r\n")
                method, target, _ = request_line.split(" ", 2)
                headers = {}
                for line in header_lines:
                    if ":" in line:
                        k, v = line.split(":", 1)
                        headers[k.strip().lower()] = v.strip()
                length = int(headers.get("content-length", "0"))
                if length > MAX_REQUEST:
                    break
                body = await reader.readexactly(length) if length else b""
                status, out_headers, payload = await handler(method, target.split("?", 1)[0], headers, body)
                lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}",
                         f"Content-Length: {len(payload)}"]
                lines += [f"{k}: {v}" for k, v in out_headers.items()]
                writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (b"" if method == "HEAD" else payload))
                await writer.drain()
                if headers.get("connection", "").lower() == "close":
                    break
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, ValueError):
            pass
        finally:
            writer.close()

    return await asyncio.start_server(connection, host, port)


_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
            422: "Unprocessable Entity", 500: "Internal Server Error"}


def twin_handler(shape: str, latency: float = 0.0) -> Handler:
    async def handle(method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
        if latency:
            await asyncio.sleep(latency)  # models the service's own I/O (a store lookup)
        status, payload = respond(shape, method, path, body)
        data = json.dumps(payload, separators=(",", ":") if shape == GO else (", ", ": "),
                          ensure_ascii=False).encode()
        return status, {"Content-Type": "application/json", "X-Runtime": shape}, data

    return handle


async def start_twins(ports: Mapping[str, int], host: str = "127.0.0.1",
                      latency: Mapping[str, float] | None = None) -> dict[str, asyncio.Server]:
    """Each wire shape named in `ports` on its port, answering after its `latency` (seconds;
    none when not named); port 0 picks a free one (read it off the server). A port that cannot
    be had stops the ones already serving and raises GauntletError."""
    servers: dict[str, asyncio.Server] = {}
    try:
        for shape, port in ports.items():
            servers[shape] = await serve_http(twin_handler(shape, (latency or {}).get(shape, 0.0)), host, port)
    except OSError as exc:
        for server in servers.values():
            server.close()
        raise GauntletError(f"cannot serve the twins: {exc.strerror or exc}") from None
    return servers


def parse_latency(values: Sequence[str], shapes: Sequence[str] = (RUST, GO)) -> dict[str, float]:
    """`--latency-ms` values in seconds per wire shape: `10` for every twin, or `rust=10,go=15`
    (repeatable); a later value wins. Raises ValueError saying what is wrong."""
    out: dict[str, float] = {}
    for value in values:
        for part in filter(None, (p.strip() for p in value.split(","))):
            shape, _, number = part.rpartition("=")
            if shape and shape not in shapes:
                raise ValueError(f"--latency-ms {value!r}: no twin {shape!r} (twins: {', '.join(shapes)})")
            try:
                milliseconds = float(number)
            except ValueError:
                raise ValueError(f"--latency-ms {value!r}: {number!r} is not a number of milliseconds") from None
            if not 0 <= milliseconds <= 60_000:
                raise ValueError(f"--latency-ms {value!r}: must be between 0 and 60000 ms")
            out.update({s: milliseconds / 1000 for s in ([shape] if shape else shapes)})
    return out


def server_url(server: asyncio.Server) -> str:
    host, port = server.sockets[0].getsockname()[:2]
    return f"http://{host}:{port}"
