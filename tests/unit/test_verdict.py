"""The verdict rules, one test per reason, from the same events the engine emits."""

from __future__ import annotations

from datetime import date

from probes.core.events import (
    LocationRow,
    PlannedBundle,
    PlannedReviewer,
    PlannedSmoke,
    BundleTallied,
    ParityCaseFinished,
    ParityPlanned,
    PhaseFinished,
    PhaseStarted,
    ReviewFinished,
    ReviewStarted,
    RunStarted,
    ScrumPlanned,
    SmokeFinished,
    SmokesPlanned,
)
from probes.verdict._gaps import KnownGap
from probes.core import VerdictWord
from probes.verdict._verdict import VerdictTracker

SHIP, SHIP_WITH_KNOWN_GAP, BLOCK = VerdictWord.SHIP, VerdictWord.SHIP_WITH_KNOWN_GAP, VerdictWord.BLOCK

TODAY = date(2026, 11, 26)


def tracker(*events, phases=("smokes", "scrum", "parity", "verdict"), gaps=()) -> VerdictTracker:
    t = VerdictTracker(gaps=list(gaps), today=TODAY)
    t.apply(0, RunStarted("r", "n", "c.toml", "/tmp/r", phases, "2026-11-26T00:00:00+00:00"))
    for e in events:
        t.apply(1, e)
    return t


def done(*phases):
    return [e for p in phases for e in (PhaseStarted(p), PhaseFinished(p, True, ""))]


def smoke(name, status, reason=""):
    return [SmokesPlanned((PlannedSmoke(name, "Substrate"),), 1),
            SmokeFinished(name, "Substrate", status, 1.0, 1 if status == "fail" else None, reason, "", 0)]


def case(name, *, statuses=(422, 422), kind=None, fingerprint=None, errors=None, expect=(),
         status_match=True, body_match=True):
    """A probed case as the engine reports it; each test states its match flags itself."""
    return ParityCaseFinished(name, "rust", {"rust": statuses[0], "go": statuses[1]}, errors or {},
                              {"go": kind}, {"go": fingerprint}, status_match, body_match, (), 0, (), expect)


def parity(*cases):
    return [ParityPlanned(tuple(c.case for c in cases), ("rust", "go"), "rust", 8), *cases]


GAP = KnownGap("wire", "playbook_*", "shape", ("sha256:aaaaaaaaaaaaaaaa",), "flat vs tagged", "validatord",
               date(2026, 5, 2))


def test_clean_run_ships():
    v = tracker(*smoke("d1", "pass"), *parity(case("happy")), *done("smokes", "parity"),
                phases=("smokes", "parity", "verdict")).current(final=True)
    assert v.verdict == SHIP and v.complete and v.exit_code() == 0


def test_failed_smoke_blocks():
    v = tracker(*smoke("d1", "fail", "exit code 1"), *done("smokes"), phases=("smokes", "verdict")).current(final=True)
    assert v.verdict == BLOCK and v.reasons == ("smoke d1 (Substrate) failed: exit code 1",)
    assert v.exit_code() == 1


def test_timed_out_smoke_blocks():
    v = tracker(*smoke("d1", "timeout", "timed out after 1s"), *done("smokes"),
                phases=("smokes", "verdict")).current(final=True)
    assert v.verdict == BLOCK and v.reasons == ("smoke d1 (Substrate) timed out",)


def test_status_mismatch_blocks_even_with_a_gap():
    """The gap covers this case's body divergence; the status codes still block."""
    v = tracker(*parity(case("playbook_x", statuses=(422, 500), kind="shape", fingerprint="sha256:aaaaaaaaaaaaaaaa",
                             status_match=False, body_match=False)),
                *done("parity"), phases=("parity", "verdict"), gaps=[GAP]).current(final=True)
    assert v.known_gaps == ("parity case playbook_x: go shape divergence covered by known gap wire "
                            "(owner validatord)",)
    assert v.verdict == BLOCK
    assert v.reasons == ("parity case playbook_x: status codes differ (rust 422, go 500)",)


def test_expect_status_failure_blocks():
    v = tracker(*parity(case("c", statuses=(200, 200), expect=("rust answered 200, expected 422",),
                             status_match=False)),
                *done("parity"), phases=("parity", "verdict")).current(final=True)
    assert v.verdict == BLOCK and "expected 422" in v.reasons[0]


def test_uncovered_body_divergence_blocks():
    v = tracker(*parity(case("fill_phantom", kind="shape", fingerprint="sha256:bbbbbbbbbbbbbbbb",
                             body_match=False)),
                *done("parity"), phases=("parity", "verdict"), gaps=[GAP]).current(final=True)
    assert v.verdict == BLOCK
    assert "fill_phantom: go shape divergence not covered by a known gap" in v.reasons[0]


def test_covered_divergence_ships_with_known_gap_and_strict_fails():
    v = tracker(*parity(case("playbook_missing", kind="shape", fingerprint="sha256:aaaaaaaaaaaaaaaa",
                             body_match=False)),
                *done("parity"), phases=("parity", "verdict"), gaps=[GAP]).current(final=True)
    assert v.verdict == SHIP_WITH_KNOWN_GAP
    assert "covered by known gap wire" in v.reasons[0]
    assert v.exit_code() == 0 and v.exit_code(strict=True) == 1


def test_a_different_divergence_in_a_covered_case_is_not_covered():
    v = tracker(*parity(case("playbook_missing", kind="shape", fingerprint="sha256:cccccccccccccccc",
                             body_match=False)),
                *done("parity"), phases=("parity", "verdict"), gaps=[GAP]).current(final=True)
    assert v.verdict == BLOCK and "not covered" in v.reasons[0]


