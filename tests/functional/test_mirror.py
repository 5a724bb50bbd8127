"""`gauntlet mirror`: shadow traffic judged like the parity probe, without touching the client.

Real servers on 127.0.0.1 port 0, real `gauntlet` processes, conditions polled with a bound.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from probes import ConfigError
from probes.config import load_config
from probes.mirror import cases_from_run

from ..cli import gauntlet
from ..conftest import REPO, wait_until

# Two targets the config tests name (nothing listens there: they are read, never asked).
TARGETS = '[parity]\nreference = "rust"\n[parity.targets]\nrust = "http://127.0.0.1:3100"\ngo = "http://127.0.0.1:4110"\n'


def problems_of(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    return [str(p) for p in info.value.problems]


# ---- (d) the config ---------------------------------------------------------------------------------

def test_mirror_section_defaults_are_safe(write_config):
    config = load_config(write_config(TARGETS + "[mirror]\n"), env={})
    mirror = config.mirror
    assert mirror is not None
    assert (mirror.host, mirror.port, mirror.listen) == ("127.0.0.1", 0, "127.0.0.1:0")  # loopback unless stated
    assert mirror.sample == 0.1 and mirror.queue == 1000 and str(mirror.max_dropped) == "1%"
    assert mirror.copied("GET", "/v1/x") and mirror.copied("HEAD", "/") and mirror.copied("OPTIONS", "/")
    assert not mirror.copied("POST", "/v1/validate")  # a side effect is never copied unasked
    assert config.phases_present() == ("verdict",)  # `gauntlet run` probes no live traffic


def test_a_route_opts_a_method_in_or_a_path_out(write_config):
    mirror = load_config(write_config(TARGETS + """
        [mirror]
        listen = "[::1]:8080"
        sample = "100%"
        max_dropped = 10
        roll_every = "1h"
        roll_mb = 64
        [[mirror.route]]
        method = "post"
        path = "/v1/validate"
        mirror = true
        [[mirror.route]]
        method = "*"
        path = "/admin/*"
        mirror = false
    """), env={}).mirror
    assert mirror is not None
    assert (mirror.host, mirror.port, mirror.listen) == ("::1", 8080, "[::1]:8080")
    assert mirror.sample == 1.0 and str(mirror.max_dropped) == "10" and mirror.roll_every == 3600 and mirror.roll_mb == 64
    assert mirror.copied("POST", "/v1/validate") and not mirror.copied("POST", "/v1/other")
    assert not mirror.copied("GET", "/admin/users/1")
    assert mirror.max_dropped.exceeded(11, 1000) and not mirror.max_dropped.exceeded(10, 1000)


def test_every_mirror_problem_is_named_by_its_key_path(write_config):
    path = write_config("""
        [parity]
        reference = "rust"
        [parity.targets]
        rust = "http://127.0.0.1:3100"
        [mirror]
        listen = "localhost"
        secondary = "ftp://127.0.0.1:3101"
        sample = 2
        queue = 0
        max_dropped = "lots"
        roll_every = 60
        colour = "blue"
        [[mirror.route]]
        method = "FETCH"
        path = "v1/validate"
    """)
    problems = problems_of(path)
    for expected in ("parity.targets: the mirror needs the reference and at least one candidate",
                     "mirror.listen: expected HOST:PORT", "mirror.secondary: expected the http(s) URL",
                     "mirror.sample: expected a share", "mirror.queue: must be between 1 and 100000",
                     "mirror.max_dropped: expected a share", "mirror.roll_every: expected a duration",
                     "mirror.colour: unknown key", "mirror.route[0].method: expected one of",
                     "mirror.route[0].path: a path starts with '/'", "mirror.route[0].mirror: is required"):
        assert any(p.startswith(expected) for p in problems), (expected, problems)
    # `gauntlet check` says the same, every problem with its key path, and exits 2
    check = gauntlet("check", str(path))
    assert check.returncode == 2
    assert "mirror.route[0].mirror: is required" in check.stderr and "mirror.queue" in check.stderr
    assert "Traceback" not in check.stderr


# ---- live: real servers, real `gauntlet` processes ------------------------------------------------

SEED_CASES = REPO / "sample_configs" / "parity" / "validator_cases.toml"
DEMO_GAPS = REPO / "sample_configs" / "demo" / "known_gaps.toml"
SECRET = "Bearer sk-live-7f3a9c1d-never-record-me"
COOKIE = "session=c00k1e-never-record-me"


def mirror_config(parity_config, reference: str, candidate: str, extra: str = "") -> Path:
    """The demo's parity targets and known gap, every POST /v1/validate copied."""
    return parity_config(reference, candidate, parity="""
        compare_headers = ["content-type"]
        timeout = "2s"
        """, after=f"""
        [verdict]
        known_gaps = "{DEMO_GAPS}"
        [mirror]
        sample = 1
        {extra}
        [[mirror.route]]
        method = "POST"
        path = "/v1/validate"
        mirror = true
        """)


