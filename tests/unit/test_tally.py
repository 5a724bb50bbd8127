"""The lineage-aware tally: parsing what models write, anchoring, convergence, retraction."""

from __future__ import annotations

import json
import sys

import pytest

from probes.scrum._tally import guess_lineage, parse_review, tally

from ..cli import gauntlet


DIFF = """\
diff --git a/crates/validatord/src/lib.rs b/crates/validatord/src/lib.rs
index 1111111..2222222 100644
--- a/crates/validatord/src/lib.rs
+++ b/crates/validatord/src/lib.rs
@@ -40,6 +40,8 @@ impl Validator {
     fn check(&self) {
         let a = 1;
-        let b = 2;
+        let b = 3;
+        let c = 4;
+        let d = 5;
         let e = 6;
     }
 }
diff --git a/go/validatord/errors.go b/go/validatord/errors.go
new file mode 100644
--- /dev/null
+++ b/go/validatord/errors.go
@@ -0,0 +1,4 @@
+package validatord
+
+type ValidationError struct{ Kind, Field, Reason string }
+
"""


def run_tally(*reviews, tolerance=3, min_tokens=100):
    parsed = []
    for name, lineage, text, tokens in reviews:
        r = parse_review(text, name, lineage)
        r.tokens_out = tokens
        parsed.append(r)
    return tally("c1_validatord", 46.0, DIFF, parsed, tolerance=tolerance, min_tokens_out=min_tokens)


def finding(where, severity="WARN", what="x"):
    return f"WHERE: {where}\nSEVERITY: {severity}\nWHAT: {what}\n\n"


def test_one_lineage_three_times_is_not_convergence():
    t = run_tally(("opus", "anthropic", finding("crates/validatord/src/lib.rs:43", "BLOCK"), 300),
                  ("opus-2", "anthropic", finding("crates/validatord/src/lib.rs:43", "BLOCK"), 300),
                  ("opus-3", "anthropic", finding("crates/validatord/src/lib.rs:44", "BLOCK"), 300))
    assert t.convergent == [] and t.distinct == 1
    assert t.locations[0].lineages == ["anthropic"]
    assert t.convergent_blocks() == []


def test_two_lineages_two_lines_apart_converge():
    t = run_tally(("opus", "anthropic", finding("crates/validatord/src/lib.rs:42", "BLOCK"), 300),
                  ("kimi", "moonshot", finding("crates/validatord/src/lib.rs:44", "WARN"), 300))
    assert len(t.convergent) == 1 and t.distinct == 1
    assert t.convergent[0].lineages == ["anthropic", "moonshot"]
    assert t.convergent[0].severity == "BLOCK"
    assert t.line() == "c1_validatord (46KB) → 1 convergent / 1 distinct"


def test_far_apart_lines_are_two_locations():
    t = run_tally(("opus", "anthropic", finding("crates/validatord/src/lib.rs:40"), 300),
                  ("kimi", "moonshot", finding("crates/validatord/src/lib.rs:48"), 300), tolerance=3)
    assert t.distinct == 2 and t.convergent == []


def test_paths_not_in_the_diff_and_lines_outside_hunks_are_unanchored():
    t = run_tally(("opus", "anthropic", finding("src/elsewhere.rs:3") + finding("crates/validatord/src/lib.rs:400"), 300))
    assert t.distinct == 0
    why = sorted(f.why_unanchored for f in t.reviews[0].findings)
    assert why == ["line outside every hunk of that file", "path not in the diff"]


def test_a_traversal_path_is_unanchored_and_nothing_outside_is_opened():
    opened: list[str] = []
    active = {"on": True}

    def hook(event, args):
        if active["on"] and event == "open" and args and isinstance(args[0], str):
            opened.append(args[0])

    sys.addaudithook(hook)
    try:
        t = run_tally(("opus", "anthropic", finding("../../etc/passwd:1", "BLOCK"), 300))
    finally:
        active["on"] = False
    assert t.distinct == 0 and not t.reviews[0].findings[0].anchored
    assert not any("passwd" in path for path in opened)


def test_block_then_retract_in_the_same_response():
    text = (finding("crates/validatord/src/lib.rs:43", "BLOCK", "b is off by one")
            + "On reflection I retract that BLOCK: the change to b is intended.\n\nVERDICT: SHIP\n")
    t = run_tally(("opus", "anthropic", text, 300))
    review = t.reviews[0]
    assert review.findings[0].retracted
    assert review.blocks() == 0 and review.retracted() == 1
    assert t.locations[0].severity == "WARN"
    assert "opus emitted a BLOCK then retracted it" in t.notes()


