"""Scale-out: `--shard K/N` cuts the parity cases by a stable hash of their names, so the jobs of
a CI matrix each probe a part, and `gauntlet merge` joins their run directories into one run
and one verdict: what one machine probing every case gives. A shard missing or killed makes
the merged verdict incomplete; a shard given twice, or a run of something else, is refused."""

from __future__ import annotations

import functools
import asyncio
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import pytest

from probes import Shard
from probes.parity._compare import diff_json, diff_text
from probes.parity._classes import classify
from probes.core.events import DivergenceClassFound, Notice, ParityCaseFinished, RunFinished, read_events
from probes.parity._results import PACK, entries, read_body
from probes.core._rundir import Writer

from .. import cli
from ..conftest import REPO, only_run, wait_until

EQUAL_CASES = 500  # four shards beside one unsharded run of them all: ten of each way of diverging (bench/merge_scale.py: 20,000)
SHARDS = 4
DIVERGING = ("shape", "type", "value", "status", "text")  # one case in ten diverges, one of these ways
VALUE = ({"items": [1, 2]}, {"items": [1, 3]})
TEXT = ("a\nb\n", "a\nc\n")
# The known gap covers the value class: the verdict relies on it, in the merge as in one run.
VALUE_CLASS = classify(diff_json(*VALUE)).id
TEXT_CLASS = classify(diff_text(*TEXT)).id
DEADLINE = 300  # seconds a shard's run may take on a loaded 2-core machine


def answers(runtime: str):
    """The two runtimes of one service: most paths answer alike; `/shape/`, `/type/`, `/value/`,
    `/status/` and `/text/` answer in each runtime's own way (bodies that name their case, so the
    record holds thousands of distinct bodies, and bodies every case of a class shares);
    `/stall/` never answers."""
    go = runtime == "go"

    async def handle(method, path, headers, body):
        kind = path.split("/")[1]
        if kind == "stall":
            await asyncio.Event().wait()
        if kind == "shape":
            payload = {"Kind": "schema", "Field": path} if go else {"Schema": {"field": path}}
            return 422, {"Content-Type": "application/json"}, json.dumps(payload).encode()
        if kind == "type":
            return 200, {"Content-Type": "application/json"}, json.dumps({"n": "1" if go else 1, "path": path}).encode()
        if kind == "value":
            return 200, {"Content-Type": "application/json"}, json.dumps(VALUE[go]).encode()
        if kind == "status":
            return (500 if go else 200), {"Content-Type": "application/json"}, b'{"ok": true}'
        if kind == "text":
            return 200, {"Content-Type": "text/plain; charset=utf-8"}, TEXT[go].encode()
        return 200, {"Content-Type": "application/json"}, json.dumps({"ok": True, "path": path}).encode()

    return handle


def case_names(count: int) -> list[str]:
    return [f"{DIVERGING[i // 10 % len(DIVERGING)] if i % 10 == 0 else 'match'}-{i:05d}" for i in range(count)]


def project(servers, tmp_path: Path, names: Iterable[str], extra: str = "") -> Path:
    """A config over a JSON Lines cases file, its known gaps, both runtimes on loopback."""
    with open(tmp_path / "cases.jsonl", "w") as fh:
        for name in names:
            fh.write(json.dumps({"name": name, "method": "POST", "path": f"/{name.split('-')[0]}/{name}",
                                 "json": {"case": name}}) + "\n")
    (tmp_path / "gaps.toml").write_text(f'[[gap]]\nid = "items-tail"\nclasses = ["{VALUE_CLASS}"]\n'
                                        f'note = "the last item differs"\nowner = "svc"\nopened = 2026-05-02\n')
    config = tmp_path / "gauntlet.toml"
    config.write_text(f"""
[gauntlet]
name = "sharded"
out_dir = "out"
[verdict]
known_gaps = "gaps.toml"
{extra}
[parity]
reference = "rust"
concurrency = 16
timeout = "60s"
cases_file = "cases.jsonl"
[parity.targets]
rust = "{servers.serve_http(answers("rust"))}"
go = "{servers.serve_http(answers("go"))}"
""")
    return config


