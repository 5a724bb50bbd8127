"""`gauntlet mirror CONFIG`: shadow traffic. A reverse proxy in front of the reference (or,
with `--sink`, the target of nginx's or Envoy's mirroring) that judges every candidate's
answer to the same live requests, one run directory after another until it is stopped.

It prints where it listens first (port 0 is a free port: the line names the real one), then,
on a terminal, opens the app on each run's parity pane (elsewhere, or with --headless, prints
each run's progress as `run --headless` does). SIGINT, SIGTERM and SIGHUP end it: the requests in flight
finish, the copies queued are judged, the run's verdict is written, and it exits as a run
would (0 or 1; 3 on a fault of its own). Stopping is how a mirror ends, so a mirror stopped
is judged on what it saw, not marked interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import signal
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text

import probes  # its config loader loads every phase: looked up when a command runs
from probes import GauntletError

from .common import append_step_summary, baseline_option, interactive, stdout, theme_option
from .run import make_engine

if TYPE_CHECKING:
    from probes import Config, Engine, RunOutcome
    from probes.mirror import Mirror

    from ..sources import Deliver


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    mirror = sub.add_parser("mirror", help="shadow traffic: answer clients from the reference and judge each "
                                           "candidate's answer to the same live requests")
    mirror.add_argument("config", nargs="?", default="gauntlet.toml",
                        help="the gauntlet config: [mirror], and [parity] for the targets and the rules")
    mirror.add_argument("--listen", type=listen_spec, metavar="HOST:PORT",
                        help="listen here rather than at [mirror] listen (port 0: any free one)")
    mirror.add_argument("--sink", action="store_true",
                        help="take copies that nginx (`mirror`) or Envoy (`request_mirror_policies`) send, answer "
                             "each at once (their answer is discarded) and ask the reference and candidates itself")
    mirror.add_argument("--headless", action="store_true",
                        help="plain progress rather than the app (always so when not on a terminal)")
    mirror.add_argument("--out", type=Path, help="write the run directories under this folder")
    mirror.add_argument("--strict", action="store_true", help="known gaps fail the run (exit 1)")
    baseline_option(mirror)
    theme_option(mirror)
    mirror.set_defaults(handler=mirror_command)


def listen_spec(text: str) -> tuple[str, int]:
    """argparse's type for --listen: a bad one is a usage error naming the flag."""
    from probes.mirror import parse_listen

    try:
        return parse_listen(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def mirror_command(args: argparse.Namespace) -> int:
    from probes.mirror import Mirror, loop_factory

    config = probes.load_config(args.config)
    section = config.mirror
    if section is None:
        raise GauntletError(f"{args.config}: no [mirror] section (an empty one takes the defaults: loopback, "
                            "10% of GET, HEAD and OPTIONS requests copied); the targets are [parity]'s")
    if args.listen is not None:
        section = replace(section, host=args.listen[0], port=args.listen[1])
        config = replace(config, mirror=section)
    mirror = Mirror(section, config.parity, sink=args.sink)
    if interactive(args):
        return asyncio.run(face(config, args, mirror))
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        return runner.run(serve(config, args, mirror))


async def start(config: Config, mirror: Mirror) -> None:
    """The mirror listening (its judging process ready), and where said on stdout: port 0 is
    a free port, and the line names the real one."""
    from probes.mirror import loopback

    assert config.mirror is not None and config.parity.reference is not None
    try:
        address = await mirror.start()
    except OSError as exc:
        raise GauntletError(f"cannot listen on {config.mirror.listen}: {exc.strerror or exc}") from None
    out = stdout()
    role = "sink" if mirror.sink else "mirror"
    candidates = ", ".join(t for t in config.parity.targets if t != config.parity.reference)
    out.print(Text(f"{role} listening on http://{address} · reference {config.parity.reference} · candidates "
                   f"{candidates}"), soft_wrap=True)
    if not loopback(config.mirror.host):
        out.print(Text(f"note: {address} is reachable from other machines", style="cli.note"))
    # What is made so far lives as long as the process: the cyclic collector need not walk it
    # on every full collection, each a pause in the clients' answers.
    gc.freeze()


async def runs(config: Config, args: argparse.Namespace, mirror: Mirror, follow: Callable[[Engine], None],
               ended: Callable[[RunOutcome], None] = lambda _: None) -> int:
    """One run after another (each its own directory and verdict, each engine given to
    `follow` before it runs and its outcome to `ended`) until the mirror is stopped; the
    worst exit code of them. The mirror is closed at the end, whatever ended it."""
    code = 0
    try:
        while True:
            engine = make_engine(config, args.out, strict=args.strict, baseline=args.baseline, mirror=mirror)
            follow(engine)
            outcome = await engine.run()
            append_step_summary(engine.tracker, outcome.verdict, interrupted=outcome.interrupted)
            ended(outcome)
            code = max(code, outcome.exit_code)
            if mirror.stopping or not mirror.rolled:
                return code
    finally:
        await mirror.close()


@contextlib.contextmanager
def stopped_by_signals(mirror: Mirror) -> Iterator[None]:
    """SIGINT, SIGTERM and SIGHUP stop the mirror (in order: the run's verdict is written)."""
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    for sig in signals:
        loop.add_signal_handler(sig, mirror.stop)
    try:
        yield
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)