def test_a_later_verdict_retracts_an_earlier_block_verdict():
    review = parse_review("VERDICT: BLOCK\n\nActually no, that was wrong.\nVERDICT: SHIP\n", "opus", "anthropic")
    assert review.verdict == "SHIP" and review.verdict_retracted and review.blocks() == 0


def test_thin_review():
    t = run_tally(("kimi", "moonshot", "Looks fine.", 62), ("qwen", "qwen", finding("go/validatord/errors.go:3"), 297))
    thin = {r.reviewer: t.thin(r) for r in t.reviews}
    assert thin == {"kimi": True, "qwen": False}
    assert "kimi thin (62 tokens out)" in t.notes()


def test_what_models_really_write():
    text = (
        "## Findings\r\n"
        "1. **WHERE:** `crates/validatord/src/lib.rs:42-44`\r\n"
        "   **SEVERITY:** **BLOCK**\r\n"
        "   **WHAT:** range finding\r\n"
        "\r\n"
        "- WHERE: `go/validatord/errors.go`\r\n"
        "  - SEVERITY: info\r\n"
        "  - WHAT: file-level finding\r\n"
        "\r\n"
        "* __WHERE__: b/crates/validatord/src/lib.rs:45\r\n"
        "* WHERE: go/validatord/errors.go:3\r\n"
        "* SEVERITY: WARN\r\n"
        "* WHAT: one finding, two places\r\n"
        "\r\n"
        "> VERDICT: **BLOCK**\r\n"
    )
    review = parse_review(text, "opus", "anthropic")
    got = [(f.where, f.severity, f.what) for f in review.findings]
    assert got == [
        ("crates/validatord/src/lib.rs:42-44", "BLOCK", "range finding"),
        ("go/validatord/errors.go", "INFO", "file-level finding"),
        ("b/crates/validatord/src/lib.rs:45", "WARN", "one finding, two places"),
        ("go/validatord/errors.go:3", "WARN", "one finding, two places"),
    ]
    assert review.verdict == "BLOCK"
    t = tally("c", 1, DIFF, [review], tolerance=3, min_tokens_out=0)
    assert all(f.anchored for f in review.findings)
    assert {loc.where for loc in t.locations} == {"crates/validatord/src/lib.rs:42-45", "go/validatord/errors.go",
                                                  "go/validatord/errors.go:3"}


def test_reviewer_text_with_escapes_is_made_safe():
    review = parse_review("WHERE: go/validatord/errors.go:3\nSEVERITY: WARN\nWHAT: \x1b]0;pwn\x07 bad\n", "q", "qwen")
    assert "\x1b" not in review.findings[0].what and "␛" in review.findings[0].what


def test_not_a_diff_is_a_clear_error():
    from probes.core._errors import InputError

    with pytest.raises(InputError, match="bundle x: not a unified diff"):
        tally("x", 1, "@@ garbage @@\n+", [], tolerance=3, min_tokens_out=0, source="bundle x")


def test_lineage_guess():
    assert [guess_lineage(n) for n in ("opus", "Kimi-K2", "qwen-local", "mystery")] == \
        ["anthropic", "moonshot", "qwen", "mystery"]


def test_tally_command_on_saved_reviews(tmp_path):
    (tmp_path / "c1.diff").write_text(DIFF)
    reviews = tmp_path / "reviews"
    reviews.mkdir()
    (reviews / "opus.md").write_text(finding("crates/validatord/src/lib.rs:43", "BLOCK"))
    (reviews / "kimi.md").write_text(finding("crates/validatord/src/lib.rs:44"))
    (reviews / "opus2.md").write_text(finding("go/validatord/errors.go:3"))
    out = tmp_path / "out"
    proc = gauntlet("tally", str(reviews), "--diff", str(tmp_path / "c1.diff"), "--lineage", "opus2=anthropic",
                    "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "c1 (1KB) → 1 convergent / 2 distinct" in proc.stdout
    data = json.loads((out / "tally.json").read_text())
    assert data["convergent"] == 1 and data["distinct"] == 2
    assert {r["reviewer"]: r["lineage"] for r in data["reviewers"]} == \
        {"kimi": "moonshot", "opus": "anthropic", "opus2": "anthropic"}
