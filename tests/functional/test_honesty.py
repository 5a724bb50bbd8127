"""A gate never passes on nothing: the honesty matrix.

Each row is a way a run could look as if it passed while it saw nothing it was asked to
judge; each is held here against real processes and real loopback servers:

| what the run could not see                        | what it says                                        |
|---------------------------------------------------|-----------------------------------------------------|
| no smoke, no bundle, no case                      | BLOCK, incomplete: nothing was checked              |
| a reviewer lineage failing on every bundle        | BLOCK, incomplete: the lineage and its last error   |
| a wave in which every reviewer failed             | resolves no finding of the wave before              |
| a reference that is noise through and through     | inconclusive everywhere; over max_inconclusive BLOCK |
| a target answering every case 404, or refusing    | misaimed, with the likely cause; BLOCK              |
| a run still going                                 | the header says the verdict *so far*                |
"""

from __future__ import annotations

import functools
import json
import random
import string

import pytest
from rich.console import Console

from probes.config import load_config
from probes.core.events import BundleTallied, ParityCaseFinished, ParityPlanned, PhaseFinished, RunStarted, VerdictChanged
from tui.headless import HeadlessPrinter

from .. import cli
from ..conftest import free_port, only_run, run_engine
from .test_noise import PLAYBOOK_CASE, fixed
from .test_scrum import openai
from ..unit.test_tally import DIFF


gauntlet = functools.partial(cli.gauntlet, env={"COLUMNS": "200"})


# ---- nothing was checked ----------------------------------------------------------------------

