"""Settled noise everywhere a run is read again: the history summary and `gauntlet compare`,
`gauntlet merge` of shards that each learned a pool of their own, and the headless printer's
noise table. Real loopback servers, real subprocesses, real run directories."""

from __future__ import annotations

import functools
import json
import random
import re
from pathlib import Path

import pytest

from probes.core.events import NoiseSettled, ParityCaseFinished, RunStarted, read_events
from probes.verdict._history import HistoryStore, RunSummary
from probes.parity._noise_report import read_noise
from probes.verdict._verdict import VerdictTracker

from .. import cli
from ..conftest import only_run
from .test_noise import FIFTY, candidate_of_ids, dynamic_mock, run, ticking

SHARDS = 4


gauntlet = functools.partial(cli.gauntlet, env={"COLUMNS": "160"})


def run_dir_of(seen: list) -> Path:
    return Path(next(e for e in seen if isinstance(e, RunStarted)).run_dir)


def test_history_and_compare_count_what_the_settled_noise_judged(servers, parity_config, tmp_path):
    # Without sampling, every case diverges on `$.tick`; with it, the first cases land divergent
    # (the pool does not know `tick` yet) and the settle judges them matching.
    ref, cand = servers.serve_http(ticking(7)), servers.serve_http(candidate_of_ids())
    plain, seen = run(parity_config, ref, cand, FIFTY, "noise_samples = 0")
    unsampled = run_dir_of(seen)
    learned, seen = run(parity_config, ref, cand, FIFTY, "noise_samples = 1")
    sampled = run_dir_of(seen)
    landed = [e for e in seen if isinstance(e, ParityCaseFinished)]
    assert [e.kinds["cand"] for e in landed[:3]] == ["value"] * 3  # divergent as they landed
    assert (plain.verdict.verdict, learned.verdict.verdict) == ("BLOCK", "SHIP")

    summary = RunSummary.of_run_dir(sampled)
    assert summary.parity == {} and summary.parity_totals() == (50, 50, 0)
    store = HistoryStore(tmp_path / "out" / "history.sqlite")  # what the live run recorded
    try:
        recorded = next(r for r in store.runs() if r.run_id == summary.run_id)
        assert recorded.parity == {} and recorded.parity_totals() == (50, 50, 0)
        assert not [row for row in store.dump()["parity"] if row[0] == summary.run_id]
    finally:
        store.close()
    history = gauntlet("history", str(tmp_path / "out"))
    assert history.returncode == 0, history.stderr
    assert "50/50 · 0/50" in history.stdout and "50/50 · 50/50" in history.stdout, history.stdout

    compared = gauntlet("compare", str(unsampled), str(sampled))
    assert compared.returncode == 0, compared.stdout + compared.stderr
    gone = [line for line in compared.stdout.splitlines() if "divergence gone" in line]
    assert len(gone) == 50, compared.stdout
    assert "unchanged" not in compared.stdout and "divergence new" not in compared.stdout, compared.stdout


