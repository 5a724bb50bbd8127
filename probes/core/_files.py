"""Files the operator named (a known-gaps file, a findings ledger, the stack TOML), changed
by more than one process: each read-modify-write holds a lock beside the file, so two
processes adding at once both land and neither reads half of the other's write."""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import tomli_w

from ._errors import GauntletError
from ._rundir import write_atomic


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """An exclusive lock beside `path`, so read-modify-write by two processes is serial."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(f".{path.name}.lock"), "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def append_entry(path: Path, table: str, entry: Mapping[str, object], refuse: Callable[[], None]) -> None:
    """Append `entry` as one more `[[table]]` of the TOML file at `path` (made if missing),
    the rest of the file untouched, under the lock and in one step: two processes adding at
    once both land. `refuse` runs under the lock when the file has entries already, and
    raises if the new one clashes with them."""
    with writing(path):
        existing = path.read_text("utf-8") if path.exists() else ""
        if existing.strip():
            refuse()
        separator = "" if not existing or existing.endswith("\n\n") else ("\n" if existing.endswith("\n") else "\n\n")
        write_atomic(path, existing + separator + tomli_w.dumps({table: [entry]}), durable=True)


@contextlib.contextmanager
def writing(path: Path) -> Iterator[None]:
    """The lock on a file the operator named, held while it is read and replaced. A file that
    cannot be (its directory cannot be made, the lock beside it cannot be opened, it is a
    directory, it is not UTF-8 text) is the operator's to fix: a GauntletError naming it."""
    try:
        with locked(path):
            yield
    except (OSError, UnicodeDecodeError) as exc:
        if isinstance(exc, UnicodeDecodeError):
            reason, culprit = f"not UTF-8 text ({exc.reason} at byte {exc.start})", ""
        else:  # FileExistsError comes from making the directory only: a file of that name is in the way
            reason = "Not a directory" if isinstance(exc, FileExistsError) else exc.strerror or str(exc)
            culprit = f" ({exc.filename})" if exc.filename and str(exc.filename) != str(path) else ""
        raise GauntletError(f"{path}: cannot write it: {reason}{culprit}") from None