class MirrorProcess:
    """`gauntlet mirror` in its own process, its output in a file: where it listens, its run directories."""

    def __init__(self, config: Path, *args: str) -> None:
        self.log = config.parent / f"mirror-{len(list(config.parent.glob('mirror-*.log')))}.log"
        self.out_dir = config.parent / "out"
        self.step_summary = self.log.with_suffix(".summary.md")  # as on GitHub Actions
        with open(self.log, "w") as fh:
            self.proc = subprocess.Popen([sys.executable, "-m", "tui.cli", "mirror", str(config), "--headless", *args],
                                         cwd=REPO, stdout=fh, stderr=subprocess.STDOUT, text=True,
                                         env={**os.environ, "GITHUB_STEP_SUMMARY": str(self.step_summary)})
        wait_until(lambda: "listening on http://" in self.output() or self.proc.poll() is not None, 30,
                   "the mirror says where it listens")
        found = re.search(r"listening on (http://\S+)", self.output())
        assert found, self.output()
        self.url = found.group(1)

    def output(self) -> str:
        return self.log.read_text()

    def run_dirs(self) -> list[Path]:
        return sorted(p for p in self.out_dir.iterdir() if p.is_dir()) if self.out_dir.is_dir() else []

    def counts(self) -> dict[str, int]:
        """The last MirrorCounted of the last run directory (all zero before any)."""
        runs = self.run_dirs()
        lines = (runs[-1] / "events.jsonl").read_text().splitlines() if runs else []
        found = [json.loads(line) for line in lines if '"type":"MirrorCounted"' in line]
        return found[-1] if found else {"received": 0, "copied": 0, "dropped": 0, "judged": 0}

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        self.proc.send_signal(sig)
        return self.proc.wait(timeout)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


@contextlib.contextmanager
def mirror_process(config: Path, *args: str) -> Iterator[MirrorProcess]:
    mirror = MirrorProcess(config, *args)
    try:
        yield mirror
    finally:
        mirror.kill()


def seed_requests() -> list[dict[str, Any]]:
    return tomllib.loads(SEED_CASES.read_text())["case"]


def test_the_demo_twins_behind_the_mirror(parity_config, twins, write_config):
    """A client sending the six seed requests through the mirror gets the reference's answers
    byte for byte; the run reads `6/6 status codes match · 5/6 body shapes diverge`, covered by
    the demo's one known gap; `gauntlet verdict` judges it while it runs; a SIGTERM ends it with
    its verdict written (exit 0) and its port closed; no credential reaches any file of the run."""
    config = mirror_config(parity_config, twins["rust"], twins["go"])
    with mirror_process(config) as mirror, httpx.Client(timeout=10) as client:
        for case in seed_requests():
            through = client.post(mirror.url + case["path"], json=case["json"],
                                  headers={"Authorization": SECRET, "Cookie": COOKIE})
            direct = client.post(twins["rust"] + case["path"], json=case["json"],
                                 headers={"Authorization": SECRET, "Cookie": COOKIE})
            assert through.status_code == direct.status_code == case["expect_status"]
            assert through.headers.multi_items() == direct.headers.multi_items()
            assert through.content == direct.content
        wait_until(lambda: mirror.counts()["judged"] == 6, 20, "the six copies judged")
        run = mirror.run_dirs()[0]
        live = gauntlet("verdict", str(run))
        assert live.returncode == 0, live.stdout + live.stderr
        assert "SHIP_WITH_KNOWN_GAP" in live.stdout and "still going" in live.stdout
        assert not (run / "verdict.json").exists()  # the mirror's own writer has the last word
        assert mirror.stop() == 0, mirror.output()  # the client's kept-alive connection still open
    assert "Traceback" not in mirror.output()
    verdict = json.loads((run / "verdict.json").read_text())
    assert verdict["verdict"] == "SHIP_WITH_KNOWN_GAP" and verdict["complete"], verdict
    parity = verdict["phases"]["parity"]
    assert parity["headline"] == "6/6 status codes match · 5/6 body shapes diverge"
    assert parity["mirror"]["judged"] == 6 and parity["mirror"]["dropped"] == 0
    assert "validator-wire-format" in "".join(verdict["reasons"])
    assert "**SHIP_WITH_KNOWN_GAP**" in mirror.step_summary.read_text()  # a CI job's summary says it too
    with pytest.raises(httpx.ConnectError):
        httpx.get(mirror.url + "/health", timeout=2)
    # from traffic back to cases: every divergent request, replayable by a config; one per way by default
    cases_file = run.parent.parent / "shadow.jsonl"
    made = gauntlet("cases", "from-run", str(run), "--divergent", "--out", str(cases_file))
    assert made.returncode == 0 and "6 recorded request(s) → 5 cases" in made.stdout, made.stdout + made.stderr
    replay = load_config(write_config(f'[parity]\nreference = "rust"\ncases_file = "{cases_file}"\n'
                                      f'[parity.targets]\nrust = "{twins["rust"]}"\ngo = "{twins["go"]}"\n',
                                      name="replay.toml"), env={})
    assert [c.json for c in replay.parity.iter_cases()] == [c["json"] for c in seed_requests()[1:]]
    assert len(cases_from_run(run).cases) == 4  # the match, and one of each of the three classes
    assert b"never-record-me" not in cases_file.read_bytes()
    # (e) the Authorization header and the cookie reach no file of the run, compressed or not
    for path in run.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            data = gzip.decompress(data) if path.suffix == ".gz" else data
            for secret in (b"sk-live-7f3a9c1d", b"c00k1e-never"):
                assert secret not in data, (path, secret)


