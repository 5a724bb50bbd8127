"""The scrum phase against a loopback OpenAI-compatible streaming gateway and real programs."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from probes.config import load_config
from probes.core.events import Notice, ReviewChunk, ReviewFinished

from ..cli import gauntlet
from ..conftest import GATEWAY_KEY as KEY
from ..conftest import REPO, run_engine
from ..unit.test_tally import DIFF

pytestmark = pytest.mark.usefixtures("gateway_key")


def scrum_config(write_config, tmp_path, gateway_url, reviewers: str, scrum_extra: str = "", diff: str = DIFF,
                 timeout: str = "2s"):
    (tmp_path / "c1_validatord.diff").write_text(diff)
    return write_config(f"""
        [scrum]
        gateway = "{gateway_url}"
        api_key_env = "TEST_GATEWAY_KEY"
        retries = 2
        timeout = "{timeout}"
        {scrum_extra}
        [[scrum.bundle]]
        name = "c1_validatord"
        diff = "c1_validatord.diff"
    """ + reviewers)


def openai(name: str, model: str, lineage: str = "") -> str:
    return f'\n[[scrum.reviewer]]\nname = "{name}"\nlineage = "{lineage or name}"\nkind = "openai"\nmodel = "{model}"\n'


def run(path, **kw):
    config = load_config(path)
    outcome, seen = run_engine(config, **kw)
    finished = {e.reviewer: e for e in seen if isinstance(e, ReviewFinished)}
    return outcome, finished, seen


def test_normal_stream_with_usage(gateway, write_config, tmp_path):
    gateway.reviews["normal:opus"] = ("WHERE: crates/validatord/src/lib.rs:43\nSEVERITY: BLOCK\nWHAT: b changed\n"
                                      "VERDICT: BLOCK\n")
    gateway.reviews["normal:kimi"] = "WHERE: crates/validatord/src/lib.rs:44\nSEVERITY: WARN\nWHAT: b again\n"
    path = scrum_config(write_config, tmp_path, gateway.url,
                        openai("opus", "normal:opus", "anthropic") + openai("kimi", "normal:kimi", "moonshot"))
    outcome, finished, seen = run(path)
    assert finished["opus"].status == "ok" and finished["opus"].tokens_out == 250
    assert finished["opus"].tokens_estimated is False
    request = gateway.requests[0]
    assert request["body"]["stream"] is True
    assert request["body"]["stream_options"] == {"include_usage": True}
    assert request["headers"]["authorization"] == f"Bearer {KEY}"
    streamed = "".join(e.text for e in seen if isinstance(e, ReviewChunk) and e.reviewer == "opus")
    assert "WHERE: crates/validatord/src/lib.rs:43" in streamed
    tally = json.loads((outcome.run_dir / "scrum" / "c1_validatord" / "tally.json").read_text())
    assert tally["convergent"] == 1 and tally["distinct"] == 1
    assert outcome.verdict.verdict == "BLOCK"
    assert any(r.startswith("convergent BLOCK in c1_validatord at crates/validatord/src/lib.rs:43")
               for r in outcome.verdict.reasons)


def test_429_then_success(gateway, write_config, tmp_path):
    path = scrum_config(write_config, tmp_path, gateway.url, openai("kimi", "flaky429", "moonshot"))
    _, finished, seen = run(path)
    assert finished["kimi"].status == "ok" and finished["kimi"].retries == 1
    assert gateway.attempts["flaky429"] == 2
    assert any(isinstance(e, Notice) and "HTTP 429, retry 1/2" in e.message for e in seen)


def test_500_exhausted_is_an_error_and_incomplete(gateway, write_config, tmp_path):
    path = scrum_config(write_config, tmp_path, gateway.url, openai("qwen", "down500", "qwen"))
    outcome, finished, _ = run(path)
    assert finished["qwen"].status == "error"
    assert finished["qwen"].error.startswith("HTTP 500 after 3 attempts")
    assert gateway.attempts["down500"] == 3
    assert outcome.verdict.verdict == "BLOCK" and not outcome.verdict.complete
    assert any("every reviewer failed" in r for r in outcome.verdict.reasons)


def test_stream_cut_midway_keeps_partial_text(gateway, write_config, tmp_path):
    gateway.reviews["cut"] = "WHERE: go/validatord/errors.go:3\nSEVERITY: WARN\nWHAT: first\n" + "filler " * 40
    path = scrum_config(write_config, tmp_path, gateway.url, openai("kimi", "cut", "moonshot"))
    outcome, finished, _ = run(path)
    assert finished["kimi"].status == "partial"
    saved = (outcome.run_dir / "scrum" / "c1_validatord" / "kimi.md").read_text()
    assert saved.startswith("WHERE: go/validatord/errors.go:3") and len(saved) < len(gateway.reviews["cut"])
    assert finished["kimi"].findings == 1


CUT_REVIEW = "WHERE: go/validatord/errors.go:3\nSEVERITY: WARN\nWHAT: first\n" + "filler " * 40


@pytest.mark.parametrize("behaviour", ["cut", "closed"])
def test_a_bundle_whose_only_review_was_cut_short_is_incomplete(gateway, write_config, tmp_path, behaviour):
    gateway.reviews[behaviour] = CUT_REVIEW
    path = scrum_config(write_config, tmp_path, gateway.url, openai("kimi", behaviour, "moonshot"))
    outcome, finished, _ = run(path)
    assert finished["kimi"].status == "partial" and finished["kimi"].findings == 1
    verdict = json.loads((outcome.run_dir / "verdict.json").read_text())
    assert verdict["verdict"] == "BLOCK" and verdict["complete"] is False
    assert "incomplete: scrum bundle c1_validatord: no review finished (1 cut short)" in verdict["reasons"]
    tally = json.loads((outcome.run_dir / "scrum" / "c1_validatord" / "tally.json").read_text())
    assert tally["distinct"] == 1  # the partial text is still tallied
    assert outcome.exit_code == 1


def test_one_finished_review_beside_a_cut_one_is_a_review(gateway, write_config, tmp_path):
    gateway.reviews["cut"] = CUT_REVIEW
    path = scrum_config(write_config, tmp_path, gateway.url,
                        openai("kimi", "cut", "moonshot") + openai("opus", "normal", "anthropic"))
    outcome, finished, _ = run(path)
    assert finished["kimi"].status == "partial" and finished["opus"].status == "ok"
    assert outcome.verdict.verdict == "SHIP" and outcome.verdict.complete


def test_reviewer_that_never_answers_times_out(gateway, write_config, tmp_path):
    path = scrum_config(write_config, tmp_path, gateway.url, openai("opus", "hang", "anthropic"), timeout="500ms")
    _, finished, _ = run(path)
    assert finished["opus"].status == "error"
    assert finished["opus"].error == "no answer within 0.5s"


def test_malformed_chunks_are_skipped_and_said(gateway, write_config, tmp_path):
    path = scrum_config(write_config, tmp_path, gateway.url, openai("qwen", "malformed", "qwen"))
    _, finished, seen = run(path)
    assert finished["qwen"].status == "ok" and finished["qwen"].findings == 1
    assert any(isinstance(e, Notice) and "1 malformed stream chunk(s) skipped" in e.message for e in seen)


def test_no_usage_chunk_means_estimated_tokens(gateway, write_config, tmp_path):
    path = scrum_config(write_config, tmp_path, gateway.url, openai("qwen", "nousage", "qwen"))
    _, finished, _ = run(path)
    assert finished["qwen"].tokens_estimated is True and finished["qwen"].tokens_out > 0


def test_the_api_key_is_in_no_artifact(gateway, write_config, tmp_path):
    gateway.reviews["normal:echo"] = f"My key is {KEY}\nWHERE: go/validatord/errors.go:3\nSEVERITY: INFO\nWHAT: {KEY}\n"
    path = scrum_config(write_config, tmp_path, gateway.url,
                        openai("echo", "normal:echo", "x") + openai("bad", "down500", "y"))
    outcome, _, _ = run(path)
    assert gateway.requests[0]["headers"]["authorization"] == f"Bearer {KEY}"
    leaks = [p for p in outcome.run_dir.rglob("*") if p.is_file() and KEY.encode() in p.read_bytes()]
    assert leaks == []
    assert "***" in (outcome.run_dir / "scrum" / "c1_validatord" / "echo.md").read_text()


def test_size_guard_warns_refuses_and_can_be_forced(gateway, write_config, tmp_path, monkeypatch):
    big = DIFF + "".join(f"+// padding line {i:05d} " + "x" * 60 + "\n" for i in range(2000))
    big = big.replace("@@ -0,0 +1,4 @@", "@@ -0,0 +1,2004 @@")
    path = scrum_config(write_config, tmp_path, gateway.url, openai("opus", "normal", "anthropic"),
                        scrum_extra="warn_kb = 20\nmax_kb = 100", diff=big)
    outcome, finished, seen = run(path)
    assert finished == {}
    assert any("is over max_kb 100" in r and "incomplete" in r for r in outcome.verdict.reasons)
    assert not outcome.verdict.complete
    monkeypatch.setenv("SCRUM_FORCE_OVERSIZE", "1")
    outcome, finished, seen = run(path)
    assert finished["opus"].status == "ok"
    assert any(isinstance(e, Notice) and "(forced)" in e.message for e in seen)
    monkeypatch.delenv("SCRUM_FORCE_OVERSIZE")
    outcome, finished, _ = run(path, force_oversize=True)
    assert finished["opus"].status == "ok"


def test_warn_size_is_a_warning_only(gateway, write_config, tmp_path):
    path = scrum_config(write_config, tmp_path, gateway.url, openai("opus", "normal", "anthropic"),
                        scrum_extra="warn_kb = 1\nmax_kb = 100")
    outcome, finished, seen = run(path)
    assert finished["opus"].status == "ok"
    assert any(isinstance(e, Notice) and e.level == "warn" and "over warn_kb 1" in e.message for e in seen)


def test_command_and_replay_reviewers(write_config, tmp_path, script):
    script("reviewer.sh", """
        #!/bin/sh
        # reads the prompt, answers about the first path it names
        path=$(grep -m1 '^+++ b/' | sed 's|+++ b/||')
        echo "progress noise" >&2
        printf 'WHERE: %s:42\\nSEVERITY: BLOCK\\nWHAT: from the command\\n' "$path"
    """)
    (tmp_path / "saved").mkdir()
    (tmp_path / "saved" / "c1_validatord.md").write_text(
        "WHERE: crates/validatord/src/lib.rs:43\nSEVERITY: BLOCK\nWHAT: saved\n")
    path = scrum_config(write_config, tmp_path, "http://127.0.0.1:9/v1", """
        [[scrum.reviewer]]
        name = "local"
        lineage = "qwen"
        kind = "command"
        run = "./scripts/reviewer.sh"
        [[scrum.reviewer]]
        name = "saved"
        lineage = "anthropic"
        kind = "replay"
        file = "saved/{bundle}.md"
    """)
    outcome, finished, _ = run(path)
    assert finished["local"].status == "ok" and finished["saved"].status == "ok"
    review = (outcome.run_dir / "scrum" / "c1_validatord" / "local.md").read_text()
    assert review.startswith("WHERE: crates/validatord/src/lib.rs:42") and "progress noise" not in review
    assert "progress noise" in (outcome.run_dir / "scrum" / "c1_validatord" / "local.stderr.log").read_text()
    tally = json.loads((outcome.run_dir / "scrum" / "c1_validatord" / "tally.json").read_text())
    assert tally["convergent"] == 1  # qwen + anthropic on lines 42/43
    assert outcome.verdict.verdict == "BLOCK"


def test_command_reviewer_timeout_kills_it(write_config, tmp_path, script):
    script("slow.sh", "#!/bin/sh\ncat >/dev/null\nsleep 300\n")
    path = scrum_config(write_config, tmp_path, "http://127.0.0.1:9/v1", """
        [[scrum.reviewer]]
        name = "slow"
        lineage = "x"
        kind = "command"
        run = "./scripts/slow.sh"
        timeout = "300ms"
    """)
    _, finished, _ = run(path)
    assert finished["slow"].status == "error" and finished["slow"].error == "no answer within 0.3s"


def test_artifacts_summary_and_sarif(gateway, write_config, tmp_path):
    gateway.reviews["normal:a"] = "WHERE: crates/validatord/src/lib.rs:43\nSEVERITY: WARN\nWHAT: w\n"
    gateway.reviews["normal:b"] = ("WHERE: crates/validatord/src/lib.rs:42\nSEVERITY: INFO\nWHAT: i\n\n"
                                   "WHERE: nowhere.rs:1\nSEVERITY: BLOCK\nWHAT: n\n")
    path = scrum_config(write_config, tmp_path, gateway.url,
                        openai("opus", "normal:a", "anthropic") + openai("kimi", "normal:b", "moonshot"))
    outcome, _, _ = run(path)
    scrum = outcome.run_dir / "scrum"
    summary = (scrum / "summary.md").read_text()
    assert "| Bundle | KB | Convergent (≥2 lineages) | Distinct | Notes |" in summary
    assert "| c1_validatord | 1 | 1 | 1 |" in summary
    assert "| Bundle | Bundle KB | opus tokens out | kimi tokens out |" in summary
    assert "| c1_validatord | 1 | 250 | 250 |" in summary
    assert "`nowhere.rs:1` (kimi, BLOCK): path not in the diff" in summary
    sarif = json.loads((scrum / "findings.sarif").read_text())
    assert sarif["version"] == "2.1.0"
    results = sarif["runs"][0]["results"]
    assert len(results) == 1
    assert results[0]["properties"]["lineages"] == ["anthropic", "moonshot"]
    assert results[0]["properties"]["convergent"] is True
    assert results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "crates/validatord/src/lib.rs"
    assert results[0]["locations"][0]["physicalLocation"]["region"]["startLine"] == 42
    assert outcome.verdict.verdict == "SHIP"  # convergent, but WARN: not a block


def test_headless_scrum_prints_the_tally_line(gateway, write_config, tmp_path):
    # lib.rs:43/44 from two lineages: convergent. errors.go:3 from one lineage twice: distinct only.
    gateway.reviews["normal:opus"] = ("WHERE: crates/validatord/src/lib.rs:43\nSEVERITY: BLOCK\nWHAT: b\n\n"
                                      "WHERE: go/validatord/errors.go:3\nSEVERITY: WARN\nWHAT: kind\n")
    gateway.reviews["normal:opus-2"] = "WHERE: go/validatord/errors.go:3\nSEVERITY: WARN\nWHAT: kind again\n"
    gateway.reviews["normal:kimi"] = "WHERE: crates/validatord/src/lib.rs:44\nSEVERITY: WARN\nWHAT: b too\n"
    path = scrum_config(write_config, tmp_path, gateway.url,
                        openai("opus", "normal:opus", "anthropic") + openai("opus-2", "normal:opus-2", "anthropic")
                        + openai("kimi", "normal:kimi", "moonshot"))
    proc = subprocess.run([sys.executable, "-m", "tui.cli", "scrum", str(path), "--headless"], cwd=REPO,
                          capture_output=True, text=True, env={**__import__("os").environ, "TEST_GATEWAY_KEY": KEY})
    assert "c1_validatord (1KB) → 1 convergent / 2 distinct" in proc.stdout, proc.stdout + proc.stderr
    assert proc.returncode == 1  # the convergent location's worst is a BLOCK
    assert KEY not in proc.stdout + proc.stderr


def test_bundle_split(tmp_path):
    files = []
    for top, n in (("crates", 6), ("go", 5)):
        for i in range(n):
            body = "".join(f"+line {j:03d} " + "y" * 70 + "\n" for j in range(150))  # 12 KB a file
            files.append(f"diff --git a/{top}/m{i}.rs b/{top}/m{i}.rs\n--- a/{top}/m{i}.rs\n+++ b/{top}/m{i}.rs\n"
                         f"@@ -0,0 +1,150 @@\n{body}")
    huge = "".join(f"+{'z' * 90}\n" for _ in range(800))
    files.append(f"diff --git a/docs/big.md b/docs/big.md\n--- a/docs/big.md\n+++ b/docs/big.md\n@@ -0,0 +1,800 @@\n{huge}")
    diff = tmp_path / "wave.diff"
    diff.write_text("".join(files))
    out = tmp_path / "bundles"
    proc = gauntlet("bundle", "split", str(diff), "--max-kb", "30", "--out", str(out))
    assert proc.returncode == 1  # one file alone is over the limit, and it says which
    assert "docs/big.md alone is" in proc.stderr
    written = sorted(p.name for p in out.iterdir())
    # two 12 KB files fit under 30 KB, three do not: 6 crates files make 3 parts, 5 go files 3
    assert written == ["crates_1.diff", "crates_2.diff", "crates_3.diff", "docs.diff", "go_1.diff", "go_2.diff",
                       "go_3.diff"]
    for name in written:
        if name != "docs.diff":
            assert (out / name).stat().st_size <= 30 * 1024
    assert "".join((out / n).read_text() for n in ["crates_1.diff", "crates_2.diff", "crates_3.diff", "go_1.diff",
                                                     "go_2.diff", "go_3.diff", "docs.diff"]) == diff.read_text()
    grouped = gauntlet("bundle", "split", str(diff), "--max-kb", "200", "--group", "rust=crates/*",
                       "--out", str(tmp_path / "g"))
    assert grouped.returncode == 0, grouped.stderr
    assert sorted(p.name for p in (tmp_path / "g").iterdir()) == ["rest.diff", "rust.diff"]


def test_a_bundle_from_a_git_range_with_a_custom_prompt(write_config, tmp_path, script):
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run([*git, "init", "-q"], check=True)
    (repo / "go").mkdir()
    (repo / "go" / "errors.go").write_text("package v\n")
    (repo / "other.txt").write_text("x\n")
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "one"], check=True)
    (repo / "go" / "errors.go").write_text("package v\n\ntype ValidationError struct{}\n")
    (repo / "other.txt").write_text("y\n")
    subprocess.run([*git, "commit", "-qam", "two"], check=True)
    (tmp_path / "prompt.md").write_text("Review $bundle ($kb KB) please.\n$diff\n")
    script("echo.sh", "#!/bin/sh\ncat\n")  # a reviewer that answers with the prompt it got
    path = write_config(f"""
        [gauntlet]
        name = "git"
        out_dir = "out"
        workdir = "repo"
        [scrum]
        prompt_file = "../prompt.md"
        [[scrum.reviewer]]
        name = "echo"
        lineage = "x"
        kind = "command"
        run = "{tmp_path / 'scripts' / 'echo.sh'}"
        [[scrum.bundle]]
        name = "go_only"
        git = {{ range = "HEAD~1..HEAD", paths = ["go"] }}
    """)
    outcome, finished, _ = run(path)
    sent = (outcome.run_dir / "scrum" / "go_only" / "echo.md").read_text()
    assert sent.startswith("Review go_only (0 KB) please.\ndiff --git a/go/errors.go b/go/errors.go")
    assert "+type ValidationError struct{}" in sent and "other.txt" not in sent
