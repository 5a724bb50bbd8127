"""Parity at scale: a compact run directory, bounded memory, JSON Lines cases streamed.

A run's parity record is `results.jsonl.gz` (a line per case as it lands, compressed a flush at a time) and `bodies.pack`
(each distinct body once), whatever the number of cases; the answers kept are those a
person can use. Cases stream from a JSON Lines file through a fixed pool of workers, so the
probe's memory does not grow with the file.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from probes.config import load_config
from probes.engine import Engine, select_phases
from probes.core._errors import ConfigError, InputError
from probes.core.events import EventBus, Notice, ParityCaseFinished, PhaseFinished, read_events, to_json
from probes.parity._store import MATCH_SAMPLE, RecordFile, record_line
from probes.parity._results import RESULTS, entries, read_case, stored_answer

from .. import cli
from ..conftest import REPO, only_run

DIVERGENT_BODY = b'{"Kind": "schema", "Field": "f"}'


def answers_by_path(runtime: str):
    """A service of two runtimes: every `/match/...` answers the same JSON on both (its path in
    it), every `/diverge/...` answers in each runtime's own shape, the same body each time."""

    async def handle(method, path, headers, body):
        if path.startswith("/diverge/") and runtime == "go":
            return 422, {"Content-Type": "application/json"}, DIVERGENT_BODY
        if path.startswith("/diverge/"):
            return 422, {"Content-Type": "application/json"}, b'{"Schema": {"field": "f"}}'
        return 200, {"Content-Type": "application/json"}, json.dumps({"ok": True, "path": path}).encode()

    return handle


def write_jsonl(path: Path, names: list[str]) -> Path:
    path.write_text("".join(json.dumps({"name": n, "method": "POST", "path": f"/{n.split('-')[0]}/{n}",
                                        "json": {"n": n}}) + "\n" for n in names))
    return path


def scale_config(write_config, servers, cases: str, extra: str = "") -> Path:
    return write_config(f"""
        [parity]
        reference = "rust"
        concurrency = 16
        {extra}
        [parity.targets]
        rust = "{servers.serve_http(answers_by_path("rust"))}"
        go = "{servers.serve_http(answers_by_path("go"))}"
    """ + cases)