def start(*argv: str, log: Path) -> subprocess.Popen[bytes]:
    """A gauntlet process writing its output to `log` (a pipe nobody reads could fill and stall it)."""
    with open(log, "wb") as out:
        return subprocess.Popen([sys.executable, "-m", "tui.cli", *argv], cwd=REPO, stdout=out,
                                stderr=subprocess.STDOUT, env={**os.environ, "COLUMNS": "120"})


gauntlet = functools.partial(cli.gauntlet, env={"COLUMNS": "120"})


def shard_runs(config: Path, tmp_path: Path, which: Iterable[int], *argv: str) -> dict[str, subprocess.Popen[bytes]]:
    """Shards K/4 of the parity probe (or of `argv`), started together, each into `shard-K/`."""
    return {f"shard-{k}": start(*argv or ("parity",), str(config), "--shard", f"{k}/{SHARDS}", "--headless",
                                "--out", str(tmp_path / f"shard-{k}"), log=tmp_path / f"shard-{k}.log")
            for k in which}


def finished(procs: dict[str, subprocess.Popen[bytes]], tmp_path: Path, expected: int) -> None:
    """Each process has ended with `expected`; its log (`<name>.log`) says why not."""
    for name, proc in procs.items():
        assert proc.wait(DEADLINE) == expected, (tmp_path / f"{name}.log").read_text()[-3000:]


def verdict_of(run_dir: Path) -> dict:
    return json.loads((run_dir / "verdict.json").read_text())


def without_examples(reasons: list[str]) -> list[str]:
    """The reasons without the cases they name as examples: the first to land, which differ
    from run to run (with sixteen cases in flight) however the cases were split."""
    return [re.sub(r"(\d[\d,]* cases) \([^)]*\)", r"\1", reason) for reason in reasons]


def class_cases(run_dir: Path) -> dict[tuple[str, str], set[str]]:
    groups: dict[tuple[str, str], set[str]] = {}
    for entry in entries(run_dir):
        for target, class_id in (entry.get("classes") or {}).items():
            if class_id:
                groups.setdefault((target, class_id), set()).add(entry["case"])
    return groups


def kept_bodies(run_dir: Path) -> dict[tuple[str, str], bytes]:
    """Every stored body, by (case, target), read through its reference."""
    return {(e["case"], target): read_body(run_dir, e["case"], answer["body"])
            for e in entries(run_dir) for target, answer in e["answers"].items() if answer["body"] is not None}


def diverging(bodies: dict[tuple[str, str], bytes]) -> dict[tuple[str, str], bytes]:
    """The bodies of the cases that diverged (each run also keeps a sample of matching ones)."""
    return {key: body for key, body in bodies.items() if not key[0].startswith("match-")}


def events_of(run_dir: Path) -> list:
    return [event for _, event in read_events(str(run_dir / "events.jsonl"))]


def expected_bodies(names: Iterable[str]) -> dict[tuple[str, str], bytes]:
    """What each runtime answers each diverging case: the bodies the merge must keep, each once."""
    async def both() -> dict[tuple[str, str], bytes]:
        handlers = {runtime: answers(runtime) for runtime in ("rust", "go")}
        return {(name, runtime): (await handle("POST", f"/{name.split('-')[0]}/{name}", {}, b""))[2]
                for name in names if not name.startswith("match-") for runtime, handle in handlers.items()}

    return asyncio.run(both())


