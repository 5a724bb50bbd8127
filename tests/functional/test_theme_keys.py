"""Themes reach every colour (the diff viewer's rows, the panes, the consoles), NO_COLOR is
honoured by the consoles, every key of every screen comes from the keymap and is in the
help, and a user's settings file (theme, rebound keys) applies, or says what is wrong."""

from __future__ import annotations

import ast
import asyncio
import importlib
import inspect
import pkgutil
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from rich.style import Style as RichStyle
from textual.app import App
from textual.binding import Binding
from textual.color import Color
from textual.dom import DOMNode
from textual.screen import Screen
from textual.widgets import DataTable, Markdown

import tui
from probes.core.events import read_events
from themes import THEME_NAMES
from themes.palette import STYLES
from tui import keymap
from tui.app import GauntletApp
from tui.headless import HeadlessPrinter
from tui.keymap import BY_ID, SECTIONS, KeysInForce, Row, key_label
from tui.panes.parity import ParityPane
from tui.screens.confirm import ConfirmScreen
from tui.screens.diff import DiffApp, DiffScreen, SideBySide
from tui.screens.help import HelpScreen, help_markdown
from tui.settings import Settings, load_settings, save_theme, settings_path
from tui.sources import FileSource

from ..conftest import REPO
from ..tui_helpers import DEMO_RUN, ScriptedSource, demo_run_copy, settle, shown_text

THEME_A, THEME_B = "gauntlet-dark", "gauntlet-light"


def colour(app: App, variable: str, alpha: float = 1.0, over: str = "background") -> str:
    """A theme variable of the app's current theme (at `alpha` over another), as rich names it."""
    variables = app.theme_variables
    return (Color.parse(variables[over]) + Color.parse(variables[variable]).with_alpha(alpha)).rich_color.name


# ---- themes --------------------------------------------------------------------------------


async def test_switching_theme_recolours_the_diff_viewer():
    app = DiffApp(DEMO_RUN, "playbook_missing_fingerprint", theme=THEME_A)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, DiffScreen)
        view = screen.query_one(SideBySide)
        row = next(r for r, (kind, _) in sorted(view.row_kind.items())
                   if kind == "shape" and '":' in view.view.left.lines[view.view.alignment.left[r]])
        seen = {}
        for theme in (THEME_A, THEME_B, THEME_A):
            app.theme = theme
            await pilot.pause()
            segments = list(view.render_line(row - view.scroll_offset.y))
            key = next(s for s in segments if s.text.startswith('"') and s.text.endswith('"'))
            # the row's background: the theme's warning (a shape divergence) over its background
            assert key.style.bgcolor.name == colour(app, "warning", 0.3)
            assert key.style.color.name == colour(app, "text-primary")
            seen.setdefault(theme, []).append([s.style for s in segments])
        assert seen[THEME_A][0] == seen[THEME_A][1]  # back to the first theme: the first colours
        assert seen[THEME_A][0] != seen[THEME_B][0]


def _cell_style(table: DataTable, row: int, text: str) -> RichStyle:
    segment = next(s for s in table.render_line(row + 1) if s.text.strip() == text)
    return segment.style


async def test_switching_theme_recolours_the_panes_and_the_header(tmp_path):
    app = GauntletApp(FileSource(demo_run_copy(tmp_path), follow=False), theme=THEME_A, clock=False)
    async with app.run_test(size=(200, 50)) as pilot:
        await asyncio.wait_for(app.source_finished.wait(), 30)
        await settle(app, pilot)
        smokes = app.query_one("#smoke-table", DataTable)
        smokes.cursor_type = "none"  # the cursor row would be drawn in the cursor's colours
        colours = {}
        for theme in (THEME_A, THEME_B):
            app.theme = theme
            await pilot.pause()
            badge = next(s for s in app.query_one("#header").render_line(0) if "SHIP_WITH_KNOWN_GAP" in s.text)
            # as drawn: the theme's background on its warning (a reversed style would swap them)
            assert not badge.style.reverse
            assert (badge.style.color.name, badge.style.bgcolor.name) == (colour(app, "background"), colour(app, "warning"))
            tick = _cell_style(smokes, 0, "✔")
            assert tick.color.name == colour(app, "text-success")
            colours[theme] = (badge.style, tick)
        assert colours[THEME_A] != colours[THEME_B]


# ---- NO_COLOR in the consoles -----------------------------------------------------------------

SGR = re.compile(r"\x1b\[([0-9;]*)m")
COLOUR_PARAMS = {*range(30, 39), *range(40, 49), *range(90, 98), *range(100, 108)}


def sgr_params(output: str) -> set[int]:
    return {int(p) for m in SGR.finditer(output) for p in m.group(1).split(";") if p}


