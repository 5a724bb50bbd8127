"""The parity diff viewer: alignment, jumping, every toggle, recording a gap, curl."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys


from probes.config import load_config
from probes.engine import Engine, select_phases
from probes.verdict._gaps import load_gaps
from probes.parity._results import read_case, stored_answer
from probes.parity._sidebyside import GAP, load_case, locate, pretty
from tui.screens.diff import DiffApp, DiffScreen, GapForm, SideBySide

from ..cli import gauntlet
from ..conftest import REPO
from .test_parity import json_answer
from ..tui_helpers import demo_run_copy, settle, shown_text


async def probe_run(servers, write_config, answers: dict[str, object], extra: str = "", gaps: bool = False):
    """A real parity run against loopback servers answering `answers` (target -> body)."""
    targets = "\n".join(f'{name} = "{servers.serve_http(handler if callable(handler) else json_answer(handler))}"'
                        for name, handler in answers.items())
    gaps_line = '[verdict]\nknown_gaps = "known_gaps.toml"\n' if gaps else ""
    path = write_config(f"""
        {gaps_line}
        [parity]
        reference = "{next(iter(answers))}"
        compare_headers = ["content-type"]
        {extra}
        [parity.targets]
        {targets}
        [[parity.case]]
        name = "c"
        method = "POST"
        path = "/v1/validate"
        json = {{ kind = "playbook" }}
    """)
    if gaps:
        (path.parent / "known_gaps.toml").write_text("# gaps\n")
    config = load_config(path, env={})
    return (await Engine(config, select_phases(config)).run()).run_dir


def test_an_added_key_leaves_a_gap_on_the_other_side(servers, write_config):
    run = asyncio.run(probe_run(servers, write_config, {"rust": {"a": 1, "b": 2}, "go": {"a": 1, "b": 2, "c": 3}}))
    view = load_case(run, "c")
    rows = [(view.left.lines[l] if l != GAP else None, view.right.lines[r] if r != GAP else None)
            for l, r in zip(view.alignment.left, view.alignment.right)]
    assert rows == [("{", "{"), ('  "a": 1,', '  "a": 1,'), ('  "b": 2', '  "b": 2,'), (None, '  "c": 3'), ("}", "}")]
    assert view.differences[0].path == "$.c" and view.differences[0].rows == (3,)


def test_locate_finds_paths_in_the_pretty_text():
    body = pretty(json.dumps({"rows": [{"i": 0}, {"i": 1, "x": {"deep": [5, 6]}}], "z": True}).encode(), "application/json")
    assert body.lines[locate(body, ["z"])[0]] == '  "z": true'
    first, last = locate(body, ["rows", 1])
    assert body.lines[first] == "    {" and body.lines[last] == "    }"
    assert body.lines[locate(body, ["rows", 1, "x", "deep", 1])[0]].strip() == "6"
    assert locate(body, ["absent"]) is None
    siblings = pretty(json.dumps({"a": [1], "b": [5, 6], "x": {"p": 1}, "y": {"q": 2}}).encode(), "application/json")
    assert locate(siblings, ["a", 1]) is None  # never the next array's item
    assert locate(siblings, ["x", "q"]) is None  # never the next object's key
    assert siblings.lines[locate(siblings, ["b", 1])[0]].strip() == "6"


async def test_jump_to_a_difference_scrolls_both_bodies_to_it(servers, write_config):
    big_ref = {"rows": [{"i": i, "v": "same"} for i in range(300)]}
    big_cand = json.loads(json.dumps(big_ref))
    big_cand["rows"][250]["v"] = "changed"
    big_cand["rows"][10]["v"] = "early"
    run = await probe_run(servers, write_config, {"rust": big_ref, "go": big_cand})
    app = DiffApp(run, "c")
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, DiffScreen)
        assert [d.path for d in screen.shown] == ["$.rows[10].v", "$.rows[250].v"]
        view = screen.query_one(SideBySide)
        await pilot.press("n", "n")
        await pilot.pause()
        target_row = screen.shown[1].rows[0]
        assert view.scroll_offset.y <= target_row < view.scroll_offset.y + view.size.height
        assert screen.query_one("OptionList").highlighted == 1
        await pilot.press("p")
        await pilot.pause()
        assert view.scroll_offset.y <= screen.shown[0].rows[0] < view.scroll_offset.y + view.size.height
        line = view.render_line(screen.shown[0].rows[0] - view.scroll_offset.y).text
        assert '"early"' in line and '"same"' in line


async def test_toggles_headers_raw_noise_and_candidate(servers, write_config):
    counter = iter(range(100))

    async def noisy(method, path, headers, body):
        return 200, {"Content-Type": "application/json", "X-Trace": "r"}, \
            json.dumps({"at": next(counter), "v": 1, "kind": "x"}).encode()

    async def plain(v):
        async def handle(*_):
            return 200, {"Content-Type": "application/json; charset=utf-8"}, json.dumps({"v": v, "at": 999, "kind": "x"}).encode()
        return handle

    run = await probe_run(servers, write_config, {"rust": noisy, "go": servers.run(plain(2)), "py": servers.run(plain(3))},
                    extra="noise_check = true")
    app = DiffApp(run, "c")
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert screen.view.candidate == "go"
        assert {d.path for d in screen.shown} == {"$.at", "$.v", "header content-type"}
        await pilot.press("i")
        assert {d.path for d in screen.shown} == {"$.v", "header content-type"}
        await pilot.press("h")
        assert "content-type: application/json" in screen.view.left.lines
        assert "content-type: application/json; charset=utf-8" in screen.view.right.lines
        await pilot.press("h", "r")
        assert screen.view.left.lines == [stored_answer(run, "c", "rust")[1].decode()]  # as received
        await pilot.press("r", "t")
        assert screen.view.candidate == "py"
        assert any(d.cand == "3" for d in screen.shown)
        await pilot.press("t")
        assert screen.view.candidate == "go"


async def test_recording_a_known_gap_writes_a_valid_entry(servers, write_config):
    run = await probe_run(servers, write_config, {"rust": {"Schema": {"field": "f"}}, "go": {"Kind": "schema", "Field": "f"}},
                    gaps=True)
    app = DiffApp(run, "c")
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press("a")
        assert isinstance(app.screen, GapForm)
        await pilot.click("#gap-note")
        await pilot.press(*"flat vs tagged", "enter", *"validatord", "enter")
        await pilot.pause()
    gaps = load_gaps(run.parent.parent / "known_gaps.toml")
    # The gap covers the case's divergence class, in every case that diverges that way.
    assert [(g.case, g.kind, g.note, g.owner) for g in gaps] == [("*", "shape", "flat vs tagged", "validatord")]
    assert gaps[0].classes == (read_case(run, "c")[1]["classes"]["go"],) and gaps[0].classes[0].startswith("cls:")


# The demo's known gaps, but for playbook_missing_fingerprint's divergence: the one this test records.
OTHER_GAPS = """\
[[gap]]
id = "validator-wire-format"
case = "playbook_*"
kind = "shape"
fingerprint = ["sha256:4dcf753a8c7989e7", "sha256:fda64493198b6432", "sha256:8cbd31e026d51333"]
owner = "validatord"

