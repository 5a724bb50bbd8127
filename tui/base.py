"""What both apps share, the run's (tui/app.py) and the standalone diff viewer
(tui/screens/diff.py): the one stylesheet, the themes, and the user's settings (the theme
kept between runs, the keys rebound), whose problems are said on screen."""

from __future__ import annotations

from pathlib import Path

from themes import DEFAULT_THEME
from themes.gauntlet import THEMES

from .keymap import KeysInForce
from .settings import load_settings, save_theme
from .terminal import TerminalApp


class BaseApp(TerminalApp):
    CSS_PATH = Path(__file__).with_name("app.tcss")

    def __init__(self, *, theme: str | None = None) -> None:
        super().__init__()
        for t in THEMES.values():
            self.register_theme(t)
        self.settings = load_settings(self.available_themes)
        self.keys = KeysInForce(self.settings.keys)
        self.set_keymap(self.settings.keys)
        self.theme = theme or self.settings.theme or DEFAULT_THEME

    def on_mount(self) -> None:
        self.theme_changed_signal.subscribe(self, lambda theme: save_theme(theme.name))
        if self.settings.problems:
            self.notify("\n".join(str(p) for p in self.settings.problems), title="Settings left at their defaults",
                        severity="error", timeout=30, markup=False)
