"""Latency parity against real loopback servers: fair timing, the statistics, the verdict."""

from __future__ import annotations

import asyncio
import json
import random
import re
import shutil
from collections import Counter
from dataclasses import replace

import pytest

from probes.cases._case import ParityCase
from probes.config import load_config
from probes.engine import Engine, select_phases
from probes.core._errors import ConfigError, InputError
from probes.core.events import EventBus, LatencyPlanned, LatencyRow, ParityCaseFinished, from_json, to_json
from probes.parity._latency import (
    LATENCY,
    LATENCY_CLASS,
    NO_DATA,
    OK,
    SLOWER,
    bootstrap_interval,
    judge_samples,
    mann_whitney,
    quantile,
)
from probes.parity._latency_render import group_head, latency_cell, latency_markdown
from probes.parity._probe import Answer, CaseResult, case_event, run_parity
from probes.parity._store import MATCH_SAMPLE, ResultWriter
from probes.parity._results import entries, stored_answer
from probes.parity._twins import parse_latency
from probes.verdict._latency import latency_verdict

from ..cli import gauntlet
from ..conftest import REPO, free_ports, only_run, rewrite_ports, run_engine

CASE = '\n[[parity.case]]\nname = "c"\nmethod = "POST"\npath = "/v1/validate"\njson = { a = 1 }\n'


def delayed(base_ms: float, repeats: int, seed: int = 1, log: list | None = None, name: str = "",
            fail_every: int = 0, cycle: bool = True):
    """A JSON service answering after `base_ms` × a factor from 0.6 to 1.4: the factors are one
    shuffled cycle of `repeats` values, so any `repeats` requests in a row take the same set of
    delays and the true median is `base_ms`; without `cycle` each factor is drawn on its own
    from the seeded generator (uniform), so two servers' delays are independent samples of one
    distribution. `fail_every`: every such request answers 500. A test that expects a verdict
    gives delays of several milliseconds: the server shares this process's GIL, and in a full
    suite the machine's cores, with the probe, which adds a few milliseconds to either side."""
    rng = random.Random(seed)
    factors = [0.6 + 0.8 * k / (repeats - 1) for k in range(repeats)]
    rng.shuffle(factors)
    count = 0

    async def handle(method, path, headers, body):
        nonlocal count
        count += 1
        if log is not None:
            log.append(name)
        await asyncio.sleep(base_ms / 1000 * (factors[count % repeats] if cycle else rng.uniform(0.6, 1.4)))
        if fail_every and count % fail_every == 0:
            return 500, {"Content-Type": "application/json"}, b'{"error":"boom"}'
        return 200, {"Content-Type": "application/json"}, b'{"ok":true}'

    return handle


def latency_config(parity_config, ref: str, cand: str, *, repeats: int, warmup: int = 2, extra: str = "",
                   verdict: str = ""):
    path = parity_config(ref, cand, parity='timeout = "5s"', after=f"""
        [parity.latency]
        repeats = {repeats}
        warmup = {warmup}
        max_ratio = 1.25
        {extra}
        [verdict]
        {verdict}
    """ + CASE)
    return load_config(path, env={})


def run(config, **engine_kw):
    outcome, seen = run_engine(config, **engine_kw)
    return outcome, {e.case: e for e in seen if isinstance(e, ParityCaseFinished)}, seen


def candidate(event: ParityCaseFinished):
    return next(r for r in event.latency if r.target == "go")


# ---- statistics --------------------------------------------------------------------------------

def test_mann_whitney_agrees_with_scipy():
    # scipy.stats.mannwhitneyu(a, b, alternative="two-sided", method="asymptotic"), computed once.
    assert mann_whitney(list(range(1, 11)), list(range(11, 21))) == pytest.approx(0.00018267179110955002)
    a, b = [1.0, 2, 2, 3, 4, 5, 5, 5, 6, 7, 8, 9], [3.0, 4, 5, 5, 6, 7, 8, 8, 9, 10, 11]
    assert mann_whitney(a, b) == pytest.approx(0.07214484848423444)
    assert mann_whitney([5.0] * 12, [5.0] * 12) == 1.0


def test_the_interval_is_reproducible_and_holds_the_ratio():
    rng = random.Random(3)
    ref = [10 * rng.uniform(0.8, 1.2) for _ in range(30)]
    cand = [v * 1.6 for v in ref]
    assert bootstrap_interval(ref, cand, 42) == bootstrap_interval(ref, cand, 42)
    low, high = bootstrap_interval(ref, cand, 42)
    assert low < 1.6 < high and low > 1.25
    assert quantile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5


def test_too_few_samples_is_no_data_never_a_pass():
    judged = judge_samples([10.0] * 5, [30.0] * 5, 1.25, 1)
    assert judged.state == NO_DATA and "too few samples: n = 5" in judged.why
    assert judged.ratio is None and judged.low is None


# ---- config ------------------------------------------------------------------------------------

