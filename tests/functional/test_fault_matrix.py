"""The faults that already held when the second fault matrix was taken: gauntlet handled each
correctly, but no test backed it. Each test here pins that behaviour, with real processes,
real loopback servers and real files, so a change that breaks it is seen."""

from __future__ import annotations

import json
import os
import signal
import struct
import subprocess
import tempfile
import textwrap
import time
import tomllib
import uuid
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

from probes.config import load_config
from probes.core.events import BundleTallied, ParityCaseFinished
from probes.scrum._ledger import load_ledger
from probes.verdict._gaps import load_gaps
from probes.parity._exchange import MAX_BODY
from probes.parity._results import entries

from ..cli import COMMAND
from ..conftest import REPO, only_run, pid_alive, run_engine, twins_process, wait_until
from .test_findings import new_file_diff, review, scrum_project, wave
from .test_watch import abandoned_reason, slow_config, smoke_pids, writer  # noqa: F401 - fixtures row 8 uses

TOO_LARGE = f"body larger than {MAX_BODY // (1024 * 1024)} MB: not compared"
MB = 1024 * 1024
WIDE = {**os.environ, "COLUMNS": "1000"}  # the console wraps nothing a test reads


@dataclass(frozen=True)
class Measured:
    """A finished child: its exit code, its output, its peak resident set and its wall time."""

    code: int
    stdout: str
    stderr: str
    peak_rss: int  # bytes
    seconds: float


def measured(argv: Sequence[str], timeout: float) -> Measured:
    """Run `argv` to its end and measure it: the peak RSS is the kernel's own (wait4's
    ru_maxrss of that one child), so nothing is sampled and no peak is missed."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.monotonic()
        proc = subprocess.Popen(argv, cwd=REPO, stdout=out, stderr=err, env=WIDE)
        reaped: list[tuple[int, os.struct_rusage]] = []

        def done() -> bool:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                reaped.append((status, usage))
            return bool(reaped)

        try:
            wait_until(done, timeout, f"{' '.join(argv[2:4])} ended")
        finally:
            if not reaped:
                proc.kill()
                proc.wait()
        seconds = time.monotonic() - started
        status, usage = reaped[0]
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Measured(proc.returncode, out.read().decode(), err.read().decode(), usage.ru_maxrss * 1024, seconds)


def json_answer(payload: object):
    async def handle(method, path, headers, body):
        return 200, {"Content-Type": "application/json"}, json.dumps(payload).encode()

    return handle


def probe_config(parity_config, reference: str, candidate: str, cases: str) -> Path:
    return parity_config(reference, candidate, parity='timeout = "10s"', after=textwrap.dedent(cases))


def blocked_parity(config: Path, what: str) -> tuple[Measured, Path]:
    """`gauntlet parity CONFIG --headless`, measured, which must block (exit 1) without a
    traceback: the measure and the run directory."""
    run = measured([*COMMAND, "parity", str(config), "--headless"], 60)
    print(f"{what}: peak RSS {run.peak_rss / MB:.0f} MB, {run.seconds:.1f}s")
    assert run.code == 1, run.stdout + run.stderr
    assert "Traceback" not in run.stdout + run.stderr
    return run, only_run(config.parent / "out")


def landed(run_dir: Path) -> dict[str, dict]:
    """Each case's line of parity/results.jsonl.gz, by name."""
    return {entry["case"]: entry for entry in entries(run_dir)}


def verdict_of(run_dir: Path) -> dict:
    return json.loads((run_dir / "verdict.json").read_text())


# ---- 1. a 1 GiB gzip bomb ------------------------------------------------------------------------

GIB = 1 << 30
GIB_OF_ZEROS_CRC32 = 0x5B64C2B0  # zlib.crc32 of 2**30 zero bytes (a second of CPU to compute each time)