[[gap]]
id = "validator-wire-format-reference"
case = "fill_phantom"
kind = "shape"
fingerprint = "sha256:6562ee370ce496c4"
owner = "validatord"
"""


async def test_recording_a_gap_from_the_app_updates_the_verdict_at_once(tmp_path, write_config):
    from tui.app import GauntletApp
    from tui.sources import FileSource

    gaps = tmp_path / "known_gaps.toml"
    gaps.write_text(OTHER_GAPS)
    run = demo_run_copy(tmp_path, keep_paths=True,
                        config=write_config('[verdict]\nknown_gaps = "known_gaps.toml"\n'))
    app = GauntletApp(FileSource(run, follow=False), gaps=load_gaps(gaps), clock=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await asyncio.wait_for(app.source_finished.wait(), 30)
        app.model.refresh_verdict()  # the replay carries the demo's verdict: judge it with these gaps instead
        await pilot.press("4")
        await settle(app, pilot)
        before = " ".join(shown_text(app.query_one("#verdict-body")).split())  # as read, whatever the wrapping
        assert before.startswith("Verdict BLOCK • parity case playbook_missing_fingerprint: go shape divergence not "
                                 "covered by a known gap") and before.count("•") == 1
        await pilot.press("3", "down", "enter")
        await pilot.pause()
        assert isinstance(app.screen, DiffScreen) and app.screen.case == "playbook_missing_fingerprint"
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, GapForm)
        await pilot.press(*"wire format", "enter", *"validatord", "enter")
        await pilot.pause()
        assert isinstance(app.screen, DiffScreen)
        await pilot.press("escape", "4")
        await settle(app, pilot)
        after = " ".join(shown_text(app.query_one("#verdict-body")).split())
    assert after.startswith("Verdict SHIP_WITH_KNOWN_GAP • parity case playbook_missing_fingerprint: go shape "
                            "divergence covered by known gap playbook_missing_fingerprint-shape (owner validatord)")
    on_disk = json.loads((run / "verdict.json").read_text())  # the screen shows what the files say
    assert on_disk["verdict"] == "SHIP_WITH_KNOWN_GAP" and after.startswith(f"Verdict {on_disk['verdict']} • "
                                                                             + on_disk["known_gaps"][0])
    recorded = load_gaps(gaps)
    assert [g.id for g in recorded] == ["validator-wire-format", "validator-wire-format-reference",
                                        "playbook_missing_fingerprint-shape"]
    new = recorded[-1]
    assert (new.case, new.kind, new.fingerprints, new.note, new.owner) == (
        "playbook_missing_fingerprint", "shape", ("sha256:088ee675c7aac57c",), "wire format", "validatord")


async def test_c_copies_a_reproducible_curl(servers, write_config):
    run = await probe_run(servers, write_config, {"rust": {"a": 1}, "go": {"a": 2}})
    app = DiffApp(run, "c")
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press("c")
        copied = app.clipboard
    assert copied.startswith("curl -sS -X POST http://127.0.0.1:")
    assert "/v1/validate" in copied and "'Content-Type: application/json'" in copied
    assert "--data-binary '{\"kind\":\"playbook\"}'" in copied


def test_diff_command_headless_prints_side_by_side(tmp_path):
    run = demo_run_copy(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "tui.cli", "diff", str(run), "playbook_missing_fingerprint",
                           "--headless"], cwd=REPO, capture_output=True, text=True, env={"COLUMNS": "100", "PATH": ""})
    assert proc.returncode == 0, proc.stderr
    assert '"Schema": {' in proc.stdout and '"Kind": "schema",' in proc.stdout
    assert max(len(line) for line in proc.stdout.splitlines()) <= 100
    missing = gauntlet("diff", str(run), "nope", "--headless")
    assert missing.returncode == 2 and "no parity case 'nope'" in missing.stderr


# A right-to-left override, a left-to-right isolate and CSI (C1): JSON spells them as \u
# escapes, so a body of plain ASCII holds them once parsed.
CONTROLS = "\u202e", "\u2066", "\u009b"


def test_a_body_never_reaches_the_diff_viewer_raw(servers, write_config):
    """Headless and on the screen, a body's controls are shown as text, however the body
    spelled them (raw UTF-8 or JSON escapes), in the normalised and the raw view alike."""
    ref = {"note": "plain", "k": 1}
    cand = {"note": "evil\u202etxt.exe \u2066x\u009b2J", "k\u202e": 1}
    run = asyncio.run(probe_run(servers, write_config, {"rust": ref, "go": cand}))
    for raw in (False, True):
        view = load_case(run, "c", normalise=not raw)
        text = "\n".join(view.right.lines)
        assert not any(c in text for c in CONTROLS), text
        assert "\\u202e" in text or not raw  # the raw view shows the escapes as received
    # A key holding a control is found in the neutralised text: its difference has its rows.
    assert [d.rows for d in load_case(run, "c").differences if d.path.startswith('$["k')] == [(1,)]
    proc = subprocess.run([sys.executable, "-m", "tui.cli", "diff", str(run), "c", "--headless"], cwd=REPO,
                          capture_output=True, text=True, env={"COLUMNS": "200", "PATH": ""})
    assert proc.returncode == 0, proc.stderr
    assert not any(c in proc.stdout for c in CONTROLS), proc.stdout
    assert "evil\\u202etxt.exe \\u2066x\\x9b2J" in proc.stdout

    async def screen_rows() -> str:
        app = DiffApp(run, "c")
        async with app.run_test(size=(200, 30)) as pilot:
            await pilot.pause()
            side = app.screen.query_one(SideBySide)
            return "\n".join(side.render_line(y).text for y in range(len(side.view.alignment)))

    shown = asyncio.run(screen_rows())
    assert not any(c in shown for c in CONTROLS), shown
    assert "evil\\u202etxt.exe" in shown
