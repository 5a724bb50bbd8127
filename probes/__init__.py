"""gauntlet's engine: config, smoke chain, scrum, parity, verdict and stack — no terminal UI.

Everything here is usable without Textual; the TUI and the headless printer are consumers
of the engine's event stream. Names are loaded on first use, so a command that only
reads the history does not pay for the HTTP client and the runners.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Config": "config", "load_config": "config", "preflight": "config",
    "Engine": "engine", "RunOutcome": "engine", "select_phases": "engine",
    "ConfigError": "errors", "GauntletError": "errors", "InputError": "errors", "Problem": "errors",
    "Event": "events", "EventBus": "events",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
