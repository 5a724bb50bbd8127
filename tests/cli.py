"""`gauntlet` as the tests call it: in this process, or as a process of its own.

A command whose test reads what it printed, its exit code and its files runs in the test's
own process (`gauntlet`): what the command does is the same, and the suite does not start
Python and import the engine three hundred times (a third of a second of CPU each, on two
cores shared by two workers). A test of what only a process shows — its signals, its
children, what it imports to start, a traceback reaching its stderr — starts one.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
COMMAND = (sys.executable, "-m", "tui.cli")
# What a command may change of its process, and every call puts back.
_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def gauntlet(*argv: str | os.PathLike[str], cwd: Path = REPO, env: Mapping[str, str] | None = None,
             stdin: str = "") -> subprocess.CompletedProcess[str]:
    """Run `gauntlet ARGV…` here, as `gauntlet_process` would run it: in `cwd`, with the
    variables of `env` set over the test's environment, reading `stdin`; its output captured.
    The working folder, environment, standard streams and signal handlers are the test's again
    after. A test whose thread already runs an event loop (Playwright's, an async test) runs it
    as a process: the command's own loop cannot run inside another."""
    if asyncio._get_running_loop() is not None:
        return gauntlet_process(*argv, cwd=cwd, env=env, input=stdin)
    from tui.cli import main

    args = [os.fspath(a) for a in argv]
    out, err = io.StringIO(), io.StringIO()
    with _as_a_process(cwd, env, stdin, out, err):
        try:
            code = main(args)
        except SystemExit as exc:  # argparse: a usage error, --help, --version
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
            if isinstance(exc.code, str):
                err.write(exc.code + "\n")
    return subprocess.CompletedProcess([*COMMAND, *args], code, out.getvalue(), err.getvalue())


@contextlib.contextmanager
def _as_a_process(cwd: Path, env: Mapping[str, str] | None, stdin: str, out: io.StringIO,
                  err: io.StringIO) -> Iterator[None]:
    saved_env, saved_cwd = dict(os.environ), os.getcwd()
    saved_signals = {s: signal.getsignal(s) for s in _SIGNALS}
    saved_stdin = sys.stdin
    try:
        os.environ.update(env or {})
        os.chdir(cwd)
        sys.stdin = io.StringIO(stdin)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            yield
    finally:
        sys.stdin = saved_stdin
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
        for number, handler in saved_signals.items():
            signal.signal(number, handler)


def gauntlet_process(*argv: str | os.PathLike[str], cwd: Path = REPO, env: Mapping[str, str] | None = None,
                     timeout: float = 120, **kw: Any) -> subprocess.CompletedProcess[str]:
    """`gauntlet ARGV…` as a process of its own, to its end (the variables of `env` set over the
    test's environment); its output captured."""
    return subprocess.run([*COMMAND, *map(os.fspath, argv)], check=False, cwd=cwd, env={**os.environ, **(env or {})},
                          capture_output=True, text=True, timeout=timeout, **kw)