def gzip_bomb() -> bytes:
    """A gzip body that decompresses to 1 GiB of zeros, in about 1 MB, made in milliseconds:
    a MiB of zeros deflated with a full flush after it leaves the compressor as it found it,
    so that MiB's bytes stand for every MiB, repeated 1024 times between a gzip header and
    the trailer's CRC and size."""
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    mib = bytes(MB)
    first, second = (packer.compress(mib) + packer.flush(zlib.Z_FULL_FLUSH) for _ in range(2))
    assert first == second  # each MiB deflates to the same bytes: repeating them is one stream
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    return header + first * (GIB // MB) + packer.flush() + struct.pack("<II", GIB_OF_ZEROS_CRC32, GIB % (1 << 32))


def test_a_gzip_bomb_is_that_targets_error_the_others_probed_and_memory_bounded(parity_config, servers):
    bomb = gzip_bomb()
    assert len(bomb) < 2 * MB

    async def candidate(method, path, headers, body):
        if path == "/bomb":
            return 200, {"Content-Type": "application/json", "Content-Encoding": "gzip"}, bomb
        return 200, {"Content-Type": "application/json"}, b'{"a": 1}'

    config = probe_config(parity_config, servers.serve_http(json_answer({"a": 1})), servers.serve_http(candidate), """
        [[parity.case]]
        name = "before"
        path = "/plain"
        [[parity.case]]
        name = "bomb"
        path = "/bomb"
        [[parity.case]]
        name = "after"
        path = "/plain"
    """)
    run, run_dir = blocked_parity(config, "gzip bomb")
    cases = landed(run_dir)
    assert cases["bomb"]["errors"] == {"go": TOO_LARGE}
    assert all(cases[c]["body_match"] and "errors" not in cases[c] for c in ("before", "after"))
    assert run.peak_rss < 400 * MB, f"peak RSS {run.peak_rss / MB:.0f} MB"


# ---- 2. a plain body over the size limit ---------------------------------------------------------

def test_a_body_over_the_size_limit_is_not_compared_and_blocks(parity_config, servers):
    huge = b"x" * (MAX_BODY + MB)

    async def candidate(method, path, headers, body):
        return 200, {"Content-Type": "text/plain"}, huge

    async def reference(method, path, headers, body):
        return 200, {"Content-Type": "text/plain"}, b"x"

    config = probe_config(parity_config, servers.serve_http(reference), servers.serve_http(candidate), """
        [[parity.case]]
        name = "huge"
        path = "/huge"
    """)
    _, run_dir = blocked_parity(config, "65 MB body")
    assert landed(run_dir)["huge"]["errors"] == {"go": TOO_LARGE}
    verdict = verdict_of(run_dir)
    assert verdict["verdict"] == "BLOCK"
    assert any("could not be compared" in r for r in verdict["reasons"]), verdict["reasons"]


# ---- 3. a candidate SIGKILLed during 300 cases ---------------------------------------------------

CASES = 300
KILL_AT = 50
CONCURRENCY = 8


def test_a_candidate_killed_mid_phase_is_its_error_on_every_later_case(parity_config):
    cases = "".join(f'\n[[parity.case]]\nname = "health_{n:03}"\npath = "/health"\n' for n in range(CASES))
    with twins_process() as (_, first), twins_process() as (candidate, second):
        path = parity_config(first['rust'], second['go'], parity=f"""
            timeout = "5s"
            concurrency = {CONCURRENCY}
            """, after=cases)
        finished = 0

        def kill_the_candidate(event) -> None:
            nonlocal finished
            if isinstance(event, ParityCaseFinished):
                finished += 1
                if finished == KILL_AT:
                    candidate.kill()

        outcome, seen = run_engine(load_config(path, env={}), on_event=kill_the_candidate)
        assert candidate.wait(10) == -signal.SIGKILL
    results = [e for e in seen if isinstance(e, ParityCaseFinished)]
    said = sorted({r.errors["go"].split(":")[0] for r in results if r.errors})
    print(f"killed at case {KILL_AT}: {sum(1 for r in results if r.errors)} of {CASES} cases the candidate's error "
          f"({', '.join(said)})")
    assert len(results) == CASES and len({r.case for r in results}) == CASES
    assert not any(r.errors for r in results[:KILL_AT])
    # Only the cases in flight when it died (the other workers') may still have had its answer.
    answered_after = [r.case for r in results[KILL_AT:] if not r.errors]
    assert len(answered_after) < CONCURRENCY, answered_after
    for r in results[KILL_AT:]:
        if not r.errors:
            continue
        assert set(r.errors) == {"go"}, r.errors
        assert r.errors["go"].startswith(("cannot connect", "connection broken")), r.errors
    assert outcome.verdict.verdict == "BLOCK" and outcome.exit_code == 1
    assert any("could not be compared" in r for r in outcome.verdict.reasons), outcome.verdict.reasons


# ---- 4. a damaged parity/bodies.pack -------------------------------------------------------------

def diverging_run(servers, parity_config, extra: str = "") -> Path:
    """A finished parity run whose case `c` diverged (its bodies kept): {"a": 1} against {"a": 2}."""
    path = probe_config(parity_config, servers.serve_http(json_answer({"a": 1})),
                        servers.serve_http(json_answer({"a": 2})), extra + """
        [[parity.case]]
        name = "c"
        path = "/v1/thing"
    """)
    outcome, _ = run_engine(load_config(path, env={}))
    assert outcome.verdict.verdict == "BLOCK"
    return outcome.run_dir


@pytest.mark.parametrize("damage", ["cut short", "overwritten"])
def test_a_damaged_bodies_pack_is_named_exit_2_no_traceback(servers, parity_config, damage):
    run_dir = diverging_run(servers, parity_config)
    pack = run_dir / "parity" / "bodies.pack"
    size = pack.stat().st_size
    assert size > 0
    if damage == "cut short":
        os.truncate(pack, size // 2)
    else:
        pack.write_bytes(b"#" * size)
    proc = subprocess.run([*COMMAND, "diff", str(run_dir), "c", "--headless"], cwd=REPO, capture_output=True,
                          text=True, timeout=60, env=WIDE)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert f"{pack}: the body of c at offset" in proc.stderr, proc.stderr
    assert "(the pack is damaged or cut short)" in proc.stderr, proc.stderr


# ---- 5. 20 concurrent `gauntlet gap add` ---------------------------------------------------------

AT_ONCE = 20


def at_once(commands: Sequence[Sequence[str]]) -> list[subprocess.CompletedProcess[str]]:
    """Start every command, then wait for them all: they run at the same time."""
    procs = [subprocess.Popen([*COMMAND, *c], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for c in commands]
    done = []
    for args, proc in zip(commands, procs, strict=True):
        out, err = proc.communicate(timeout=60)
        done.append(subprocess.CompletedProcess(args, proc.returncode, out, err))
    return done


@pytest.mark.slow
def test_twenty_gap_adds_at_once_all_land_once(servers, parity_config, tmp_path):
    gaps_file = tmp_path / "known_gaps.toml"
    gaps_file.write_text("")
    run_dir = diverging_run(servers, parity_config, '[verdict]\nknown_gaps = "known_gaps.toml"\n')
    ids = [f"gap-{n:02}" for n in range(AT_ONCE)]
    done = at_once([["gap", "add", str(run_dir), "c", "--id", i, "--note", f"note of {i}", "--owner", f"owner-{i}"]
                    for i in ids])
    assert [p.returncode for p in done] == [0] * AT_ONCE, [p.stderr for p in done if p.returncode]
    raw = tomllib.loads(gaps_file.read_text())
    assert sorted(g["id"] for g in raw["gap"]) == ids  # none lost, none twice
    gaps = load_gaps(gaps_file)
    assert {(g.id, g.note, g.owner) for g in gaps} == {(i, f"note of {i}", f"owner-{i}") for i in ids}
    assert verdict_of(run_dir)["verdict"] == "SHIP_WITH_KNOWN_GAP"


# ---- 6. 20 concurrent `gauntlet finding dismiss` -------------------------------------------------

@pytest.mark.slow
def test_twenty_finding_dismissals_at_once_all_land_once(tmp_path):
    scrum_project(tmp_path)
    functions = "".join(f"pub fn check_{chr(97 + n)}(input: &str) -> bool {{\n    let n = input.len();\n"
                        f"    n > {n}\n}}\n\n" for n in range(AT_ONCE))
    findings = [(5 * n + 2, "WARN", f"finding about check {chr(97 + n)}") for n in range(AT_ONCE)]
    outcome, tallied, _ = wave(tmp_path, new_file_diff(functions), review(*findings), "No findings.")
    assert isinstance(tallied, BundleTallied)
    ids = sorted(loc.id for loc in tallied.locations)
    assert len(set(ids)) == AT_ONCE
    done = at_once([["finding", "dismiss", str(outcome.run_dir), i, "--reason", f"answered {i}", "--owner", "o"]
                    for i in ids])
    assert [p.returncode for p in done] == [0] * AT_ONCE, [p.stderr for p in done if p.returncode]
    ledger = tmp_path / "findings_ignore.toml"
    tomllib.loads(ledger.read_text())
    rows = load_ledger(ledger)
    assert sorted(row.id for row in rows) == ids  # none lost, none twice
    assert all(row.reason == f"answered {row.id}" for row in rows)


# ---- 7. a 100 MB HAR for `gauntlet cases from-har` -----------------------------------------------

HAR_BYTES = 100 * MB
PHOTOS = ("cat", "dog", "sun", "sea", "sky")
SECRET = "Bearer hunter2-never-in-a-cases-file"


def har_entries():
    """Recorded traffic as a browser exports it: a few endpoints called again and again, most
    of the bytes in the responses (JSON lists, images in base64), credentials in the requests."""
    import base64
    import random

    rng = random.Random(7)
    listing = json.dumps([{"id": n, "name": f"item {n}", "price": rng.randint(1, 10_000) / 100,
                           "tags": ["new", "sale"][: n % 3], "description": "lorem ipsum " * rng.randint(2, 12)}
                          for n in range(2500)])
    image = base64.b64encode(rng.randbytes(300_000)).decode()

    def entry(method: str, url: str, response: dict, post: dict | None = None) -> dict:
        request = {"method": method, "url": url, "httpVersion": "HTTP/1.1",
                   "headers": [{"name": "Authorization", "value": SECRET}, {"name": "Accept", "value": "*/*"},
                               {"name": "Cookie", "value": "session=abc123"}],
                   "queryString": [], "cookies": [], "headersSize": -1, "bodySize": -1}
        if post is not None:
            request["postData"] = post
        return {"startedDateTime": "2026-05-02T10:00:00.000Z", "time": 12.5, "request": request,
                "response": {"status": 200, "statusText": "OK", "httpVersion": "HTTP/1.1", "headers": [],
                             "cookies": [], "content": response, "redirectURL": "", "headersSize": -1,
                             "bodySize": len(response["text"])},
                "cache": {}, "timings": {"send": 1, "wait": 10, "receive": 1.5}}

    n = 0
    while True:
        n += 1
        yield entry("GET", f"https://shop.example.com/api/items?page={n}",
                    {"size": len(listing), "mimeType": "application/json", "text": listing})
        yield entry("GET", f"https://shop.example.com/img/{PHOTOS[n % len(PHOTOS)]}.png",
                    {"size": 300_000, "mimeType": "image/png", "encoding": "base64", "text": image})
        yield entry("POST", "https://shop.example.com/api/search",
                    {"size": len(listing), "mimeType": "application/json", "text": listing},
                    {"mimeType": "application/json", "text": json.dumps({"q": f"query {n}", "token": "t0k3n"})})
        yield entry("GET", f"https://shop.example.com/api/users/{uuid.UUID(int=n)}",
                    {"size": 2, "mimeType": "application/json", "text": "{}"})


def test_a_100_mb_har_becomes_cases_in_bounded_memory_and_time(tmp_path):
    har = tmp_path / "traffic.har"
    with har.open("w") as fh:
        fh.write('{"log": {"version": "1.2", "creator": {"name": "test", "version": "1"}, "entries": [')
        written, count = 0, 0
        for entry in har_entries():
            if written >= HAR_BYTES:
                break
            written += fh.write(("," if count else "") + json.dumps(entry))
            count += 1
        fh.write("]}}")
    cases_file = tmp_path / "cases.toml"
    run = measured([*COMMAND, "cases", "from-har", str(har), "--out", str(cases_file)], 120)
    print(f"{har.stat().st_size / MB:.0f} MB HAR of {count} entries: peak RSS {run.peak_rss / MB:.0f} MB, "
          f"{run.seconds:.1f}s")
    assert run.code == 0, run.stderr
    assert f"{count} request(s) → 8 cases" in run.stdout, run.stdout  # stdout: the cases went to --out
    text = cases_file.read_text()
    assert len(tomllib.loads(text)["case"]) == 8  # items, search, a user, five images
    assert "hunter2" not in text and "t0k3n" not in text
    assert run.peak_rss < 1000 * MB, f"peak RSS {run.peak_rss / MB:.0f} MB"


# ---- 8. `gauntlet verdict` on an abandoned run ---------------------------------------------------

def test_verdict_on_an_abandoned_run_blocks_incomplete_and_says_abandoned(writer):  # noqa: F811
    writer.kill()
    assert not (writer.run_dir / "verdict.json").exists()  # the writer died before it wrote one
    proc = subprocess.run([*COMMAND, "verdict", str(writer.run_dir)], cwd=REPO, capture_output=True, text=True,
                          timeout=60, env=WIDE)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    reason = abandoned_reason(writer.proc.pid)
    assert "BLOCK (incomplete)" in proc.stdout and reason in proc.stdout, proc.stdout
    verdict = verdict_of(writer.run_dir)
    assert (verdict["verdict"], verdict["complete"], verdict["reasons"][0]) == ("BLOCK", False, reason)


# ---- 9. a smoke that ignores SIGTERM while gauntlet is interrupted -------------------------------

GRACE = 1.0


def left_running(marker: str, group: int) -> list[psutil.Process]:
    """Live processes (not zombies) with the marker in their argv or in the smoke's group."""
    alive = []
    for proc in psutil.process_iter(["cmdline", "status"]):
        try:
            if proc.info["status"] == psutil.STATUS_ZOMBIE:
                continue
            if marker in " ".join(proc.info["cmdline"] or ()) or os.getpgid(proc.pid) == group:
                alive.append(proc)
        except (psutil.Error, ProcessLookupError):
            continue
    return alive


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=lambda s: s.name)
def test_a_smoke_ignoring_sigterm_is_killed_after_the_grace_when_gauntlet_is_interrupted(
        write_config, script, tmp_path, sig):
    marker = f"fault-matrix-{uuid.uuid4().hex}"
    pidfile = tmp_path / "smoke.pid"
    script("stubborn.sh", """
        #!/bin/sh
        trap '' TERM
        echo $$ > "$2.part" && mv "$2.part" "$2"
        while :; do sleep 0.2; done
    """)
    config = write_config(f"""
        [smokes]
        grace = "{GRACE:g}s"
        [[smoke]]
        name = "stubborn"
        run = ["./scripts/stubborn.sh", "{marker}", "{pidfile}"]
        timeout = "5m"
    """)
    proc = subprocess.Popen([*COMMAND, "smokes", str(config), "--headless"], cwd=REPO, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    group = None
    try:
        wait_until(pidfile.exists, 15, "the smoke wrote its pid")
        group = int(pidfile.read_text())
        assert pid_alive(group) and left_running(marker, group)
        signalled = time.monotonic()
        os.kill(proc.pid, sig)
        code = proc.wait(GRACE + 5)
        took = time.monotonic() - signalled
        print(f"{sig.name}: exit {code} {took:.1f}s after the signal")
        assert code == 130
        wait_until(lambda: not left_running(marker, group), 5, "every process of the smoke gone")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if group is not None:
            for leftover in left_running(marker, group):
                leftover.kill()