@pytest.mark.parametrize("no_color", [False, True], ids=["colour", "NO_COLOR"])
def test_the_headless_printer_honours_no_color(monkeypatch, capsys, no_color):
    monkeypatch.setenv("FORCE_COLOR", "1")  # escape sequences even though stdout is captured
    monkeypatch.setenv("COLUMNS", "120")
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    else:
        monkeypatch.delenv("NO_COLOR", raising=False)
    printer = HeadlessPrinter()
    for t, event in read_events(str(DEMO_RUN / "events.jsonl")):
        printer.apply(t, event)
    printer.close()
    out = capsys.readouterr().out
    assert "SHIP_WITH_KNOWN_GAP" in out
    params = sgr_params(out)
    assert 1 in params  # bold stays: only colour goes
    assert bool(params & COLOUR_PARAMS) is not no_color
    if not no_color:
        assert 33 in params  # the verdict's meaning (warning) reached the console as ANSI yellow


@pytest.mark.parametrize("no_color", [False, True], ids=["colour", "NO_COLOR"])
def test_diff_headless_honours_no_color(tmp_path, no_color):
    env = {"COLUMNS": "100", "PATH": "", "FORCE_COLOR": "1", **({"NO_COLOR": "1"} if no_color else {})}
    proc = subprocess.run([sys.executable, "-m", "tui.cli", "diff", str(demo_run_copy(tmp_path)),
                           "playbook_missing_fingerprint", "--headless"], cwd=REPO, capture_output=True, text=True,
                          env=env)
    assert proc.returncode == 0, proc.stderr
    assert '"Kind": "schema",' in SGR.sub("", proc.stdout)
    params = sgr_params(proc.stdout)
    assert 1 in params
    assert bool(params & COLOUR_PARAMS) is not no_color
    if not no_color:
        assert {31, 32} <= params  # the reference's lines and the candidate's, in their meanings' colours


# ---- one map of meanings ----------------------------------------------------------------------

SOURCES = sorted([*(REPO / "tui").rglob("*.py"), *(REPO / "probes").glob("*.py")])
# The command line's own one-line messages ("ok", an error, a note) still name ANSI colours.


def _style_names(path) -> list[tuple[int, str]]:
    """The style strings of a module: `style=` values, the pairs of Text.assemble and of the
    maps of (icon, style), a Themed's second argument; an f-string as its prefix and `*`."""
    places: list[ast.AST] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.keyword) and node.arg == "style":
            places.append(node.value)
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "assemble":
            places += [arg.elts[1] for arg in node.args if isinstance(arg, ast.Tuple) and len(arg.elts) == 2]
        elif isinstance(node, ast.Dict):
            places += [v.elts[1] for v in node.values if isinstance(v, ast.Tuple) and len(v.elts) == 2]
        elif isinstance(node, ast.Call) and getattr(node.func, "id", "") == "Themed" and len(node.args) == 2:
            places.append(node.args[1])
    names = []
    while places:
        node = places.pop()
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            names.append((node.lineno, node.value))
        elif isinstance(node, ast.JoinedStr):
            prefix = node.values[0]
            names.append((node.lineno, (prefix.value if isinstance(prefix, ast.Constant) else "") + "*"))
        else:
            places += ast.iter_child_nodes(node)
    return names


def test_no_colour_is_named_outside_the_palette():
    """A style naming a colour would not follow the theme: every colour comes from themes/."""
    found = []
    for path in SOURCES:
        if re.search(r"#[0-9a-fA-F]{6}\b", path.read_text()):
            found.append(f"{path.relative_to(REPO)}: a hex colour")
        for line, value in _style_names(path):
            try:
                style = RichStyle.parse(value)
            except Exception:
                continue
            if style.color or style.bgcolor:
                found.append(f"{path.relative_to(REPO)}:{line}: {value!r}")
    assert found == []


def test_every_meaning_named_in_the_code_has_a_colour():
    names = {name for path in SOURCES for _, name in _style_names(path) if "." in name and " " not in name}
    prefixes = {name.split(".")[0] + "." for name in STYLES}
    assert len(names) > 20  # the scan sees the code's styles
    for name in names:
        if name.endswith("*"):
            assert name[:-1] in prefixes or name[:-1] in {"verdict.", "badge."}, name
        else:
            assert name in STYLES, name
    from probes.smokes import STATUS_STYLE, STATUS_WORD

    assert {f"smoke.{s}" for s in STATUS_WORD} <= STYLES.keys() and set(STATUS_STYLE.values()) <= STYLES.keys()
    assert {f"{kind}.{v}" for kind in ("verdict", "badge") for v in ("SHIP", "SHIP_WITH_KNOWN_GAP", "BLOCK")} <= STYLES.keys()
    assert {f"review.{s}" for s in ("ok", "partial", "error")} <= STYLES.keys()


