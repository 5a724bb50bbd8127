"""Shared fixtures: real scripts on disk and configs written as real files (the configs
several tests share live in tests/data/).

tests/unit/ holds the tests of functions, records and files alone: no server, no child
process, no app. tests/functional/ holds those that run against real loopback servers, real
processes, the app (in a real tmux too), Chromium and nginx."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import string
import sys
import textwrap
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import psutil
import pytest
from hypothesis import settings

REPO = Path(__file__).resolve().parent.parent

# The suite is deterministic: the property tests draw the same examples on every run and
# keep no database between runs, so a red CI is a red laptop. `--hypothesis-profile=explore`
# draws fresh examples, to look for new counterexamples on purpose.
settings.register_profile("repo", derandomize=True, database=None)
settings.register_profile("explore", database=None)
settings.load_profile("repo")


@pytest.fixture(autouse=True)
def _own_config_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads or writes the developer's own settings: keys rebound there would fail
    the tests that press the default ones, and a theme a test picks would stay."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("config")))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The tests marked `slow` (tens of seconds, most of them several processes at once) run
    first: under `make test`'s workers they overlap one another at the start, rather than
    leave one worker alone with the last of them, or crowd the cores while a test that times
    something runs."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


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


PARITY_TOML = string.Template((REPO / "tests" / "data" / "parity.toml").read_text())


@pytest.fixture
def parity_config(write_config: Callable[[str], Path]) -> Callable[..., Path]:
    """A gauntlet.toml in tmp_path probing `reference_url` against `candidate_url`
    (tests/data/parity.toml): `parity` holds more keys of [parity], `after` the sections and
    cases that follow the targets; `names` are the reference's and the candidate's."""

    def make(reference_url: str, candidate_url: str, *, parity: str = "", after: str = "",
             names: tuple[str, str] = ("rust", "go")) -> Path:
        return write_config(PARITY_TOML.substitute(
            reference=names[0], candidate=names[1], reference_url=reference_url, candidate_url=candidate_url,
            parity=textwrap.dedent(parity).strip(), after=textwrap.dedent(after).strip()))

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
        from probes.parity._twins import serve_http, server_url

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


def free_ports(count: int) -> list[int]:
    """Distinct ports nothing listens on: each is held until all are found, then released."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]


def free_port() -> int:
    """A port nothing listens on (bound and released): connecting to it is refused."""
    return free_ports(1)[0]


# What sample_configs/demo.toml serves on: the Rust twin, the Go twin, the persistent validatord.
DEMO_PORTS = (3100, 4110, 3221)


def rewrite_ports(config: Path, ports: Mapping[int, int]) -> None:
    """Put the test's ports in place of the demo's in a demo.toml (its smokes read them there).

    A demo running beside the suite holds the demo's own ports, so tests never use them."""
    text = config.read_text()
    number = re.compile(r"\b(" + "|".join(map(str, ports)) + r")\b")
    assert {int(n) for n in number.findall(text)} == set(ports), f"{config} no longer serves on {list(ports)}"
    config.write_text(number.sub(lambda m: str(ports[int(m.group())]), text))