def merge_shards(servers, tmp_path: Path, names: list[str]) -> tuple[Path, list[Path]]:
    """The four shards of `names` probed side by side, and one run of them all beside them
    (into `whole/`), then merged: the merged run and the shards."""
    config = project(servers, tmp_path, names)
    procs = shard_runs(config, tmp_path, range(1, SHARDS + 1))
    procs["whole"] = start("parity", str(config), "--headless", "--out", str(tmp_path / "whole"),
                           log=tmp_path / "whole.log")
    finished(procs, tmp_path, expected=1)  # the status mismatches block
    shards = [only_run(tmp_path / f"shard-{k}") for k in range(1, SHARDS + 1)]

    # Each case was probed by exactly one shard, the one its name hashes to; none is left out.
    parts = [{e["case"] for e in entries(run)} for run in shards]
    assert sum(map(len, parts)) == len(names) and set().union(*parts) == set(names)
    for k, part in enumerate(parts, 1):
        assert all(Shard(k, SHARDS).holds(name) for name in part)
        assert 0.2 * len(names) < len(part) < 0.3 * len(names), [len(p) for p in parts]

    merged_out = gauntlet("merge", *map(str, shards), "--out", str(tmp_path / "merged"))
    assert merged_out.returncode == 1, merged_out.stdout + merged_out.stderr
    merged = only_run(tmp_path / "merged")
    assert "Traceback" not in merged_out.stderr and str(merged) in merged_out.stdout
    return merged, shards


def assert_merged(merged: Path, shards: list[Path], names: list[str]) -> None:
    """The merged run holds what the cases answer: each case once, each class of divergence
    (one per way of diverging, with the cases that diverge that way), both runtimes' bodies of
    every diverging case, each stored once, each class announced once before the first case
    naming it, the value class covered by its known gap. A stored diff of a case from the
    last shard opens like any run's, and judging the run again agrees."""
    lines = [e["case"] for e in entries(merged)]
    assert len(lines) == len(names) and set(lines) == set(names)
    classes = class_cases(merged)
    by_kind = {kind: {n for n in names if n.startswith(f"{kind}-")} for kind in ("shape", "type", "value", "text")}
    assert {target for target, _ in classes} == {"go"}
    assert sorted(map(sorted, classes.values())) == sorted(map(sorted, by_kind.values()))  # status alone is no class
    assert classes[("go", VALUE_CLASS)] == by_kind["value"] and classes[("go", TEXT_CLASS)] == by_kind["text"]
    bodies = kept_bodies(merged)
    assert diverging(bodies) == expected_bodies(names)
    assert (merged / "parity" / PACK).stat().st_size == sum(map(len, set(bodies.values())))  # each body once

    seen: set[str] = set()
    cases = 0
    for event in events_of(merged):
        if isinstance(event, DivergenceClassFound):
            assert event.id not in seen
            seen.add(event.id)
        elif isinstance(event, ParityCaseFinished):
            cases += 1
            assert {c for c in event.classes.values() if c} <= seen
    assert cases == len(names) and seen == {c for _, c in classes}
    assert isinstance(events_of(merged)[-1], RunFinished)

    verdict = verdict_of(merged)
    assert (verdict["verdict"], verdict["complete"]) == ("BLOCK", True)
    assert verdict["phases"]["parity"]["cases_total"] == len(names)
    assert sorted(c["cases_total"] for c in verdict["phases"]["parity"]["classes"]) == \
        sorted(map(len, by_kind.values()))
    assert "covered by known gap items-tail" in verdict["known_gaps"][0] and VALUE_CLASS in verdict["known_gaps"][0]
    assert (merged / "parity" / "report.md").read_text().count("cls:") >= 4
    assert Writer.of_run(merged).closed

    case = next(e["case"] for e in entries(shards[-1]) if e["case"].startswith("shape-"))
    shown = gauntlet("diff", str(merged), case, "--headless")
    assert shown.returncode == 0 and f'"Field": "/shape/{case}"' in shown.stdout, shown.stderr
    judged = gauntlet("verdict", str(merged))
    assert judged.returncode == 1 and judged.stdout.startswith("BLOCK — rewrote"), judged.stdout


