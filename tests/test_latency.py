"""Latency parity against real loopback servers: fair timing, the statistics, the verdict."""

from __future__ import annotations

import asyncio
import json
import random
import re
import shutil
import subprocess
import sys
from dataclasses import replace

import pytest

from probes.config import ParityCase, load_config
from probes.engine import Engine, select_phases
from probes.errors import ConfigError, InputError
from probes.events import EventBus, LatencyPlanned, LatencyRow, ParityCaseFinished, from_json, to_json
from probes.latency import (
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
from probes.parity import Answer, CaseResult, case_event, run_parity
from probes.parity_store import MATCH_SAMPLE, ResultWriter
from probes.results import entries, stored_answer
from probes.twins import parse_latency

from .conftest import REPO, free_ports, only_run, rewrite_ports

CASE = '\n[[parity.case]]\nname = "c"\nmethod = "POST"\npath = "/v1/validate"\njson = { a = 1 }\n'


def delayed(base_ms: float, repeats: int, seed: int = 1, log: list | None = None, name: str = "",
            fail_every: int = 0):
    """A JSON service answering after `base_ms` × a factor from 0.6 to 1.4: the factors are one
    shuffled cycle of `repeats` values, so any `repeats` requests in a row take the same set of
    delays and the true median is `base_ms`. `fail_every`: every such request answers 500."""
    factors = [0.6 + 0.8 * k / (repeats - 1) for k in range(repeats)]
    random.Random(seed).shuffle(factors)
    count = 0

    async def handle(method, path, headers, body):
        nonlocal count
        count += 1
        if log is not None:
            log.append(name)
        await asyncio.sleep(base_ms / 1000 * factors[count % repeats])
        if fail_every and count % fail_every == 0:
            return 500, {"Content-Type": "application/json"}, b'{"error":"boom"}'
        return 200, {"Content-Type": "application/json"}, b'{"ok":true}'

    return handle


def latency_config(write_config, ref: str, cand: str, *, repeats: int, warmup: int = 2, extra: str = "",
                   verdict: str = ""):
    path = write_config(f"""
        [parity]
        reference = "rust"
        timeout = "5s"
        [parity.targets]
        rust = "{ref}"
        go = "{cand}"
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
    bus = EventBus()
    seen: list = []
    bus.subscribe(lambda t, e: seen.append(e))
    outcome = asyncio.run(Engine(config, select_phases(config), bus=bus, **engine_kw).run())
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


def test_a_latency_verdict_without_timing_is_a_problem_and_report_mode_travels(write_config):
    path = write_config('[verdict]\nlatency = "report"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})
    assert [p.where for p in caught.value.problems] == ["verdict.latency"]
    config = latency_config(write_config, "http://127.0.0.1:1", "http://127.0.0.1:2", repeats=12,
                            verdict='latency = "report"')
    assert config.parity.latency is not None and not config.parity.latency.blocking
    assert (config.parity.latency.repeats, config.parity.latency.warmup, config.parity.latency.max_ratio) == (12, 2, 1.25)


# ---- timing against real servers -----------------------------------------------------------

def test_a_twice_slower_server_is_slower_with_an_interval_holding_two(servers, write_config, tmp_path):
    ref = servers.serve_http(delayed(10, 30, seed=1))
    cand = servers.serve_http(delayed(20, 30, seed=2))
    config = latency_config(write_config, ref, cand, repeats=30)
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


def test_identical_servers_are_never_slower_in_twenty_runs(servers, write_config):
    """Twenty cases, each timed on its own: twenty runs of the probe's timing and statistics."""
    ref = servers.serve_http(delayed(2, 12, seed=5))
    cand = servers.serve_http(delayed(2, 12, seed=6))
    config = latency_config(write_config, ref, cand, repeats=12, warmup=1,
                            extra="".join(CASE.replace('"c"', f'"c{i}"') for i in range(1, 20)))
    bus = EventBus()
    seen: list = []
    bus.subscribe(lambda t, e: seen.append(e))
    asyncio.run(run_parity(config.parity, bus))
    states = [candidate(e).state for e in seen if isinstance(e, ParityCaseFinished)]
    assert states == [OK] * 20


def test_targets_take_turns_after_a_warm_up_that_is_not_counted(servers, write_config):
    log: list[str] = []
    ref = servers.serve_http(delayed(1, 10, log=log, name="rust"))
    cand = servers.serve_http(delayed(1, 10, log=log, name="go"))
    config = latency_config(write_config, ref, cand, repeats=10, warmup=3)
    bus = EventBus()
    seen: list = []
    bus.subscribe(lambda t, e: seen.append(e))
    asyncio.run(run_parity(config.parity, bus))
    assert sorted(log[:2]) == ["go", "rust"]  # the first pair, asked at once: the case's answers
    turns = [["rust", "go"], ["go", "rust"]] * 7
    assert log[2:] == [name for pair in turns[:13] for name in pair]  # A B B A …, 3 warm-up + 10
    assert [r.n for r in next(e for e in seen if isinstance(e, ParityCaseFinished)).latency] == [10, 10]
    assert next(e for e in seen if isinstance(e, LatencyPlanned)) == LatencyPlanned(10, 3, 1.25, True)


def test_a_server_failing_some_requests_is_no_data_and_blocks(servers, write_config):
    ref = servers.serve_http(delayed(1, 10))
    cand = servers.serve_http(delayed(1, 10, fail_every=4))
    outcome, results, _ = run(latency_config(write_config, ref, cand, repeats=10))
    row = candidate(results["c"])
    assert row.state == NO_DATA and row.ratio is None
    assert "of 10 timed requests failed (first: answered 500 where its first answer was 200)" in row.why
    assert outcome.verdict.verdict == "BLOCK"
    assert any(r.startswith("latency: no data for go on case c:") for r in outcome.verdict.reasons)


def test_report_mode_shows_a_slower_candidate_without_blocking(servers, write_config, tmp_path):
    ref = servers.serve_http(delayed(2, 12, seed=1))
    cand = servers.serve_http(delayed(12, 12, seed=2))
    outcome, results, _ = run(latency_config(write_config, ref, cand, repeats=12, verdict='latency = "report"'))
    assert candidate(results["c"]).state == SLOWER
    assert outcome.verdict.verdict == "SHIP", outcome.verdict.reasons
    assert "reported, never blocking" in (only_run(tmp_path / "out") / "verdict.md").read_text()


def test_a_known_gap_covers_a_latency_divergence(servers, write_config, tmp_path):
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
    ref = servers.serve_http(delayed(2, 12, seed=1))
    cand = servers.serve_http(delayed(12, 12, seed=2))
    outcome, _, seen = run(latency_config(write_config, ref, cand, repeats=12, verdict='known_gaps = "gaps.toml"'))
    assert outcome.verdict.verdict == "SHIP_WITH_KNOWN_GAP", outcome.verdict.reasons
    assert "covered by known gap go-slower" in outcome.verdict.known_gaps[0]
    announced = [e for e in seen if getattr(e, "id", None) == LATENCY_CLASS]
    assert len(announced) == 1 and announced[0].kind == "latency"


def test_latency_rows_come_back_from_the_event_log_equal(servers, write_config):
    ref = servers.serve_http(delayed(1, 10))
    cand = servers.serve_http(delayed(1, 10, seed=9))
    _, results, _ = run(latency_config(write_config, ref, cand, repeats=10))
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
    proc = subprocess.run([sys.executable, "-m", "tui.cli", "run", str(config), "--headless", "--out",
                           str(tmp_path / "runs")], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr
    verdict = json.loads((only_run(tmp_path / "runs") / "verdict.json").read_text())
    assert verdict["verdict"] == "BLOCK"
    latency = [r for r in verdict["reasons"] if r.startswith("latency:")]
    assert len(verdict["reasons"]) == len(latency) == 1, verdict["reasons"]  # the wire format is a known gap
    found = re.search(r"go p50 (\d\.\d\d)× rust on \w+, 95 % CI (\d\.\d\d)–(\d\.\d\d)×, n = 20", latency[0])
    assert found, latency[0]
    ratio, low, high = map(float, found.groups())
    # 15 ms against 10 ms, the probe's own fraction of a millisecond on both sides
    assert 1.25 < low <= ratio <= high and 1.3 < ratio <= 1.5, latency[0]


# ---- the faces ------------------------------------------------------------------------------

async def test_the_pane_and_the_diff_viewer_show_latency(servers, write_config, tmp_path, monkeypatch):
    from tui.app import GauntletApp
    from tui.screens.diff import DiffApp
    from tui.sources import FileSource

    from .tui_helpers import settle, shown_text

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    ref = servers.serve_http(delayed(2, 12, seed=1))
    cand = servers.serve_http(delayed(12, 12, seed=2))
    config = latency_config(write_config, ref, cand, repeats=12)
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


def test_compare_shows_a_runtime_getting_slower_across_waves(servers, write_config):
    from probes.events import ComparedWithPrevious

    ref = servers.serve_http(delayed(3, 12, seed=1))
    before, after = servers.serve_http(delayed(3, 12, seed=2)), servers.serve_http(delayed(12, 12, seed=3))
    run(latency_config(write_config, ref, before, repeats=12))
    _, _, seen = run(latency_config(write_config, ref, after, repeats=12))
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

def by_path(slow_ms: dict[str, float], fail: dict[str, set[int]] | None = None):
    """A JSON service answering each path after its delay (1 ms unless named); the requests of
    a path numbered in `fail` (1: its first, the case's answer for parity) answer 500."""
    counts: dict[str, int] = {}

    async def handle(method, path, headers, body):
        counts[path] = counts.get(path, 0) + 1
        await asyncio.sleep(slow_ms.get(path, 1) / 1000)
        if counts[path] in (fail or {}).get(path, ()):
            return 500, {"Content-Type": "application/json"}, b'{"error":"boom"}'
        return 200, {"Content-Type": "application/json"}, b'{"ok":true}'

    return handle


def cases(*names: str) -> str:
    return "".join(f'\n[[parity.case]]\nname = "{n}"\nmethod = "POST"\npath = "/{n}"\njson = {{ a = 1 }}\n'
                   for n in names)


def slow_run(servers, write_config, tmp_path, names=("slow",), slow=("slow",)):
    """A blocking run in which go is 12× slower than rust on the cases `slow`, its known gaps
    in gaps.toml (empty); the run directory."""
    (tmp_path / "gaps.toml").write_text("# known gaps\n")
    ref = servers.serve_http(by_path({}))
    cand = servers.serve_http(by_path({f"/{n}": 12 for n in slow}))
    path = write_config(f"""
        [parity]
        reference = "rust"
        [parity.targets]
        rust = "{ref}"
        go = "{cand}"
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


def test_gap_add_on_a_case_only_slower_covers_its_latency_class(servers, write_config, tmp_path, capsys):
    from probes.gaps import load_gaps
    from tui.cli import main

    run_dir = slow_run(servers, write_config, tmp_path)
    assert main(["gap", "add", str(run_dir), "slow", "--note", "go allocates", "--owner", "validatord"]) == 0
    gap = load_gaps(tmp_path / "gaps.toml")[0]
    # One class for every slowdown: the gap names this case, so another case getting slower still blocks.
    assert (gap.id, gap.classes, gap.kind, gap.case) == ("slow-latency", (LATENCY_CLASS,), LATENCY, "slow")
    assert json.loads((run_dir / "verdict.json").read_text())["verdict"] == "SHIP_WITH_KNOWN_GAP"
    assert main(["verdict", str(run_dir)]) == 0
    assert main(["gap", "add", str(run_dir), "slow", "--note", "any", "--owner", "o", "--id", "wide", "--cases", "*"]) == 0
    assert load_gaps(tmp_path / "gaps.toml")[1].case == "*"
    assert f"recorded gap wide: * latency {LATENCY_CLASS}" in capsys.readouterr().out


async def test_a_in_the_viewer_records_a_slower_case_as_a_known_gap(servers, write_config, tmp_path):
    from probes.gaps import load_gaps
    from probes import judge_run
    from tui.screens.diff import DiffApp, GapForm

    run_dir = await asyncio.to_thread(slow_run, servers, write_config, tmp_path)
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


async def test_the_pane_groups_slower_cases_under_their_latency_class(servers, write_config, tmp_path, monkeypatch):
    from tui.app import GauntletApp
    from tui.sources import FileSource

    from .tui_helpers import settle, shown_text

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    run_dir = await asyncio.to_thread(slow_run, servers, write_config, tmp_path, ("slow", "quick"), ("slow",))
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


def test_no_data_on_many_cases_is_one_reason(servers, write_config):
    """Each case's timing fails a different number of times: one reason for the candidate, the
    cases counted and named, the first case's failure given; the run itself ran to the end."""
    names = ("c1", "c2", "c3")
    ref = servers.serve_http(by_path({}))
    # 1: the first answer, 2: the warm-up, 3…: timed
    cand = servers.serve_http(by_path({}, {f"/{n}": set(range(3, 3 + i)) for i, n in enumerate(names, 1)}))
    path = write_config(f"""
        [parity]
        reference = "rust"
        [parity.targets]
        rust = "{ref}"
        go = "{cand}"
        [parity.latency]
        repeats = 10
        warmup = 1
    """ + cases(*names))
    outcome, results, _ = run(load_config(path, env={}))
    assert {n: candidate(results[n]).why.split(" timed")[0] for n in names} == {
        "c1": "1 of 10", "c2": "2 of 10", "c3": "3 of 10"}
    latency = [r for r in outcome.verdict.reasons if r.startswith("latency:")]
    assert len(latency) == 1, latency
    first = next(iter(results))
    assert latency[0].startswith("latency: no data for go on 3 cases (")
    assert f"{first}: {candidate(results[first]).why}" in latency[0], latency[0]
    assert outcome.verdict.verdict == "BLOCK" and outcome.verdict.complete


def test_no_data_at_scale_is_one_reason_a_candidate():
    from datetime import date

    from probes.latency import LatencyBoard
    from probes.parity_report import examples

    board = LatencyBoard()
    board.apply(0, LatencyPlanned(30, 3, 1.25, True))
    for i in range(5000):
        board.apply(0, ParityCaseFinished(f"c{i}", "rust", {}, {}, {}, {}, True, True, latency=(
            LatencyRow("rust", 30, 10.0),
            LatencyRow("go", 30 - i % 29, state=NO_DATA, why=f"{i % 29 + 1} of 30 timed requests failed"),
            LatencyRow("java", 30, 10.0, state=OK))))
    reasons, covered, ids = board.verdict([], date(2026, 5, 2), examples)
    assert reasons == ["latency: no data for go on 5,000 cases (c0, c1, c2 and 4,997 more) — "
                       "the timing could not be measured; c0: 1 of 30 timed requests failed"], reasons
    assert board.groups("c0") == [("go", NO_DATA)]  # the pane lists it under go's latency group
    assert board.group_head("go", NO_DATA)[:2] == ("go latency · no data", NO_DATA)
