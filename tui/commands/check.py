"""`gauntlet check CONFIG`: validate a config and list every problem, not just the first."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.text import Text

from probes import ConfigError, load_config, preflight, scan_case_lines

from ._common import config_arg, stdout


def register(sub: argparse._SubParsersAction) -> None:
    check = sub.add_parser("check", help="validate a config and list every problem")
    config_arg(check)
    check.set_defaults(handler=check_command)


def check_command(args: argparse.Namespace) -> int:
    path = Path(args.config)
    config = load_config(path)
    streamed, stream_problems = scan_case_lines(config.parity)  # a JSON Lines cases file, read through once
    problems = preflight(config) + stream_problems
    if problems:
        raise ConfigError(str(path), problems)
    stdout().print(Text.assemble(
        ("ok ", "cli.ok"), f"{path}: {len(config.smokes.smokes)} smokes, "
        f"{len(config.scrum.bundles)} bundles x {len(config.scrum.reviewers)} reviewers, "
        f"{len(config.parity.cases) + streamed} parity cases, {len(config.stack.services)} stack services"))
    return 0