def test_a_case_settled_into_another_class_is_kept_in_that_class(servers, parity_config):
    # The candidate also differs on `owner`, which the reference keeps: the early cases land in
    # the class {tick, owner} and settle into {owner}, the class of every later case.
    async def reference(method, path, headers, body):
        payload = {"id": path.rsplit("/", 1)[-1], "tick": next(count) // 7, "owner": "sre"}
        return 200, {"Content-Type": "application/json"}, json.dumps(payload).encode()

    async def candidate(method, path, headers, body):
        payload = {"id": path.rsplit("/", 1)[-1], "tick": -1, "owner": "ops"}
        return 200, {"Content-Type": "application/json"}, json.dumps(payload).encode()

    count = iter(range(10**6))
    outcome, seen = run(parity_config, servers.serve_http(reference), servers.serve_http(candidate), FIFTY,
                        "noise_samples = 1")
    assert outcome.verdict.verdict == "BLOCK"
    landed = [e for e in seen if isinstance(e, ParityCaseFinished)]
    assert len({e.classes["cand"] for e in landed}) == 2  # two classes as they landed
    board = VerdictTracker()
    for t, event in read_events(str(run_dir_of(seen) / "events.jsonl")):
        board.apply(t, event)
    summary = RunSummary.of_run_dir(run_dir_of(seen))
    assert set(summary.parity) == set(board.parity.results) and len(summary.parity) == 50
    for case, kept in summary.parity.items():
        row = board.parity.results[case]
        assert (kept["classes"], kept["kinds"], kept["fingerprints"]) == (row.classes, row.kinds, row.fingerprints)
    assert len({kept["classes"]["cand"] for kept in summary.parity.values()}) == 1
    assert summary.parity_totals() == (50, 50, 50)


@pytest.mark.slow
def test_merged_shards_unite_their_noise_into_the_pool_one_run_learns(servers, parity_config, tmp_path):
    # One reference for the shards, run one after the other, and one for the unsharded run: each
    # sees answers 0..99 in turn, so `tick` moves inside 7 of the 50 cases either way. A shard
    # alone learns from its own dozen cases only.
    cand = servers.serve_http(candidate_of_ids())

    def probe(ref: str) -> Path:
        return parity_config(ref, cand, parity="""
            concurrency = 1
            noise_samples = 1
            """, after=FIFTY, names=("ref", "cand"))

    config = probe(servers.serve_http(ticking(7)))
    shards = []
    for k in range(1, SHARDS + 1):
        done = gauntlet("parity", str(config), "--shard", f"{k}/{SHARDS}", "--headless",
                        "--out", str(tmp_path / f"shard-{k}"))
        assert done.returncode in (0, 1), done.stdout + done.stderr
        shards.append(only_run(tmp_path / f"shard-{k}"))
    pools = [read_noise(shard) for shard in shards]
    assert all(p is not None and p.endpoints[0].shapes for p in pools)  # each a pool of its own, mergeable
    assert sum(p.endpoints[0].samples for p in pools) == 50
    merged_out = gauntlet("merge", *map(str, shards), "--out", str(tmp_path / "merged"))
    assert merged_out.returncode == 0, merged_out.stdout + merged_out.stderr
    merged = only_run(tmp_path / "merged")

    config = probe(servers.serve_http(ticking(7)))
    whole_out = gauntlet("parity", str(config), "--headless", "--out", str(tmp_path / "whole"))
    assert whole_out.returncode == 0, whole_out.stdout + whole_out.stderr
    whole = only_run(tmp_path / "whole")

    events = [e for _, e in read_events(str(merged / "events.jsonl"))]
    settled = [e for e in events if isinstance(e, NoiseSettled)]
    # One pool: what one run of every case learns (its evidence, a few of the reference's own
    # values, is the first shards' rather than the first cases').
    assert len(settled) == 1 and settled[0] == read_noise(merged)
    unsharded = read_noise(whole)
    assert unsharded is not None
    for pool in (settled[0], unsharded):
        (endpoint,) = pool.endpoints
        assert (endpoint.endpoint, endpoint.samples, endpoint.cases) == ("GET /v1/playbooks/{n}", 50, 50)
        assert [(p.path, p.differed) for p in endpoint.paths] == [("$.tick", 7)]
        assert len(endpoint.paths[0].evidence) == 3 and all(v.isdigit() for v in endpoint.paths[0].evidence)
    mine, theirs = (json.loads((run / "verdict.json").read_text()) for run in (merged, whole))
    assert (mine["verdict"], mine["reasons"]) == (theirs["verdict"], theirs["reasons"])
    assert mine["phases"]["parity"]["headline"] == theirs["phases"]["parity"]["headline"]
    assert theirs["phases"]["parity"]["body_divergent"] == 0 and theirs["verdict"] == "SHIP"
    tables = [[line.rsplit("|", 2)[0] for line in (run / "parity" / "report.md").read_text().splitlines()
               if "`$.tick`" in line] for run in (merged, whole)]  # the evidence column left off
    assert tables[0] == tables[1] == ["| GET /v1/playbooks/{n} | `$.tick` | 7 of 50 "], tables
    assert RunSummary.of_run_dir(merged).parity_totals() == (50, 50, 0)  # its history agrees


def test_the_headless_printer_shows_the_noise_table_a_few_lines_an_endpoint(servers, parity_config, tmp_path):
    rng = random.Random(7)

    async def reference(method, path, headers, body):
        if path.startswith("/v1/playbooks/"):
            return await playbooks(method, path, headers, body)
        wide = {f"f{n:02d}": rng.getrandbits(32) for n in range(12)}  # noise through and through
        return 200, {"Content-Type": "application/json"}, json.dumps(wide).encode()

    async def candidate(method, path, headers, body):
        answer = {"id": "pb_5", "name": "nightly", "steps": [], "endorsed": [], "fingerprint": "fp", "owner": "sre"} \
            if path.startswith("/v1/playbooks/") else {f"f{n:02d}": 0 for n in range(12)}
        return 200, {"Content-Type": "application/json"}, json.dumps(answer).encode()

    playbooks = dynamic_mock()
    config = parity_config(servers.serve_http(reference), servers.serve_http(candidate), parity="""
        concurrency = 1
        noise_samples = 3
        max_inconclusive = "50%"  # one case of two is all noise, on purpose
        """, after="""
        [[parity.case]]
        name = "playbook_5"
        path = "/v1/playbooks/5"
        [[parity.case]]
        name = "wide"
        path = "/v1/wide/things"
        """, names=("ref", "cand"))
    done = gauntlet("parity", str(config), "--headless", "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("learned noise"))
    assert start > next(i for i, line in enumerate(lines) if "status codes match" in line)  # after the summary
    table = lines[start:start + 14]
    text = "\n".join(table)
    assert "GET /v1/playbooks/{n}: 3 samples from 1 case(s)" in text, text
    for path in ("$.endorsed[*]", "$.fingerprint", "$.steps[*]"):
        assert any(line.split()[:2] == [path, "3/3"] for line in table), (path, text)
    assert "GET /v1/wide/things: 3 samples from 1 case(s)" in text, text
    wide = [line for line in table if re.match(r"\s+\$\.f\d\d ", line)]
    assert len(wide) == 5, text  # a few lines an endpoint, the rest counted
    assert "… 7 more noisy path(s): parity/noise.json, `gauntlet noise suggest`" in text, text
    assert "GET /v1/wide/things: 1 case(s) inconclusive" in text, text


def test_shapes_a_shard_could_not_tell_from_noise_are_inconclusive_in_the_united_pool():
    # Shard 1's reference differed on `a` only, shard 2's on `b` only: neither alone finds the
    # answer {a, b} all noise; one run of both cases does, and so must their pools united.
    from probes.parity._compare import diff_json
    from probes.parity._noise import NoisePool, leaf_paths

    answer = {"a": 1, "b": 1}
    cases = [({"a": 2, "b": 1},), ({"a": 1, "b": 2},)]
    leaves = leaf_paths("json", answer)
    one = NoisePool()
    shards = []
    for samples in cases:
        diffs = [diff_json(answer, s) for s in samples]
        one.learn("GET /x", diffs, leaves)
        shard = NoisePool()
        shard.learn("GET /x", diffs, leaves)
        shards.append(shard.settled(shard=True))
    assert [s.endpoints[0].inconclusive for s in shards] == [0, 0]
    united = NoisePool()
    for settled in shards:
        united.absorb(settled)
    assert united.settled() == one.settled()
    (endpoint,) = united.settled().endpoints
    assert endpoint.inconclusive == 2 and [p.path for p in endpoint.paths] == ["$.a", "$.b"]