def test_the_mirror_in_the_app_on_a_real_terminal(twins, parity_config, tmp_path):
    """On a terminal the mirror opens the app on its parity pane: the six seed requests land
    there as they come, with the run's headline and the mirror's counts; q asks first, then
    the mirror stops, the run's verdict is written and printed once the app is gone."""
    from .test_tmux import GAUNTLET, Tmux

    config = mirror_config(parity_config, twins["rust"], twins["go"])
    out = tmp_path / "out"
    terminal = Tmux(f"gauntlet-mirror-{os.getpid()}-{tmp_path.name}", "tmux-256color")
    try:
        command = f"{GAUNTLET} mirror {config} --out {out}; echo EXIT $?; sleep 600"
        terminal.start("m", (200, 50), f"sh -c {shlex.quote(command)}", tmp_path)
        screen = terminal.wait_for("m", "0 judged · 0 dropped")
        found = re.search(r"mirror on (127\.0\.0\.1:\d+)", screen)
        assert found, screen
        with httpx.Client(timeout=10) as client:
            for case in seed_requests():
                assert client.post(f"http://{found.group(1)}{case['path']}", json=case["json"]).status_code == \
                    case["expect_status"]
        screen = terminal.wait_for("m", "6 requests · 6 copied · 6 judged · 0 dropped")
        assert "6/6 status codes match · 5/6 body shapes diverge" in screen and "SHIP_WITH_KNOWN_GAP so far" in screen
        assert "r6-post_v1_validate" in screen and "(known gap)" in screen
        terminal("send-keys", "-t", "m", "q")
        terminal.wait_for("m", "Stop the mirror?")
        terminal("send-keys", "-t", "m", "y")
        screen = terminal.wait_for("m", "EXIT 0")
    finally:
        terminal.kill()
    (run,) = [p for p in out.iterdir() if p.is_dir()]
    assert f"{run}: SHIP_WITH_KNOWN_GAP" in screen
    verdict = json.loads((run / "verdict.json").read_text())
    assert verdict["phases"]["parity"]["headline"] == "6/6 status codes match · 5/6 body shapes diverge"


def test_a_gaps_file_broken_between_two_runs_ends_the_app_with_its_message(servers, parity_config, tmp_path):
    """The record rolls over and the next run cannot begin (its known-gaps file was broken
    meanwhile): the app ends, the mirror with it (its judging process too), and the problem
    is said with its key path, exit 2, never a traceback."""
    from probes.parity._twins import twin_handler

    from .test_tmux import GAUNTLET, Tmux

    gaps = tmp_path / "gaps.toml"
    gaps.write_text(DEMO_GAPS.read_text())
    config = mirror_config(parity_config, servers.serve_http(twin_handler("rust")),
                           servers.serve_http(twin_handler("go")), extra='roll_every = "1s"')
    config.write_text(config.read_text().replace(str(DEMO_GAPS), str(gaps)))
    terminal = Tmux(f"gauntlet-mirror-gaps-{os.getpid()}-{tmp_path.name}", "tmux-256color")
    try:
        command = f"{GAUNTLET} mirror {config} --out {tmp_path / 'out'}; echo EXIT $?; sleep 600"
        terminal.start("m", (160, 40), f"sh -c {shlex.quote(command)}", tmp_path)
        terminal.wait_for("m", "0 judged · 0 dropped")
        gaps.write_text("[[gap]\nid = ")
        screen = terminal.wait_for("m", "EXIT 2", timeout=30)
        pid = int(terminal("display-message", "-p", "-t", "m", "#{pane_pid}"))
        assert not [p for p in psutil.Process(pid).children(recursive=True) if "probes.mirror._worker" in
                    " ".join(p.cmdline())]
    finally:
        terminal.kill()
    assert str(gaps) in screen and "Traceback" not in screen, screen


