"""A typed reader over a parsed TOML table that collects problems instead of raising.

Config validation must report every problem at once, each with its key path, so every
accessor records what is wrong and returns a usable default; the caller raises at the end.
Every count and duration is bounded here, once: a TOML integer has no limit and neither has
a duration's number, so a value no run could mean (a concurrency of 10^17, a timeout of
10^23 hours) is refused with the range it must be in, before it reaches a timer or a pool.
"""

from __future__ import annotations

import difflib
import os
import re
import shlex
from collections.abc import Collection, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar, cast

from ._errors import Problem

_D = TypeVar("_D")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
COUNT_MAX = 10_000  # concurrency, retries, KB, tokens, lines: far above any use, far below trouble
DURATION_RANGE = ("1ms", "24h")


def parse_duration(value: str) -> float | None:
    """Seconds for "250ms", "5s", "2m", "1h"; None when the text is not such a duration."""
    match = _DURATION.match(value)
    if not match:
        return None
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]


_DURATION_LOW, _DURATION_HIGH = (parse_duration(text) or 0.0 for text in DURATION_RANGE)


def _show(value: Any) -> str:
    return repr(value) if isinstance(value, str) else str(value).lower() if isinstance(value, bool) else str(value)


def _type_name(value: Any) -> str:
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string",
            list: "an array", dict: "a table"}.get(type(value), type(value).__name__)


