"""`gauntlet stack write|check|up`: the persistent-stack TOML, its services checked, brought up."""

from __future__ import annotations

import argparse
import asyncio
import signal
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.text import Text

import probes  # its config loader loads every phase: looked up when a command runs
from probes import GauntletError, InputError

if TYPE_CHECKING:
    from probes.stack import RunningService

from .common import EXIT_INTERRUPTED, config_arg, err, stdout


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    stack = sub.add_parser("stack", help="the persistent-stack TOML: write, check, bring up")
    action = stack.add_subparsers(dest="stack_command", metavar="ACTION")
    action.required = True
    write = action.add_parser("write", help="merge the config's [stack] services into [stack] output")
    config_arg(write)
    write.add_argument("--output", type=Path, help="the stack file (default: [stack] output)")
    write.set_defaults(handler=write_command)
    check = action.add_parser("check", help="per service: can it start, is its port taken, does it answer")
    check.add_argument("file", type=Path)
    check.set_defaults(handler=check_command)
    up = action.add_parser("up", help="start every service, wait for health, stop all on Ctrl-C")
    up.add_argument("file", type=Path)
    up.add_argument("--logs", type=Path, default=Path("stack-logs"), help="one log per service here")
    up.set_defaults(handler=up_command)


def write_command(args: argparse.Namespace) -> int:
    from probes import stack_document, write_merged

    config = probes.load_config(args.config)
    target = args.output or config.stack.output
    if target is None:
        raise GauntletError(f"{args.config}: [stack] output is not set: pass --output FILE")
    if not config.stack.services:
        raise GauntletError(f"{args.config}: no [[stack.service]] to write")
    merged = write_merged(target, stack_document(config.stack, config.workdir, f"gauntlet stack write {args.config}"))
    stdout().print(f"wrote {target}: {len(merged.get('services', {}))} services "
                   f"({', '.join(s.name for s in config.stack.services)} from this config)")
    return 0


def _document(path: Path) -> dict[str, Any]:
    from probes import read_stack

    if not path.is_file():
        raise InputError(f"{path}: no such stack file")
    return read_stack(path)


def check_command(args: argparse.Namespace) -> int:
    from probes import check_services

    checks = asyncio.run(check_services(_document(args.file)))
    out = stdout()
    for c in checks:
        port = "" if c.port is None else f"port {c.port} {'taken' if c.port_taken else 'free'}"
        out.print(Text.assemble((f"{'ok' if c.ok else 'FAIL':<5}", "cli.ok" if c.ok else "cli.error"),
                                f"{c.name:<20} {c.program_note}; {port}; health {c.health_note}"))
    return 0 if all(c.ok for c in checks) else 1


def up_command(args: argparse.Namespace) -> int:
    return asyncio.run(_up(_document(args.file), args.logs, stdout()))


async def _up(document: Mapping[str, Any], logs: Path, out: Console) -> int:
    """Bring every service up, then hold them until a signal; a signal while they come up
    aborts (bring_up stops what it started)."""
    from probes import StackUpError, bring_up, stop_all

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    main_task = asyncio.current_task()
    assert main_task is not None
    services: list[RunningService] = []

    def interrupt() -> None:
        stop.set() if services else main_task.cancel()

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(sig, interrupt)
    try:
        services = await bring_up(document, logs, lambda name, took: out.print(f"{name} healthy in {took:.1f}s"))
    except StackUpError as exc:
        err(f"stack up: {exc}")
        return 1
    except asyncio.CancelledError:
        err("stack up: interrupted; every service started so far was stopped")
        return EXIT_INTERRUPTED
    out.print(Text(f"stack up: {len(services)} services healthy; Ctrl-C stops them", style="cli.ok"))
    await stop.wait()
    await stop_all(services)
    out.print(f"stopped {len(services)} services")
    return 0