def gauntlet(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return cli.gauntlet(*argv, env={"COLUMNS": "120", **(env or {})})


def test_a_thousand_cases_leave_a_handful_of_files(servers, write_config, tmp_path):
    names = [f"match-{i:04d}" for i in range(950)] + [f"diverge-{i:03d}" for i in range(50)]
    jsonl = write_jsonl(tmp_path / "cases.jsonl", names)
    config = load_config(scale_config(write_config, servers, "", f'cases_file = "{jsonl.name}"'), env={})
    engine = Engine(config, select_phases(config))
    live: dict[str, ParityCaseFinished] = {}
    engine.bus.subscribe(lambda t, e: live.setdefault(e.case, e) if isinstance(e, ParityCaseFinished) else None)
    outcome = asyncio.run(engine.run())
    parity = outcome.run_dir / "parity"
    files = sorted(p.name for p in parity.iterdir())
    assert files == ["bodies.pack", "report.md", "results.jsonl.gz"]

    lines = {e["case"]: e for e in entries(outcome.run_dir)}
    assert sorted(lines) == sorted(names)
    # One gzip stream to any reader (a member a flush), and a small one: the lines repeat each other.
    plain = gzip.decompress((parity / "results.jsonl.gz").read_bytes())
    assert [json.loads(line)["case"] for line in plain.splitlines()[1:]] == list(lines)
    assert (parity / "results.jsonl.gz").stat().st_size * 8 < len(plain)

    # A matching case's event line names its statuses and its place among the cases, nothing
    # else; read back, it is the event the faces saw live.
    replayed = {e.case: (t, e) for t, e in read_events(str(outcome.run_dir / "events.jsonl"))
                if isinstance(e, ParityCaseFinished)}
    assert all(replayed[n][1] == live[n] for n in names)
    t, matched = replayed["match-0007"]
    assert json.loads(to_json(matched, t)).keys() == {"t", "type", "case", "reference", "statuses", "index"}
    assert matched.kinds == matched.classes == matched.fingerprints == matched.status_kinds == {"go": None}
    kept = [n for n, e in lines.items() if e["answers"]["rust"]["body"] is not None]
    matching_kept = [n for n in kept if n.startswith("match-")]
    assert len(matching_kept) == MATCH_SAMPLE  # the first matching cases to land: what matching looks like
    assert all(n in kept for n in names if n.startswith("diverge-"))
    unkept = next(n for n in names if n not in kept)
    assert lines[unkept] == {"case": unkept, "method": "POST", "path": f"/match/{unkept}",
                             "statuses": {"rust": 200, "go": 200}, "status_match": True, "body_match": True,
                             "answers": {t: {"elapsed_ms": lines[unkept]["answers"][t]["elapsed_ms"],
                                             "body_bytes": len(json.dumps({"ok": True, "path": f"/match/{unkept}"})),
                                             "body": None} for t in ("rust", "go")}}

    # The hundred divergent candidate answers are one body, stored once.
    refs = {json.dumps(lines[n]["answers"]["go"]["body"], sort_keys=True) for n in names if n.startswith("diverge-")}
    assert len(refs) == 1
    pack = (parity / "bodies.pack").read_bytes()
    assert pack.count(DIVERGENT_BODY) == 1
    distinct = {b for n in kept for t in ("rust", "go") for b in [stored_answer(outcome.run_dir, n, t)[1]]}
    assert len(pack) == sum(map(len, distinct))
    assert hashlib.sha256(DIVERGENT_BODY).hexdigest() == json.loads(refs.pop())["sha256"]

    shown = gauntlet("diff", str(outcome.run_dir), "diverge-042", "--headless")
    assert shown.returncode == 0, shown.stderr
    assert '"Schema": {' in shown.stdout and '"Kind": "schema"' in shown.stdout
    refused = gauntlet("diff", str(outcome.run_dir), unkept, "--headless")
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert f'case {unkept} matched; its answers were not kept (keep_bodies = "all" keeps them)' in refused.stderr


def test_keep_bodies_all_keeps_every_answer_and_is_validated(servers, write_config, tmp_path):
    cases = "".join(f'\n[[parity.case]]\nname = "match-{i}"\npath = "/match/{i}"\n' for i in range(MATCH_SAMPLE + 5))
    config = load_config(scale_config(write_config, servers, cases, 'keep_bodies = "all"'), env={})
    run_dir = asyncio.run(Engine(config, select_phases(config)).run()).run_dir
    assert all(e["answers"]["go"]["body"] is not None for e in entries(run_dir))
    assert json.loads(stored_answer(run_dir, f"match-{MATCH_SAMPLE + 4}", "go")[1]) == {
        "ok": True, "path": f"/match/{MATCH_SAMPLE + 4}"}
    bad = write_config('[parity]\nkeep_bodies = "some"\n', name="bad.toml")
    with pytest.raises(ConfigError) as info:
        load_config(bad, env={})
    assert [str(p) for p in info.value.problems] == ["parity.keep_bodies: expected one of divergent, all, got 'some'"]


def test_a_landed_case_is_on_disk_within_a_second_while_the_run_goes_on(servers, parity_config, tmp_path):
    release = threading.Event()

    async def slow_for_b(method, path, headers, body):
        if path == "/b":
            await asyncio.get_running_loop().run_in_executor(None, release.wait, 30)
        return 200, {"Content-Type": "application/json"}, b'{"ok": true}'

    url = servers.serve_http(slow_for_b)
    config = load_config(parity_config(url, url, parity="concurrency = 4", after="""
        [[parity.case]]
        name = "a"
        path = "/a"
        [[parity.case]]
        name = "b"
        path = "/b"
        """), env={})
    engine = Engine(config, select_phases(config))

    async def run_and_look() -> list[str]:
        task = asyncio.create_task(engine.run())
        record = engine.run_dir.path / "parity" / "results.jsonl.gz"
        deadline = time.monotonic() + 10
        seen: list[str] = []
        while time.monotonic() < deadline and not seen:
            await asyncio.sleep(0.05)  # let the run go on while polling the file
            seen = [e["case"] for e in entries(engine.run_dir.path)] if record.exists() else []
        release.set()
        await task
        return seen

    assert asyncio.run(run_and_look()) == ["a"]  # "b" had not landed: "a" was flushed while the run went on
    assert [e["case"] for e in entries(engine.run_dir.path)] == ["a", "b"]


# The engine's parity phase without the other consumers of its events, in a process of its
# own: run_parity pulling the cases, each result recorded by the ResultWriter, then dropped.
PROBE = """
import asyncio, resource, sys
from pathlib import Path
from probes.config import load_config
from probes.core.events import EventBus
from probes.parity import run_head, run_parity
from probes.parity import ResultWriter

def peak_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux counts kilobytes

async def main() -> None:
    config = load_config(sys.argv[1], env={}).parity
    writer = ResultWriter(Path(sys.argv[2]), run_head(config, "divergent"), "divergent")
    landed = []
    base = peak_bytes()
    await run_parity(config, EventBus(), lambda result, event: (writer.add(result, event), landed.append(1)))
    writer.close()
    print(len(landed), peak_bytes() - base)

asyncio.run(main())
"""
GROWTH_MB = 5


def _probe_growth(config: Path, out: Path) -> tuple[int, int]:
    """(cases landed, bytes the process's peak RSS grew by over the probe)."""
    proc = subprocess.run([sys.executable, "-c", PROBE, str(config), str(out)], cwd=REPO, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    landed, growth = proc.stdout.split()
    return int(landed), int(growth)


@pytest.mark.slow
def test_streamed_cases_probe_in_memory_that_does_not_grow_with_them(servers, write_config, tmp_path):
    """500 then 3,000 matching cases from a JSON Lines file, each probe in a fresh process:
    the peak RSS grows by about the same (~5 MB: the client, its connections, the buffers) for
    both. The bound is GROWTH_MB between them: RSS moves by a megabyte or two from run to run,
    while holding each case (a task per case up front, every result kept to be sorted and
    written at the end, as the probe did) costs about 5 KB a case, 12.5 MB for the 2,500 more.
    What the run's other consumers keep per case (the parity board, the history summary) is
    theirs and not measured here."""
    growth = {}
    for count in (500, 3_000):
        write_jsonl(tmp_path / "cases.jsonl", [f"match-{i:05d}" for i in range(count)])
        config = scale_config(write_config, servers, "", 'cases_file = "cases.jsonl"')
        landed, growth[count] = _probe_growth(config, tmp_path / f"parity-{count}")
        assert landed == count
    more = (growth[3_000] - growth[500]) / 1e6
    assert more < GROWTH_MB, f"the probe's peak grew by {growth[500] / 1e6:.1f} MB for 500 cases, " \
                             f"{growth[3_000] / 1e6:.1f} MB for 3,000"


def test_a_bad_jsonl_line_is_named_by_check_and_by_a_run(servers, write_config, tmp_path):
    jsonl = tmp_path / "cases.jsonl"
    jsonl.write_text('{"name": "match-1", "path": "/match/1"}\n'
                     '{"name": "match-2", "path": "/match/2"}\n'
                     '{"name": "match-3", "path": "match/3"}\n'
                     '\n'
                     '{"name": "match-4", "path": \n'
                     '{"name": "match-1", "path": "/match/1"}\n'
                     '["not", "a", "case"]\n'
                     '{"name": "match-5", "methd": "GET"}\n'
                     '{"name": "inline", "path": "/match/0"}\n'
                     '{"name": "match-6", "json": {"v": NaN}}\n')
    config = scale_config(write_config, servers, '\n[[parity.case]]\nname = "inline"\npath = "/match/0"\n',
                          'cases_file = "cases.jsonl"')
    checked = gauntlet("check", str(config))
    assert checked.returncode == 2 and "Traceback" not in checked.stderr
    for line in ("cases.jsonl:3: path: must start with '/', got 'match/3'",
                 "cases.jsonl:5: invalid JSON: Expecting value (column 29)",
                 "cases.jsonl:6: name: duplicate case name 'match-1' (an earlier case has it)",
                 'cases.jsonl:7: expected a JSON object (one case), got ["not", "a", "case"]',
                 "cases.jsonl:8: methd: unknown key (did you mean 'method'?)",
                 "cases.jsonl:9: name: duplicate case name 'inline' (an earlier case has it)",
                 "cases.jsonl:10: invalid JSON: NaN is not a JSON value"):
        assert line in checked.stderr, checked.stderr

    bus = EventBus()
    seen: list = []
    bus.subscribe(lambda t, e: seen.append(e))
    loaded = load_config(config, env={})
    outcome = asyncio.run(Engine(loaded, select_phases(loaded), bus=bus).run())
    finished = next(e for e in seen if isinstance(e, PhaseFinished) and e.phase == "parity")
    assert not finished.complete and finished.reason.startswith("cases.jsonl:3: path: must start with '/'")
    assert any(isinstance(e, Notice) and e.level == "error" and "cases.jsonl:3" in e.message for e in seen)
    assert outcome.verdict.complete is False and outcome.exit_code != 3  # a phase that could not finish, no crash
    assert sorted(e["case"] for e in entries(outcome.run_dir)) == ["inline", "match-1", "match-2"]  # before it
    assert not (outcome.run_dir / "crash.txt").exists()

    run = gauntlet("parity", str(config), "--headless")
    assert "cases.jsonl:3: path: must start with '/'" in run.stdout + run.stderr
    assert "Traceback" not in run.stdout + run.stderr


def test_case_flag_finds_a_streamed_case_and_keeps_its_answers(servers, write_config, tmp_path):
    write_jsonl(tmp_path / "cases.jsonl", [f"match-{i}" for i in range(MATCH_SAMPLE + 10)])
    config = scale_config(write_config, servers, '\n[[parity.case]]\nname = "inline"\npath = "/match/x"\n',
                          'cases_file = "cases.jsonl"')
    checked = gauntlet("check", str(config))
    assert checked.returncode == 0 and f"{MATCH_SAMPLE + 11} parity cases" in checked.stdout, checked.stderr
    wanted = f"match-{MATCH_SAMPLE + 5}"
    proc = gauntlet("parity", str(config), "--headless", "--case", wanted)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    run_dir = only_run(tmp_path / "out")
    assert [e["case"] for e in entries(run_dir)] == [wanted]
    assert json.loads(stored_answer(run_dir, wanted, "go")[1])["path"] == f"/match/{wanted}"
    missing = gauntlet("parity", str(config), "--headless", "--case", "nope")
    assert missing.returncode == 2
    assert "no parity case 'nope' (cases: inline, those in cases.jsonl)" in missing.stderr


def test_a_lookup_names_the_cases_there_are(tmp_path):
    run = tmp_path / "run"
    (run / "parity").mkdir(parents=True)
    lines = [{"reference": "rust"}] + [{"case": f"c{i}", "statuses": {"rust": 200}} for i in range(25)]
    (run / "parity" / "results.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    assert read_case(run, "c24")[1] == {"case": "c24", "statuses": {"rust": 200}}
    assert read_case(run, "c2")[1]["case"] == "c2"  # not c20..c24, whose names start the same
    proc = gauntlet("diff", str(run), "c99", "--headless")
    assert proc.returncode == 2
    assert "no parity case 'c99' (cases: c0, c1, c2, c3, c4, c5, c6, c7, c8, c9 and 15 more)" in proc.stderr
    (run / "parity" / "results.jsonl").unlink()
    (run / "parity" / "results.json").write_text("{}")
    old = gauntlet("diff", str(run), "c1", "--headless")
    assert old.returncode == 2 and "parity/results.json is an older gauntlet's record" in old.stderr


def test_cases_from_the_contract_are_probed_and_kept_with_the_run(twins, tmp_path):  # noqa: F811
    spec = tmp_path / "validatord.openapi.yaml"
    spec.write_bytes((REPO / "sample_configs" / "validatord.openapi.yaml").read_bytes())
    config = tmp_path / "gauntlet.toml"
    config.write_text(f'[gauntlet]\nname = "contract"\nout_dir = "out"\n[parity]\nreference = "rust"\n'
                      f'cases_openapi = "{spec.name}"\n[parity.targets]\nrust = "{twins["rust"]}"\n'
                      f'go = "{twins["go"]}"\n')
    loaded = load_config(config, env={})
    outcome = asyncio.run(Engine(loaded, select_phases(loaded)).run())
    generated = (outcome.run_dir / "parity" / "cases.openapi.toml").read_text()
    names = [c.name for c in loaded.parity.cases]
    assert len(names) == 20 and f'name = "{names[0]}"' in generated
    assert "validate_playbook_missing_fingerprint" in names
    assert sorted(e["case"] for e in entries(outcome.run_dir)) == sorted(names)
    missing = stored_answer(outcome.run_dir, "validate_playbook_missing_fingerprint", "go")[1]
    assert json.loads(missing)["Kind"] == "schema"  # the twins' flat shape: that case diverged, its answers kept
    broken = tmp_path / "broken.toml"
    broken.write_text(config.read_text().replace(spec.name, "nowhere.yaml"))
    with pytest.raises(ConfigError) as info:
        load_config(broken, env={})
    assert [p.where for p in info.value.problems] == ["parity.cases_openapi"]
    assert "nowhere.yaml: no such file" in str(info.value)


def test_a_record_cut_short_reads_to_its_last_whole_block_and_a_damaged_one_is_named(tmp_path):
    """A reader of a live run meets the block being written cut short: it reads what is whole
    and finds the rest later. Bytes that are no gzip stream are named, never a traceback."""
    run = tmp_path / "run"
    (run / "parity").mkdir(parents=True)
    record = RecordFile(run / "parity" / RESULTS, {"reference": "rust"})
    record.add(record_line({"case": "landed", "statuses": {"rust": 200}}))
    record.flush()
    whole = (run / "parity" / RESULTS).read_bytes()
    record.add(record_line({"case": "being-written", "statuses": {"rust": 200}}))
    record.close()
    written = (run / "parity" / RESULTS).read_bytes()
    (run / "parity" / RESULTS).write_bytes(written[:len(whole) + (len(written) - len(whole)) // 2])
    assert [e["case"] for e in entries(run)] == ["landed"]
    with pytest.raises(InputError, match=r"no parity case 'being-written' \(cases: landed\)"):
        read_case(run, "being-written")
    (run / "parity" / RESULTS).write_bytes(whole + b"not gzip at all" * 4)
    with pytest.raises(InputError, match=r"results.jsonl.gz: damaged, not a gzip stream"):
        list(entries(run))


def keep_alive_server(servers, delay: float) -> tuple[str, list[int]]:
    """An HTTP/1.1 server that keeps every connection open and answers `{}` after `delay`
    seconds; the list counts the connections it accepted."""
    accepted: list[int] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(1)
        try:
            while head := await reader.readuntil(b"\r\n\r\n"):
                length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                await reader.readexactly(length)
                await asyncio.sleep(delay)
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    return servers.serve(handle), accepted


def test_each_target_keeps_its_connections_however_the_requests_in_flight_mix(servers, write_config, tmp_path):
    """Concurrency 8 needs at most 8 connections to each target, opened once: a target that
    answers slower holds more of the requests in flight, and that must not close the other
    target's idle connections to open its own (each reconnection is a handshake on the clock)."""
    fast, fast_accepted = keep_alive_server(servers, 0)
    slow, slow_accepted = keep_alive_server(servers, 0.004)
    jsonl = write_jsonl(tmp_path / "cases.jsonl", [f"match-{i}" for i in range(600)])
    config = load_config(write_config(f'[parity]\nreference = "rust"\nconcurrency = 8\ncases_file = "{jsonl.name}"\n'
                                      f'[parity.targets]\nrust = "{fast}"\ngo = "{slow}"\n'), env={})
    outcome = asyncio.run(Engine(config, select_phases(config)).run())
    assert outcome.verdict.verdict == "SHIP"
    assert len(fast_accepted) <= 8 and len(slow_accepted) <= 8, (len(fast_accepted), len(slow_accepted))
