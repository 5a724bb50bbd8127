"""`gauntlet twins`: the demo's twin reference services on loopback, until interrupted."""

from __future__ import annotations

import argparse
import asyncio
import signal

from .common import EXIT_USAGE, err


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    twins = sub.add_parser("twins", help="serve the demo's twin reference services on loopback")
    twins.add_argument("--rust-port", type=int, default=3100)
    twins.add_argument("--go-port", type=int, default=4110)
    twins.add_argument("--only", choices=("rust", "go"), help="serve one wire shape only")
    twins.add_argument("--latency-ms", action="append", default=[], metavar="MS|TWIN=MS[,TWIN=MS]",
                       help="answer each request after this long (models a service's own I/O): "
                            "`10` for every twin, `rust=10,go=15` for each its own (repeatable)")
    twins.set_defaults(handler=twins_command)


def twins_command(args: argparse.Namespace) -> int:
    from probes import parse_latency

    ports = {"rust": args.rust_port, "go": args.go_port}
    try:
        latency = parse_latency(args.latency_ms)
    except ValueError as exc:
        err(f"gauntlet twins: {exc}")
        return EXIT_USAGE
    return asyncio.run(_serve({shape: ports[shape] for shape in ([args.only] if args.only else ports)}, latency))


async def _serve(ports: dict[str, int], latency: dict[str, float]) -> int:
    """Serve until a signal; one line says when every server is ready (and on which port)."""
    from probes import server_url, start_twins

    servers = await start_twins(ports, latency=latency)
    print("twins ready: " + " · ".join(f"{s} {server_url(srv)}" for s, srv in servers.items()), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    for server in servers.values():
        server.close()
        await server.wait_closed()
    return 0
