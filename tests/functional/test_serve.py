"""`gauntlet serve`: the app in a browser. A real server on port 0, real requests and
websockets, one app process per tab; Chromium (Debian's, driven by Playwright) for what a
person meets; signals that end the server, its run and every tab's app."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Self
from urllib.parse import urlsplit

import aiohttp
import psutil
import pytest

from tui.cli import main

from ..conftest import pid_alive, until, wait_until
from .test_tmux import GAUNTLET
from .test_watch import slow_config, smoke_pids  # noqa: F401 - fixtures: a run whose smoke sleeps for minutes
from ..tui_helpers import demo_run_copy

CHROMIUM = "/usr/bin/chromium"  # Debian's (.ci/run installs it); Playwright downloads no browser
ENDS_WITHIN = 5.0  # seconds from a signal to no process left, on a busy machine
TOKEN = "s3cret-t0ken"
ANNOUNCED = re.compile(r"gauntlet serve: http://\S+?:(\d+)/(?:\?token=(\S+))? ")


class Served:
    """A `gauntlet serve TARGET --port 0 OPTIONS` process; `ready()` once it says where it
    listens. On leaving, whatever of it still runs is killed."""

    def __init__(self, target: Path, *options: str, log: Path, env: dict[str, str] | None = None) -> None:
        self.log = log
        with open(log, "wb") as out:
            self.proc = subprocess.Popen([GAUNTLET, "serve", str(target), "--port", "0", *options], stdout=out,
                                         stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
        self.port = 0
        self.token: str | None = None
        self._started: list[psutil.Process] = []

    def __enter__(self) -> Self:
        return self

    def ready(self) -> Served:
        wait_until(lambda: ANNOUNCED.search(self.output()) or self.proc.poll() is not None, 30, "the server's URL")
        found = ANNOUNCED.search(self.output())
        assert found, f"the server ended: {self.output()}"
        self.port, self.token = int(found.group(1)), found.group(2)
        return self

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log.read_text()

    def tree(self) -> list[psutil.Process]:
        """The server and every process it started (its tabs' apps, its run's smokes)."""
        server = psutil.Process(self.proc.pid)
        self._started = [server, *server.children(recursive=True)]
        return self._started

    def __exit__(self, *_: object) -> None:
        left = self.tree() if self.proc.poll() is None else self._started
        for p in left:
            with contextlib.suppress(psutil.NoSuchProcess):
                p.kill()
        self.proc.wait(10)


def status(url: str, **headers: str) -> int:
    """The status of a plain GET (a websocket handshake too, given its headers)."""
    split = urlsplit(url)
    with socket.create_connection((split.hostname, split.port), timeout=10) as sock:
        head = "".join(f"{k}: {v}\r\n" for k, v in {"Host": split.netloc, "Connection": "close", **headers}.items())
        target = split.path + (f"?{split.query}" if split.query else "")
        sock.sendall(f"GET {target} HTTP/1.1\r\n{head}\r\n".encode())
        return int(sock.recv(64).split()[1])


UPGRADE = {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
           "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}


def viewers(served: Served) -> list[psutil.Process]:
    """The tabs' apps the server runs: `gauntlet watch` processes under it."""
    return [p for p in served.tree()[1:] if "watch" in p.cmdline()]


async def open_tab(session: aiohttp.ClientSession, served: Served, **headers: str) -> aiohttp.ClientWebSocketResponse:
    """A websocket as a browser tab opens it, once its app has drawn its first frame."""
    tab = await session.ws_connect(f"{served.base}/ws?width=120&height=40", headers=headers)
    async with asyncio.timeout(30):  # receive(timeout=) starts again at each of the server's pings
        message = await tab.receive()
    assert message.type == aiohttp.WSMsgType.BINARY, message
    return tab


async def session_ended(tab: aiohttp.ClientWebSocketResponse) -> bool:
    """The server closed the tab's websocket (its page then says "Session ended")."""
    async with asyncio.timeout(5):
        while (message := await tab.receive()).type == aiohttp.WSMsgType.BINARY:
            pass  # the app's last frames
    return message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)


# ---- who may ask -------------------------------------------------------------------------------