def test_every_latency_key_is_checked_with_its_key_path(write_config):
    path = write_config("""
        [parity]
        reference = "rust"
        [parity.targets]
        rust = "http://127.0.0.1:1"
        go = "http://127.0.0.1:2"
        [parity.latency]
        repeats = 3
        warmup = -1
        max_ratio = "fast"
        repeat = 30
        [verdict]
        latency = "warn"
    """ + CASE)
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})
    said = {p.where: p.message for p in caught.value.problems}
    assert "must be between 10 and" in said["parity.latency.repeats"]
    assert "must be between 0 and" in said["parity.latency.warmup"]
    assert said["parity.latency.max_ratio"] == "expected a number, got a string 'fast'"
    assert "did you mean 'repeats'" in said["parity.latency.repeat"]
    assert said["verdict.latency"] == "expected one of block, report, got 'warn'"


def test_timing_counts_have_an_upper_bound_with_their_key_path(write_config):
    """A case's timing is serial: 5,000 timed requests a target a case would never end."""
    path = write_config("""
        [parity]
        reference = "rust"
        [parity.targets]
        rust = "http://127.0.0.1:1"
        go = "http://127.0.0.1:2"
        [parity.latency]
        repeats = 5000
        warmup = 500
    """ + CASE)
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})
    said = {p.where: p.message for p in caught.value.problems}
    assert said == {"parity.latency.repeats": "must be between 10 and 1000, got 5000",
                    "parity.latency.warmup": "must be between 0 and 100, got 500"}