def test_an_empty_gauntlet_blocks_and_check_warns(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    (project / "Procfile").write_text("web: ./server --port 8080\n")
    init = gauntlet("init", str(project))
    assert init.returncode == 0, init.stdout + init.stderr
    config = project / "gauntlet.toml"
    check = gauntlet("check", str(config))
    assert check.returncode == 0, check.stdout + check.stderr
    assert "checks nothing" in check.stdout, check.stdout
    run = gauntlet("run", str(config), "--headless", "--out", str(tmp_path / "out"))
    assert run.returncode == 1, run.stdout + run.stderr
    assert "verdict: BLOCK" in run.stdout and "nothing was checked" in run.stdout, run.stdout
    verdict = json.loads((only_run(tmp_path / "out") / "verdict.json").read_text())
    assert verdict["verdict"] == "BLOCK" and verdict["complete"] is False
    assert any(r.startswith("incomplete: nothing was checked") for r in verdict["reasons"]), verdict["reasons"]


# ---- a dead lineage ----------------------------------------------------------------------------

def four_bundles(write_config, tmp_path, gateway_url: str, scrum_extra: str = ""):
    (tmp_path / "b.diff").write_text(DIFF)
    bundles = "".join(f'\n[[scrum.bundle]]\nname = "c{n}"\ndiff = "b.diff"\n' for n in range(1, 5))
    return write_config(f"""
        [scrum]
        gateway = "{gateway_url}"
        api_key_env = "TEST_GATEWAY_KEY"
        retries = 1
        timeout = "5s"
        {scrum_extra}
    """ + bundles + openai("opus", "normal:opus", "anthropic") + openai("kimi", "normal:kimi", "moonshot")
        + openai("gpt", "badmodel:gpt", "openai"))


@pytest.mark.usefixtures("gateway_key")
@pytest.mark.parametrize("model", ["badmodel:gpt", "limited:gpt"], ids=["invalid-model", "rate-limited"])
def test_a_lineage_that_fails_on_every_bundle_leaves_the_scrum_incomplete(gateway, write_config, tmp_path, model):
    path = four_bundles(write_config, tmp_path, gateway.url)
    path.write_text(path.read_text().replace("badmodel:gpt", model))
    outcome, seen = run_engine(load_config(path))
    assert outcome.verdict.verdict == "BLOCK" and not outcome.verdict.complete, outcome.verdict.reasons
    (lost,) = [r for r in outcome.verdict.reasons if "lineage openai" in r]
    assert lost.startswith("incomplete: scrum lineage openai lost: every review failed")
    assert ("Invalid model name" if model.startswith("bad") else "429") in lost, lost
    assert "2 of 3 lineages" in lost and "min_lineages" in lost


@pytest.mark.usefixtures("gateway_key")
def test_min_lineages_says_how_many_lineages_suffice(gateway, write_config, tmp_path):
    outcome, _ = run_engine(load_config(four_bundles(write_config, tmp_path, gateway.url, "min_lineages = 2")))
    assert outcome.verdict.verdict != "BLOCK", outcome.verdict.reasons
    assert outcome.verdict.complete
    summary = (outcome.run_dir / "scrum" / "summary.md").read_text()
    assert "lineage openai lost" in summary


def test_min_lineages_above_the_lineages_is_a_config_error(write_config, tmp_path):
    path = four_bundles(write_config, tmp_path, "http://127.0.0.1:9/v1", "min_lineages = 4")
    check = gauntlet("check", str(path))
    assert check.returncode == 2, check.stdout + check.stderr
    assert "scrum.min_lineages" in check.stderr and "3 lineages" in check.stderr, check.stderr


# ---- a failed wave -------------------------------------------------------------------------------

@pytest.mark.usefixtures("gateway_key")
def test_a_wave_in_which_every_reviewer_failed_resolves_nothing(gateway, write_config, tmp_path):
    from .test_scrum import scrum_config

    gateway.reviews["normal:opus"] = "WHERE: crates/validatord/src/lib.rs:43\nSEVERITY: WARN\nWHAT: b changed\n"
    path = scrum_config(write_config, tmp_path, gateway.url, openai("opus", "normal:opus", "anthropic"))
    first, _ = run_engine(load_config(path))
    assert first.verdict.verdict == "SHIP", first.verdict.reasons
    path.write_text(path.read_text().replace("normal:opus", "down500:opus"))
    failed, seen = run_engine(load_config(path))
    (tallied,) = [e for e in seen if isinstance(e, BundleTallied)]
    assert tallied.resolved == ()
    assert not any("resolved" in note for note in tallied.notes), tallied.notes
    # and the wave after it still knows the finding: recurring, not new
    path.write_text(path.read_text().replace("down500:opus", "normal:opus"))
    _, seen = run_engine(load_config(path))
    (tallied,) = [e for e in seen if isinstance(e, BundleTallied)]
    assert [loc.state for loc in tallied.locations] == ["recurring"], tallied.locations


# ---- an inconclusive probe -----------------------------------------------------------------------

def random_keys(seed: int):
    """A mock in its dynamic mode over a schema with `additionalProperties`: random keys, random
    values; every answer different from the last."""
    rng = random.Random(seed)

    async def handle(method, path, headers, body):
        word = lambda: "".join(rng.choice(string.ascii_letters) for _ in range(4)) + str(rng.randint(0, 9))  # noqa: E731
        return 200, {"Content-Type": "application/json"}, json.dumps({word(): word() for _ in range(2)}).encode()

    return handle


def random_values(seed: int):
    """A mock in its dynamic mode over a fixed schema: the same keys, every value random."""
    rng = random.Random(seed)

    async def handle(method, path, headers, body):
        return 200, {"Content-Type": "application/json"}, json.dumps(
            {"id": rng.randint(0, 10**9), "name": "".join(rng.choice(string.ascii_letters) for _ in range(8))}).encode()

    return handle


TWELVE = "".join(f'\n[[parity.case]]\nname = "pet_{n:02}"\npath = "/pets/{n}"\n' for n in range(12))


def probe(write_config, targets: dict[str, str], cases: str, extra: str = ""):
    lines = "\n".join(f'{name} = "{url}"' for name, url in targets.items())
    path = write_config(f'[parity]\nreference = "{next(iter(targets))}"\nconcurrency = 2\ntimeout = "2s"\n{extra}\n'
                        f'[parity.targets]\n{lines}\n' + cases)
    return path, *run_engine(load_config(path))


def test_an_all_inconclusive_probe_blocks_and_never_reads_as_a_match(servers, write_config, tmp_path):
    ref, cand = servers.serve_http(random_values(1)), servers.serve_http(fixed({"id": 7, "name": "rex"}))
    _, outcome, seen = probe(write_config, {"ref": ref, "cand": cand}, TWELVE, "noise_samples = 3")
    assert outcome.verdict.verdict == "BLOCK" and not outcome.verdict.complete, outcome.verdict.reasons
    (share,) = [r for r in outcome.verdict.reasons if "inconclusive" in r]
    assert share.startswith("incomplete: parity: 12 of 12 cases inconclusive (100 %)") and "max_inconclusive" in share
    printer = HeadlessPrinter(Console(record=True, width=160, color_system=None), verbose=True)
    for e in seen:
        printer.apply(0, e)
    shown = printer.console.export_text()
    case_lines = [line for line in shown.splitlines() if "pet_" in line]
    # the status codes did match (✓ once, in the table); the bodies are never called a match
    assert case_lines and not any("MATCH" in line or line.count("✓") > 1 for line in case_lines), case_lines
    assert all("inconclusive" in line.lower() for line in case_lines), case_lines
    report = (outcome.run_dir / "parity" / "report.md").read_text()
    rows = [line for line in report.splitlines() if line.startswith("| pet_")]
    assert rows and not any("✓" in line.split("|")[-4] for line in rows), rows


def test_max_inconclusive_is_the_share_that_may_be(servers, write_config, tmp_path):
    ref, cand = servers.serve_http(random_values(1)), servers.serve_http(fixed({"id": 7, "name": "rex"}))
    _, outcome, _ = probe(write_config, {"ref": ref, "cand": cand}, TWELVE, 'noise_samples = 3\nmax_inconclusive = "100%"')
    assert not any("inconclusive" in r for r in outcome.verdict.reasons), outcome.verdict.reasons


def test_noise_suggest_proposes_the_maps_wildcard_for_random_keys(servers, write_config, tmp_path):
    ref, cand = servers.serve_http(random_keys(1)), servers.serve_http(random_keys(2))
    probe(write_config, {"ref": ref, "cand": cand}, TWELVE, "noise_samples = 3")
    suggest = gauntlet("noise", "suggest", str(only_run(tmp_path / "out")))
    assert suggest.returncode == 0, suggest.stderr
    rules = [line.split("#")[0].strip() for line in suggest.stdout.splitlines() if line.strip().startswith('"')]
    assert rules == ['"GET /pets/{n} $.*",'], suggest.stdout
    assert "keys" in suggest.stdout  # and says why


# ---- a misaimed target ---------------------------------------------------------------------------

async def not_found(method, path, headers, body):
    return 404, {"Content-Type": "application/json"}, b'{"detail": "Not Found"}'


async def pets(method, path, headers, body):
    return 200, {"Content-Type": "application/json"}, json.dumps({"id": path.rsplit("/", 1)[-1]}).encode()


def test_a_target_answering_every_case_404_is_misaimed(servers, write_config, tmp_path):
    ref, cand = servers.serve_http(not_found), servers.serve_http(not_found)
    _, outcome, seen = probe(write_config, {"ref": ref, "cand": cand}, TWELVE)
    assert outcome.verdict.verdict == "BLOCK" and not outcome.verdict.complete
    misaimed = [r for r in outcome.verdict.reasons if "misaimed" in r]
    assert len(misaimed) == 2 and all("404" in r and "base path" in r for r in misaimed), misaimed
    headline = next(e for e in seen if isinstance(e, PhaseFinished) and e.phase == "parity").summary
    assert "misaimed" in headline, headline


def test_a_target_refusing_every_connection_is_misaimed(servers, write_config, tmp_path):
    ref = servers.serve_http(pets)
    _, outcome, _ = probe(write_config, {"ref": ref, "cand": f"http://127.0.0.1:{free_port()}"}, TWELVE)
    (misaimed,) = [r for r in outcome.verdict.reasons if "misaimed" in r]
    assert misaimed.startswith("incomplete: parity target cand misaimed: every case (12) failed")
    assert "cannot connect" in misaimed


def test_a_404_the_cases_expect_is_not_misaimed(servers, write_config, tmp_path):
    gone = '\n[[parity.case]]\nname = "gone"\npath = "/pets/0"\nexpect_status = 404\n'
    _, outcome, _ = probe(write_config, {"ref": servers.serve_http(not_found), "cand": servers.serve_http(not_found)},
                          gone)
    assert outcome.verdict.verdict == "SHIP", outcome.verdict.reasons


def test_check_probe_sends_one_case_per_endpoint_and_names_a_misaimed_target(servers, write_config, tmp_path):
    ref, cand = servers.serve_http(pets), servers.serve_http(not_found)
    cases = TWELVE + '\n[[parity.case]]\nname = "list"\npath = "/pets"\n'
    lines = f'ref = "{ref}"\ncand = "{cand}"'
    path = write_config(f'[parity]\nreference = "ref"\n[parity.targets]\n{lines}\n' + cases)
    check = gauntlet("check", "--probe", str(path))
    assert check.returncode == 2, check.stdout + check.stderr
    assert "2 endpoints" in check.stdout, check.stdout
    assert "cand misaimed" in check.stdout and "404" in check.stdout, check.stdout
    assert not (tmp_path / "out").exists()  # a probe writes no run
    good = write_config(f'[parity]\nreference = "ref"\n[parity.targets]\nref = "{ref}"\ncand = "{ref}"\n' + cases,
                        name="good.toml")
    check = gauntlet("check", "--probe", str(good))
    assert check.returncode == 0, check.stdout + check.stderr
    assert "misaimed" not in check.stdout


# ---- a verdict before it exists ------------------------------------------------------------------

def test_the_header_says_the_verdict_so_far_until_the_run_finishes():
    from probes.core.events import RunFinished
    from tui.model import RunModel
    from tui.widgets.run_header import header_text

    model = RunModel()
    model.apply(0, RunStarted("r1", "demo", "demo.toml", "/tmp/r1", ("smokes", "verdict"), "2026-12-06T00:00:00+00:00"))
    model.apply(1, VerdictChanged("SHIP", ("every phase that ran is clean",), True))
    live = header_text(model, 1.4, False).plain
    assert "running · SHIP so far" in live, live
    model.apply(2, RunFinished("SHIP", True, 2.0, 0, False))
    final = header_text(model, 2.0, False).plain
    assert "so far" not in final and " SHIP " in final, final


# ---- also seen on the way -------------------------------------------------------------------------

def test_headless_lists_the_unverified_blocks_with_the_verdict(tmp_path):
    from probes.core.events import LocationRow, PlannedBundle, PlannedReviewer, RunFinished, ScrumPlanned

    printer = HeadlessPrinter(Console(record=True, width=160, color_system=None))
    loc = LocationRow("a.rs:3", "a.rs", 3, 3, ("anthropic",), ("opus",), False, "BLOCK", "unchecked index")
    for e in (RunStarted("r", "n", "c.toml", "/tmp/r", ("scrum", "verdict"), "2026-12-06T00:00:00+00:00"),
              ScrumPlanned((PlannedBundle("c1", 1.0, 1.0, "ok"),), (PlannedReviewer("opus", "anthropic", "replay"),)),
              BundleTallied("c1", 1.0, 0, 1, "", (), (), (loc,), ()),
              VerdictChanged("SHIP", ("every phase that ran is clean",), True),
              RunFinished("SHIP", True, 1.0, 0, False)):
        printer.apply(0, e)
    shown = printer.console.export_text()
    assert "unverified BLOCK" in shown and "a.rs:3" in shown and "unchecked index" in shown, shown


def test_a_what_that_starts_with_a_backtick_keeps_it():
    from probes.scrum._tally import parse_review

    review = parse_review("WHERE: src/lib.rs:3\nSEVERITY: BLOCK\nWHAT: `input.endorsed.len() > limit` is never "
                          "checked\n", "opus", "anthropic")
    assert review.findings[0].what == "`input.endorsed.len() > limit` is never checked"
    bold = parse_review("WHERE: src/lib.rs:3\n**WHAT:** `a > b`\n", "opus", "anthropic")
    assert bold.findings[0].what == "`a > b`"


def test_empty_json_bodies_on_both_sides_are_equal(servers, write_config, tmp_path):
    async def no_content(method, path, headers, body):
        return 204, {"Content-Type": "application/json"}, b""

    _, outcome, seen = probe(write_config, {"ref": servers.serve_http(no_content),
                                            "cand": servers.serve_http(no_content)}, PLAYBOOK_CASE)
    case = next(e for e in seen if isinstance(e, ParityCaseFinished))
    assert not case.errors and case.status_match and case.body_match, case
    assert outcome.verdict.verdict == "SHIP", outcome.verdict.reasons



def test_an_empty_json_body_against_a_json_one_is_a_shape_divergence_not_a_fault(servers, write_config, tmp_path):
    async def no_content(method, path, headers, body):
        return 200, {"Content-Type": "application/json"}, b""

    _, outcome, seen = probe(write_config, {"ref": servers.serve_http(fixed({"ok": True})),
                                            "cand": servers.serve_http(no_content)}, PLAYBOOK_CASE)
    case = next(e for e in seen if isinstance(e, ParityCaseFinished))
    assert not case.errors and case.kinds == {"cand": "shape"}, case
    assert outcome.verdict.verdict == "BLOCK"


async def test_the_tui_lists_inconclusive_cases_apart_and_the_header_says_so_far():
    from probes.core.events import ParityPlanned, PhaseStarted
    from tui.app import GauntletApp
    from tui.widgets.run_header import RunHeader

    from ..conftest import until
    from ..tui_helpers import ScriptedSource, shown_text

    source = ScriptedSource()
    app = GauntletApp(source, clock=False)
    async with app.run_test(size=(160, 40)) as pilot:
        source.start("parity")
        source.push(0.1, PhaseStarted("parity"))
        source.push(0.1, ParityPlanned(("pet_00", "pet_01"), ("ref", "cand"), "ref", 2))
        for name in ("pet_00", "pet_01"):
            source.push(0.2, ParityCaseFinished(name, "ref", {"ref": 200, "cand": 200}, inconclusive=True))
        source.push(0.3, VerdictChanged("BLOCK", ("incomplete: parity: 2 of 2 cases inconclusive",), False))
        await pilot.press("3")
        await until(lambda: "pet_01" in shown_text(app.query_one("#parity-list")), pilot, 10, "the cases")
        listed = shown_text(app.query_one("#parity-list"))
        assert "inconclusive: the reference's answer is all noise" in listed, listed
        assert "✓ match" not in listed and "? inconclusive" in listed, listed
        header = shown_text(app.query_one(RunHeader))
        assert "running · BLOCK so far" in header, header
        source.close()


def test_a_candidate_that_disagrees_with_itself_is_candidate_noise_not_a_class_per_case(servers, write_config,
                                                                                        tmp_path):
    """A candidate answering random keys: without its own samples every case is a shape
    divergence of a class of its own, a new class on every run."""
    _, outcome, seen = probe(write_config, {"ref": servers.serve_http(fixed({"id": 7})),
                                            "cand": servers.serve_http(random_keys(3))}, TWELVE, "noise_samples = 2")
    found = [r for r in outcome.verdict.reasons if "candidate noise" in r]
    assert len(found) == 1 and found[0].startswith("parity: cand disagrees with itself"), outcome.verdict.reasons
    assert "$ in 12 case(s)" in found[0], found[0]
    classes = {c for e in seen if isinstance(e, ParityCaseFinished) for c in e.classes.values() if c}
    assert len(classes) <= 1, classes  # `$.id` absent: one class, whatever keys the candidate made up
    verdict = json.loads((outcome.run_dir / "verdict.json").read_text())
    assert verdict["phases"]["parity"]["candidate_noise"]["cand"][0]["cases_total"] == 12
    headline = next(e for e in seen if isinstance(e, PhaseFinished) and e.phase == "parity").summary
    assert "cand disagrees with itself" in headline, headline


def test_a_candidate_value_that_moves_on_every_answer_is_told_at_its_path(servers, write_config, tmp_path):
    count = iter(range(1, 10**6))  # never the reference's 0: every case differs

    async def drifting(method, path, headers, body):
        return 200, {"Content-Type": "application/json"}, json.dumps({"id": 7, "nonce": next(count)}).encode()

    _, outcome, _ = probe(write_config, {"ref": servers.serve_http(fixed({"id": 7, "nonce": 0})),
                                         "cand": servers.serve_http(drifting)}, TWELVE, "noise_samples = 2")
    (found,) = [r for r in outcome.verdict.reasons if "candidate noise" in r]
    assert "$.nonce in 12 case(s)" in found, found


def test_candidate_noise_reads_the_same_whatever_order_the_cases_land_in():
    from probes.parity._board import ParityBoard

    def told(order):
        board = ParityBoard()
        board.apply(0, ParityPlanned(tuple(order), ("ref", "cand"), "ref", 4))
        for name in order:
            board.apply(1, ParityCaseFinished(name, "ref", {"ref": 200, "cand": 200},
                                              unsteady={"cand": ("$.z", "$.a")}))
        return board.tally.candidate_noise()

    names = [f"c{n}" for n in range(6)]
    assert told(names) == told(list(reversed(names))) == {
        "cand": [("$.a", 6, ["c0", "c1", "c2"]), ("$.z", 6, ["c0", "c1", "c2"])]}
