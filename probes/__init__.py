"""gauntlet's engine: config, smoke chain, scrum, parity, verdict and stack — no terminal UI.

Everything here is usable without Textual; the TUI and the headless printer are consumers
of the engine's event stream.
"""

from .config import Config, load_config, preflight
from .engine import Engine, RunOutcome, select_phases
from .errors import ConfigError, GauntletError, InputError, Problem
from .events import Event, EventBus

__all__ = [
    "Config", "ConfigError", "Engine", "Event", "EventBus", "GauntletError", "InputError",
    "Problem", "RunOutcome", "load_config", "preflight", "select_phases",
]
