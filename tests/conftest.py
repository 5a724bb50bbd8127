"""Shared fixtures: real scripts on disk and configs written as real files."""

from __future__ import annotations

import os
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def script(tmp_path: Path) -> Callable[[str, str], Path]:
    """Write an executable script under tmp_path/scripts and return its path."""

    def make(name: str, body: str, *, executable: bool = True) -> Path:
        path = tmp_path / "scripts" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(body).lstrip())
        if executable:
            path.chmod(0o755)
        return path

    return make


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[[str], Path]:
    """Write a gauntlet.toml in tmp_path (run output goes to tmp_path/out)."""

    def make(body: str, name: str = "gauntlet.toml") -> Path:
        path = tmp_path / name
        text = textwrap.dedent(body)
        if "[gauntlet]" not in text:
            text = '[gauntlet]\nname = "test"\nout_dir = "out"\n' + text
        path.write_text(text)
        return path

    return make


@pytest.fixture
def python() -> str:
    return sys.executable


def pid_alive(pid: int) -> bool:
    """True while the process exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            state = fh.read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


@pytest.fixture(autouse=True)
def _no_gateway_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LH_GATEWAY", raising=False)
    monkeypatch.delenv("SCRUM_FORCE_OVERSIZE", raising=False)
    os.environ.setdefault("TZ", "UTC")


class LoopThread:
    """An asyncio loop on a thread of its own, for real servers the code under test calls."""

    def __init__(self) -> None:
        import asyncio
        import threading

        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.servers: list = []

    def run(self, coro, timeout: float = 30):
        import asyncio

        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def serve(self, handler) -> str:
        """Start a raw asyncio server (`handler(reader, writer)`) on 127.0.0.1:0; its URL."""
        import asyncio

        server = self.run(asyncio.start_server(handler, "127.0.0.1", 0))
        self.servers.append(server)
        host, port = server.sockets[0].getsockname()[:2]
        return f"http://{host}:{port}"

    def serve_http(self, handler) -> str:
        """Start probes.twins.serve_http with `handler(method, path, headers, body)`."""
        from probes.twins import serve_http, server_url

        server = self.run(serve_http(handler))
        self.servers.append(server)
        return server_url(server)

    def close(self) -> None:
        import asyncio

        async def shutdown():
            for server in self.servers:
                server.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        self.run(shutdown())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@pytest.fixture
def servers():
    loops = LoopThread()
    yield loops
    loops.close()


def free_port() -> int:
    """A port nothing listens on (bound and released): connecting to it is refused."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def only_run(out_dir: Path) -> Path:
    """The one run directory under an out dir (history.sqlite lives beside it)."""
    runs = [p for p in out_dir.iterdir() if p.is_dir()]
    assert len(runs) == 1, runs
    return runs[0]
