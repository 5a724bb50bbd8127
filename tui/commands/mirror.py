"""`gauntlet mirror CONFIG`: shadow traffic. A reverse proxy in front of the reference (or,
with `--sink`, the target of nginx's or Envoy's mirroring) that judges every candidate's
answer to the same live requests, one run directory after another until it is stopped.

It prints where it listens first (port 0 is a free port: the line names the real one), then
each run's progress as `run` does. SIGINT, SIGTERM and SIGHUP end it: the requests in flight
finish, the copies queued are judged, the run's verdict is written, and it exits as a run
would (0 or 1; 3 on a fault of its own). Stopping is how a mirror ends, so a mirror stopped
is judged on what it saw, not marked interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import signal
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text

import probes  # its config loader loads every phase: looked up when a command runs
from probes import GauntletError

from .common import append_step_summary, baseline_option, stdout
from .run import make_engine

if TYPE_CHECKING:
    from probes import Config


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
                        help="plain progress (the mirror always prints it; `gauntlet watch RUN_DIR` opens a run "
                             "in the app)")
    mirror.add_argument("--out", type=Path, help="write the run directories under this folder")
    mirror.add_argument("--strict", action="store_true", help="known gaps fail the run (exit 1)")
    baseline_option(mirror)
    mirror.set_defaults(handler=mirror_command)


def listen_spec(text: str) -> tuple[str, int]:
    """argparse's type for --listen: a bad one is a usage error naming the flag."""
    from probes.mirror import parse_listen

    try:
        return parse_listen(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def mirror_command(args: argparse.Namespace) -> int:
    config = probes.load_config(args.config)
    if config.mirror is None:
        raise GauntletError(f"{args.config}: no [mirror] section (an empty one takes the defaults: loopback, "
                            "10% of GET, HEAD and OPTIONS requests copied); the targets are [parity]'s")
    if args.listen is not None:
        config = replace(config, mirror=replace(config.mirror, host=args.listen[0], port=args.listen[1]))
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        return runner.run(serve(config, args))


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop where it is installed (every platform but Windows): the clients' requests
    cross it twice each; None, asyncio's own."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


async def serve(config: Config, args: argparse.Namespace) -> int:
    """Listen, then one run after another (each its own directory and verdict) until stopped;
    the worst exit code of them."""
    from probes.mirror import Mirror, loopback

    from ..headless import HeadlessPrinter

    assert config.mirror is not None and config.parity.reference is not None
    mirror = Mirror(config.mirror, config.parity, sink=args.sink)
    try:
        address = await mirror.start()
    except OSError as exc:
        raise GauntletError(f"cannot listen on {config.mirror.listen}: {exc.strerror or exc}") from None
    out = stdout()
    role = "sink" if args.sink else "mirror"
    candidates = ", ".join(t for t in config.parity.targets if t != config.parity.reference)
    out.print(Text(f"{role} listening on http://{address} · reference {config.parity.reference} · candidates "
                   f"{candidates}"), soft_wrap=True)
    if not loopback(config.mirror.host):
        out.print(Text(f"note: {address} is reachable from other machines", style="cli.note"))
    # What is made so far lives as long as the process: the cyclic collector need not walk it
    # on every full collection, each a pause in the clients' answers.
    gc.freeze()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    for sig in signals:
        loop.add_signal_handler(sig, mirror.stop)
    code = 0
    try:
        while True:
            engine = make_engine(config, args.out, strict=args.strict, baseline=args.baseline, mirror=mirror)
            printer = HeadlessPrinter()
            engine.bus.subscribe(printer.apply)
            try:
                outcome = await engine.run()
            finally:
                printer.close()
            append_step_summary(engine.tracker, outcome.verdict, interrupted=outcome.interrupted)
            code = max(code, outcome.exit_code)
            if mirror.stopping or not mirror.rolled:
                break
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)
        await mirror.close()
    return code