@pytest.mark.slow
def test_four_shards_merged_equal_one_unsharded_run(servers, tmp_path):
    """What one machine probing every case writes, the merge writes: the same cases in the
    same classes with the same bodies, the same headline, verdict, reasons and known gaps
    from the same gaps file."""
    names = case_names(EQUAL_CASES)
    merged, shards = merge_shards(servers, tmp_path, names)
    assert_merged(merged, shards, names)
    whole = only_run(tmp_path / "whole")
    assert class_cases(merged) == class_cases(whole)
    assert diverging(kept_bodies(merged)) == diverging(kept_bodies(whole))
    mine, theirs = verdict_of(merged), verdict_of(whole)
    assert mine["phases"]["parity"]["headline"] == theirs["phases"]["parity"]["headline"]
    assert (mine["verdict"], mine["complete"]) == (theirs["verdict"], theirs["complete"])
    assert without_examples(mine["reasons"]) == without_examples(theirs["reasons"])
    assert without_examples(mine["known_gaps"]) == without_examples(theirs["known_gaps"])
    assert [(c["class"], c["cases_total"]) for c in mine["phases"]["parity"]["classes"]] == \
        [(c["class"], c["cases_total"]) for c in theirs["phases"]["parity"]["classes"]]


def small_project(servers, tmp_path: Path) -> tuple[Path, list[str]]:
    """200 cases and a smoke: what `gauntlet run --shard` runs in every shard."""
    names = case_names(200)
    return project(servers, tmp_path, names, '[[smoke]]\nname = "ok"\nlayer = "unit"\nrun = ["true"]\n'), names


@pytest.mark.slow
def test_a_missing_shard_is_named_and_a_doubled_or_foreign_run_is_refused(servers, tmp_path):
    config, names = small_project(servers, tmp_path)
    procs = shard_runs(config, tmp_path, range(1, SHARDS + 1), "run")
    for name, *argv in (("again", "--shard", "2/4"), ("thirds", "--shard", "1/3"), ("whole",)):
        procs[name] = start("run", str(config), *argv, "--headless", "--out", str(tmp_path / name),
                            log=tmp_path / f"{name}.log")
    finished(procs, tmp_path, expected=1)
    shard = {k: str(only_run(tmp_path / f"shard-{k}")) for k in range(1, SHARDS + 1)}
    whole = only_run(tmp_path / "whole")

    # Three of four: merged, and incomplete for the one missing, whatever the three found.
    partial = gauntlet("merge", shard[1], shard[2], shard[4], "--out", str(tmp_path / "partial"))
    assert partial.returncode == 1, partial.stdout + partial.stderr
    run = only_run(tmp_path / "partial")
    verdict = verdict_of(run)
    assert verdict["complete"] is False
    assert "incomplete: parity did not run to the end (shard 3/4 is missing)" in verdict["reasons"]
    landed = {e["case"] for e in entries(run)}
    assert landed == {n for n in names if not Shard(3, SHARDS).holds(n)}

    # Every shard ran the smoke; the merge carries shard 1's, once, and says so.
    assert verdict["phases"]["smokes"]["state"] == "done" and verdict["phases"]["smokes"]["total"] == 1
    assert (run / "smokes" / "junit.xml").is_file()
    notices = [e.message for e in events_of(run) if isinstance(e, Notice)]
    assert any("smokes as shard 1/4 ran" in m for m in notices), notices

    # All four: the same verdict as one run of everything; the merge is in the history.
    whole_merge = gauntlet("merge", *shard.values(), "--out", str(tmp_path / "merged"))
    assert whole_merge.returncode == 1, whole_merge.stdout + whole_merge.stderr
    merged = verdict_of(only_run(tmp_path / "merged"))
    assert merged["complete"] is True
    assert without_examples(merged["reasons"]) == without_examples(verdict_of(whole)["reasons"])
    history = gauntlet("history", str(tmp_path / "merged"))
    assert history.returncode == 0 and only_run(tmp_path / "merged").name in history.stdout, history.stderr
    assert not (tmp_path / "shard-1" / "history.sqlite").exists()  # a part of a run is not a run to compare

    # A shard's record damaged half-way: refused, naming the line, and no half-made run is left.
    broken = tmp_path / "broken"
    shutil.copytree(shard[4], broken)
    lines = (broken / "events.jsonl").read_text().splitlines(keepends=True)
    number = next(i for i, line in enumerate(lines, 1) if '"ParityCaseFinished"' in line) + 3
    lines[number - 1] = '{"t": 1, "type": "ParityCaseFinished", "case": \n'
    (broken / "events.jsonl").write_text("".join(lines))

    # Refused: one shard twice, shards of another split, a whole run, no run at all, a damaged one.
    for argv, message in (
            ((shard[1], shard[2], str(only_run(tmp_path / "again")), shard[3], shard[4]),
             f"shard 2/4 is given twice: {shard[2]} and {only_run(tmp_path / 'again')}"),
            ((shard[1], shard[2], shard[2]), f"shard 2/4 is given twice: {shard[2]} and {shard[2]}"),
            ((shard[1], str(only_run(tmp_path / "thirds"))),
             f"{only_run(tmp_path / 'thirds')} is shard 1/3, {shard[1]} is shard 1/4: give the shards of one split"),
            ((shard[1], str(whole)), f"{whole} is not a shard (run without --shard): nothing to merge it with"),
            ((shard[1], str(tmp_path)), f"{tmp_path}: not a run directory (no events.jsonl)"),
            ((shard[1], shard[2], shard[3], str(broken)), f"{broken}/events.jsonl:{number}: not an event line")):
        refused = gauntlet("merge", *argv, "--out", str(tmp_path / "refused"))
        assert refused.returncode == 2 and message in refused.stderr, refused.stderr
        assert "Traceback" not in refused.stderr and not list(tmp_path.glob("refused/*"))


