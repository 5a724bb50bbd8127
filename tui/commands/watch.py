"""`gauntlet watch RUN_DIR`: follow a run in progress, read-only, or replay a finished one."""

from __future__ import annotations

import argparse
from pathlib import Path

from probes import GauntletError

from .common import EXIT_INTERRUPTED, run_dir, theme_option


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    watch = sub.add_parser("watch", help="follow a run in progress (read-only), or replay a finished one")
    watch.add_argument("run_dir", type=Path)
    watch.add_argument("--no-follow", action="store_true", help="replay what is there and stop")
    theme_option(watch)
    watch.set_defaults(handler=watch_command)


def watch_command(args: argparse.Namespace) -> int:
    from probes import run_gaps

    from ..app import GauntletApp
    from ..sources import FileSource

    run = run_dir(args.run_dir)
    try:
        _, gaps = run_gaps(run)  # for the live verdict while watching
    except GauntletError:
        gaps = []  # the run's own verdict events still say what it concluded
    app = GauntletApp(FileSource(run, follow=not args.no_follow), theme=args.theme, clock=False, gaps=gaps)
    return EXIT_INTERRUPTED if app.run() == EXIT_INTERRUPTED else 0