def test_a_latency_verdict_without_timing_is_a_problem_and_report_mode_travels(parity_config, write_config):
    path = write_config('[verdict]\nlatency = "report"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})
    assert [p.where for p in caught.value.problems] == ["verdict.latency"]
    config = latency_config(parity_config, "http://127.0.0.1:1", "http://127.0.0.1:2", repeats=12,
                            verdict='latency = "report"')
    assert config.parity.latency is not None and not config.parity.latency.blocking
    assert (config.parity.latency.repeats, config.parity.latency.warmup, config.parity.latency.max_ratio) == (12, 2, 1.25)


# ---- timing against real servers -----------------------------------------------------------

def test_a_twice_slower_server_is_slower_with_an_interval_holding_two(servers, parity_config, tmp_path):
    # The servers share this process (and its GIL) with the probe: each timing carries a few
    # ms of overhead on both sides, which pulls the ratio toward 1. At 10 and 20 ms that put
    # the interval's top under 2 in a full suite run (1.96); at 40 and 80 ms it is a few percent.
    ref = servers.serve_http(delayed(40, 30, seed=1))
    cand = servers.serve_http(delayed(80, 30, seed=2))
    config = latency_config(parity_config, ref, cand, repeats=30)
    outcome, results, _ = run(config)
    row = candidate(results["c"])
    assert row.state == SLOWER and row.n == 30 and row.class_id == LATENCY_CLASS
    assert row.low < 2.0 < row.high and row.low > 1.25, row
    assert row.p_value < 0.001
    assert outcome.verdict.verdict == "BLOCK"
    reason = next(r for r in outcome.verdict.reasons if r.startswith("latency:"))
    assert f"go p50 {row.ratio:.2f}× rust on c, 95 % CI {row.low:.2f}–{row.high:.2f}×, n = 30" in reason
    run_dir = only_run(tmp_path / "out")
    line = next(e for e in entries(run_dir) if e["case"] == "c")
    assert line["answers"]["go"]["latency"]["state"] == SLOWER
    for name in ("verdict.md", "parity/report.md"):
        text = (run_dir / name).read_text()
        assert "### Latency" in text and f"{row.low:.2f}–{row.high:.2f}×" in text, name


def test_identical_servers_are_never_slower_in_twenty_runs(servers, parity_config):
    """Twenty cases, each timed on its own: twenty runs of the probe's timing and statistics,
    each server's delays its own random draws (a judgement on the p-value alone, or on the
    ratio alone, calls some of them slower)."""
    ref = servers.serve_http(delayed(8, 12, seed=5, cycle=False))
    cand = servers.serve_http(delayed(8, 12, seed=6, cycle=False))
    config = latency_config(parity_config, ref, cand, repeats=12, warmup=1,
                            extra="".join(CASE.replace('"c"', f'"c{i}"') for i in range(1, 20)))
    bus = EventBus()
    seen: list = []
    bus.subscribe(lambda t, e: seen.append(e))
    asyncio.run(run_parity(config.parity, bus))
    states = [candidate(e).state for e in seen if isinstance(e, ParityCaseFinished)]
    assert states == [OK] * 20


def test_targets_take_turns_after_a_warm_up_that_is_not_counted(servers, parity_config):
    log: list[str] = []
    ref = servers.serve_http(delayed(1, 10, log=log, name="rust"))
    cand = servers.serve_http(delayed(1, 10, log=log, name="go"))
    config = latency_config(parity_config, ref, cand, repeats=10, warmup=3)
    bus = EventBus()
    seen: list = []
    bus.subscribe(lambda t, e: seen.append(e))
    asyncio.run(run_parity(config.parity, bus))
    assert sorted(log[:2]) == ["go", "rust"]  # the first pair, asked at once: the case's answers
    turns = [["rust", "go"], ["go", "rust"]] * 7
    assert log[2:] == [name for pair in turns[:13] for name in pair]  # A B B A …, 3 warm-up + 10
    assert [r.n for r in next(e for e in seen if isinstance(e, ParityCaseFinished)).latency] == [10, 10]
    assert next(e for e in seen if isinstance(e, LatencyPlanned)) == LatencyPlanned(10, 3, 1.25, True)


def test_nothing_else_of_the_probe_is_in_flight_while_a_case_is_timed(servers, parity_config):
    """Four workers, two noise samples a case: while one case is timed, the other cases' first
    answers and the extra samples (the reference's and the candidate's) wait, so they never
    load one target during the other's timed turns. Seen by the servers: no request arrives while a timed one (or a
    warm-up) is being answered, and no timed one while any other is."""
    names = [f"c{i}" for i in range(8)]
    samples = 2
    busy: Counter[bool] = Counter()  # requests being answered: timed or warm-up (True), else False
    asked: Counter[tuple[str, str]] = Counter()
    overlaps: list[str] = []

    def server(name: str, untimed: int):
        async def handle(method, path, headers, body):
            asked[name, path] += 1
            timed = asked[name, path] > untimed  # a case's first answers, the samples, then its timing
            if busy[True] or (timed and busy[False]):
                overlaps.append(f"{name} {path} #{asked[name, path]} while {dict(busy)} in flight")
            busy[timed] += 1
            try:
                await asyncio.sleep(0.002)
            finally:
                busy[timed] -= 1
            return 200, {"Content-Type": "application/json"}, b'{"ok":true}'

        return handle

    ref, cand = servers.serve_http(server("rust", 1 + samples)), servers.serve_http(server("go", 1 + samples))
    path = parity_config(ref, cand, parity=f"""
        concurrency = 4
        noise_samples = {samples}
        """, after="""
        [parity.latency]
        repeats = 10
        warmup = 1
        """ + cases(*names))
    _, results, _ = run(load_config(path, env={}))
    assert [candidate(results[n]).n for n in names] == [10] * len(names)
    assert {n: (asked["rust", f"/{n}"], asked["go", f"/{n}"]) for n in names} == {
        n: (1 + samples + 11, 1 + samples + 11) for n in names}
    assert overlaps == []


def test_a_server_failing_some_requests_is_no_data_and_blocks(servers, parity_config):
    ref = servers.serve_http(delayed(1, 10))
    cand = servers.serve_http(delayed(1, 10, fail_every=4))
    outcome, results, _ = run(latency_config(parity_config, ref, cand, repeats=10))
    row = candidate(results["c"])
    assert row.state == NO_DATA and row.ratio is None
    assert "of 10 timed requests failed (first: answered 500 where its first answer was 200)" in row.why
    assert outcome.verdict.verdict == "BLOCK"
    assert any(r.startswith("latency: no data for go on case c:") for r in outcome.verdict.reasons)


def test_report_mode_shows_a_slower_candidate_without_blocking(servers, parity_config, tmp_path):
    ref = servers.serve_http(delayed(8, 12, seed=1))
    cand = servers.serve_http(delayed(48, 12, seed=2))
    outcome, results, _ = run(latency_config(parity_config, ref, cand, repeats=12, verdict='latency = "report"'))
    assert candidate(results["c"]).state == SLOWER
    assert outcome.verdict.verdict == "SHIP", outcome.verdict.reasons
    assert "reported, never blocking" in (only_run(tmp_path / "out") / "verdict.md").read_text()


def test_a_known_gap_covers_a_latency_divergence(servers, parity_config, tmp_path):
    (tmp_path / "gaps.toml").write_text(f"""
[[gap]]
id = "go-slower"
classes = ["{LATENCY_CLASS}"]
kind = "latency"
cases = "c"
note = "go's validator allocates per request; fix in 1.4"
owner = "validatord"
opened = 2026-05-02
""")
    ref = servers.serve_http(delayed(8, 12, seed=1))
    cand = servers.serve_http(delayed(48, 12, seed=2))
    outcome, _, seen = run(latency_config(parity_config, ref, cand, repeats=12, verdict='known_gaps = "gaps.toml"'))
    assert outcome.verdict.verdict == "SHIP_WITH_KNOWN_GAP", outcome.verdict.reasons
    assert "covered by known gap go-slower" in outcome.verdict.known_gaps[0]
    announced = [e for e in seen if getattr(e, "id", None) == LATENCY_CLASS]
    assert len(announced) == 1 and announced[0].kind == "latency"


def test_latency_rows_come_back_from_the_event_log_equal(servers, parity_config):
    ref = servers.serve_http(delayed(1, 10))
    cand = servers.serve_http(delayed(1, 10, seed=9))
    _, results, _ = run(latency_config(parity_config, ref, cand, repeats=10))
    event = results["c"]
    assert from_json(to_json(event, 1.0))[1] == event
    assert '"latency"' not in to_json(ParityCaseFinished("x", "rust", {}, {}, {}, {}, True, True), 0.0)


# ---- the twins and the sample config ---------------------------------------------------------

def test_twin_latency_is_given_per_twin():
    assert parse_latency(["10"]) == {"rust": 0.01, "go": 0.01}
    assert parse_latency(["rust=10,go=15", "go=20"]) == {"rust": 0.01, "go": 0.02}
    with pytest.raises(ValueError, match="no twin 'java'"):
        parse_latency(["java=3"])


def test_the_sample_config_finds_the_slower_twin_with_its_interval(tmp_path):
    for folder in ("demo", "parity"):
        shutil.copytree(REPO / "sample_configs" / folder, tmp_path / folder,
                        ignore=shutil.ignore_patterns("__pycache__"))
    config = tmp_path / "latency.toml"
    shutil.copy2(REPO / "sample_configs" / "latency.toml", config)
    rewrite_ports(config, dict(zip((3100, 4110), free_ports(2), strict=True)))
    proc = gauntlet("run", str(config), "--headless", "--out", str(tmp_path / "runs"), cwd=tmp_path)
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr
    verdict = json.loads((only_run(tmp_path / "runs") / "verdict.json").read_text())
    assert verdict["verdict"] == "BLOCK"
    latency = [r for r in verdict["reasons"] if r.startswith("latency:")]
    assert len(verdict["reasons"]) == len(latency) == 1, verdict["reasons"]  # the wire format is a known gap
    found = re.search(r"go p50 (\d\.\d\d)× rust on \w+, 95 % CI (\d\.\d\d)–(\d\.\d\d)×, n = 20", latency[0])
    assert found, latency[0]
    ratio, low, high = map(float, found.groups())
    # 150 ms against 100 ms: the probe's own fraction of a millisecond on both sides pulls the
    # ratio under 1.5, what a busy machine adds to either twin's wake-up moves it a few hundredths
    assert 1.25 < low <= ratio <= high and 1.3 < ratio < 1.55, latency[0]


# ---- the faces ------------------------------------------------------------------------------

async def test_the_pane_and_the_diff_viewer_show_latency(servers, parity_config, tmp_path, monkeypatch):
    from tui.app import GauntletApp
    from tui.screens.diff import DiffApp
    from tui.sources import FileSource

    from ..tui_helpers import settle, shown_text

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    ref = servers.serve_http(delayed(8, 12, seed=1))
    cand = servers.serve_http(delayed(48, 12, seed=2))
    config = latency_config(parity_config, ref, cand, repeats=12)
    outcome = await Engine(config, select_phases(config)).run()
    app = GauntletApp(FileSource(outcome.run_dir, follow=False), clock=False)
    async with app.run_test(size=(160, 40)) as pilot:
        await asyncio.wait_for(app.source_finished.wait(), 30)
        await settle(app, pilot)
        await pilot.press("3")
        await settle(app, pilot)
        shown = shown_text(app.query_one("#parity-columns")) + "\n" + shown_text(app.query_one("#parity-list"))
        assert "Latency" in shown and re.search(r"\b\d\.\d\d× [▁-█]{8}│[▁-█]{8}", shown), shown
    viewer = DiffApp(outcome.run_dir, "c")
    async with viewer.run_test(size=(160, 30)) as pilot:
        await pilot.pause()
        line = shown_text(viewer.screen.query_one("#diff-latency"))
        assert re.search(r"rust p50 [\d.]+ ms p95 [\d.]+ ms [▁-█]{8}", line), line
        assert re.search(r"go p50 [\d.]+ ms .* \d\.\d\d× rust \(95 % CI \d\.\d\d–\d\.\d\d×, p [<=] 0\.\d+\) slower", line), line


def test_compare_shows_a_runtime_getting_slower_across_waves(servers, parity_config):
    from probes.core.events import ComparedWithPrevious

    ref = servers.serve_http(delayed(12, 12, seed=1))
    before, after = servers.serve_http(delayed(12, 12, seed=2)), servers.serve_http(delayed(48, 12, seed=3))
    run(latency_config(parity_config, ref, before, repeats=12))
    _, _, seen = run(latency_config(parity_config, ref, after, repeats=12))
    lines = next(e for e in seen if isinstance(e, ComparedWithPrevious)).lines
    slower = [line for line in lines if line.text.startswith("latency: go (typical of 1 cases) p50 ")]
    assert len(slower) == 1 and slower[0].tone == "worse", lines
    assert any(line.text.startswith("latency: go on c p50 ") for line in lines), lines


def test_a_slower_case_keeps_its_answers_however_many_cases_matched_before(tmp_path):
    """Only a sample of matching cases keeps its answers; a case slower on the clock is one a
    person opens, so its answers are kept like a divergent one's."""
    def result(name: str) -> CaseResult:
        answers = {t: Answer(t, f"http://{t}/x", 200, {"content-type": "application/json"}, b'{"ok":true}')
                   for t in ("rust", "go")}
        return CaseResult(ParityCase(name, path="/x"), "rust", answers, {"go": []})

    async def record() -> None:
        writer = ResultWriter(tmp_path / "parity", {"reference": "rust"}, "divergent")
        for i in range(MATCH_SAMPLE + 1):
            writer.add(result(f"m{i}"), case_event(result(f"m{i}")))
        slow = result("slow")
        writer.add(slow, replace(case_event(slow), latency=(LatencyRow("rust", 30, 10.0),
                                                             LatencyRow("go", 30, 20.0, state=SLOWER))))
        writer.close()

    asyncio.run(record())
    assert stored_answer(tmp_path, "slow", "go")[1] == b'{"ok":true}'
    with pytest.raises(InputError, match="matched; its answers were not kept"):
        stored_answer(tmp_path, f"m{MATCH_SAMPLE}", "go")


# ---- a slower case as a known gap, in the pane's groups, and no data said once ----------------

def by_path(slow_ms: dict[str, float], fail: dict[str, set[int]] | None = None, other: frozenset[str] = frozenset()):
    """A JSON service answering each path after its delay (1 ms unless named); the requests of
    a path numbered in `fail` (1: its first, the case's answer for parity) answer 500; the
    paths in `other` answer another body."""
    counts: dict[str, int] = {}

    async def handle(method, path, headers, body):
        counts[path] = counts.get(path, 0) + 1
        await asyncio.sleep(slow_ms.get(path, 1) / 1000)
        if counts[path] in (fail or {}).get(path, ()):
            return 500, {"Content-Type": "application/json"}, b'{"error":"boom"}'
        return 200, {"Content-Type": "application/json"}, b'{"ok":false}' if path in other else b'{"ok":true}'

    return handle


def cases(*names: str) -> str:
    return "".join(f'\n[[parity.case]]\nname = "{n}"\nmethod = "POST"\npath = "/{n}"\njson = {{ a = 1 }}\n'
                   for n in names)


def slow_run(servers, parity_config, tmp_path, names=("slow",), slow=("slow",), diverging=()):
    """A blocking run in which go answers the cases `slow` after 60 ms where rust answers after
    1 ms (far past what a busy machine adds to a 1 ms answer: tens of milliseconds, not sixty
    on every one of twelve requests) and answers another body on the cases `diverging`, its
    known gaps in gaps.toml (empty); the run directory."""
    (tmp_path / "gaps.toml").write_text("# known gaps\n")
    ref = servers.serve_http(by_path({}))
    cand = servers.serve_http(by_path({f"/{n}": 60 for n in slow}, other=frozenset(f"/{n}" for n in diverging)))
    path = parity_config(ref, cand, after="""
        [parity.latency]
        repeats = 12
        warmup = 1
        [verdict]
        known_gaps = "gaps.toml"
        """ + cases(*names))
    outcome, results, _ = run(load_config(path, env={}))
    assert [candidate(results[n]).state for n in names] == [SLOWER if n in slow else OK for n in names]
    assert outcome.verdict.verdict == "BLOCK"
    return outcome.run_dir


def test_gap_add_on_a_case_only_slower_covers_its_latency_class(servers, parity_config, tmp_path, capsys):
    from probes.verdict._gaps import load_gaps
    from tui.cli import main

    run_dir = slow_run(servers, parity_config, tmp_path)
    assert main(["gap", "add", str(run_dir), "slow", "--note", "go allocates", "--owner", "validatord"]) == 0
    gap = load_gaps(tmp_path / "gaps.toml")[0]
    # One class for every slowdown: the gap names this case, so another case getting slower still blocks.
    assert (gap.id, gap.classes, gap.kind, gap.case) == ("slow-latency", (LATENCY_CLASS,), LATENCY, "slow")
    assert json.loads((run_dir / "verdict.json").read_text())["verdict"] == "SHIP_WITH_KNOWN_GAP"
    assert main(["verdict", str(run_dir)]) == 0
    assert main(["gap", "add", str(run_dir), "slow", "--note", "any", "--owner", "o", "--id", "wide", "--cases", "*"]) == 0
    assert load_gaps(tmp_path / "gaps.toml")[1].case == "*"
    assert f"recorded gap wide: * latency {LATENCY_CLASS}" in capsys.readouterr().out


def test_gap_add_on_a_case_diverging_and_slower_writes_a_gap_for_each_with_its_glob(servers, parity_config,
                                                                                   tmp_path, capsys):
    """Its body's classes in every case, as for a case that is only divergent; its slowdown in
    this case alone: one glob for both would either narrow the body gap unasked or widen the
    latency one to every case."""
    from probes.verdict._gaps import load_gaps
    from tui.cli import main

    run_dir = slow_run(servers, parity_config, tmp_path, diverging=("slow",))
    assert main(["gap", "add", str(run_dir), "slow", "--note", "go differs", "--owner", "validatord"]) == 0
    body, latency = load_gaps(tmp_path / "gaps.toml")
    assert (body.id, body.kind, body.case) == ("slow-value", "value", "*")
    assert body.classes and LATENCY_CLASS not in body.classes
    assert (latency.id, latency.kind, latency.case, latency.classes) == ("slow-latency", LATENCY, "slow",
                                                                        (LATENCY_CLASS,))
    said = capsys.readouterr().out
    assert f"recorded gap slow-value: * value {', '.join(body.classes)}" in said, said
    assert f"recorded gap slow-latency: slow latency {LATENCY_CLASS}" in said, said
    assert json.loads((run_dir / "verdict.json").read_text())["verdict"] == "SHIP_WITH_KNOWN_GAP"
    # Asked for one id: it and <id>-latency; a clash with either writes neither.
    before = (tmp_path / "gaps.toml").read_text()
    assert main(["gap", "add", str(run_dir), "slow", "--note", "n", "--owner", "o", "--id", "slow"]) == 2
    assert "a gap with id 'slow-latency' exists already" in capsys.readouterr().err
    assert (tmp_path / "gaps.toml").read_text() == before


async def test_a_in_the_viewer_records_a_slower_case_as_a_known_gap(servers, parity_config, tmp_path):
    from probes.verdict._gaps import load_gaps
    from probes import judge_run
    from tui.screens.diff import DiffApp, GapForm

    run_dir = await asyncio.to_thread(slow_run, servers, parity_config, tmp_path)
    app = DiffApp(run_dir, "slow")
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        await pilot.press("a")
        assert isinstance(app.screen, GapForm)
        await pilot.click("#gap-note")
        await pilot.press(*"go is slower", "enter", *"validatord", "enter")
        deadline = asyncio.get_running_loop().time() + 20
        while "cls:" not in (tmp_path / "gaps.toml").read_text():
            assert asyncio.get_running_loop().time() < deadline, "no gap recorded"
            await pilot.pause(0.05)
    assert load_gaps(tmp_path / "gaps.toml")[0].classes == (LATENCY_CLASS,)
    assert judge_run(run_dir).verdict.verdict == "SHIP_WITH_KNOWN_GAP"


async def test_the_pane_groups_slower_cases_under_their_latency_class(servers, parity_config, tmp_path, monkeypatch):
    from tui.app import GauntletApp
    from tui.sources import FileSource

    from ..tui_helpers import settle, shown_text

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    run_dir = await asyncio.to_thread(slow_run, servers, parity_config, tmp_path, ("slow", "quick"), ("slow",))
    app = GauntletApp(FileSource(run_dir, follow=False), clock=False)
    async with app.run_test(size=(160, 40)) as pilot:
        await asyncio.wait_for(app.source_finished.wait(), 30)
        await settle(app, pilot)
        await pilot.press("3")
        await settle(app, pilot)
        listed = [line.strip() for line in shown_text(app.query_one("#parity-list")).splitlines() if line.strip()]
        heads = [line for line in listed if line.startswith("▾")]
        assert len(heads) == 2, listed
        slower = next(h for h in heads if h.startswith("▾ go latency · slower"))
        assert "1 case" in slower and LATENCY_CLASS in slower, heads
        assert next(h for h in heads if h.startswith("▾ match")) == "▾ match  1 case", heads
        under = {listed[listed.index(h) + 1].split()[0]: h for h in heads}
        assert under == {"slow": slower, "quick": "▾ match  1 case"}, listed
        await pilot.press("k")  # the kinds met: latency only
        await settle(app, pilot)
        assert "kind latency" in shown_text(app.query_one("#parity-status"))
        listed = [line.strip() for line in shown_text(app.query_one("#parity-list")).splitlines() if line.strip()]
        assert [line.split()[0] for line in listed[1:]] == ["slow"], listed


def test_no_data_on_many_cases_is_one_reason(servers, parity_config):
    """Each case's timing fails a different number of times: one reason for the candidate, the
    cases counted and named, the failure of the first case as declared (never the first to
    land: the reason reads the same from run to run) given; the run itself ran to the end."""
    names = ("c1", "c2", "c3")
    ref = servers.serve_http(by_path({}))
    # 1: the first answer, 2: the warm-up, 3…: timed
    cand = servers.serve_http(by_path({}, {f"/{n}": set(range(3, 3 + i)) for i, n in enumerate(names, 1)}))
    path = parity_config(ref, cand, after="""
        [parity.latency]
        repeats = 10
        warmup = 1
        """ + cases(*names))
    outcome, results, _ = run(load_config(path, env={}))
    assert {n: candidate(results[n]).why.split(" timed")[0] for n in names} == {
        "c1": "1 of 10", "c2": "2 of 10", "c3": "3 of 10"}
    latency = [r for r in outcome.verdict.reasons if r.startswith("latency:")]
    assert len(latency) == 1, latency
    assert latency[0].startswith("latency: no data for go on 3 cases (c1, c2, c3)")
    assert f"c1: {candidate(results['c1']).why}" in latency[0], latency[0]
    assert outcome.verdict.verdict == "BLOCK" and outcome.verdict.complete


def test_no_data_at_scale_is_one_reason_a_candidate():
    from datetime import date

    from probes.parity._latency import LatencyBoard
    from probes.parity._board import examples

    board = LatencyBoard()
    board.apply(0, LatencyPlanned(30, 3, 1.25, True))
    for i in range(5000):
        board.apply(0, ParityCaseFinished(f"c{i}", "rust", {}, {}, {}, {}, True, True, latency=(
            LatencyRow("rust", 30, 10.0),
            LatencyRow("go", 30 - i % 29, state=NO_DATA, why=f"{i % 29 + 1} of 30 timed requests failed"),
            LatencyRow("java", 30, 10.0, state=OK))))
    reasons, covered, ids = latency_verdict(board, [], date(2026, 5, 2), examples, compared=5000)
    assert reasons == ["latency: no data for go on 5,000 cases (c0, c1, c2 and 4,997 more) — "
                       "the timing could not be measured; c0: 1 of 30 timed requests failed"], reasons
    assert board.groups("c0") == [("go", NO_DATA)]  # the pane lists it under go's latency group
    assert group_head(board, "go", NO_DATA)[:2] == ("go latency · no data", NO_DATA)


def test_the_board_keeps_rows_only_of_the_cases_it_shows_and_a_ratio_of_the_rest():
    """Slower and no-data cases keep their rows (the verdict names them), so do the LISTED
    highest ratios (the report's table); the others only their ratio, for the pane's cell: a
    long run's board does not grow by a kilobyte a case."""
    import gc
    import tracemalloc
    from datetime import date

    from probes.parity._latency import LISTED, LatencyBoard
    from probes.parity._board import examples

    def event(i: int) -> ParityCaseFinished:
        state, why = {7: (SLOWER, ""), 8: (NO_DATA, "1 of 30 timed requests failed")}.get(i % 1000, (OK, ""))
        ratio = None if state == NO_DATA else 1.0 + (i * 7919 % 1000) / 10_000  # 1.0 to 1.1, each met 5 times
        hist = tuple(range(i % 5, i % 5 + 8))
        return ParityCaseFinished(f"case-{i}", "rust", {}, {}, {}, {}, True, True, latency=(
            LatencyRow("rust", 30, 10.0 + i / 1000, 12.0 + i / 1000, hist, (9.0, 14.0 + i / 1000)),
            LatencyRow("go", 30, 10.0 * (ratio or 1.0) + i / 1000, 13.0, hist, (9.0, 14.0 + i / 1000),
                       ratio=ratio, low=ratio and ratio - 0.05, high=ratio and ratio + 0.05,
                       p_value=0.5 + i / 100_000, state=state, why=why,
                       class_id=LATENCY_CLASS if state == SLOWER else None)))

    count = 5000
    board = LatencyBoard()
    board.apply(0, LatencyPlanned(30, 3, 1.25, True))
    gc.collect()
    tracemalloc.start()
    try:
        for i in range(count):
            board.apply(0, event(i))
        gc.collect()
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert held / count < 300, f"{held / count:.0f} bytes a case"
    # What the faces show is what every row would show.
    ratios = {f"case-{i}": candidate(event(i)).ratio or 0.0 for i in range(count)}
    top = sorted(ratios, key=lambda c: -ratios[c])[:LISTED]  # stable: the first landed among equals
    table = [line.split(" | ")[0].lstrip("| ") for line in latency_markdown(board) if line.startswith("| case-")]
    assert table == top
    assert f"The {LISTED} slowest of {count} timed cases" in "\n".join(latency_markdown(board))
    kept_one = top[-1]
    other = next(f"case-{i}" for i in range(count) if f"case-{i}" not in top and i % 1000 not in (7, 8))
    assert latency_cell(board, other) == (f"{ratios[other]:.2f}×", OK)
    assert latency_cell(board, other, sparks=False) == latency_cell(board, other)
    assert re.fullmatch(r"\d\.\d\d× [▁-█]{8}│[▁-█]{8}", latency_cell(board, kept_one)[0])
    reasons, _, _ = latency_verdict(board, [], date(2026, 5, 2), examples, compared=5000)
    assert [r.split(" p50 ")[0].split(" on ")[0] for r in reasons] == ["latency: go", "latency: no data for go"]
    assert "the slowest of 5 cases" in reasons[0] and "on 5 cases" in reasons[1], reasons
    assert board.groups("case-7") == [("go", LATENCY_CLASS)] and board.groups(other) == []


def test_history_keeps_every_timed_case_so_compare_names_any_that_got_slower(tmp_path):
    """One case of sixty, its ratio the lowest, got three times slower on both runtimes: the
    typical p50 barely moves and the case is nowhere near the slowest, yet compare names it;
    the largest moves first, then how many more."""
    from probes.verdict._delta import compare_runs
    from probes.verdict._history import RunSummary

    def summary(run_id: str, slower: float, doubled: range) -> RunSummary:
        s = RunSummary(run_id=run_id, config_name="c")
        for i in range(60):
            ref = 10.0 * (slower if i == 0 else 1.0)
            cand = ref * (1.0 if i == 0 else 2.0) * (2.0 if i in doubled else 1.0)
            s.apply(0, ParityCaseFinished(f"c{i}", "rust", {}, {}, {}, {}, True, True, latency=(
                LatencyRow("rust", 12, ref), LatencyRow("go", 12, cand, ratio=cand / ref, state=OK))))
        return RunSummary.from_json(s.to_json())  # as the history store gives it back

    before, after = summary("r1", 1.0, range(0)), summary("r2", 3.0, range(1, 16))
    lines = [(line.text, line.tone) for line in compare_runs(before, after).lines()]
    latency = [text for text, _ in lines if text.startswith("latency: ")]
    assert latency[:2] == ["latency: rust on c0 p50 10.0 ms → 30.0 ms (3.00×)",
                           "latency: go on c0 p50 10.0 ms → 30.0 ms (3.00×)"], latency
    assert all(re.fullmatch(r"latency: go on c\d+ p50 20\.0 ms → 40\.0 ms \(2\.00×\)", t) for t in latency[2:10])
    assert latency[10:] == ["latency: 7 more case p50s moved beyond 1.25× (7 of them slower)"], latency
    assert ("latency: 7 more case p50s moved beyond 1.25× (7 of them slower)", "worse") in lines
    # The history writer's copy stays as it was when taken.
    live = RunSummary()
    live.apply(0, ParityCaseFinished("a", "rust", {}, {}, {}, {}, True, True, latency=(LatencyRow("rust", 12, 5.0),)))
    copy = live.snapshot()
    live.apply(0, ParityCaseFinished("b", "rust", {}, {}, {}, {}, True, True, latency=(LatencyRow("rust", 12, 6.0),)))
    assert copy.latency["p50"] == {"rust": {"a": 5.0}} and copy.latency["targets"]["rust"][0] == 1
    assert live.latency["p50"] == {"rust": {"a": 5.0, "b": 6.0}}


def test_a_case_timed_again_replaces_its_rows_wherever_the_board_kept_them():
    """A mirror sends its count of requests alike again as it grows, with its latency judged
    again: the board holds each case once, in one place. A case once ok and now slower is
    named by the verdict however many ok cases come after; one kept as a ratio alone and
    timed again is counted once."""
    from datetime import date

    from probes.parity._board import examples
    from probes.parity._latency import LISTED, LatencyBoard

    def rows(ratio: float, state=OK) -> tuple[LatencyRow, ...]:
        return (LatencyRow("rust", 30, 10.0),
                LatencyRow("go", 30, 10.0 * ratio, ratio=ratio, low=ratio - 0.1, high=ratio + 0.1, p_value=0.01,
                           state=state, class_id=LATENCY_CLASS if state == SLOWER else None))

    def timed(case: str, ratio: float, state=OK) -> ParityCaseFinished:
        return ParityCaseFinished(case, "rust", {"rust": 200, "go": 200}, latency=rows(ratio, state))

    board = LatencyBoard()
    board.apply(0, LatencyPlanned(30, 3, 1.25, live=True))
    for turn in range(3 * LISTED):  # two ways sent again and again, both ok
        board.apply(0, timed("alike-a", 1.0))
        board.apply(0, timed(f"alike-{turn % 2 + 1}", 1.1))
    assert board.timed() == 3 and sorted(board.rows) == ["alike-1", "alike-2", "alike-a"]
    board.apply(0, timed("alike-a", 1.9, SLOWER))
    for n in range(2 * LISTED):  # then many more ok ways, filling what the report lists
        board.apply(0, timed(f"other-{n}", 1.05))
    assert [case for case, _ in board.of_state(SLOWER)] == ["alike-a"]
    assert board.timed() == 3 + 2 * LISTED
    board.apply(0, timed("other-0", 1.2))  # a case kept as its ratio alone, timed again
    assert board.timed() == 3 + 2 * LISTED and board.ratios.get("other-0") is None
    reasons, _, _ = latency_verdict(board, [], date(2026, 12, 6), examples, compared=3 + 2 * LISTED)
    assert len(reasons) == 1 and reasons[0].startswith("latency: go p50 1.90× rust on alike-a"), reasons
