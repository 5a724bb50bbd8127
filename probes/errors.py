"""The engine's exceptions, in one hierarchy so the CLI can turn each into a message and an exit code."""

from __future__ import annotations

from dataclasses import dataclass


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
