"""`gauntlet serve`: the app in a browser, through textual-serve.

textual-serve's `Server` answers the page, its static files (shipped in its wheel) and one
websocket per browser tab, and starts an app process for each websocket (`AppService`, which
speaks the web driver's packets). This subclass keeps all of that and changes what a server
exposed on a network, and a run that must end cleanly, need:

- It serves a socket bound beforehand: `--port 0` works, and the URL printed is the one
  listened on. The page's own URLs (its websocket) come from the Host the browser used:
  textual-serve builds them from the configured host and port, which for `0.0.0.0` or port
  0 name nowhere a browser can go.
- A guard stands before every route. With a token, a request without it is refused (401)
  and one with another token too (403); the page's URL carries it (`?token=`) and a cookie
  for this port carries it to the websocket and the static files. Without a token the
  server is on loopback, and answers only Host names of loopback (a DNS rebinding page
  names its own). A websocket is accepted only from the page's own origin: any other site
  open in the same browser could otherwise drive the app.
- The page asks nothing from outside: the Google Fonts stylesheet textual-serve's template
  links is replaced by the font its wheel ships, and a Content-Security-Policy holds the
  page to this server. It fills the window and never scrolls.
- Each app is started from an argv (no shell) in a session of its own, so a Ctrl-C at the
  server's terminal reaches the server alone, which then ends every app in order: `quit`,
  and SIGKILL to the process group of one still running `QUIT_WITHIN` seconds later.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import logging
import os
import re
import shlex
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from contextlib import suppress
from typing import Any

from aiohttp import web
from textual_serve.app_service import AppService
from textual_serve.server import Server, to_int

from probes.core import neutralise

QUIT_WITHIN = 2.0  # seconds an app has to quit when asked before it is killed
CLOSE_WITHIN = 1.0  # seconds a tab has to answer the websocket's close
# A Host header: a name or IPv4 address, or a bracketed IPv6 one, and a port. Anything else
# would reach the page's URLs (textual-serve's template does not escape them).
HOST_HEADER = re.compile(r"[A-Za-z0-9.-]+(:\d+)?|\[[0-9A-Fa-f:.]+\](:\d+)?")
GOOGLE_FONTS = re.compile(r"<link[^>]*fonts\.googleapis\.com[^>]*>")
# The font the template asks Google for, from the wheel; and a page that never scrolls: the
# terminal's parts overflow it, and its focused input, which follows the cursor, scrolled the
# page sideways and hid the first columns (`clip` cannot be scrolled, not even by focus).
PAGE_STYLE = ('<style>@font-face { font-family: "Roboto Mono"; '
              'src: url("/static/fonts/RobotoMono-VariableFont_wght.ttf"); } '
              "html, body { margin: 0; overflow: hidden; } .textual-terminal { overflow: clip; }</style>")
# The page runs textual.js and the template's inline handlers, and talks to this server only.
CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data:; font-src 'self'; connect-src 'self'; frame-ancestors 'none'")
LOGGERS = ("aiohttp", "textual-serve", "asyncio")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # another name: it may resolve anywhere


class OneLine(logging.Handler):
    """What the web server and textual-serve log reaches the operator as one line, never a
    traceback: a browser's bad request or a lost connection is news, not a crash."""

    def emit(self, record: logging.LogRecord) -> None:
        error = record.exc_info[1] if record.exc_info else None
        cause = f" ({type(error).__name__}: {error})" if error is not None else ""
        print(neutralise(f"gauntlet serve: {record.getMessage()}{cause}"), file=sys.stderr, flush=True)


def quiet_logs() -> None:
    for name in LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers[:] = [OneLine(logging.WARNING)]
        logger.propagate = False


class Viewer(AppService):
    """One browser tab's app: textual-serve's AppService, whose process is started from an
    argv in a session of its own, closes the tab's websocket when it ends, and is killed
    with its process group when it does not quit in time."""

    def __init__(self, argv: Sequence[str], **kwargs: Any) -> None:
        super().__init__(shlex.join(argv), **kwargs)
        self.argv = tuple(argv)

    async def _open_app_process(self, width: int = 80, height: int = 24) -> asyncio.subprocess.Process:
        self._process = process = await asyncio.create_subprocess_exec(
            *self.argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, env=self._build_environment(width, height), start_new_session=True)
        assert process.stdin is not None
        self._stdin = process.stdin
        return process

    async def run(self) -> None:
        await super().run()
        await self.remote_close()  # the app is gone: the page says so ("Session ended")

    async def end(self) -> None:
        """Ask the app to quit (textual-serve's `stop`, which waits for its output to end);
        kill its process group if it has not quit within QUIT_WITHIN."""
        process = self._process
        if process is None:
            return
        stopping = asyncio.ensure_future(self.stop())
        done, _ = await asyncio.wait({stopping}, timeout=QUIT_WITHIN)
        if not done:  # the app, or a process it left holding its output
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
        await stopping
        await process.wait()


