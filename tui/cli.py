"""The `gauntlet` command line.

Bad input never ends in a traceback: GauntletError (and its ConfigError) become a message
naming what and where, with exit code 2. Textual is imported only by the commands that
open the app, so headless commands start fast.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.text import Text

from probes.config import Config, load_config, preflight
from probes.engine import Engine, RunOutcome, select_phases
from probes.errors import ConfigError, GauntletError

from .headless import HeadlessPrinter

EXIT_USAGE = 2
PHASE_CHOICES = ("smokes", "scrum", "parity")
DEMO_CONFIG = "demo.toml"


def sample_configs_dir() -> Path:
    """sample_configs/ in a checkout, or its copy inside an installed wheel."""
    import probes

    packaged = Path(probes.__file__).parent / "_sample_configs"
    return packaged if packaged.is_dir() else Path(probes.__file__).parent.parent / "sample_configs"


def _err(message: str) -> None:
    Console(stderr=True, highlight=False).print(Text(message, style="bold red"))


def _config_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", nargs="?", default="gauntlet.toml",
                        help="the gauntlet config (default: ./gauntlet.toml)")


def _run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--headless", action="store_true",
                        help="print plain progress instead of opening the TUI")
    parser.add_argument("--out", type=Path, help="write the run directory under this folder")
    parser.add_argument("--strict", action="store_true", help="known gaps fail the run (exit 1)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gauntlet",
        description="A production-readiness gauntlet over a service stack built twice.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    demo = sub.add_parser("demo", help="run the whole gauntlet on the embedded default, offline")
    _run_options(demo)

    run = sub.add_parser("run", help="run every phase the config has")
    _config_arg(run)
    _run_options(run)
    run.add_argument("--only", action="append", choices=PHASE_CHOICES, default=[],
                     help="run only this phase (repeatable)")
    run.add_argument("--skip", action="append", choices=PHASE_CHOICES, default=[],
                     help="skip this phase (repeatable)")

    smokes = sub.add_parser("smokes", help="run the smoke chain only")
    _config_arg(smokes)
    _run_options(smokes)

    check = sub.add_parser("check", help="validate a config and list every problem")
    _config_arg(check)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code = _dispatch(args)
    except ConfigError as exc:
        _err(f"{exc.source}: {len(exc.problems)} problem(s)")
        for problem in exc.problems:
            Console(stderr=True, highlight=False).print(Text(f"  {problem}"))
        code = EXIT_USAGE
    except GauntletError as exc:
        _err(f"gauntlet: {exc}")
        code = EXIT_USAGE
    except KeyboardInterrupt:
        code = 130
    return code


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "check":
        return _check(Path(args.config))
    if args.command == "demo":
        config = load_config(sample_configs_dir() / DEMO_CONFIG)
        out = args.out or Path.cwd() / "gauntlet-runs"
        return _run(config, select_phases(config), args, out)
    config = load_config(args.config)
    if args.command == "smokes":
        return _run(config, select_phases(config, only=["smokes"]), args, args.out)
    return _run(config, select_phases(config, args.only, args.skip), args, args.out)


def _check(path: Path) -> int:
    config = load_config(path)
    problems = preflight(config)
    if problems:
        raise ConfigError(str(path), problems)
    Console(highlight=False).print(Text.assemble(
        ("ok ", "bold green"), f"{path}: {len(config.smokes.smokes)} smokes, "
        f"{len(config.scrum.bundles)} bundles x {len(config.scrum.reviewers)} reviewers, "
        f"{len(config.parity.cases)} parity cases, {len(config.stack.services)} stack services"))
    return 0


def _run(config: Config, phases: Sequence[str], args: argparse.Namespace, out: Path | None) -> int:
    engine = Engine(config, phases, out_dir=out, strict=args.strict)
    printer = HeadlessPrinter()
    engine.bus.subscribe(printer.apply)
    try:
        outcome = asyncio.run(_drive(engine))
    finally:
        printer.close()
    return outcome.exit_code


async def _drive(engine: Engine) -> RunOutcome:
    """Run the engine with SIGINT, SIGTERM and SIGHUP turned into an orderly interrupt."""
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    for sig in signals:
        loop.add_signal_handler(sig, engine.interrupt)
    try:
        return await engine.run()
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
