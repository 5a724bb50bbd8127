"""`gauntlet demo`, `run`, `smokes`, `scrum` and `parity`: a run, in the app on a terminal,
as plain progress otherwise."""

from __future__ import annotations

import argparse
import asyncio
import signal
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import probes  # its config loader loads every phase: looked up when a command runs
from probes import ConfigError, GauntletError, InputError, Problem

from .common import append_step_summary, config_arg, err, interactive, run_options
from .diff import show_case

if TYPE_CHECKING:
    from probes import Config, Engine, RunOutcome, Shard
    from probes.mirror import Mirror

PHASE_CHOICES = ("smokes", "scrum", "parity")
DEMO_CONFIG = "demo.toml"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    demo = sub.add_parser("demo", help="run the whole gauntlet on the embedded default, offline")
    run_options(demo)
    demo.set_defaults(handler=demo_command)

    run = sub.add_parser("run", help="run every phase the config has")
    config_arg(run)
    run_options(run)
    run.add_argument("--only", action="append", choices=PHASE_CHOICES, default=[],
                     help="run only this phase (repeatable)")
    run.add_argument("--skip", action="append", choices=PHASE_CHOICES, default=[],
                     help="skip this phase (repeatable)")
    shard_option(run)
    verbose_option(run)
    run.set_defaults(handler=run_command)

    for phase, what in (("smokes", "run the smoke chain only"), ("scrum", "run the per-component review scrum only")):
        one = sub.add_parser(phase, help=what)
        config_arg(one)
        run_options(one)
        one.set_defaults(handler=phase_command, phase=phase)

    parity = sub.add_parser("parity", help="run the cross-runtime parity probe only")
    config_arg(parity)
    run_options(parity)
    parity.add_argument("--case", action="append", default=[], metavar="NAME",
                        help="probe only this case (repeatable) and show its differences")
    shard_option(parity)
    verbose_option(parity)
    parity.set_defaults(handler=parity_command)


def shard_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--shard", type=shard_spec, metavar="K/N",
                        help="probe only shard K of N of the parity cases, picked by a stable hash of "
                             "each name (one machine each); `gauntlet merge` joins the shards' runs")


def shard_spec(text: str) -> Shard:
    """argparse's type for --shard: a bad one is a usage error naming the flag."""
    from probes import parse_shard

    try:
        return parse_shard(text)
    except InputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def verbose_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--verbose", action="store_true",
                        help="headless: a line for every parity case, however many (by default a "
                             "large parity phase shows its progress, then the tables)")


def sample_configs_dir() -> Path:
    """sample_configs/ in a checkout, or its copy inside an installed wheel."""
    import probes

    packaged = Path(probes.__file__).parent / "_sample_configs"
    return packaged if packaged.is_dir() else Path(probes.__file__).parent.parent / "sample_configs"


def demo_command(args: argparse.Namespace) -> int:
    config = probes.load_config(sample_configs_dir() / DEMO_CONFIG)
    return run_engine(config, args, args.out or Path.cwd() / "gauntlet-runs")


def run_command(args: argparse.Namespace) -> int:
    return run_engine(probes.load_config(args.config), args, args.out, only=args.only, skip=args.skip,
                      shard=args.shard)


def phase_command(args: argparse.Namespace) -> int:
    return run_engine(probes.load_config(args.config), args, args.out, only=[args.phase])


def parity_command(args: argparse.Namespace) -> int:
    config = probes.load_config(args.config)
    known = {case.name for case in config.parity.cases}
    unknown = [c for c in args.case if c not in known]
    stream = config.parity.cases_stream
    if unknown and stream is not None:  # read through once, keeping only the names asked for
        found = {case.name for case in config.parity.iter_cases() if case.name in unknown}
        unknown = [c for c in unknown if c not in found]
    if unknown:
        names = ", ".join([c.name for c in config.parity.cases] + ([f"those in {stream.name}"] if stream else []))
        raise GauntletError(f"{args.config}: no parity case {', '.join(map(repr, unknown))} (cases: {names})")
    return run_engine(config, args, args.out, only=["parity"], parity_only=args.case, shard=args.shard)


def run_engine(config: Config, args: argparse.Namespace, out: Path | None, *, only: Sequence[str] = (),
               skip: Sequence[str] = (), parity_only: Sequence[str] = (), shard: Shard | None = None) -> int:
    """The app follows the run on a terminal; `--case` probes quietly, then opens the diff;
    elsewhere the headless printer follows it."""
    from ..headless import HeadlessPrinter

    engine = make_engine(config, out, only=only, skip=skip, parity_only=parity_only, shard=shard,
                         strict=args.strict, force_oversize=args.force_oversize, baseline=args.baseline)
    if interactive(args) and not parity_only:
        from ..app import GauntletApp
        from ..sources import LiveSource

        app = GauntletApp(LiveSource(engine), theme=args.theme, gaps=list(engine.tracker.gaps))
        code = app.run()
        if engine.outcome is not None:
            append_step_summary(engine.tracker, engine.outcome.verdict, interrupted=engine.outcome.interrupted)
        if engine.run_dir.failure is not None:  # the app showed it; its screen is gone, the record lacks it
            err(f"gauntlet: {engine.run_dir.failure}")
        if code is None:  # the app stopped without exit(): it failed; say so in the exit code
            return app.return_code or app.exit_code or 1
        return code
    if interactive(args):
        outcome = asyncio.run(drive(engine))
        code = show_case(outcome.run_dir, parity_only[0], args)
        return outcome.exit_code if code == 0 else code
    printer = HeadlessPrinter(show_diffs=bool(parity_only), verbose=getattr(args, "verbose", False))
    engine.bus.subscribe(printer.apply)
    try:
        outcome = asyncio.run(drive(engine))
    finally:
        printer.close()
    append_step_summary(engine.tracker, outcome.verdict, interrupted=outcome.interrupted)
    return outcome.exit_code


def make_engine(config: Config, out: Path | None, *, only: Sequence[str] = (), skip: Sequence[str] = (),
                parity_only: Sequence[str] = (), shard: Shard | None = None, strict: bool = False,
                force_oversize: bool = False, baseline: Path | None = None, mirror: Mirror | None = None) -> Engine:
    """The run's engine, once the checks that refuse a run before it starts have passed: a
    directory it could not write, a shard of a run without parity, a shard with --case. A
    mirror's run is its parity phase alone, the cases its live requests."""
    from probes import Engine, select_phases

    unwritable = probes.unwritable_dir(out or config.out_dir)
    if unwritable:  # refused before the run starts: it would fail making its directory
        if out is None:
            raise ConfigError(str(config.path), [Problem("gauntlet.out_dir", unwritable)])
        raise InputError(f"--out: {unwritable}")
    phases = ("parity", "verdict") if mirror is not None else select_phases(config, only, skip)
    if shard is not None and "parity" not in phases:
        raise GauntletError(f"--shard {shard} splits the parity cases, and this run has no parity phase")
    if shard is not None and parity_only:
        raise GauntletError("--shard and --case do not go together: --case probes the cases it names")
    return Engine(config, phases, out_dir=out, strict=strict, parity_only=parity_only,
                  force_oversize=force_oversize, shard=shard, baseline=baseline, mirror=mirror)


async def drive(engine: Engine) -> RunOutcome:
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
