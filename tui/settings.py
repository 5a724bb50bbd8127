"""What the app remembers between runs (the theme), in $XDG_CONFIG_HOME/gauntlet/."""

from __future__ import annotations

import json
import os
from pathlib import Path

from probes import write_atomic


def settings_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "gauntlet" / "settings.json"


def load_settings() -> dict[str, str]:
    try:
        data = json.loads(settings_path().read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def save_setting(key: str, value: str) -> None:
    """Best effort: an unwritable config folder must never break the app."""
    data = load_settings()
    data[key] = value
    try:
        write_atomic(settings_path(), json.dumps(data, indent=2) + "\n")
    except OSError:
        pass
