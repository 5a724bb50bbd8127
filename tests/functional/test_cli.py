"""The command line as a whole: every command listed, faces that use only the engine's public
API, headless commands that never load Textual, and what `gauntlet history` reads."""

from __future__ import annotations

import ast
import json
import pkgutil
import subprocess
import sys
from importlib import metadata

import pytest

import probes
from probes import tally_files
from probes.verdict._history import RunSummary
from tui.cli import build_parser, main

from ..cli import gauntlet
from ..conftest import REPO
from .test_history import run
from .test_parity import json_answer

COMMANDS = ("demo", "run", "smokes", "scrum", "parity", "merge", "mirror", "watch", "serve", "diff", "verdict", "report", "gap", "finding", "noise", "history",
            "compare", "tally", "bundle", "check", "stack", "twins", "init", "cases")


def test_the_help_lists_every_command_once():
    proc = gauntlet("--help", env={"COLUMNS": "200"})
    assert proc.returncode == 0, proc.stderr
    listed = [line.split()[0] for line in proc.stdout.splitlines() if line.startswith("    ") and line.split()]
    assert listed == list(COMMANDS)


def test_version_is_the_installed_packages():
    proc = gauntlet("--version")
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, f"gauntlet {metadata.version('gauntlet')}\n", "")


def test_every_command_has_a_handler():
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    for name, parser in sub.choices.items():
        actions = [a for a in parser._actions if a.dest.endswith("_command")]
        parsers = [p for a in actions for p in a.choices.values()] or [parser]
        assert all(callable(p.get_default("handler")) for p in parsers), name


def test_every_public_name_resolves_and_none_is_hidden_by_a_module():
    modules = {m.name for m in pkgutil.iter_modules(probes.__path__)}
    assert not modules & set(probes.__all__), "a module's name would shadow the export once imported"
    for name in probes.__all__:
        assert getattr(probes, name) is not None, name


def _engine_imports(path) -> list[str]:
    """Every engine module a face file imports, at any depth (`from probes import` excepted)."""
    names = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("probes."):
            names.append(node.module)
        elif isinstance(node, ast.Import):
            names += [a.name for a in node.names if a.name.startswith("probes.")]
    return names


def test_faces_use_only_the_public_api_the_events_and_the_boards():
    """A face imports a package's public names (`probes.parity`, `probes.core.events`), never
    one of its private modules: what a phase keeps behind its `__init__` may change freely."""
    reaching = {f"{path.relative_to(REPO)}: {module}" for path in (REPO / "tui").rglob("*.py")
                for module in _engine_imports(path) if any(part.startswith("_") for part in module.split("."))}
    assert not reaching


LOADED = """
import sys
from tui.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as exc:  # --help
    code = exc.code
print(" ".join(sorted(sys.modules)), file=sys.stderr)
sys.exit(code)
"""


@pytest.mark.parametrize("argv", [["history", "--help"], ["history", "{out}", "--rebuild"], ["check", "{config}"],
                                  ["tally", "--help"]])