# ---- keys ---------------------------------------------------------------------------------------


def _gauntlet_classes() -> list[type[DOMNode]]:
    """Every app, screen and widget class of the TUI that declares bindings."""
    for module in pkgutil.walk_packages(tui.__path__, "tui."):
        importlib.import_module(module.name)
    return sorted({cls for module in list(sys.modules.values()) if (module.__name__ or "").startswith("tui.")
                   for _, cls in inspect.getmembers(module, inspect.isclass)
                   if issubclass(cls, DOMNode) and cls.__module__.startswith("tui.") and "BINDINGS" in cls.__dict__},
                  key=lambda c: c.__qualname__)


def _help_sections() -> dict[str, set[str]]:
    """The key labels the help shows, by section title."""
    sections: dict[str, set[str]] = {}
    title = ""
    for line in help_markdown().splitlines():
        if line.startswith("### "):
            title = line[4:]
            sections[title] = set()
        elif title and line.startswith("| `"):
            sections[title].update(re.findall(r"`([^`]+)`", line.split(" | ")[0]))
    return sections


def _labels(bindings) -> set[str]:
    return {key_label(b.key, b.key_display) for b in bindings}


def test_every_screen_takes_its_bindings_from_the_keymap():
    lists = [value for value in vars(keymap).values() if isinstance(value, list)]
    classes = _gauntlet_classes()
    assert {GauntletApp, DiffApp, DiffScreen, SideBySide, HelpScreen, ConfirmScreen} <= set(classes)
    for cls in classes:
        assert any(cls.__dict__["BINDINGS"] is bindings for bindings in lists), cls


def test_every_binding_of_every_screen_is_in_the_help():
    sections = _help_sections()
    assert set(sections) == set(SECTIONS)
    for cls in _gauntlet_classes():
        section = next(title for title, lists in SECTIONS.items()
                       if any(cls.__dict__["BINDINGS"] is bindings for bindings in lists))
        own = _labels(Binding.make_bindings(cls.__dict__["BINDINGS"]))
        assert own <= sections[section], (cls, own - sections[section])
        if issubclass(cls, (App, Screen)):  # and what Textual binds for it, wherever the help says so
            everything = _labels(b for bindings in cls._merged_bindings.key_to_bindings.values() for b in bindings)
            assert everything <= sections[section] | sections["Everywhere"], (cls, everything)
    assert "ctrl+p" in sections["Everywhere"]  # the command palette
    assert {"n", "p", "h", "r", "i", "t", "a", "c", "pgdn"} <= sections["Diff viewer"]


def test_a_section_shows_a_key_once_with_what_it_does():
    rows = KeysInForce().section_rows(SECTIONS["Everywhere"])
    labels = [label for row in rows for label in row.keys]
    assert len(labels) == len(set(labels))
    assert Row(["q", "ctrl+q"], "quit (asks first while phases are still running)", ["app.quit", "app.quit_anywhere"]) in rows
    assert "ctrl+c" in labels and ("super+c" in labels)  # the screen's copy keeps only the key the app leaves it


async def test_help_screen_shows_the_generated_keys():
    app = DiffApp(DEMO_RUN, "playbook_missing_fingerprint")
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        source = app.screen.query_one(Markdown).source
        assert "### Diff viewer" in source and "| `n` | next difference |" in source
        await pilot.press("escape")
        assert isinstance(app.screen, DiffScreen)


async def test_ctrl_q_asks_before_leaving_running_phases():
    source = ScriptedSource()
    app = GauntletApp(source, clock=False)
    async with app.run_test(size=(100, 30)) as pilot:
        source.start("smokes")
        await pilot.pause()
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen) and app.is_running
        await pilot.press("y")
        await asyncio.wait_for(app.source_finished.wait(), 10)
        assert source.interrupted


# ---- the settings file: keys rebound by id, the theme kept ------------------------------------

SEED_CASE = "playbook_missing_fingerprint"  # four differences


def write_settings(text: str) -> Path:
    path = settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_every_key_has_an_id_of_its_own():
    lists = [value for name, value in vars(keymap).items() if isinstance(value, list) and name != "SCREEN_BINDINGS"]
    bindings = list({id(b): b for bindings in lists for b in bindings}.values())
    assert bindings and all(b.id for b in bindings)
    ids = [b.id for b in bindings]
    assert len(set(ids)) == len(ids) and set(ids) == set(BY_ID)  # an id names one binding
    # written dotted in TOML (`diff.next = "j"`): no id may be the table of another
    assert not [(a, b) for a in ids for b in ids if b.startswith(f"{a}.")]


