"""`gauntlet check CONFIG`: validate a config and list every problem, not just the first."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from rich.text import Text

from probes import Config, ConfigError, Problem, load_config, preflight, scan_case_lines

from ._common import config_arg, stdout


def register(sub: argparse._SubParsersAction) -> None:
    check = sub.add_parser("check", help="validate a config and list every problem")
    config_arg(check)
    check.set_defaults(handler=check_command)


def check_command(args: argparse.Namespace) -> int:
    path = Path(args.config)
    config = load_config(path)
    streamed, stream_problems = scan_case_lines(config.parity)  # a JSON Lines cases file, read through once
    problems = preflight(config) + stream_problems + ledger_problems(config)
    if problems:
        raise ConfigError(str(path), problems)
    stdout().print(Text.assemble(
        ("ok ", "cli.ok"), f"{path}: {len(config.smokes.smokes)} smokes, "
        f"{len(config.scrum.bundles)} bundles x {len(config.scrum.reviewers)} reviewers, "
        f"{len(config.parity.cases) + streamed} parity cases, {len(config.stack.services)} stack services"))
    return 0


def ledger_problems(config: Config) -> list[Problem]:
    """What is wrong inside the files of entries the config names (the known gaps, the
    findings ledger), each problem with its file and key path: a run refuses them too, but
    only once it gets there. A missing known-gaps file is preflight's to report; a missing
    findings ledger is no problem (nothing dismissed yet). Each loader is imported only for
    a config that names its file."""
    problems: list[Problem] = []
    gaps, ledger = config.verdict.known_gaps, config.scrum.findings_ignore
    if gaps is not None and gaps.exists():
        from probes import load_gaps
        problems += _inside(load_gaps, gaps)
    if ledger is not None:
        from probes import load_ledger
        problems += _inside(load_ledger, ledger)
    return problems


def _inside(load: Callable[[Path], object], file: Path) -> list[Problem]:
    try:
        load(file)
    except ConfigError as exc:
        return [p if p.where == exc.source else Problem(f"{exc.source}: {p.where}", p.message) for p in exc.problems]
    return []