def test_another_kind_in_a_covered_case_is_not_covered():
    v = tracker(*parity(case("playbook_missing", kind="value", fingerprint="sha256:aaaaaaaaaaaaaaaa",
                             body_match=False)),
                *done("parity"), phases=("parity", "verdict"), gaps=[GAP]).current(final=True)
    assert v.verdict == BLOCK and not v.known_gaps
    assert v.reasons == ("parity case playbook_missing: go value divergence not covered by a known gap "
                         "(fingerprint sha256:aaaaaaaaaaaaaaaa)",)


def test_an_expired_gap_covers_nothing():
    expired = KnownGap("wire", "playbook_*", "shape", ("sha256:aaaaaaaaaaaaaaaa",), "n", "o", date(2026, 5, 2),
                       expires=date(2026, 6, 1))
    v = tracker(*parity(case("playbook_missing", kind="shape", fingerprint="sha256:aaaaaaaaaaaaaaaa",
                             body_match=False)),
                *done("parity"), phases=("parity", "verdict"), gaps=[expired]).current(final=True)
    assert v.verdict == BLOCK
    assert v.reasons == ("parity case playbook_missing: go shape divergence; known gap wire expired on 2026-06-01",)


def test_parity_error_blocks():
    v = tracker(*parity(case("c", statuses=(200, None), errors={"go": "cannot connect"}, status_match=False,
                             body_match=False)),
                *done("parity"), phases=("parity", "verdict")).current(final=True)
    assert v.verdict == BLOCK and "could not be compared (go: cannot connect)" in v.reasons[0]


def _tallied(bundle, *, convergent_block=False):
    loc = LocationRow("a.rs:3", "a.rs", 3, 3, ("anthropic", "moonshot"), ("opus", "kimi"), True,
                      "BLOCK" if convergent_block else "WARN", "bad")
    return BundleTallied(bundle, 46, 1, 1, "", (), (), (loc,), (), int(convergent_block))


def test_convergent_block_blocks_and_convergent_warn_does_not():
    planned = ScrumPlanned((PlannedBundle("c1", 46.0, 47.0, "ok"),), (PlannedReviewer("opus", "anthropic", "replay"),))
    v = tracker(planned, _tallied("c1", convergent_block=True), *done("scrum"),
                phases=("scrum", "verdict")).current(final=True)
    assert v.verdict == BLOCK and v.reasons[0].startswith("convergent BLOCK in c1 at a.rs:3 (anthropic + moonshot)")
    v = tracker(planned, _tallied("c1"), *done("scrum"), phases=("scrum", "verdict")).current(final=True)
    assert v.verdict == SHIP


def test_all_reviewers_unreachable_is_incomplete():
    planned = ScrumPlanned((PlannedBundle("c1", 46.0, 47.0, "ok"),), (PlannedReviewer("opus", "anthropic", "openai"),))
    v = tracker(planned, ReviewStarted("c1", "opus", "openai"),
                ReviewFinished("c1", "opus", "anthropic", "error", 0, True, 0, "cannot connect"),
                BundleTallied("c1", 46, 0, 0, "", (), (), (), ()), *done("scrum"),
                phases=("scrum", "verdict")).current(final=True)
    assert v.verdict == BLOCK and not v.complete
    assert v.reasons == ("incomplete: scrum bundle c1: every reviewer failed",)


def test_refused_bundle_is_incomplete():
    planned = ScrumPlanned((PlannedBundle("big", 165.0, 166.0, "refused", "166 KB to send is over max_kb 100"),), ())
    v = tracker(planned, *done("scrum"), phases=("scrum", "verdict")).current(final=True)
    assert v.verdict == BLOCK and not v.complete
    assert "incomplete: scrum bundle big was not reviewed (166 KB" in v.reasons[0]


def test_interrupted_or_unfinished_phase_is_incomplete_never_a_pass():
    t = tracker(*smoke("d1", "pass"), PhaseStarted("smokes"), PhaseFinished("smokes", True, ""),
                PhaseStarted("parity"), PhaseFinished("parity", False, "", "interrupted"),
                phases=("smokes", "parity", "verdict"))
    v = t.current(final=True)
    assert v.verdict == BLOCK and not v.complete
    assert v.reasons == ("incomplete: parity did not run to the end (interrupted)",)
    never = tracker(*smoke("d1", "pass"), *done("smokes"), phases=("smokes", "scrum", "verdict")).current(final=True)
    assert never.verdict == BLOCK and never.reasons == ("incomplete: scrum did not run",)


def test_the_live_verdict_does_not_call_pending_phases_incomplete():
    v = tracker(*smoke("d1", "pass"), *done("smokes"), phases=("smokes", "parity", "verdict")).current()
    assert v.verdict == SHIP


def test_a_compared_header_that_differs_blocks_unless_a_gap_covers_it():
    """compare_headers names what the operator cares about: a difference there counts."""
    charset = ParityCaseFinished("ct", "rust", {"rust": 200, "go": 200}, {}, {"go": None},
                                 {"go": "sha256:bbbbbbbbbbbbbbbb"}, True, True, status_kinds={"go": "header"})
    v = tracker(*parity(charset), *done("parity"), phases=("parity", "verdict")).current(final=True)
    assert v.verdict == BLOCK
    assert v.reasons == ("parity case ct: go header divergence not covered by a known gap "
                         "(fingerprint sha256:bbbbbbbbbbbbbbbb)",)
    gap = KnownGap("charset", "ct", "header", ("sha256:bbbbbbbbbbbbbbbb",), "charset=utf-8 on Go", "o",
                   date(2026, 11, 1))
    v = tracker(*parity(charset), *done("parity"), phases=("parity", "verdict"), gaps=[gap]).current(final=True)
    assert v.verdict == SHIP_WITH_KNOWN_GAP