def test_a_second_run_in_one_model_begins_it_again_with_its_own_gaps():
    """A mirror's record rolls over: the app's model forgets the run before at the next
    RunStarted and tells the panes their folds are stale. The known gaps are kept, unless the
    next run's engine loaded others (the gaps file changed meanwhile): those are its gaps from
    its RunStarted on, and the run before keeps its own until then."""
    from probes.core.events import ParityCaseFinished, ParityPlanned, RunStarted
    from probes.verdict import load_gaps
    from tui.model import RunModel

    model = RunModel()
    model.tracker.gaps = gaps = load_gaps(DEMO_GAPS)
    for run in ("one", "two"):
        before = (model.version, model.parity_generation)
        model.apply(0.0, RunStarted(run, "m", "g.toml", f"out/{run}", ("parity", "verdict"), "2026-12-06T21:00:00Z"))
        assert model.run is not None and model.run.run_id == run
        assert not model.tracker.parity.results and model.tracker.gaps is gaps
        assert model.version > before[0] and (run == "one" or model.parity_generation > before[1])
        model.apply(1.0, ParityPlanned((), ("rust", "go"), "rust", 8))
        model.apply(1.0, ParityCaseFinished(f"r1-{run}", "rust", {"rust": 200, "go": 200}, index=1))
        assert list(model.tracker.parity.results) == [f"r1-{run}"]
    model.next_gaps = []  # the third run's engine found the gaps file emptied
    model.apply(2.0, ParityCaseFinished("r2-two", "rust", {"rust": 200, "go": 200}, index=2))
    assert model.tracker.gaps is gaps  # the second run's last results: judged with its own gaps
    model.apply(3.0, RunStarted("three", "m", "g.toml", "out/three", ("parity", "verdict"), "2026-12-06T21:00:02Z"))
    assert model.tracker.gaps == [] and model.next_gaps is None


