"""`gauntlet cases from-openapi SPEC` and `gauntlet cases from-har FILE`: parity cases.

The cases file goes to `--out`, or to stdout so it can be piped; what was made and what
could not be goes to the terminal (stderr when stdout carries the file).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.text import Text

from probes.core import neutralise

from .common import stderr, stdout

if TYPE_CHECKING:  # the generators (YAML, $ref resolution, TOML) load only when a command runs
    from probes import GeneratedCase


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cases = sub.add_parser("cases", help="parity cases from an OpenAPI contract or from recorded traffic")
    source = cases.add_subparsers(dest="cases_command", metavar="SOURCE")
    source.required = True
    openapi = source.add_parser("from-openapi", help="a valid request per operation and an invalid one per "
                                                     "constraint of an OpenAPI 3.0/3.1 contract (YAML or JSON)")
    openapi.add_argument("spec", type=Path, help="the OpenAPI document")
    openapi.add_argument("--out", type=Path, help="write the cases file here (default: print it)")
    openapi.set_defaults(handler=from_openapi_command)
    har = source.add_parser("from-har", help="cases from recorded traffic (HAR 1.2), secrets dropped")
    har.add_argument("har", type=Path, help="the HAR file a browser or proxy exported")
    har.add_argument("--out", type=Path, help="write the cases file here (default: print it)")
    har.add_argument("--keep-header", action="append", default=[], metavar="NAME",
                     help="keep this header although it is secret or the client's own (repeatable)")
    har.add_argument("--host", action="append", default=[], metavar="HOST",
                     help="only requests to this host (or host:port; repeatable)")
    har.set_defaults(handler=from_har_command)


def from_openapi_command(args: argparse.Namespace) -> int:
    from probes import from_openapi

    result = from_openapi(args.spec)
    console = _emit(result.toml(), args.out)
    console.print(Text(neutralise(
        f"{result.title} {result.version} (OpenAPI {result.openapi}): {result.operations} operation(s) → "
        f"{len(result.cases)} cases ({result.valid} valid, {len(result.cases) - result.valid} invalid)")))
    _cases_table(console, result.cases)
    _notes(console, result.notes)
    return 0


def from_har_command(args: argparse.Namespace) -> int:
    from probes import from_har

    result = from_har(args.har, keep_headers=args.keep_header, hosts=args.host)
    console = _emit(result.toml(), args.out)
    hosts = ", ".join(f"{host} ({n})" for host, n in result.hosts.items())
    console.print(Text(neutralise(f"{result.requests} request(s) → {len(result.cases)} cases; hosts: {hosts}")))
    if result.dropped_headers:
        console.print(Text(neutralise(f"headers left out: {', '.join(result.dropped_headers)}")))
    if result.redacted:
        console.print(Text(neutralise(f"values replaced by REDACTED: {', '.join(result.redacted)}")))
    _cases_table(console, result.cases)
    _notes(console, result.notes)
    return 0


def _emit(text: str, out: Path | None) -> Console:
    """Write the file (or print it); the console the summary goes to."""
    if out is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return stderr()
    from probes import InputError, write_atomic

    try:
        write_atomic(out, text)
    except OSError as exc:
        raise InputError(f"--out {out}: {exc.strerror or exc}") from None
    console = stdout()
    console.print(Text(f"wrote {out}"))
    return console


def _cases_table(console: Console, cases: tuple[GeneratedCase, ...]) -> None:
    width = max((len(c.name) for c in cases), default=0)
    for case in cases:
        status = str(case.expect_status) if case.expect_status else "   "
        console.print(Text(neutralise(f"  {case.name:<{width}}  {status}  {case.why}")))


def _notes(console: Console, notes: tuple[str, ...]) -> None:
    for note in notes:
        console.print(Text(neutralise(f"note: {note}"), style="cli.note"))
