"""What a user keeps between runs, in $XDG_CONFIG_HOME/gauntlet/settings.toml: the theme
(the app writes the last one chosen) and `[keys]`, keys rebound by the binding's id (the
help lists each key's id; tui/keymap.py holds them):

    theme = "gauntlet-light"

    [keys]
    diff.next = "j"          # dotted or quoted ("diff.next"), the same
    app.quit = "x,ctrl+x"    # several keys, comma-separated

The file is the user's: a problem in it (not TOML, an unknown id, a key that is not a
string or not a key) is named with the file and the key, that setting is left at its
default, and the app starts all the same. Writing the theme keeps the user's comments and
order (tomlkit), and never touches a file that does not parse. The settings.json of
earlier versions is read once, when there is no settings.toml yet, and its theme moved over.
"""

from __future__ import annotations

import difflib
import json
import os
import tomllib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.exceptions import ParseError

from probes.core import Problem, TableReader, write_atomic

from .keymap import BY_ID, key_problem, normal_keys

# A new settings file starts with this, so a person who opens it finds out what it may hold.
HEADER = """\
# gauntlet's settings. The app keeps `theme` up to date; `[keys]` rebinds keys by their
# id, as the help (?) lists them, e.g.
#   [keys]
#   diff.next = "j"
"""


@dataclass(frozen=True)
class Settings:
    theme: str | None = None
    keys: dict[str, str] = field(default_factory=dict)  # binding id -> keys, as Textual names them
    problems: tuple[Problem, ...] = ()


def settings_dir() -> Path:
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "gauntlet"


def settings_path() -> Path:
    return settings_dir() / "settings.toml"


def load_settings(themes: Iterable[str]) -> Settings:
    """The settings file's theme (one of `themes`) and keys, with what is wrong in it."""
    path, themes = settings_path(), list(themes)
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        kept = _migrate_json()
        return Settings(theme=kept if kept in themes else None)
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else f"not UTF-8 text ({exc.reason} at byte {exc.start})"
        return Settings(problems=(Problem(str(path), f"cannot be read: {why}"),))
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        return Settings(problems=(Problem(str(path), f"invalid TOML: {exc}"),))
    problems: list[Problem] = []
    top = TableReader(raw, f"{path}: ", problems, known=("theme", "keys"))
    theme = top.string("theme", choices=themes)
    keys = _keys(top.raw.get("keys", {}), f"{path}: keys", problems)
    return Settings(theme, keys, tuple(problems))


def _keys(raw: Any, where: str, problems: list[Problem]) -> dict[str, str]:
    """`[keys]` as binding id -> keys: the ids Textual knows, each with keys it can send."""
    if not isinstance(raw, dict):
        problems.append(Problem(where, "expected a table of binding ids and keys, such as [keys] diff.next = \"j\""))
        return {}
    flat = dict(_flatten(raw))
    reader = TableReader(flat, where, problems, known=None)
    keys: dict[str, str] = {}
    for binding_id in flat:
        if binding_id not in BY_ID:
            close = difflib.get_close_matches(binding_id, list(BY_ID), n=1, cutoff=0.6)
            hint = f"did you mean {close[0]!r}?" if close else "the help (?) lists each key's id"
            reader.problem(binding_id, f"no key binding has this id ({hint})")
            continue
        value = reader.string(binding_id)
        if value is None:
            continue  # not a string: said by the reader
        problem = key_problem(value)
        if problem:
            reader.problem(binding_id, problem)
        else:
            keys[binding_id] = normal_keys(value)
    return keys


def _flatten(table: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """`diff.next = "j"` is a table `diff` in TOML; the id is the dotted path."""
    for name, value in table.items():
        if isinstance(value, dict):
            yield from _flatten(value, f"{prefix}{name}.")
        else:
            yield f"{prefix}{name}", value


def _migrate_json() -> str | None:
    """The theme an earlier version kept in settings.json, moved into settings.toml."""
    try:
        data = json.loads((settings_dir() / "settings.json").read_text("utf-8"))
    except (OSError, ValueError):
        return None
    theme = data.get("theme") if isinstance(data, dict) else None
    if not isinstance(theme, str):
        return None
    save_theme(theme)
    return theme


def save_theme(name: str) -> None:
    """Best effort: an unwritable config folder must never break the app, and a file the
    user left broken is theirs to mend (its problem is said when the app starts)."""
    path = settings_path()
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        text = HEADER
    except (OSError, UnicodeDecodeError):
        return
    try:
        doc = tomlkit.parse(text)
    except ParseError:
        return
    doc["theme"] = name
    try:
        write_atomic(path, tomlkit.dumps(doc))
    except OSError:
        pass