def go_twin() -> tuple[subprocess.Popen[str], str]:
    """The Go twin alone in its own process (to be killed): the process and its URL."""
    proc = subprocess.Popen([sys.executable, "-m", "tui.cli", "twins", "--only", "go", "--go-port", "0"], cwd=REPO,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    found = re.search(r"go (http://\S+)", proc.stdout.readline())
    assert found, "the Go twin did not say where it serves"
    return proc, found.group(1)


def test_a_candidate_killed_mid_run_costs_the_clients_nothing(servers, parity_config):
    """The clients' answers stay the reference's, byte for byte, before and after the
    candidate dies; its copies then fail and are counted as such; a case a way of answering
    has past its three examples is counted, not listed. SIGINT ends it: verdict written, BLOCK."""
    from probes.parity._twins import twin_handler

    reference = servers.serve_http(twin_handler("rust"))
    candidate, candidate_url = go_twin()
    config = mirror_config(parity_config, reference, candidate_url)
    happy = seed_requests()[0]
    try:
        with mirror_process(config) as mirror, httpx.Client(timeout=10) as client:
            expected = client.post(reference + happy["path"], json=happy["json"])
            for phase in ("alive", "killed"):
                for _ in range(8):
                    through = client.post(mirror.url + happy["path"], json=happy["json"])
                    assert (through.status_code, through.content) == (expected.status_code, expected.content), phase
                    assert through.headers.multi_items() == expected.headers.multi_items()
                wait_until(lambda: mirror.counts()["judged"] == (8 if phase == "alive" else 16), 20,
                           f"the copies judged ({phase})")
                if phase == "alive":
                    candidate.kill()
                    candidate.wait(10)
            assert mirror.stop(signal.SIGINT) == 1, mirror.output()
            run = mirror.run_dirs()[0]
    finally:
        candidate.kill()
        candidate.wait(10)
        assert candidate.stdout is not None
        candidate.stdout.close()
    verdict = json.loads((run / "verdict.json").read_text())
    parity = verdict["phases"]["parity"]
    assert parity["headline"] == "8/16 status codes match · 0/16 body shapes diverge · 8/16 could not be compared"
    assert parity["mirror"]["received"] == parity["mirror"]["judged"] == 16 and parity["mirror"]["dropped"] == 0
    listed = [c["case"] for c in parity["cases"]]
    assert len(listed) == 8 and sum(c.startswith("alike-") for c in listed) == 2  # 3 + the rest, twice
    assert any("go: cannot connect" in reason and "8 cases" in reason for reason in verdict["reasons"]), verdict
    assert verdict["verdict"] == "BLOCK" and verdict["complete"]
    assert mirror.proc.returncode is not None


def test_a_candidate_that_hangs_fills_the_queue_and_the_drops_are_counted(servers, parity_config):
    """A candidate that never answers: one copy in hand, one queued, the rest dropped and
    counted, every client answered at once; over max_dropped the mirror is incomplete, never
    a pass. SIGHUP ends it with the verdict written."""
    import asyncio
    import time

    from probes.parity._twins import twin_handler

    async def hangs(method, path, headers, body):
        await asyncio.sleep(30)
        return 200, {}, b""

    reference = servers.serve_http(twin_handler("rust"))
    candidate = servers.serve_http(hangs)
    config = mirror_config(parity_config, reference, candidate, extra="queue = 1")
    config.write_text(config.read_text().replace('timeout = "2s"', 'timeout = "1s"\nconcurrency = 1'))
    happy = seed_requests()[0]
    with mirror_process(config) as mirror, httpx.Client(timeout=10) as client:
        slowest = 0.0
        for _ in range(10):
            started = time.monotonic()
            assert client.post(mirror.url + happy["path"], json=happy["json"]).status_code == 200
            slowest = max(slowest, time.monotonic() - started)
        assert slowest < 0.5  # the copies wait (or are dropped); the client never does
        wait_until(lambda: mirror.counts()["dropped"] == 8, 20, "eight copies dropped")
        assert mirror.stop(signal.SIGHUP) == 1, mirror.output()
        run = mirror.run_dirs()[0]
    verdict = json.loads((run / "verdict.json").read_text())
    counts = verdict["phases"]["parity"]["mirror"]
    assert counts["received"] == 10 and counts["dropped"] >= 8 and counts["copied"] + counts["dropped"] == 10
    assert not verdict["complete"] and verdict["verdict"] == "BLOCK"
    assert any(r.startswith("incomplete: mirror:") and "over max_dropped 1%" in r for r in verdict["reasons"])


NGINX = "/usr/sbin/nginx"
NGINX_CONF = """
daemon off;
master_process off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log info;
events {{ worker_connections 64; }}
http {{
    access_log {dir}/access.log;
    client_body_temp_path {dir}/client_body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    server {{
        listen unix:{dir}/nginx.sock;
        location / {{
            mirror /_gauntlet;
            proxy_pass {reference};
        }}
        location = /_gauntlet {{
            internal;
            proxy_pass {sink}$request_uri;
        }}
    }}
}}
"""


def test_nginx_mirrors_to_the_sink(servers, parity_config, tmp_path):
    """Real nginx in front of the reference, its `mirror` directive copying each request to
    `gauntlet mirror --sink`: the client gets nginx's answer (the reference's), the sink asks
    the reference and the candidate itself and reads the seed's headline."""
    from probes.parity._twins import twin_handler

    if not Path(NGINX).exists():
        pytest.fail("Debian's nginx is not installed: `make test` installs it (scripts/system-packages)")

    reference = servers.serve_http(twin_handler("rust"))
    candidate = servers.serve_http(twin_handler("go"))
    config = mirror_config(parity_config, reference, candidate)
    with mirror_process(config, "--sink") as sink:
        assert sink.output().startswith("sink listening on")
        (tmp_path / "nginx.conf").write_text(NGINX_CONF.format(dir=tmp_path, reference=reference, sink=sink.url))
        nginx = subprocess.Popen([NGINX, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"),
                                  "-e", str(tmp_path / "error.log")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_until(lambda: (tmp_path / "nginx.sock").exists() or nginx.poll() is not None, 20, "nginx listening")
            assert nginx.poll() is None, (tmp_path / "error.log").read_text()
            transport = httpx.HTTPTransport(uds=str(tmp_path / "nginx.sock"))
            with httpx.Client(transport=transport, base_url="http://nginx", timeout=10) as client:
                for case in seed_requests():
                    answer = client.post(case["path"], json=case["json"], headers={"Authorization": SECRET})
                    direct = httpx.post(reference + case["path"], json=case["json"])
                    assert (answer.status_code, answer.content) == (direct.status_code, direct.content)
            wait_until(lambda: sink.counts()["judged"] == 6, 20, "the six copies nginx sent judged")
        finally:
            nginx.terminate()
            nginx.wait(10)
        assert sink.stop() == 0, sink.output()
        run = sink.run_dirs()[0]
    verdict = json.loads((run / "verdict.json").read_text())
    assert verdict["phases"]["parity"]["headline"] == "6/6 status codes match · 5/6 body shapes diverge"
    assert verdict["phases"]["parity"]["mirror"]["sink"] is True
    assert verdict["verdict"] == "SHIP_WITH_KNOWN_GAP"
    assert "POST /v1/validate" in (tmp_path / "access.log").read_text()


def test_the_secondary_teaches_the_noise_of_live_traffic(servers, parity_config):
    """An id that differs on every answer differs between the reference and its second
    instance too: noise, not a divergence, and the run ships (Diffy's way, on live requests)."""
    import uuid

    async def stamped(method, path, headers, body):
        return 200, {"Content-Type": "application/json"}, json.dumps({"id": uuid.uuid4().hex, "ok": True}).encode()

    reference, secondary, candidate = (servers.serve_http(stamped) for _ in range(3))
    config = mirror_config(parity_config, reference, candidate, extra=f'secondary = "{secondary}"')
    with mirror_process(config) as mirror, httpx.Client(timeout=10) as client:
        for n in range(4):
            assert client.get(f"{mirror.url}/v1/things/{n}").json()["ok"] is True
        wait_until(lambda: mirror.counts()["judged"] == 4, 20, "the four copies judged")
        assert mirror.stop() == 0, mirror.output()
        run = mirror.run_dirs()[0]
    verdict = json.loads((run / "verdict.json").read_text())
    assert verdict["phases"]["parity"]["headline"] == "4/4 status codes match · 0/4 body shapes diverge"
    assert verdict["verdict"] == "SHIP" and verdict["complete"]
    noise = json.loads((run / "parity" / "noise.json").read_text())
    assert "$.id" in json.dumps(noise) and "GET /v1/things/{n}" in json.dumps(noise)


def test_live_requests_time_each_candidate_against_the_reference(servers, write_config):
    """With [parity.latency], a way of answering is timed on its own live requests (past its
    warm-up, up to `repeats` a target sampled across the run), against the reference's second
    instance asked at the same moment by the same process: a candidate a hundred times
    slower than the reference blocks, named with its ratio and interval; one as fast does
    not; a way with too few requests for a figure is no data, never a pass."""
    from probes.parity._twins import twin_handler

    reference, secondary, same, slow = (servers.serve_http(twin_handler("rust", delay))
                                        for delay in (0.002, 0.002, 0.002, 0.200))
    text = f"""
        [gauntlet]
        name = "mirror latency"
        out_dir = "out"
        [parity]
        reference = "rust"
        timeout = "20s"
        [parity.targets]
        rust = "{reference}"
        same = "{same}"
        slow = "{slow}"
        [parity.latency]
        repeats = 20
        [mirror]
        sample = 1
        [[mirror.route]]
        method = "POST"
        path = "/v1/validate"
        mirror = true
        """
    # The reference's answers to the clients are timed by the proxy's process, the candidates'
    # by the niced judging process: never compared. Without a second instance it refuses.
    refused = gauntlet("mirror", str(write_config(text)), "--headless")
    assert refused.returncode == 2 and "needs the reference's answers timed beside" in refused.stderr
    assert "Traceback" not in refused.stderr
    config = write_config(text.replace("sample = 1", f'sample = 1\n        secondary = "{secondary}"'))
    happy = seed_requests()[0]
    with mirror_process(config) as mirror, httpx.Client(timeout=10) as client:
        for _ in range(40):
            assert client.post(mirror.url + happy["path"], json=happy["json"]).status_code == 200
        for _ in range(6):
            assert client.get(mirror.url + "/health").status_code == 200
        wait_until(lambda: mirror.counts()["judged"] == 46, 20, "the 46 copies judged")
        assert mirror.stop() == 1, mirror.output()
        run = mirror.run_dirs()[0]
    assert "Traceback" not in mirror.output()
    verdict = json.loads((run / "verdict.json").read_text())
    reasons = "\n".join(verdict["reasons"])
    slower = re.search(r"latency: slow p50 (\d+\.\d\d)× rust on (alike-\S*validate-\w+), 95 % CI "
                       r"(\d+\.\d\d)–\d+\.\d\d×, n = 20", reasons)
    assert slower, reasons
    # 100× on a quiet machine; a busy one adds its waits for a core to both sides alike
    assert float(slower.group(3)) > 1.25 and float(slower.group(1)) > 2
    assert "latency: same" not in reasons  # as fast as the reference: timed, and fine
    assert verdict["verdict"] == "BLOCK" and verdict["complete"]
    report = (run / "verdict.md").read_text()
    assert "up to 20 live requests a target per way of answering" in report
    assert re.search(rf"\| {slower.group(2)} \| same \| [^|]+ \| [^|]+ \| [^|]+ \| [^|]+ \| [^|]+ \| [^|]+ \| "
                     rf"[^|]+ \| ok \|", report), report
    # /health: six requests, three of them its warm-up: too rare to judge, and told so
    assert "alike-get_health" not in report.split("### Latency")[1].split("###")[0]
    notices = [json.loads(line) for line in (run / "events.jsonl").read_text().splitlines() if '"Notice"' in line]
    assert any("1 of the ways of answering (6 requests) had fewer than 10 timed requests" in n["message"] for n in notices)


def test_the_record_rolls_over_into_a_new_run_directory(servers, parity_config):
    """`roll_every`: a run directory ends with its verdict and the next begins while the
    proxy serves on; a run that saw no request is BLOCK (nothing was checked), never a pass."""
    from probes.parity._twins import twin_handler

    reference = servers.serve_http(twin_handler("rust"))
    config = mirror_config(parity_config, reference, servers.serve_http(twin_handler("go")), extra='roll_every = "1s"')
    with mirror_process(config) as mirror:
        wait_until(lambda: len(mirror.run_dirs()) >= 2 and (mirror.run_dirs()[0] / "verdict.json").exists(), 20,
                   "a second run directory after the first one's verdict")
        assert httpx.get(mirror.url + "/health", timeout=5).status_code == 200  # the proxy never stopped
        assert mirror.stop() == 1, mirror.output()
    runs = mirror.run_dirs()
    assert all((r / "verdict.json").exists() for r in runs)
    first = json.loads((runs[0] / "verdict.json").read_text())
    assert first["verdict"] == "BLOCK" and any("nothing was checked" in r for r in first["reasons"])



def judging_process(mirror: MirrorProcess) -> psutil.Process:
    """The mirror's one child: the process that sends the copies and judges their answers."""
    [child] = psutil.Process(mirror.proc.pid).children()
    assert "probes.mirror._worker" in " ".join(child.cmdline())
    return child


def gone(process: psutil.Process) -> bool:
    """Ended (a zombie no parent has reaped yet has ended too)."""
    try:
        return process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_a_judging_process_that_dies_costs_the_clients_nothing_and_the_run_is_incomplete(servers, parity_config):
    """Killed mid-run, the judging process takes no client with it: every answer stays the
    reference's, at once; the copies from then on are dropped and counted, and the run is
    incomplete for it (never a pass, even under max_dropped), its verdict written on SIGTERM."""
    import time

    from probes.parity._twins import twin_handler

    reference = servers.serve_http(twin_handler("rust"))
    config = mirror_config(parity_config, reference, servers.serve_http(twin_handler("go")),
                           extra="max_dropped = 1000")
    happy = seed_requests()[0]
    with mirror_process(config) as mirror, httpx.Client(timeout=10) as client:
        expected = client.post(reference + happy["path"], json=happy["json"])
        for phase in ("alive", "killed"):
            slowest = 0.0
            for _ in range(4):
                started = time.monotonic()
                through = client.post(mirror.url + happy["path"], json=happy["json"])
                slowest = max(slowest, time.monotonic() - started)
                assert (through.status_code, through.content) == (expected.status_code, expected.content), phase
            assert slowest < 0.5, phase
            if phase == "alive":
                wait_until(lambda: mirror.counts()["judged"] == 4, 20, "the first four copies judged")
                child = judging_process(mirror)
                child.kill()
                wait_until(lambda: mirror.counts().get("judge_lost", False), 20, "the mirror tells judging stopped")
        wait_until(lambda: mirror.counts()["dropped"] == 4, 20, "the copies after it dropped")
        assert mirror.stop() == 1, mirror.output()
        run = mirror.run_dirs()[0]
    assert "Traceback" not in mirror.output()
    verdict = json.loads((run / "verdict.json").read_text())
    counts = verdict["phases"]["parity"]["mirror"]
    assert (counts["received"], counts["judged"], counts["copied"], counts["dropped"]) == (8, 4, 4, 4)
    assert not verdict["complete"] and verdict["verdict"] == "BLOCK"
    assert any(r.startswith("incomplete: mirror: the judging process ended") for r in verdict["reasons"]), verdict


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["stopped", "killed"])
def test_the_judging_process_never_outlives_the_mirror(servers, parity_config, sig):
    """Stopped, the mirror ends its judging process itself; killed outright, the process
    ends on its own once its socket to the mirror closes."""
    from probes.parity._twins import twin_handler

    reference = servers.serve_http(twin_handler("rust"))
    config = mirror_config(parity_config, reference, servers.serve_http(twin_handler("go")))
    with mirror_process(config) as mirror:
        child = judging_process(mirror)
        mirror.stop(sig)
    wait_until(lambda: gone(child), 20, "the judging process ended")


def test_a_mirror_s_requests_become_cases_in_the_order_they_came(tmp_path):
    """Judged several at once, a mirror's requests are recorded as their judging ends; the
    cases taken from the run follow the order they came (and a way of answering is stood
    for by its first request), so the same traffic makes the same file."""
    base = "http://ref"

    def entry(seq: int, status: int) -> dict[str, Any]:
        request = {"method": "POST", "url": f"{base}/v1/validate", "headers": {"content-type": "application/json"},
                   "body": json.dumps({"qty": seq})}
        return {"case": f"r{seq}-post_v1_validate", "statuses": {"rust": 200, "go": status},
                "status_match": status == 200, "answers": {"rust": {"request": request}}}

    (tmp_path / "parity").mkdir()
    landed = [entry(3, 200), entry(1, 200), entry(4, 422), entry(2, 422)]
    (tmp_path / "parity" / "results.jsonl").write_text("".join(
        json.dumps(line) + "\n" for line in [{"reference": "rust", "targets": {"rust": base}}, *landed]))
    divergent = cases_from_run(tmp_path, divergent=True)
    assert [c.json for c in divergent.cases] == [{"qty": 2}, {"qty": 4}]
    assert [c.json for c in cases_from_run(tmp_path).cases] == [{"qty": 1}, {"qty": 2}]  # one per way


def test_a_case_crosses_to_the_judging_process_as_it_was():
    """A case without a `json` key is told from one whose body is null by one object; it
    stays that object in the process a copy is judged in."""
    import pickle

    from probes.cases import UNSET, ParityCase

    assert pickle.loads(pickle.dumps(ParityCase("a"))).json is UNSET
    assert pickle.loads(pickle.dumps(ParityCase("b", json=None))).json is None


def test_requests_counted_alike_weigh_in_every_count():
    """A case sent again with a grown weight (a mirror's requests answered alike) counts for
    that many requests in the headline, its class, the verdict's sentence and the history,
    and counts once however often it is sent."""
    from probes.core.events import ClassEntry, DivergenceClassFound, ParityCaseFinished, ParityPlanned
    from probes.verdict import RunSummary, VerdictTracker

    tracker, summary = VerdictTracker(), RunSummary()
    events = [ParityPlanned((), ("rust", "go"), "rust", 8),
              DivergenceClassFound("cls:abc", "shape", (ClassEntry("shape", "$.Kind", "absent", "string"),), "`$.Kind` added")]
    diverged = dict(reference="rust", statuses={"rust": 422, "go": 422}, kinds={"go": "shape"},
                    classes={"go": "cls:abc"}, body_match=False)
    events += [ParityCaseFinished(case=f"r{n}", index=n, **diverged) for n in (1, 2, 3)]
    events += [ParityCaseFinished(case="alike-x", index=4, weight=w, **diverged) for w in (2, 5, 97)]
    events += [ParityCaseFinished(case="r9", reference="rust", statuses={"rust": 200, "go": 200}, index=9)]
    for event in events:
        tracker.apply(0.0, event)
        summary.apply(0.0, event)
    board = tracker.parity
    assert board.headline() == "101/101 status codes match · 100/101 body shapes diverge"
    [group] = board.class_groups()
    assert group.weight == 100 and group.named == "r1, r2, r3 and 97 more"
    assert "parity: 100 cases (r1, r2, r3 and 97 more): go shape divergence not covered" in tracker.current().reasons[0]
    assert summary.parity_totals() == (101, 101, 100)


def test_latency_asked_and_never_timed_is_no_data_and_a_way_timed_again_counts_once():
    """A mirror whose ways of answering never grew past their examples timed nothing: with
    `[parity.latency]` asked, that is no data, never a pass. A way timed again as it grows
    replaces its figures: once in the verdict, once in the history's typical p50."""
    import math

    from probes.core import LatencyState
    from probes.core.events import LatencyPlanned, LatencyRow, ParityCaseFinished, ParityPlanned
    from probes.verdict import RunSummary, VerdictTracker

    tracker, summary = VerdictTracker(), RunSummary()
    matched = dict(reference="rust", statuses={"rust": 200, "go": 200})
    events = [ParityPlanned((), ("rust", "go"), "rust", 8), LatencyPlanned(20, 3, 1.25, live=True),
              *(ParityCaseFinished(case=f"r{n}", index=n, **matched) for n in (1, 2))]
    for event in events:
        tracker.apply(0.0, event)
        summary.apply(0.0, event)
    assert "latency: no data: 2 cases compared, none timed" in tracker.current().reasons
    for weight, p50 in ((5, 8.0), (9, 2.0)):
        rows = (LatencyRow("rust", 20, 2.0), LatencyRow("go", 20, p50, ratio=p50 / 2.0, low=0.9, high=1.1,
                                                         p_value=0.5, state=LatencyState.OK))
        event = ParityCaseFinished(case="alike-x", index=3, weight=weight, latency=rows, **matched)
        tracker.apply(0.0, event)
        summary.apply(0.0, event)
    assert not [r for r in tracker.current().reasons if r.startswith("latency")]
    assert summary.latency["targets"]["go"] == [1, math.log(2.0)] and summary.latency["p50"]["go"] == {"alike-x": 2.0}


def test_what_a_mirror_records_holds_no_credential():
    """The request as recorded (a HAR entry's rules) and each answer as judged: credential
    headers and secret-named fields out, the rest as it was."""
    from probes.mirror._shadow import Copy, secret_free
    from probes.parity import Answer

    copy = Copy(7, "POST", "/v1/login?api_key=k-123456789&page=2",
                [("Authorization", SECRET), ("Cookie", COOKIE), ("Content-Type", "application/json"),
                 ("X-Trace", "t-1")], b'{"user": "ada", "password": "hunter2-never"}')
    case = copy.case
    assert case.name == "r7-post_v1_login" and dict(case.headers) == {"Content-Type": "application/json",
                                                                       "X-Trace": "t-1"}
    assert case.json == {"user": "ada", "password": "REDACTED"} and case.query == {"api_key": "REDACTED", "page": "2"}
    answer = Answer("rust", "http://ref/v1/login", 200, {"content-type": "application/json", "set-cookie": COOKIE},
                    b'{"ok": true, "session": {"token": "tok-never-record"}}')
    clean = secret_free(answer)
    assert clean.headers == {"content-type": "application/json", "set-cookie": "REDACTED"}
    assert json.loads(clean.body) == {"ok": True, "session": {"token": "REDACTED"}}
    plain = Answer("rust", "http://ref/", 200, {"content-type": "application/json"}, b'{"ok": true}')
    assert secret_free(plain) is plain  # nothing to take out: the very same answer, nothing re-serialised


def test_a_config_without_a_mirror_section_is_told_what_to_add(write_config, capsys):
    from tui.cli import main

    path = write_config('[parity]\nreference = "rust"\n[parity.targets]\nrust = "http://127.0.0.1:3100"\n')
    assert main(["mirror", str(path)]) == 2
    assert "no [mirror] section" in capsys.readouterr().err
    with pytest.raises(SystemExit) as usage:
        main(["mirror", str(path), "--listen", "nowhere"])
    assert usage.value.code == 2 and "--listen: expected HOST:PORT" in capsys.readouterr().err