@pytest.mark.slow
def test_shards_of_another_config_or_other_cases_are_refused(servers, tmp_path):
    config, _ = small_project(servers, tmp_path)
    text = config.read_text()
    cases = (tmp_path / "cases.jsonl").read_text()
    (tmp_path / "more.jsonl").write_text(cases + json.dumps({"name": "match-new", "path": "/match/new"}) + "\n")
    variants = {"renamed": text.replace('name = "sharded"', 'name = "other"'),
                "retargeted": text.replace("\ngo = ", "\ngo2 = "),
                "recased": text.replace('cases_file = "cases.jsonl"', 'cases_file = "more.jsonl"')}
    procs = shard_runs(config, tmp_path, [1])
    for name, variant in variants.items():  # each a shard 2/4, of a config that differs from the first's
        (tmp_path / f"{name}.toml").write_text(variant)
        procs[name] = start("parity", str(tmp_path / f"{name}.toml"), "--shard", "2/4", "--headless",
                            "--out", str(tmp_path / name), log=tmp_path / f"{name}.log")
    finished(procs, tmp_path, expected=1)
    one = only_run(tmp_path / "shard-1")
    for name, message in (
            ("renamed", "{other} is a run of 'other', {one} of 'sharded': give the shards of one config"),
            ("retargeted", "{other} compares rust, go2 with rust, {one} rust, go with rust: "
                           "give the shards of one config"),
            ("recased", "{other} was cut from other cases than {one} (201 cases, sha256 ")):
        other = only_run(tmp_path / name)
        refused = gauntlet("merge", str(one), str(other), "--out", str(tmp_path / "refused"))
        assert refused.returncode == 2, refused.stdout + refused.stderr
        assert message.format(other=other, one=one) in refused.stderr, refused.stderr
    assert "200 cases, sha256 " in refused.stderr and not list(tmp_path.glob("refused/*"))


