"""The engine's exceptions, in one hierarchy so the CLI can turn each into a message and an exit code."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class GauntletError(Exception):
    """Anything the operator caused and can fix: printed as a message, never as a traceback."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input, with the key path (or file:line) that locates it."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


class ConfigError(GauntletError):
    """A config that cannot be used; carries every problem found, not just the first."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"{source}: {len(problems)} problem(s)\n{lines}")


class InputError(GauntletError):
    """Bad input other than the config (a diff, a review file, a run directory)."""


def read_input(path: Path, what: str, encoding: str = "utf-8", errors: str = "strict") -> str:
    """A text file from the operator (a spec, a HAR), or an InputError that names it and why.
    `errors="replace"` for text a model wrote (a saved review), where a stray byte is no reason to stop."""
    try:
        return path.read_bytes().decode(encoding, errors)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, not {what}") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise InputError(f"{path}: {exc.strerror or exc}") from None
