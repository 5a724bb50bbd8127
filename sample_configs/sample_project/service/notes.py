"""The notes service of the sample project (standard library only).

`--style compact` (the reference) and `--style pretty` (the candidate) answer the same
JSON written two ways: spacing and key order differ, the values do not.
"""

from __future__ import annotations

import argparse
import json
import re
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

TAG = re.compile(r"^[a-z]+$")


class Invalid(Exception):
    def __init__(self, status: int, field: str, reason: str) -> None:
        super().__init__(reason)
        self.status, self.field, self.reason = status, field, reason


def _positive(text: str, field: str, most: int | None = None) -> int:
    if not text.isdigit() or int(text) < 1 or (most is not None and int(text) > most):
        raise Invalid(400, field, f"expected an integer from 1{f' to {most}' if most else ''}")
    return int(text)


def _new_note(payload: Any) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise Invalid(422, "$", "expected an object")
    title = payload.get("title")
    if not isinstance(title, str) or not 1 <= len(title) <= 40:
        raise Invalid(422, "title", "required: 1 to 40 characters")
    priority = payload.get("priority")
    if not isinstance(priority, int) or isinstance(priority, bool) or not 1 <= priority <= 5:
        raise Invalid(422, "priority", "required: an integer from 1 to 5")
    tags = payload.get("tags", [])
    if not isinstance(tags, list) or len(tags) > 3:
        raise Invalid(422, "tags", "at most 3 tags")
    for tag in tags:
        if not isinstance(tag, str) or not TAG.match(tag):
            raise Invalid(422, "tags", "a tag is lowercase letters")
    note = {"title": title, "priority": priority, "tags": tags}
    note["id"] = f"{zlib.crc32(json.dumps(note, sort_keys=True).encode()):08x}"
    return note


def answer(method: str, target: str, body: bytes) -> tuple[int, Any]:
    url = urlsplit(target)
    if method == "GET" and url.path == "/health":
        return 200, {"status": "ok"}
    if url.path == "/v1/notes" and method == "GET":
        limit = _positive(parse_qs(url.query).get("limit", ["10"])[-1], "limit", 50)
        return 200, {"notes": [{"id": str(i), "title": f"note {i}"} for i in range(1, limit + 1)]}
    if url.path == "/v1/notes" and method == "POST":
        try:
            payload = json.loads(body or b"null")
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise Invalid(400, "$", "the body is not JSON") from None
        return 201, _new_note(payload)
    match = re.fullmatch(r"/v1/notes/([^/]+)", url.path)
    if match and method == "GET":
        note_id = _positive(match.group(1), "id")
        return 200, {"id": str(note_id), "title": f"note {note_id}"}
    return 404, {"error": {"field": "path", "reason": f"no route {method} {url.path}"}}


def handler_for(style: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            try:
                status, payload = answer(self.command, self.path, body)
            except Invalid as exc:
                status, payload = exc.status, {"error": {"field": exc.field, "reason": exc.reason}}
            if style == "pretty":
                data = json.dumps(payload, indent=2, ensure_ascii=False).encode()
            else:
                data = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("X-Style", style)
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
            pass

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=3410, help="0 picks a free port (printed)")
    parser.add_argument("--style", choices=("compact", "pretty"), default="compact")
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), handler_for(args.style))
    print(f"notes ({args.style}) on http://127.0.0.1:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
