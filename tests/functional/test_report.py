"""report.html, `gauntlet report` and the CI citizen: Markdown that fits, the step summary,
`--baseline` standing in for a history a CI runner does not keep."""

from __future__ import annotations

import json
import os
import re
import sys
import textwrap
from pathlib import Path

from ..cli import gauntlet, gauntlet_process
from ..conftest import demo_copy, only_run
from ..fixtures.synthetic_run import write_run

SCRIPT = "<script>window.__ran = 1</script>"


def hostile_project(tmp_path: Path) -> Path:
    """A run whose reviewer, smoke and diff all hold markup: a smoke failing with a script in its
    output, a review whose WHAT is a script tag, a diff line holding one."""
    (tmp_path / "b.diff").write_text(textwrap.dedent(f"""\
        diff --git a/web/page.js b/web/page.js
        --- a/web/page.js
        +++ b/web/page.js
        @@ -1,2 +1,3 @@
         const a = 1;
        +document.write("{SCRIPT}");
         const b = 2;
        """))
    for reviewer in ("opus", "kimi"):
        review = tmp_path / "reviews" / "b" / f"{reviewer}.md"
        review.parent.mkdir(parents=True, exist_ok=True)
        review.write_text(f"WHERE: web/page.js:2\nSEVERITY: WARN\nWHAT: writes {SCRIPT} into the page\n\n"
                          "VERDICT: SHIP\n" + "padding so the review is not thin. " * 20)
    config = tmp_path / "gauntlet.toml"
    config.write_text(textwrap.dedent(f"""\
        [gauntlet]
        name = "hostile <b>name</b>"
        out_dir = "out"
        [[smoke]]
        name = "loud"
        run = ["{sys.executable}", "-c", "print('{SCRIPT}'); raise SystemExit(1)"]
        [scrum]
        min_tokens_out = 1
        [[scrum.reviewer]]
        name = "opus"
        lineage = "anthropic"
        kind = "replay"
        file = "reviews/{{bundle}}/opus.md"
        [[scrum.reviewer]]
        name = "kimi"
        lineage = "moonshot"
        kind = "replay"
        file = "reviews/{{bundle}}/kimi.md"
        [[scrum.bundle]]
        name = "b"
        diff = "b.diff"
        """))
    return config