@pytest.mark.slow
def test_a_shard_killed_mid_run_makes_the_merged_verdict_incomplete(servers, tmp_path):
    names = case_names(400)
    third = Shard(3, SHARDS)
    stalled = [f"stall-{i}" for i in range(200) if third.holds(f"stall-{i}")]  # shard 3's alone
    config = project(servers, tmp_path, names + stalled)
    procs = shard_runs(config, tmp_path, range(1, SHARDS + 1))
    def landed() -> Path | None:  # shard 3 has landed a case and waits on the stalled ones
        assert procs["shard-3"].poll() is None, (tmp_path / "shard-3.log").read_text()
        runs = list((tmp_path / "shard-3").glob("*/events.jsonl"))
        return next((r for r in runs if any(isinstance(e, ParityCaseFinished) for _, e in read_events(str(r)))),
                    None)

    wait_until(landed, DEADLINE, "shard 3 landed a case")
    events = landed()
    assert events is not None
    procs["shard-3"].send_signal(signal.SIGKILL)
    assert procs.pop("shard-3").wait(DEADLINE) == -signal.SIGKILL
    finished(procs, tmp_path, expected=1)
    killed = events.parent
    assert not any(isinstance(e, RunFinished) for _, e in read_events(str(events)))

    shards = [only_run(tmp_path / f"shard-{k}") for k in range(1, SHARDS + 1)]
    merged_out = gauntlet("merge", *map(str, shards), "--out", str(tmp_path / "merged"))
    assert merged_out.returncode == 1, merged_out.stdout + merged_out.stderr
    merged = only_run(tmp_path / "merged")
    verdict = verdict_of(merged)
    assert verdict["verdict"] == "BLOCK" and verdict["complete"] is False
    writer = Writer.of_run(killed)
    reason = (f"incomplete: parity did not run to the end (shard 3/4 ({killed}) did not finish its parity phase: "
              f"{writer.abandoned})")
    assert reason in verdict["reasons"], verdict["reasons"]
    probed = {e.case for e in events_of(merged) if isinstance(e, ParityCaseFinished)}
    landed = {e.case for _, e in read_events(str(events)) if isinstance(e, ParityCaseFinished)}
    assert landed and landed <= probed and not any(n.startswith("stall-") for n in probed)
    assert {n for n in names if not third.holds(n)} <= probed
    assert isinstance(events_of(merged)[-1], RunFinished) and Writer.of_run(merged).closed


def test_the_shard_flag_is_checked(servers, tmp_path):
    config, _ = small_project(servers, tmp_path)
    for argv, message in (
            (("parity", "--shard", "0/4"), "argument --shard: '0/4': K must be between 1 and N (0 is not in 1..4)"),
            (("parity", "--shard", "5/4"), "argument --shard: '5/4': K must be between 1 and N (5 is not in 1..4)"),
            (("run", "--shard", "1/0"), "argument --shard: '1/0': N, the number of shards, must be at least 1"),
            (("run", "--shard", "half"),
             "argument --shard: 'half': expected K/N, e.g. 2/4 (the second of four shards)"),
            (("parity", "--shard", "1/2", "--case", "match-00001"),
             "--shard and --case do not go together: --case probes the cases it names"),
            (("run", "--skip", "parity", "--shard", "1/2"),
             "--shard 1/2 splits the parity cases, and this run has no parity phase")):
        proc = gauntlet(argv[0], str(config), *argv[1:], "--headless", "--out", str(tmp_path / "out"))
        assert proc.returncode == 2 and message in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()


def test_a_shard_whose_record_is_cut_short_makes_the_merge_incomplete(servers, tmp_path):
    config = project(servers, tmp_path, case_names(60))
    procs = {f"shard-{k}": start("parity", str(config), "--shard", f"{k}/3", "--headless",
                                 "--out", str(tmp_path / f"shard-{k}"), log=tmp_path / f"shard-{k}.log")
             for k in (1, 2, 3)}
    finished(procs, tmp_path, expected=1)
    shards = [only_run(tmp_path / f"shard-{k}") for k in (1, 2, 3)]
    record = shards[1] / "parity" / "results.jsonl.gz"
    record.write_bytes(record.read_bytes()[: record.stat().st_size // 2])  # the disk filled, the copy broke
    probed = sum(isinstance(e, ParityCaseFinished) for e in events_of(shards[1]))
    kept = sum(1 for _ in entries(shards[1]))
    assert kept < probed

    merged_out = gauntlet("merge", *map(str, shards), "--out", str(tmp_path / "merged"))
    assert merged_out.returncode == 1, merged_out.stdout + merged_out.stderr
    verdict = verdict_of(only_run(tmp_path / "merged"))
    assert verdict["verdict"] == "BLOCK" and verdict["complete"] is False
    reason = (f"incomplete: parity did not run to the end (shard 2/3 ({shards[1]}): its parity record holds "
              f"{kept} of its {probed} cases, {probed - kept} missing)")
    assert reason in verdict["reasons"], verdict["reasons"]
    assert "complete: true" not in merged_out.stdout.lower()