def _section(markdown: str, title: str) -> str:
    return markdown.split(f"### {title}\n")[1].split("###")[0]


async def test_a_rebound_key_does_its_action_and_the_help_and_the_footer_say_it():
    write_settings('[keys]\ndiff.next = "j"\n"app.help" = "f1"\n')
    app = DiffApp(DEMO_RUN, SEED_CASE)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, DiffScreen)
        await pilot.press("j", "n", "question_mark")  # n and ? are no longer bound
        assert screen.position == 0 and app.screen is screen
        await pilot.press("j")
        assert screen.position == 1
        footer = {key.key for key in screen.query("FooterKey")}
        assert "j" in footer and "n" not in footer
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        diff = _section(app.screen.query_one(Markdown).source, "Diff viewer")
        assert "| `j` | next difference | `diff.next` |" in diff and "`n`" not in diff
        assert "| `f1` | this help | `app.help` |" in diff


async def test_rebound_pane_keys_work_and_the_panes_hint_names_them(tmp_path):
    write_settings('[keys.app]\nparity = "x"\n[keys.parity]\ngroup = "v"\n')
    app = GauntletApp(FileSource(demo_run_copy(tmp_path), follow=False), clock=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await asyncio.wait_for(app.source_finished.wait(), 30)
        await pilot.press("x")
        await settle(app, pilot)
        assert app.active_pane == "parity"
        hint = shown_text(app.query_one("#parity-status"))
        assert "/ search  v group  f status" in hint
        pane = app.query_one(ParityPane)
        await pilot.press("v")
        assert not pane.index.grouped


@pytest.mark.parametrize("text,where,says", [
    ("[keys\ndiff.next = 'j'\n", "", "invalid TOML: "),
    ('[keys]\ndiff.nxt = "j"\n', "keys.diff.nxt", "no key binding has this id (did you mean 'diff.next'?)"),
    ('[keys]\ndiff.next = 5\n', "keys.diff.next", "expected a string, got an integer 5"),
    ('[keys]\n"diff.next" = "ctrl+jj"\n', "keys.diff.next", "'ctrl+jj': no such key 'jj'"),
    ('keys = "j"\n', "keys", "expected a table of binding ids and keys"),
    ('theme = "gauntlet-sepia"\n', "theme", "expected one of gauntlet-dark, gauntlet-light"),
], ids=["not-toml", "unknown-id", "not-a-string", "not-a-key", "not-a-table", "unknown-theme"])
def test_a_problem_in_the_settings_file_is_named_with_the_file_and_the_key(text, where, says):
    path = write_settings(text)
    settings = load_settings(THEME_NAMES)
    (problem,) = settings.problems
    assert str(problem).startswith(f"{path}: {where}") and says in str(problem), str(problem)
    assert settings.theme is None and settings.keys == {}


@pytest.mark.parametrize("text", ["[keys\n", '[keys]\ndiff.nxt = "j"\ndiff.previous = "b"\n'],
                         ids=["not-toml", "an-unknown-id-among-good-ones"])
async def test_the_app_starts_with_the_defaults_and_says_what_was_wrong(text):
    path = write_settings(text)
    app = DiffApp(DEMO_RUN, SEED_CASE)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        (said,) = [str(n.message) for n in app._notifications]
        assert said.startswith(f"{path}: ") and ("invalid TOML" in said or "keys.diff.nxt" in said), said
        await pilot.press("n")  # the default
        assert app.screen.position == 0
        if "diff.previous" in text:  # the good key applies all the same
            await pilot.press("b")
            assert app.screen.position == 3


def test_the_theme_in_settings_json_moves_to_settings_toml_once():
    legacy = settings_path().with_name("settings.json")
    legacy.parent.mkdir(parents=True)
    legacy.write_text('{"theme": "gauntlet-light"}')
    assert load_settings(THEME_NAMES).theme == "gauntlet-light"
    assert tomllib.loads(settings_path().read_text())["theme"] == "gauntlet-light"
    legacy.write_text('{"theme": "gauntlet-high-contrast"}')
    assert load_settings(THEME_NAMES).theme == "gauntlet-light"


def test_saving_the_theme_keeps_the_users_keys_and_comments():
    path = write_settings('# mine\n[keys]\ndiff.next = "j"  # as in vim\n')
    save_theme("gauntlet-light")
    assert "# mine" in path.read_text() and "# as in vim" in path.read_text()
    assert load_settings(THEME_NAMES) == Settings("gauntlet-light", {"diff.next": "j"})
    path.write_text("[keys\n")  # the user's, broken: left for them to mend
    save_theme("gauntlet-dark")
    assert path.read_text() == "[keys\n"