class GauntletServer(Server):
    """textual-serve's Server on a socket bound beforehand, guarded, its apps ended on close."""

    def __init__(self, app_argv: Sequence[str], *, title: str, port: int, token: str | None) -> None:
        super().__init__(shlex.join(app_argv), port=port, title=title)
        self.app_argv = tuple(app_argv)
        self.token = token
        self.cookie = f"gauntlet_serve_{port}"  # cookies ignore ports: one per server on a host
        self._closing = asyncio.Event()
        self._tabs: set[asyncio.Task[Any]] = set()

    async def _make_app(self) -> web.Application:
        app = await super()._make_app()
        app.middlewares.append(self.guard)
        return app

    async def on_startup(self, app: web.Application) -> None:
        """Nothing: the command says where it serves (textual-serve prints its logo here)."""

    @web.middleware
    async def guard(self, request: web.Request,
                    handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
        refusal = self.refusal(request)
        if refusal is not None:
            return refusal
        response = await handler(request)
        if not response.prepared:  # a websocket or a download has sent its headers already
            response.headers["Content-Security-Policy"] = CSP
            if self.token is not None and "token" in request.query:
                response.set_cookie(self.cookie, self.token, httponly=True, samesite="Strict", path="/")
        return response

    def refusal(self, request: web.Request) -> web.Response | None:
        """Why this request is refused, as the response that says so; None to serve it."""
        host = request.host
        if not HOST_HEADER.fullmatch(host):
            return web.Response(status=400, text=f"gauntlet serve: not a Host header: {host!r}\n")
        if self.token is None:
            name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
            if not is_loopback(name):
                return web.Response(status=403, text=f"gauntlet serve: this server answers on loopback only "
                                                      f"(open http://127.0.0.1:{self.port}/), not as {host}\n")
        else:
            given = (request.query.get("token") or request.cookies.get(self.cookie)
                     or request.headers.get("Authorization", "").removeprefix("Bearer "))
            if not given:
                return web.Response(status=401, headers={"WWW-Authenticate": "Bearer"},
                                    text="gauntlet serve: this server needs its token: open the URL it printed "
                                         "(it ends in ?token=…)\n")
            if not hmac.compare_digest(given.encode(), self.token.encode()):
                return web.Response(status=403, text="gauntlet serve: wrong token\n")
        origin = request.headers.get("Origin")
        if request.path == "/ws" and origin is not None and origin != f"{request.scheme}://{host}":
            return web.Response(status=403, text=f"gauntlet serve: a websocket from another site ({origin}) "
                                                  "is refused\n")
        return None

    async def handle_index(self, request: web.Request) -> web.StreamResponse:
        # The page's URLs are made from public_url inside textual-serve's handler, which
        # does not await before it has made them: set here, it is this request's own.
        self.public_url = f"{request.scheme}://{request.host}"
        response = await super().handle_index(request)
        assert isinstance(response, web.Response) and response.text is not None
        response.text = GOOGLE_FONTS.sub("", response.text).replace("</head>", PAGE_STYLE + "</head>", 1)
        return response

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        """A tab's app, from its websocket's opening until the tab or the server closes."""
        # A browser answers a close at once; a tab that does not must not hold up the server's end.
        websocket = web.WebSocketResponse(heartbeat=15, timeout=CLOSE_WITHIN)
        await websocket.prepare(request)
        viewer = Viewer(self.app_argv, write_bytes=websocket.send_bytes, write_str=websocket.send_str,
                        close=websocket.close, download_manager=self.download_manager)
        tab = asyncio.current_task()
        assert tab is not None
        self._tabs.add(tab)
        try:
            await viewer.start(to_int(request.query.get("width", "80"), 80),
                               to_int(request.query.get("height", "24"), 24))
            messages = asyncio.ensure_future(self._process_messages(websocket, viewer))
            closing = asyncio.ensure_future(self._closing.wait())
            await asyncio.wait({messages, closing}, return_when=asyncio.FIRST_COMPLETED)
            closing.cancel()
            messages.cancel()
            with suppress(asyncio.CancelledError):
                await messages  # a browser's malformed message is raised here, and logged in one line
        finally:
            await viewer.end()
            self._tabs.discard(tab)
        return websocket

    async def close(self) -> None:
        """End every tab's app at once, and wait until each has."""
        self._closing.set()
        await asyncio.gather(*self._tabs, return_exceptions=True)