class TableReader:
    """Reads keys of one table; unknown keys are reported with a did-you-mean."""

    def __init__(self, raw: Any, path: str, problems: list[Problem],
                 known: Iterable[str] | None) -> None:
        self.path = path
        self.problems = problems
        if not isinstance(raw, dict):
            self.problem(None, f"expected a table, got {_type_name(raw)}")
            raw = {}
        self.raw: dict[str, Any] = raw
        if known is None:  # a free-form table (target names, env): any key is fine
            return
        known = list(known)
        for key in raw:
            if key not in known:
                close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
                hint = f" (did you mean {close[0]!r}?)" if close else f" (known keys: {', '.join(known)})"
                self.problem(key, f"unknown key{hint}")

    def key_path(self, key: str | None) -> str:
        if key is None:
            return self.path or "(top level)"
        if not self.path or self.path.endswith(": "):
            return f"{self.path}{key}"
        return f"{self.path}.{key}"

    def problem(self, key: str | None, message: str) -> None:
        self.problems.append(Problem(self.key_path(key), message))

    def has(self, key: str) -> bool:
        return key in self.raw

    def _typed(self, key: str, types: tuple[type, ...], expected: str, default: _D) -> _D:
        """The value when it is of `types` (those of the default), else the default and a problem."""
        if key not in self.raw:
            return default
        value = self.raw[key]
        # bool is an int in Python; a TOML boolean is never an acceptable number.
        if isinstance(value, types) and not (isinstance(value, bool) and bool not in types):
            return cast(_D, value)
        self.problem(key, f"expected {expected}, got {_type_name(value)} {_show(value)}")
        return default

    def string(self, key: str, default: str | None = None, *, required: bool = False,
               choices: Collection[str] | None = None) -> str | None:
        if required and key not in self.raw:
            self.problem(key, "is required")
            return default
        value = self._typed(key, (str,), "a string", default)
        if choices is not None and key in self.raw and value not in choices:
            opts = list(choices)
            self.problem(key, f"expected one of {', '.join(opts)}, got {_show(value)}")
            return default
        if required and isinstance(value, str) and not value.strip():
            self.problem(key, "must not be empty")
        return value

    def boolean(self, key: str, default: bool) -> bool:
        return self._typed(key, (bool,), "true or false", default)

    def integer(self, key: str, default: int | None, *, minimum: int = 0, maximum: int = COUNT_MAX) -> int | None:
        """A count, `minimum` to `maximum` (a port or a status code gives its own range)."""
        value = self._typed(key, (int,), "an integer", default)
        if value is not None and not minimum <= value <= maximum:  # a default is always in range
            self.problem(key, f"must be between {minimum} and {maximum}, got {value}")
            return default
        return value

    def number(self, key: str, default: float, *, minimum: float, maximum: float) -> float:
        """A ratio or a fraction, `minimum` to `maximum` (an integer is a number too)."""
        value = self._typed(key, (int, float), "a number", default)
        if not minimum <= value <= maximum:
            self.problem(key, f"must be between {minimum:g} and {maximum:g}, got {value:g}")
            return default
        return float(value)

    def share(self, key: str, default: float) -> float:
        """A share of a whole: `"10%"`, or a fraction from 0 to 1 (`0.1`)."""
        if key not in self.raw:
            return default
        value = self.raw[key]
        fraction: float | None = None
        if isinstance(value, str) and value.strip().endswith("%"):
            try:
                fraction = float(value.strip()[:-1]) / 100
            except ValueError:
                fraction = None
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            fraction = float(value)
        if fraction is None or not 0 <= fraction <= 1:  # NaN fails the comparison too
            self.problem(key, f'expected a share like "10%" (0% to 100%) or a fraction from 0 to 1, got {value!r}')
            return default
        return fraction

    def duration(self, key: str, default: float) -> float:
        if key not in self.raw:
            return default
        value = self.raw[key]
        seconds = parse_duration(value) if isinstance(value, str) else None
        if seconds is None:
            hint = " (add a unit)" if isinstance(value, (int, float)) and not isinstance(value, bool) else ""
            self.problem(key, f'expected a duration like "30s", got {value}{hint}')
            return default
        if not _DURATION_LOW <= seconds <= _DURATION_HIGH:
            self.problem(key, f'must be between {" and ".join(DURATION_RANGE)}, got "{value}"')
            return default
        return seconds

    def string_list(self, key: str, default: tuple[str, ...] = ()) -> tuple[str, ...]:
        value = self._typed(key, (list,), "an array of strings", None)
        if value is None:
            return default
        bad = [i for i, item in enumerate(value) if not isinstance(item, str)]
        for i in bad:
            self.problems.append(Problem(f"{self.key_path(key)}[{i}]",
                                         f"expected a string, got {_type_name(value[i])} {_show(value[i])}"))
        return tuple(item for item in value if isinstance(item, str))

    def string_map(self, key: str) -> dict[str, str]:
        value: dict[str, Any] = self._typed(key, (dict,), "a table of strings", {})
        out: dict[str, str] = {}
        for k, v in value.items():
            if isinstance(v, (str, int, float)) and not isinstance(v, bool):
                out[k] = str(v)
            else:
                self.problems.append(Problem(f"{self.key_path(key)}.{k}",
                                             f"expected a string, got {_type_name(v)} {_show(v)}"))
        return out

    def argv(self, key: str) -> tuple[str, ...] | None:
        """A command: a string split like a shell would (no shell runs), or a list as is."""
        if key not in self.raw:
            return None
        value = self.raw[key]
        if isinstance(value, str):
            try:
                parts = shlex.split(value)
            except ValueError as exc:
                self.problem(key, f"cannot split the command: {exc}")
                return None
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            parts = list(value)
        else:
            self.problem(key, f"expected a command string or an array of strings, got {_type_name(value)}")
            return None
        if not parts:
            self.problem(key, "must not be empty")
            return None
        return tuple(parts)

    def table(self, key: str, known: Iterable[str] | None) -> TableReader:
        return TableReader(self.raw.get(key, {}), self.key_path(key), self.problems, known)

    def tables(self, key: str, known: Iterable[str]) -> list[TableReader]:
        """An array of tables; each element's path is `key[i]`."""
        value = self.raw.get(key, [])
        if not isinstance(value, list):
            self.problem(key, f"expected an array of tables ([[{self.key_path(key)}]]), got {_type_name(value)}")
            return []
        known = list(known)
        return [TableReader(item, f"{self.key_path(key)}[{i}]", self.problems, known)
                for i, item in enumerate(value)]


NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def resolve_path(base: Path, value: str | os.PathLike[str]) -> Path:
    path = Path(value).expanduser()
    return Path(os.path.normpath(path if path.is_absolute() else base / path))


def check_name(r: TableReader, name: str | None) -> None:
    if name and not NAME_RE.match(name):
        r.problem("name", f"{name!r} must be letters, digits, '_', '.' or '-' (it names files)")


def check_duplicates(readers: Sequence[TableReader], names: Sequence[str | None], what: str) -> None:
    seen: dict[str, str] = {}
    for r, name in zip(readers, names):
        if name is None:
            continue
        if name in seen:
            r.problem("name", f"duplicate {what} name {name!r} (first at {seen[name]})")
        else:
            seen[name] = r.path


ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def expand_env(r: TableReader, key: str, value: str, env: Mapping[str, str]) -> str:
    """`${NAME}` in a value replaced by that environment variable (a token kept out of the file)."""
    def one(match: re.Match[str]) -> str:
        if match.group(1) not in env:
            r.problem(key, f"environment variable {match.group(1)} is not set")
            return ""
        return env[match.group(1)]

    return ENV_REF.sub(one, value)