def test_a_run_writes_its_page_with_what_it_recorded_escaped(tmp_path):
    config = hostile_project(tmp_path)
    proc = gauntlet("run", str(config), "--headless", cwd=tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr  # the smoke failed
    run = only_run(tmp_path / "out")
    page = (run / "report.html").read_text()
    assert '"path":"report.html"' in (run / "events.jsonl").read_text()  # announced, as every artifact is
    assert page.count("<script") == 1  # the page's own script, nothing recorded
    assert "&lt;script&gt;window.__ran = 1&lt;/script&gt;" in page
    assert "hostile &lt;b&gt;name&lt;/b&gt;" in page and "<b>name</b>" not in page
    assert "default-src 'none'" in page  # nothing is fetched, whatever a value held
    assert (run / "scrum" / "b" / "bundle.diff").read_text() == (tmp_path / "b.diff").read_text()


def test_a_json_key_holding_markup_is_text_in_the_code_the_page_quotes_it_in(servers, write_config):
    """A divergence's paths are quoted as code on the page; a key is the service's text, so what
    it holds, backticks and markup, stays text inside that code."""
    key = "<img src=x onerror=alert(1)>`"

    def answer(runtime: str):
        async def handle(method, path, headers, body):
            payload = {key: 1} if runtime == "go" else {"ok": 1}
            return 200, {"Content-Type": "application/json"}, json.dumps(payload).encode()
        return handle

    config = write_config(f"""
        [parity]
        reference = "rust"
        [parity.targets]
        rust = "{servers.serve_http(answer("rust"))}"
        go = "{servers.serve_http(answer("go"))}"
        [[parity.case]]
        name = "c"
        path = "/c"
    """)
    proc = gauntlet("parity", str(config), "--headless", cwd=config.parent)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    page = (only_run(config.parent / "out") / "report.html").read_text()
    assert "<img" not in page and "onerror=alert(1)&gt;" in page
    reasons = page[page.index('<ul id="reasons">'):].split("</ul>")[0]
    # Each path quoted as code, the key's own backtick inside its code, no fence shown.
    assert "<code>$.ok</code>" in reasons and "<code>$[&#34;&lt;img src=x onerror=alert(1)&gt;`&#34;]</code>" in reasons
    assert reasons.count("`") == 1


def test_gauntlet_report_writes_a_past_runs_page_and_markdown_that_fits(tmp_path):
    run = write_run(tmp_path / "run", 20_000, record=True)
    proc = gauntlet("report", str(run))
    assert proc.returncode == 0, proc.stderr
    page = (run / "report.html").read_text()
    assert len(page.encode()) < 1_000_000
    assert page.count('class="sbs"') == 5  # each class's example laid out side by side
    full = gauntlet("report", str(run), "--markdown")
    assert full.returncode == 0 and "200 of 20000 cases shown" in full.stdout and "Cut to fit" not in full.stdout
    cut = gauntlet("report", str(run), "--markdown", "--max-chars", "3000")
    assert cut.returncode == 0, cut.stderr
    assert len(cut.stdout) <= 3000
    # Classes before cases: every class is there, the cases' table is what was left out.
    assert all(f"`cls:{name}`" in cut.stdout for name in ("envelope0001", "numtype00002", "value0000003",
                                                           "nullfield004", "header000005"))
    assert cut.stdout.index("### Divergence classes") < cut.stdout.index("### Cases")
    assert re.search(r"\| … \d+ more rows; all 20,000 cases are in parity/results.jsonl.gz \|", cut.stdout)
    assert "Cut to fit 3,000" in cut.stdout
    out = tmp_path / "comment.md"
    assert gauntlet("report", str(run), "--markdown", "--max-chars", "65536", "--out", str(out)).returncode == 0
    assert len(out.read_text()) <= 65536 and "**BLOCK**" in out.read_text()


def test_the_page_is_the_same_from_a_compiled_template_kept_or_one_that_cannot_be_kept(tmp_path):
    """The compiled template is kept in Jinja's folder of this user under TMPDIR: a second
    process renders from it the same page; where that folder cannot be (a file holds its name)
    the page is still written, the same."""
    run = write_run(tmp_path / "run", 50)
    kept, blocked = tmp_path / "kept", tmp_path / "blocked"
    kept.mkdir()
    blocked.mkdir()
    (blocked / f"_jinja2-cache-{os.getuid()}").write_text("not a folder")
    pages = []
    for tmpdir in (kept, kept, blocked):
        proc = gauntlet_process("report", run, env={"TMPDIR": str(tmpdir)})
        assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
        pages.append((run / "report.html").read_bytes())
    assert [p.name.endswith(".cache") for p in (kept / f"_jinja2-cache-{os.getuid()}").iterdir()] == [True]
    assert pages[0] == pages[1] == pages[2]


def test_report_refuses_what_it_cannot_do(tmp_path):
    run = write_run(tmp_path / "run", 50)
    small = gauntlet("report", str(run), "--markdown", "--max-chars", "40")
    assert small.returncode == 2 and "--max-chars 40 is too small" in small.stderr
    html_cut = gauntlet("report", str(run), "--max-chars", "4000")
    assert html_cut.returncode == 2 and "give --markdown" in html_cut.stderr
    none = gauntlet("report", str(tmp_path))
    assert none.returncode == 2 and "not a run directory" in none.stderr
    assert "Traceback" not in small.stderr + html_cut.stderr + none.stderr


def test_a_run_on_github_appends_its_verdict_to_the_step_summary_within_its_limit(tmp_path, write_config):
    config = write_config("""
        [[smoke]]
        name = "ok"
        run = "true"
    """)
    summary = tmp_path / "summary.md"
    summary.write_text("x" * (1024 * 1024 - 230))  # what other steps' tools left: little room
    proc = gauntlet("run", str(config), "--headless", cwd=tmp_path, env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    text = summary.read_text()
    assert len(text.encode()) <= 1024 * 1024
    added = text[1024 * 1024 - 230:]
    assert "**SHIP**" in added and "Cut to fit" in added
    summary.write_text("")
    assert gauntlet("run", str(config), "--headless", cwd=tmp_path,
                    env={"GITHUB_STEP_SUMMARY": str(summary)}).returncode == 0
    assert "- smokes: 1/1 PASS" in summary.read_text() and "Cut to fit" not in summary.read_text()


def test_a_baseline_of_another_config_is_refused_before_the_run(tmp_path, write_config):
    other = write_run(tmp_path / "other", 10)
    config = write_config("""
        [[smoke]]
        name = "ok"
        run = "true"
    """)
    proc = gauntlet("run", str(config), "--headless", "--baseline", str(other), cwd=tmp_path)
    assert proc.returncode == 2
    assert "--baseline" in proc.stderr and "'scale', not of 'test'" in proc.stderr
    assert not (tmp_path / "out").exists()


def states(run: Path) -> dict[str, str]:
    verdict = json.loads((run / "verdict.json").read_text())
    return {f["id"]: f["state"] for b in verdict["phases"]["scrum"]["bundles"] for f in b["findings"]}


def test_with_a_baseline_a_fresh_runner_remembers_as_a_second_local_run_does(tmp_path, demo_ports):
    """The demo's config, scrum and parity: run A on a runner, then B on a fresh one (a new
    out dir, no history) with --baseline A, and C beside A as a second local run."""
    config = demo_copy(tmp_path / "cfg", demo_ports)
    only = ("--only", "scrum", "--only", "parity", "--headless")
    first = gauntlet("run", str(config), *only, "--out", str(tmp_path / "local"), cwd=tmp_path)
    assert first.returncode == 0, first.stdout[-2000:] + first.stderr
    a = only_run(tmp_path / "local")
    assert set(states(a).values()) == {""}  # a first wave: nothing to compare with

    ci = gauntlet("run", str(config), *only, "--out", str(tmp_path / "fresh"), "--baseline", str(a), cwd=tmp_path)
    assert ci.returncode == 0, ci.stdout[-2000:] + ci.stderr
    b = only_run(tmp_path / "fresh")
    again = gauntlet("run", str(config), *only, "--out", str(tmp_path / "local"), cwd=tmp_path)
    assert again.returncode == 0
    (c,) = [p for p in (tmp_path / "local").iterdir() if p.is_dir() and p != a]

    assert set(states(b).values()) == {"recurring"} and len(states(b)) == 37
    assert states(b) == states(c)
    verdict_b, verdict_c = (json.loads((r / "verdict.json").read_text()) for r in (b, c))
    assert verdict_b["comparison"]["previous_run_id"] == verdict_c["comparison"]["previous_run_id"] == a.name
    strip = re.compile(r"\d{8}-\d{6}-[0-9a-f]{4}")

    def said(verdict: dict) -> list[str]:  # what was found, the timings (which vary) left out
        return [strip.sub("RUN", line) for line in verdict["comparison"]["lines"][1:] if not line.startswith("latency:")]

    assert said(verdict_b) == said(verdict_c)
    assert verdict_b["comparison"]["lines"][0] == f"compared with {a.name} (the baseline given (--baseline))"
    assert "known gap validator-wire-format: documented, not regressed" in verdict_b["comparison"]["lines"]
    assert "recurring (2 waves, since `" + a.name in (b / "scrum" / "summary.md").read_text()
    # The second local run's page has the first in its trend (from history.sqlite); the fresh runner's has none.
    trend = (c / "report.html").read_text().split('<section id="trend">')
    assert len(trend) == 2 and f"<code>{a.name}</code>" in trend[1].split("</section>")[0]
    assert '<section id="trend">' not in (b / "report.html").read_text()


def test_a_merge_with_a_baseline_says_what_changed_since_it(servers, tmp_path):
    from .test_merge import SHARDS, finished, shard_runs, small_project

    config, _ = small_project(servers, tmp_path)
    finished(shard_runs(config, tmp_path, range(1, SHARDS + 1)), tmp_path, expected=1)
    shards = [str(only_run(tmp_path / f"shard-{k}")) for k in range(1, SHARDS + 1)]
    assert gauntlet("merge", *shards, "--out", str(tmp_path / "main")).returncode == 1
    baseline = only_run(tmp_path / "main")
    summary = tmp_path / "summary.md"
    proc = gauntlet("merge", *shards, "--out", str(tmp_path / "pr"), "--baseline", str(baseline),
                    env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert proc.returncode == 1, proc.stdout + proc.stderr
    merged = only_run(tmp_path / "pr")
    comparison = json.loads((merged / "verdict.json").read_text())["comparison"]
    assert comparison["previous_run_id"] == baseline.name
    assert "known gap items-tail: documented, not regressed" in comparison["lines"]
    assert any(line.startswith("parity: ") and "divergence(s) unchanged" in line for line in comparison["lines"])
    assert f"Compared with run <code>{baseline.name}</code>" in (merged / "report.html").read_text()
    assert "**BLOCK**" in summary.read_text() and f"### Compared with run `{baseline.name}`" in summary.read_text()


def test_examples_past_the_pages_budget_are_named_not_laid_out(tmp_path, monkeypatch):
    from probes.verdict import run_report

    run = write_run(tmp_path / "run", 300, record=True)
    assert run_report(run).count('class="sbs"') == 5
    monkeypatch.setattr("probes.verdict._report.EXAMPLE_BYTES", 1500)  # room for the largest class's example alone
    page = run_report(run)
    assert 1 <= page.count('class="sbs"') < 5
    assert page.count("not laid out here, to keep the page small") == 5 - page.count('class="sbs"')
    assert page.count("gauntlet diff RUN_DIR case0") >= 1  # what shows the rest