async def test_beyond_loopback_every_request_needs_the_token_printed_once(tmp_path):
    with Served(demo_run_copy(tmp_path), "--host", "0.0.0.0", log=tmp_path / "serve.log") as served:
        served.ready()
        assert served.token and served.output().count(served.token) == 1
        for path in ("/", "/ws", "/download/k", "/static/js/textual.js"):
            headers = UPGRADE if path == "/ws" else {}
            assert status(served.base + path, **headers) == 401, path
            assert status(f"{served.base}{path}?token=wrong", **headers) == 403, path
            assert status(served.base + path, Cookie=f"gauntlet_serve_{served.port}=wrong", **headers) == 403, path
        assert status(f"{served.base}/download/k?token={served.token}") == 404  # past the guard: no such download
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:  # cookies of an IP
            async with session.get(f"{served.base}/?token={served.token}") as page:
                assert page.status == 200 and 'class="textual-terminal"' in await page.text()
            tab = await open_tab(session, served)  # the cookie the page set carries the token
            assert len(viewers(served)) == 1
            await tab.close()


async def test_on_loopback_it_answers_loopback_names_and_its_own_pages_only(tmp_path):
    with Served(demo_run_copy(tmp_path), log=tmp_path / "serve.log") as served:
        served.ready()
        assert served.token is None and "token" not in served.output()
        assert status(served.base + "/") == 200
        assert status(served.base + "/", Host=f"localhost:{served.port}") == 200
        assert status(served.base + "/", Host=f"rebound.example:{served.port}") == 403  # DNS rebinding
        assert status(served.base + "/ws", Origin="http://elsewhere.example", **UPGRADE) == 403
        async with aiohttp.ClientSession() as session:
            tab = await open_tab(session, served, Origin=served.base)
            (app,) = viewers(served)
            await tab.close()  # the tab closed: its app ends
            await until(lambda: not pid_alive(app.pid), None, ENDS_WITHIN, "the closed tab's app ended")


# ---- ending -------------------------------------------------------------------------------------

async def test_each_signal_ends_the_server_its_run_and_every_tab_leaving_no_process(
        slow_config, smoke_pids, tmp_path):  # noqa: F811 - the fixtures imported above
    names = ("SIGINT", "SIGTERM", "SIGHUP")
    with contextlib.ExitStack() as stack:
        servers = {name: stack.enter_context(Served(slow_config, "--out", str(tmp_path / f"out-{name}"),
                                                     log=tmp_path / f"{name}.log",
                                                     env={"SMOKE_PIDFILE": str(smoke_pids / name)}))
                   for name in names}
        for served in servers.values():
            served.ready()
        async with aiohttp.ClientSession() as session:
            tabs = await asyncio.gather(*(open_tab(session, served) for served in servers.values()))
            await until(lambda: all((smoke_pids / name).exists() for name in names), None, 30, "every run's smoke")
            trees = {name: served.tree() for name, served in servers.items()}
            for name, served in servers.items():
                smoke = int((smoke_pids / name).read_text())
                assert {smoke} < {p.pid for p in trees[name]} and viewers(served), name
                os.kill(served.proc.pid, getattr(signal, name))
            deadline = time.monotonic() + ENDS_WITHIN
            while any(pid_alive(p.pid) for tree in trees.values() for p in tree) and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            for tab in tabs:
                assert await session_ended(tab)
        for name, served in servers.items():
            assert not [p.cmdline() for p in trees[name] if pid_alive(p.pid)], f"{name} left processes"
            assert served.proc.wait(5) == 130, served.output()  # as the run exits: interrupted
            (run_dir,) = [p for p in (tmp_path / f"out-{name}").iterdir() if p.is_dir()]
            verdict = json.loads((run_dir / "verdict.json").read_text())
            assert verdict["complete"] is False and verdict["interrupted"] is True, name
            assert "Traceback" not in served.output()


# ---- bad input ----------------------------------------------------------------------------------

def serve(capsys, *args: str) -> tuple[int, str]:
    code = main(["serve", *args])
    return code, capsys.readouterr().err


