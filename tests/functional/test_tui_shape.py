"""The TUI's shape: the import contracts kept (the app over panes and screens, which never
import each other, over the widgets; no circle), the parity pane's cases a data structure
of their own, and one stylesheet for both apps."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import subprocess
import sys
from pathlib import Path

from textual.dom import DOMNode

import tui
from tui.app import GauntletApp
from tui.case_index import CaseIndex
from tui.model import RunModel
from tui.screens.diff import DiffApp
from tui.widgets.row_list import RowList

from ..conftest import REPO
from ..fixtures.synthetic_run import CLASSES, parity_events


def test_the_import_contracts_are_kept():
    """pyproject.toml's contracts, the TUI's among them: a pane reaching for the app, a screen
    for a pane or a widget for either breaks the build."""
    proc = subprocess.run([str(Path(sys.executable).with_name("lint-imports")), "--no-cache"], cwd=REPO,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr
    assert "The TUI: the app over panes and screens" in proc.stdout and " KEPT" in proc.stdout


def test_the_case_index_folds_filters_and_finds_cases_without_a_screen(tmp_path):
    model = RunModel()
    for t, event in parity_events(500, tmp_path):
        model.apply(t, event)
    index = CaseIndex()
    index.update(model)
    heads = [index.row(i, 100).plain for i in range(len(index)) if index.is_header(i)]
    assert heads[0].startswith("▾ could not be compared  3 cases") and heads[1].startswith("▾ status differs  5 cases")
    assert heads[-1].startswith("▾ match") and len(heads) == 3 + len(CLASSES)
    assert len(index) == len(heads) + 500  # each case under one group
    row = index.find("case000250", None)
    assert row is not None and index.case_at(row) == "case000250"
    index.status = "error"
    index.refilter()
    assert [index.case_at(i) for i in range(len(index)) if not index.is_header(i)] == [
        "case000000", "case000211", "case000422"]
    assert index.describe() == "by class · only errors · 3 of 500 cases"
    index.status = None
    index.refilter()
    index.fold(index.group_at(0).key)
    assert len(index) == len(heads) + 500 - 3 and index.row(0, 100).plain.startswith("▸ could not be compared")


def _tui_classes() -> set[type]:
    for module in pkgutil.walk_packages(tui.__path__, "tui."):
        importlib.import_module(module.name)
    return {cls for name, module in list(sys.modules.items()) if name.startswith("tui.")
            for _, cls in inspect.getmembers(module, inspect.isclass)
            if issubclass(cls, DOMNode) and cls.__module__.startswith("tui.")}


def test_one_stylesheet_for_both_apps():
    """Every style is in tui/app.tcss, which both apps load; a widget keeps its own only when
    it is drawn wrong without it anywhere (RowList draws its rows in its component classes)."""
    assert {cls for cls in _tui_classes() if "DEFAULT_CSS" in cls.__dict__} == {RowList}
    assert GauntletApp.CSS_PATH == DiffApp.CSS_PATH == REPO / "tui" / "app.tcss"
