"""SVG snapshots of every pane at 80x24 and 200x50, of the parity pane with 5,000 cases, and
of the seed's divergence in the diff viewer, from a recorded demo run replayed (deterministic:
the events' own times)."""

from __future__ import annotations

import asyncio

import pytest

from tui.app import GauntletApp
from tui.screens.diff import DiffApp
from tui.sources import FileSource

from ..fixtures.synthetic_run import write_run
from ..tui_helpers import DEMO_RUN


@pytest.fixture(autouse=True)
def _stable(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.delenv("NO_COLOR", raising=False)


def replay_app() -> GauntletApp:
    return GauntletApp(FileSource(DEMO_RUN, follow=False), clock=False)


def after_replay(*keys: str):
    async def run_before(pilot) -> None:
        app = pilot.app
        await asyncio.wait_for(app.source_finished.wait(), 30)
        app.refresh_view()
        await pilot.pause()
        if keys:
            await pilot.press(*keys)
        app.refresh_view()
        await pilot.pause()

    return run_before


@pytest.mark.parametrize("key,pane", [("1", "smokes"), ("2", "scrum"), ("3", "parity"), ("4", "verdict")])
def test_pane_at_80x24(snap_compare, key, pane):
    assert snap_compare(replay_app(), terminal_size=(80, 24), run_before=after_replay(key))


def test_parity_pane_of_5000_cases_at_80x24(snap_compare, tmp_path):
    """Grouped by class: a header per class with its count and what differs, its cases under it."""
    app = GauntletApp(FileSource(write_run(tmp_path / "run", 5000), follow=False), clock=False)
    assert snap_compare(app, terminal_size=(80, 24), run_before=after_replay("3", "right_square_bracket",
                                                                              "right_square_bracket", "down"))


def test_all_panes_at_200x50(snap_compare):
    assert snap_compare(replay_app(), terminal_size=(200, 50), run_before=after_replay())


@pytest.mark.parametrize("size", [(80, 24), (200, 50)], ids=["80x24", "200x50"])
def test_seed_divergence_in_the_diff_viewer(snap_compare, size):
    async def run_before(pilot) -> None:
        await pilot.pause()
        await pilot.press("n")
        await pilot.pause()

    assert snap_compare(DiffApp(DEMO_RUN, "playbook_missing_fingerprint"), terminal_size=size, run_before=run_before)
