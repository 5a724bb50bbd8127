"""The `gauntlet` command line: one module per command under tui/commands/, joined here.

Bad input never ends in a traceback: GauntletError (and its ConfigError) become a message
naming what and where, with exit code 2; a fault of gauntlet itself is one line and a
traceback file, exit 3. Textual is imported only by the commands that open the app, so
headless commands start fast.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from rich.text import Text

from probes import ConfigError, GauntletError

from .commands import (bundle, cases, check, diff, finding, gap, history, init, merge, mirror, noise, report, run, serve,
                       stack, tally, twins, verdict, watch)
from .commands.common import EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_USAGE, err, stderr

# In the order the help lists them: a run and the merge of its shards, then what a run leaves
# behind, the scrum offline, configs and the stack, and a new project's first files.
COMMANDS = (run, merge, mirror, watch, serve, diff, verdict, report, gap, finding, noise, history, tally, bundle, check,
            stack, twins, init, cases)


class VersionAction(argparse.Action):
    """`--version`: `gauntlet <version>` from the installed package's metadata, looked up
    only when asked (every other command starts without reading it)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, help="print gauntlet's version and exit", **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *_: Any) -> None:
        from importlib import metadata  # a twentieth of a second every other command does not spend

        try:
            version = metadata.version("gauntlet")
        except metadata.PackageNotFoundError:
            version = "(not installed: no package metadata; pip install -e . in the repository)"
        print(f"gauntlet {version}")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gauntlet",
        description="A production-readiness gauntlet over a service stack built twice.")
    parser.add_argument("--version", action=VersionAction)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for command in COMMANDS:
        command.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.handler(args)
    except ConfigError as exc:
        err(f"{exc.source}: {len(exc.problems)} problem(s)")
        for problem in exc.problems:
            stderr().print(Text(f"  {problem}"))
        code = EXIT_USAGE
    except GauntletError as exc:
        err(f"gauntlet: {exc}")
        code = EXIT_USAGE
    except KeyboardInterrupt:
        code = EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - a fault of gauntlet itself: one line here, the traceback kept
        err(f"gauntlet: internal error: {type(exc).__name__}: {exc} (traceback in {_keep_traceback(exc)})")
        code = EXIT_INTERNAL
    return code


def _keep_traceback(exc: BaseException) -> Path:
    """A command outside a run has no run directory: its traceback goes to a file of its own."""
    import tempfile
    import traceback

    path = Path(tempfile.gettempdir()) / f"gauntlet-crash-{date.today():%Y%m%d}-{os.getpid()}.txt"
    with open(path, "a", encoding="utf-8") as fh:
        fh.write("".join(traceback.format_exception(exc)))
    return path


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
