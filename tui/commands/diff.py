"""`gauntlet diff RUN_DIR CASE`: a stored parity diff, in the viewer or printed side by side."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

from .common import EXIT_INTERRUPTED, interactive, theme_option


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    diff = sub.add_parser("diff", help="open a stored parity diff from an earlier run (no servers needed)")
    diff.add_argument("run_dir", type=Path)
    diff.add_argument("case")
    diff.add_argument("--target", help="the candidate facing the reference (default: the first)")
    diff.add_argument("--headless", action="store_true", help="print a side-by-side rendering instead")
    theme_option(diff)
    diff.set_defaults(handler=diff_command)


def diff_command(args: argparse.Namespace) -> int:
    return show_case(args.run_dir, args.case, args)


def show_case(run_dir: Path, case: str, args: argparse.Namespace) -> int:
    """The case's diff: the viewer on a terminal, printed elsewhere or under --headless.
    Shared with `gauntlet parity --case`, which opens straight into it after probing."""
    from probes import load_case

    view = load_case(run_dir, case, candidate=getattr(args, "target", None))
    if not interactive(args):
        from ..diff_print import print_case

        print_case(view, Console(highlight=False))
        return 0
    from ..screens.diff import DiffApp

    return EXIT_INTERRUPTED if DiffApp(run_dir, case, theme=getattr(args, "theme", None)).run() == EXIT_INTERRUPTED else 0
