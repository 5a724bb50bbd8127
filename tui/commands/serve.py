"""`gauntlet serve [CONFIG | RUN_DIR]`: the live app in a browser, one app per tab (textual-serve).

What a tab runs is `gauntlet watch` of one run directory, never a run of its own: a reload,
a second tab or a colleague's browser must not run the stack a second time (its ports, its
bring-up, the scrum's tokens). Given a CONFIG, the server starts the one run of it itself,
prints its plain progress where it was started, and every tab watches that run; ending the
server interrupts the run (its verdict says so) and exits as the run did. Given a RUN_DIR,
every tab watches it (following it while another process writes it) and the server exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import secrets
import signal
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import probes  # its config loader loads every phase: looked up when a command runs
from probes import InputError

from .common import run_dir, theme_option
from .run import make_engine

if TYPE_CHECKING:
    from probes import Engine

    from ..serve import GauntletServer

DEFAULT_PORT = 8000
SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
WILDCARDS = ("0.0.0.0", "::", "")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = sub.add_parser(
        "serve", help="the live TUI in a browser: one run (CONFIG) or a run directory, watched by every tab",
        description="Serve the app to browsers (textual-serve). Each tab watches one run: with CONFIG the "
                    "server starts that run once (its progress printed here) and every tab watches it, so "
                    "a reload or a second viewer never runs the stack twice; ending the server (ctrl+c, "
                    "SIGTERM, SIGHUP) interrupts the run and ends every tab's app. With RUN_DIR every tab "
                    "watches that directory. Loopback only unless --host names another address, which "
                    "needs a token (--token, or one generated and printed once in the URL).")
    serve.add_argument("target", nargs="?", default="gauntlet.toml", type=Path, metavar="CONFIG|RUN_DIR",
                       help="a config to run once and watch, or a run directory to watch (default: ./gauntlet.toml)")
    serve.add_argument("--port", type=port_number, default=DEFAULT_PORT,
                       help=f"the port (default {DEFAULT_PORT}; 0 for any free one, printed)")
    serve.add_argument("--host", default="127.0.0.1",
                       help="the address to listen on (default 127.0.0.1); any other needs a token")
    serve.add_argument("--token", help="a secret every request must carry (the URL's ?token=); generated when "
                                       "--host is not loopback and none is given")
    serve.add_argument("--out", type=Path, help="with CONFIG: write the run directory under this folder")
    theme_option(serve)
    serve.set_defaults(handler=serve_command)


def port_number(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port from 0 to 65535, got {text!r}")
    return port


def serve_command(args: argparse.Namespace) -> int:
    from ..serve import is_loopback

    if args.token is not None and not args.token.strip():
        raise InputError("--token: empty; give a secret, or leave --token out to have one generated")
    token = args.token or (None if is_loopback(args.host) else secrets.token_urlsafe(18))
    target: Path = args.target
    config = None if target.is_dir() else probes.load_config(target)
    if config is None:
        run_dir(target)  # a directory must be a run's
    with bind(args.host, args.port) as sock:
        engine = None if config is None else make_engine(config, args.out)
        watched = target if engine is None else engine.run_dir.path
        return asyncio.run(serve(sock, watched, engine, token=token, theme=args.theme))


def bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound before anything is served: a port in use or an address
    not of this machine is said here, and port 0 becomes the port the URL names."""
    try:
        family, _, _, _, address = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM,
                                                      flags=socket.AI_PASSIVE)[0]
    except socket.gaierror as exc:
        raise InputError(f"--host {host}: {exc.strerror}") from None
    try:
        return socket.create_server(address, family=family)
    except OSError as exc:
        hint = " (another gauntlet serve? --port 0 picks a free port)" if exc.errno == errno.EADDRINUSE else ""
        raise InputError(f"cannot listen on {host}:{port}: {exc.strerror}{hint}") from None


def page_url(host: str, port: int, token: str | None) -> str:
    """What to open: a wildcard address is reached by this machine's name."""
    name = socket.gethostname() if host in WILDCARDS else host
    name = f"[{name}]" if ":" in name else name
    return f"http://{name}:{port}/" + (f"?token={token}" if token else "")


async def serve(sock: socket.socket, watched: Path, engine: Engine | None, *, token: str | None,
                theme: str | None) -> int:
    """Serve until SIGINT, SIGTERM or SIGHUP; then end the run and every tab's app at once."""
    from aiohttp import web

    from ..headless import HeadlessPrinter
    from ..serve import GauntletServer, quiet_logs

    host, port = sock.getsockname()[:2]
    argv = [sys.executable, "-m", "tui.cli", "watch", str(watched), *(["--theme", theme] if theme else [])]
    server = GauntletServer(argv, title=f"gauntlet watch {watched}", port=port, token=token)
    quiet_logs()
    loop = asyncio.get_running_loop()
    ending = asyncio.Event()
    for sig in SIGNALS:
        loop.add_signal_handler(sig, ending.set)
    runner = web.AppRunner(await server._make_app(), handle_signals=False, access_log=None,
                           shutdown_timeout=1.0)
    await runner.setup()
    site = web.SockSite(runner, sock)
    await site.start()
    announce(server, host, watched, engine)
    printer = None
    run = None
    if engine is not None:
        printer = HeadlessPrinter()
        engine.bus.subscribe(printer.apply)
        run = asyncio.ensure_future(engine.run())
        run.add_done_callback(lambda _: None if ending.is_set() else print(
            f"gauntlet serve: the run is over; still serving {watched} until ctrl+c", flush=True))
    try:
        await ending.wait()
        if engine is not None:
            engine.interrupt()
        await site.stop()
        await server.close()
        await runner.cleanup()
        return 0 if run is None else (await run).exit_code
    finally:
        if printer is not None:
            printer.close()
        for sig in SIGNALS:
            loop.remove_signal_handler(sig)


def announce(server: GauntletServer, host: str, watched: Path, engine: Engine | None) -> None:
    what = f"running {engine.config.path} into {watched}" if engine is not None else f"serving {watched}"
    print(f"gauntlet serve: {page_url(host, server.port, server.token)} — {what}, watched in every browser "
          "tab; ctrl+c ends the server", flush=True)