def test_bad_input_is_said_without_a_traceback(tmp_path, capsys):
    run = demo_run_copy(tmp_path)
    code, said = serve(capsys, str(tmp_path / "missing.toml"))
    assert code == 2 and "missing.toml" in said
    code, said = serve(capsys, str(tmp_path))
    assert code == 2 and "not a run directory" in said
    with socket.create_server(("127.0.0.1", 0)) as taken:
        code, said = serve(capsys, str(run), "--port", str(taken.getsockname()[1]))
    assert code == 2 and "in use" in said and "--port 0" in said
    code, said = serve(capsys, str(run), "--host", "192.0.2.1", "--port", "0")  # TEST-NET: not this machine's
    assert code == 2 and "cannot listen on 192.0.2.1:0" in said
    code, said = serve(capsys, str(run), "--token", " ")
    assert code == 2 and "--token" in said
    with pytest.raises(SystemExit) as usage:
        main(["serve", str(run), "--port", "70000"])
    assert usage.value.code == 2 and "70000" in capsys.readouterr().err
    assert not list(tmp_path.glob("*/events.jsonl"))[1:]  # nothing started a run


# ---- in a browser -------------------------------------------------------------------------------

# textual.js keeps its xterm.js terminal to itself; the screen a person sees is that
# terminal's buffer. This catches the terminal as the page stores it (`this.terminal = …`).
CATCH_TERMINAL = """
Object.defineProperty(Object.prototype, "terminal", {configurable: true, set(value) {
  Object.defineProperty(this, "terminal", {value, writable: true, configurable: true, enumerable: true});
  if (value && value.buffer && !window.gauntletTerminal) window.gauntletTerminal = value;
}});
"""
SCREEN = """() => {
  const t = window.gauntletTerminal, lines = [];
  for (let y = 0; t && y < t.rows; y++) lines.push(t.buffer.active.getLine(y).translateToString(true));
  return lines.join("\\n");
}"""

TERMINAL_LEFT = "document.querySelector('#terminal').getBoundingClientRect().left"


def wait_for_screen(page, *texts: str, absent: str = "") -> str:
    screen = ""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        screen = page.evaluate(SCREEN)
        if all(t in screen for t in texts) and not (absent and absent in screen):
            return screen
        page.wait_for_timeout(50)
    pytest.fail(f"{texts} (without {absent!r}) never on the page's screen:\n{screen}")


def test_in_chromium_the_four_panes_appear_keys_reach_the_app_and_a_wrong_token_is_refused(tmp_path):
    from playwright.sync_api import sync_playwright

    with (Served(demo_run_copy(tmp_path), "--token", TOKEN, log=tmp_path / "serve.log") as served,
          sync_playwright() as playwright):
        served.ready()
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 900})  # a laptop: all four panes
            asked: list[str] = []
            refused: list[str] = []
            page.on("request", lambda request: asked.append(request.url))
            page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
            wrong = page.goto(f"{served.base}/?token=wrong")
            assert wrong is not None and wrong.status == 403 and "wrong token" in page.inner_text("body")
            page.add_init_script(CATCH_TERMINAL)
            page.goto(f"{served.base}/?token={TOKEN}&fontsize=12")
            wait_for_screen(page, "Smokes", "Scrum", "Parity", "Verdict", "SHIP_WITH_KNOWN_GAP",
                            "21/21 PASS", "6/6 status codes match")
            page.screenshot(path=tmp_path / "laptop.png")
            page.set_viewport_size({"width": 800, "height": 900})  # narrower: one pane at a time
            wait_for_screen(page, "Substrate 9/9", absent="by class · 6 cases")
            page.focus(".xterm-helper-textarea")
            assert page.evaluate(TERMINAL_LEFT) == 0  # focused, the terminal still shows its first column
            page.keyboard.press("3")
            wait_for_screen(page, "by class · 6 cases", absent="Substrate 9/9")
            assert page.evaluate(TERMINAL_LEFT) == 0
            page.screenshot(path=tmp_path / "narrow.png")
            assert {urlsplit(url).netloc for url in asked} == {f"127.0.0.1:{served.port}"}  # nothing from outside
            assert not refused
        finally:
            browser.close()