def test_a_headless_command_loads_neither_textual_nor_the_engine(argv, write_config, tmp_path):
    config = write_config('[[smoke]]\nname = "a"\nrun = "true"\n')
    (tmp_path / "out").mkdir()
    argv = [a.format(out=tmp_path / "out", config=config) for a in argv]
    proc = subprocess.run([sys.executable, "-c", LOADED, *argv], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    loaded = set(proc.stderr.splitlines()[-1].split())
    assert "tui.commands.run" in loaded  # every command registered, none of them loading what it runs
    assert not {m for m in loaded if m.split(".")[0] in ("textual", "httpx", "yaml")}
    assert "importlib.metadata" not in loaded  # the version's, read when asked
    assert not loaded & {"probes.engine", "probes.scrum._run", "probes.parity._probe", "probes.smokes._run"}
    if argv[-1] == "--help":  # the exit codes are the core's: knowing them loads no verdict and no board
        assert not {m for m in loaded if m.startswith("probes.verdict.")}
        # nor the config loader, which loads every phase's section: a command looks it up as it runs
        assert "probes.config" not in loaded


def test_a_run_of_smokes_alone_loads_no_http_client(write_config, tmp_path):
    config = write_config(f'[gauntlet]\nout_dir = "{tmp_path / "out"}"\n[[smoke]]\nname = "a"\nrun = "true"\n')
    proc = subprocess.run([sys.executable, "-c", LOADED, "smokes", str(config), "--headless"], cwd=REPO,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    loaded = set(proc.stderr.splitlines()[-1].split())
    assert "probes.engine" in loaded and "probes.smokes._run" in loaded  # it did run
    assert not {m for m in loaded if m.split(".")[0] in ("textual", "httpx")}
    assert not loaded & {"probes.scrum._run", "probes.parity._probe", "probes.stack._stack", "probes.mirror._run"}


def test_history_shows_an_unexpected_status_as_a_mismatch_even_when_the_targets_agree(
        servers, parity_config, tmp_path, capsys):
    both = json_answer({"ok": True}, 200)
    path = parity_config(servers.serve_http(both), servers.serve_http(both), after="""
        [[parity.case]]
        name = "refused"
        method = "POST"
        path = "/v1/validate"
        expect_status = 422
        """)
    outcome, _ = run(path)
    assert outcome.verdict.verdict == "BLOCK"  # the engine knows: 200 where 422 was expected
    capsys.readouterr()
    assert main(["history", str(path)]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if outcome.run_dir.name in line)
    assert "0/1 · 0/1" in row  # no status matches, no body diverges


def test_history_of_a_summary_stored_before_the_match_fields_derives_them():
    stored = RunSummary(run_id="old", parity={
        "agree": {"statuses": {"rust": 422, "go": 422}, "kinds": {"go": "shape"}, "fingerprints": {}, "errors": {}},
        "differ": {"statuses": {"rust": 422, "go": 400}, "kinds": {"go": None}, "fingerprints": {}, "errors": {}},
        "down": {"statuses": {"rust": 422, "go": None}, "kinds": {}, "fingerprints": {},
                 "errors": {"go": "connection refused"}},
    })
    old = json.loads(stored.to_json())
    for case in old["parity"].values():
        case.pop("status_match", None)
        case.pop("body_match", None)
    summary = RunSummary.from_json(json.dumps(old))
    assert {c: (v["status_match"], v["body_match"]) for c, v in summary.parity.items()} == \
        {"agree": (True, False), "differ": (False, True), "down": (False, False)}


def test_a_bad_name_value_option_is_named(tmp_path, capsys):
    assert main(["tally", str(tmp_path), "--diff", str(tmp_path / "x.diff"), "--lineage", "opus"]) == 2
    assert "--lineage 'opus': expected NAME=VALUE, e.g. --lineage opus2=anthropic" in capsys.readouterr().err


@pytest.mark.parametrize("make,message", [
    (lambda tmp: [str(tmp / "nope"), "--diff", str(tmp / "a.diff")], "nope: no such file or folder"),
    (lambda tmp: [str(tmp / "empty"), "--diff", str(tmp / "a.diff")], "no review files given"),
    (lambda tmp: [str(tmp / "r.md"), "--diff", str(tmp / "missing.diff")], "missing.diff: no such file"),
    (lambda tmp: [str(tmp / "r.md"), "--diff", str(tmp / "empty")], "empty: is a directory, not a diff"),
])
def test_the_offline_tally_names_an_unreadable_input(tmp_path, capsys, make, message):
    (tmp_path / "empty").mkdir()
    (tmp_path / "r.md").write_text("WHERE: a.py:1\nSEVERITY: WARN\n")
    (tmp_path / "a.diff").write_text("--- a/a.py\n+++ b/a.py\n@@ -1 +1 @@\n-x\n+y\n")
    assert main(["tally", *make(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_the_offline_tally_fills_the_board_from_engine_events(tmp_path):
    (tmp_path / "c1.diff").write_text("--- a/a.py\n+++ b/a.py\n@@ -1,2 +1,2 @@\n-x\n+y\n z\n")
    (tmp_path / "opus.md").write_text("WHERE: a.py:1\nSEVERITY: BLOCK\nWHAT: y\n" + "word " * 200)
    (tmp_path / "kimi.md").write_text("WHERE: a.py:2\nSEVERITY: WARN\nWHAT: y\n")
    result, board = tally_files([tmp_path / "opus.md", tmp_path / "kimi.md"], tmp_path / "c1.diff")
    assert result.line() == "c1 (0KB) → 1 convergent / 1 distinct"
    state = board.bundles["c1"]
    assert state.tally is not None and state.tally.convergent == 1
    assert {name: r.tokens_out > 0 and r.status == "ok" for name, r in state.reviews.items()} == \
        {"opus": True, "kimi": True}
    assert [r.name for r in board.reviewers] == ["opus", "kimi"] and board.min_tokens_out == 100
    assert board.headline().startswith("1/1 bundles reviewed · 1 convergent / 1 distinct")


def test_an_events_log_with_a_line_not_utf8_is_named_with_its_file_and_line(write_config, tmp_path):
    """A damaged record read by `verdict`, `merge` and a history rebuild: the decoder's own
    words (`'utf-8' codec can't decode …`) named no file; now the file and line are named, as
    for a line that is not JSON, and `watch` (which reads the file by itself) says the same."""
    import asyncio

    from tui.sources import FileSource

    outcome, _ = run(write_config('[[smoke]]\nname = "ok"\nshell = "true"\n'))
    events = outcome.run_dir / "events.jsonl"
    lines = events.read_bytes().splitlines(keepends=True)
    lines[2] = b'\xff\xfe{"t": 0}\n'
    events.write_bytes(b"".join(lines))
    named = f"{events}:3: not UTF-8 text (invalid start byte at byte 0)"
    verdict = gauntlet("verdict", str(outcome.run_dir))
    assert verdict.returncode == 2, verdict.stderr
    assert named in verdict.stderr.replace("\n", "") and "Traceback" not in verdict.stderr
    rebuilt = gauntlet("history", str(outcome.run_dir.parent), "--rebuild")
    assert f"{outcome.run_dir.name}: skipped ({named})" in rebuilt.stderr.replace("\n", ""), rebuilt.stderr
    source = FileSource(outcome.run_dir, follow=False)
    asyncio.run(source.run(lambda t, event: None))
    assert source.problems == [named]