def demo_copy(target: Path, ports: Mapping[int, int]) -> Path:
    """The demo's part of sample_configs copied to `target`, the demo on `ports`; its demo.toml."""
    source = REPO / "sample_configs"
    for folder in ("demo", "parity"):
        shutil.copytree(source / folder, target / folder, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(source / "demo.toml", target / "demo.toml")
    rewrite_ports(target / "demo.toml", ports)
    return target / "demo.toml"


@pytest.fixture
def demo_ports() -> Iterator[dict[int, int]]:
    """Free ports for the demo's services (the demo's port -> the test's); none still served after."""
    from probes.stack._stack import port_taken

    ports = dict(zip(DEMO_PORTS, free_ports(len(DEMO_PORTS)), strict=True))
    yield ports
    assert not [p for p in ports.values() if port_taken(p)], "the demo left a service running"


def only_run(out_dir: Path) -> Path:
    """The one run directory under an out dir (history.sqlite lives beside it)."""
    runs = [p for p in out_dir.iterdir() if p.is_dir()]
    assert len(runs) == 1, runs
    return runs[0]


def run_engine(config, on_event=None, **engine_kw):
    """Run a loaded config's phases to the end: (the outcome, every event in the order delivered).
    `on_event(event)` sees each event as it is delivered, to act while the run goes on."""
    import asyncio

    from probes.engine import Engine, select_phases
    from probes.core.events import EventBus

    bus = EventBus()
    seen: list = []
    bus.subscribe(lambda t, e: seen.append(e))
    if on_event is not None:
        bus.subscribe(lambda t, e: on_event(e))
    return asyncio.run(Engine(config, select_phases(config), bus=bus, **engine_kw).run()), seen


GATEWAY_KEY = "sk-test-7f3a9c1d-never-store-me"  # must never reach an artifact


@pytest.fixture
def gateway_key(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("TEST_GATEWAY_KEY", GATEWAY_KEY)
    return GATEWAY_KEY


@pytest.fixture
def gateway(servers):
    """The loopback OpenAI-protocol gateway (tests/fixtures/openai_server.py)."""
    from .fixtures.openai_server import FakeGateway

    fake = FakeGateway()
    fake.url = servers.serve(fake.handle) + "/v1"
    return fake


@contextlib.contextmanager
def twins_process():
    """`gauntlet twins` in its own process on free ports: (the process, {"rust": url, "go": url});
    stopped on leaving (a test may kill it first)."""
    import re
    import subprocess

    proc = subprocess.Popen([sys.executable, "-m", "tui.cli", "twins", "--rust-port", "0", "--go-port", "0"],
                            cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        urls = dict(re.findall(r"(rust|go) (http://\S+)", line))
        assert set(urls) == {"rust", "go"}, line
        yield proc, urls
    finally:
        proc.terminate()
        proc.wait(10)
        proc.stdout.close()


@pytest.fixture
def twins():
    """`gauntlet twins` in its own process on free ports: {"rust": url, "go": url}."""
    with twins_process() as (_, urls):
        yield urls


def processes_with(marks: tuple[str, ...]) -> list[psutil.Process]:
    """Live processes whose command line carries one of the marks (a zombie has none)."""
    found = []
    for p in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(p.info["cmdline"] or ())
        if any(mark in cmdline for mark in marks):
            found.append(p)
    return found


def kill_all(marks: tuple[str, ...]) -> None:
    """So a failing test leaves nothing behind."""
    for p in processes_with(marks):
        with contextlib.suppress(psutil.NoSuchProcess):
            p.kill()


def wait_until(condition, timeout: float, what: str) -> None:
    """Poll `condition` until it holds; fail naming `what` when `timeout` seconds pass."""
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout}s")
        time.sleep(0.02)


class Stopwatch:
    """Seconds since it started, less those this thread spent waiting for a CPU: how long the
    work took itself, which a test bounding it means, on a machine whose cores are also busy
    with other work (the suite's other worker, other people's). Linux counts a thread's wait
    on the run queue in /proc/thread-self/schedstat; where it does not, the wall clock alone."""

    def __init__(self) -> None:
        self.started, self.waited = time.monotonic(), self._waited()

    @staticmethod
    def _waited() -> float:
        try:
            with open("/proc/thread-self/schedstat") as fh:
                return int(fh.read().split()[1]) / 1e9
        except (OSError, IndexError, ValueError):
            return 0.0

    def seconds(self) -> float:
        return time.monotonic() - self.started - (self._waited() - self.waited)


async def until(condition, pilot, timeout: float, what: str) -> None:
    """`wait_until` for a test on the event loop: the loop (and the app, given its `pilot`)
    runs while the test waits."""
    import asyncio
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout}s")
        await (pilot.pause(0.02) if pilot is not None else asyncio.sleep(0.02))
