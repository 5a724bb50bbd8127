"""`gauntlet check CONFIG`: validate a config and list every problem, not just the first."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text

import probes  # its config loader loads every phase: looked up when a command runs
from probes import ConfigError, Problem
from probes.core import neutralise

from .common import EXIT_USAGE, config_arg, stdout

if TYPE_CHECKING:
    from probes import Config


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    check = sub.add_parser("check", help="validate a config and list every problem")
    config_arg(check)
    check.add_argument("--probe", action="store_true",
                       help="also send one parity case per endpoint to each target and say whether one is misaimed")
    check.set_defaults(handler=check_command)


def check_command(args: argparse.Namespace) -> int:
    path = Path(args.config)
    config = probes.load_config(path)
    streamed, stream_problems = probes.scan_case_lines(config.parity)  # a JSON Lines cases file, read through once
    problems = probes.preflight(config) + stream_problems + ledger_problems(config)
    if problems:
        raise ConfigError(str(path), problems)
    out = stdout()
    out.print(Text.assemble(
        ("ok ", "cli.ok"), f"{path}: {len(config.smokes.smokes)} smokes, "
        f"{len(config.scrum.bundles)} bundles x {len(config.scrum.reviewers)} reviewers, "
        f"{len(config.parity.cases) + streamed} parity cases, {len(config.stack.services)} stack services"))
    if not ({"smokes", "scrum", "parity"} & set(config.phases_present())):
        out.print(Text("warning: this config checks nothing (no smoke, no scrum bundle, no parity case): "
                       "a run of it is BLOCK, nothing was checked", style="cli.note"))
    if args.probe:
        return probe_targets(config)
    return 0


def probe_targets(config: Config) -> int:
    """`--probe`: one case per endpoint to each target; exit 2 when a target is misaimed."""
    import asyncio

    from probes import check_aim

    out = stdout()
    if not config.parity.targets or "parity" not in config.phases_present():
        out.print(Text("probe: no parity cases to send", style="cli.note"))
        return 0
    aim = asyncio.run(check_aim(config.parity))
    out.print(f"probed {len(aim.endpoints)} endpoint{'s' if len(aim.endpoints) != 1 else ''} "
              f"(one case each) on {len(aim.statuses)} targets:")
    for target, statuses in aim.statuses.items():
        answered = ", ".join("no answer" if s is None else str(s) for s in statuses)
        why = aim.misaimed.get(target)
        if why is None:
            out.print(Text.assemble(("  ok ", "cli.ok"), f"{target}: {answered}"))
        else:
            out.print(Text.assemble((f"  {target} misaimed", "cli.error"), f": {why[0]} — {neutralise(why[1])}"))
    return EXIT_USAGE if aim.misaimed else 0


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
