"""The engine's exceptions, in one hierarchy so the CLI can turn each into a message and an exit code."""

from __future__ import annotations

import errno
from dataclasses import dataclass
from pathlib import Path

# What a storage says when it takes no more: full, over quota, over the file size limit,
# read-only, failing. Not one file's trouble but every later write's.
STORAGE_REFUSED = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EIO})


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


class RunDirUnwritable(GauntletError):
    """The run directory cannot be written (a full disk, mostly): fatal to a run, whose record
    is what it is for. The run stops rather than go on unrecorded, or try to record, in the
    record that failed, that the record failed."""

    def __init__(self, path: Path, cause: OSError) -> None:
        self.path = path
        self.cause = cause
        why = (cause.strerror or str(cause)).removesuffix(" on device")
        super().__init__(f"the run directory cannot be written: {why[:1].lower()}{why[1:]} on {path}")

    @staticmethod
    def refused(exc: OSError) -> bool:
        """Whether the failure is the storage's refusal (see STORAGE_REFUSED), not one file's."""
        return exc.errno in STORAGE_REFUSED


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