async def serve(config: Config, args: argparse.Namespace, mirror: Mirror) -> int:
    """Headless: each run's progress printed as `run --headless` prints it."""
    from ..headless import HeadlessPrinter

    printers: list[HeadlessPrinter] = []

    def follow(engine: Engine) -> None:
        for printer in printers:
            printer.close()
        printers[:] = [HeadlessPrinter()]
        engine.bus.subscribe(printers[0].apply)

    with stopped_by_signals(mirror):
        await start(config, mirror)
        try:
            return await runs(config, args, mirror, follow)
        finally:
            for printer in printers:
                printer.close()


async def face(config: Config, args: argparse.Namespace, mirror: Mirror) -> int:
    """On a terminal: the app follows each run on its parity pane, a new run shown from its
    start when the record rolls over; the app's own ending (Ctrl-C, q, SIGTERM, SIGHUP, the
    terminal gone) stops the mirror, which writes the run's verdict. The runs are a task of
    their own, not the app's: an app that fails still leaves them to end in order. Each run's
    verdict is printed once the app is gone, and a fault that ended them is raised then."""
    from ..app import GauntletApp
    from ..sources import MirrorSource

    gaps = probes.load_gaps(config.verdict.known_gaps) if config.verdict.known_gaps else []
    outcomes: list[RunOutcome] = []

    def every_run(deliver: Deliver) -> asyncio.Task[int]:
        def follow(engine: Engine) -> None:
            engine.bus.subscribe(deliver)

        task = asyncio.create_task(runs(config, args, mirror, follow, outcomes.append))
        task.add_done_callback(lambda done: app.exit() if not done.cancelled() and done.exception() else None)
        return task

    with stopped_by_signals(mirror):  # until the app takes the signals, and again once it has given them back
        await start(config, mirror)
        source = MirrorSource(every_run, mirror.stop)
        app = GauntletApp(source, theme=args.theme, gaps=gaps, pane="parity")
        try:
            code = await app.run_async()
        finally:
            with stopped_by_signals(mirror):
                mirror.stop()
                task = source.task
                if task is None:  # the app ended before it asked for the runs
                    await mirror.close()
                else:
                    code = await task  # raises what ended them (a config that broke at a roll-over)
    with contextlib.suppress(OSError):  # the terminal may be gone: the verdicts are in their files
        out = stdout()
        for outcome in outcomes:
            word = outcome.verdict.verdict
            out.print(Text.assemble(f"{outcome.run_dir}: ", (word, f"verdict.{word}")), soft_wrap=True)
    return (app.return_code or 1) if code is None else code
