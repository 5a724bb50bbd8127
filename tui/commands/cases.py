"""`gauntlet cases from-openapi SPEC`, `cases from-har FILE` and `cases from-run RUN_DIR`: parity cases.

The cases file goes to `--out` (TOML or JSON Lines, as its extension says and a config will
read it), or to stdout so it can be piped; what was made and what could not be goes to the
terminal (stderr when stdout carries the file). A large contract gives thousands of cases:
past SHOWN_CASES the terminal gets progress, the table of classes (what each case breaks)
and a few cases of each, never a line per case unless `--verbose` asks for them.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.text import Text

from probes.core import neutralise

from .common import stderr, stdout

if TYPE_CHECKING:  # the generators (YAML, $ref resolution, schema checks) load only when a command runs
    from probes import GeneratedCase

SHOWN_CASES = 40  # more cases than this are shown as classes with examples, not one line each
EXAMPLES = 3  # cases shown per class
SHOWN_NOTES = 10  # notes beyond these are counted, not printed (--verbose prints them)
PROGRESS_FROM = 100  # operations: a contract this large reports its progress


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cases = sub.add_parser("cases", help="parity cases from an OpenAPI contract or from recorded traffic")
    source = cases.add_subparsers(dest="cases_command", metavar="SOURCE")
    source.required = True
    openapi = source.add_parser("from-openapi", help="a valid request per operation and an invalid one per "
                                                     "constraint of an OpenAPI 3.0/3.1 contract (YAML or JSON)")
    openapi.add_argument("spec", type=Path, help="the OpenAPI document")
    _output_options(openapi)
    openapi.add_argument("--base-path", metavar="PATH", default="",
                         help="start every path with PATH (default: none, paths are relative to the contract's "
                              "server and a target's URL ends with its server path, http://host:port/v2)")
    openapi.set_defaults(handler=from_openapi_command)
    har = source.add_parser("from-har", help="cases from recorded traffic (HAR 1.2), secrets dropped")
    har.add_argument("har", type=Path, help="the HAR file a browser or proxy exported")
    _output_options(har)
    har.add_argument("--keep-header", action="append", default=[], metavar="NAME",
                     help="keep this header although it is secret or the client's own (repeatable)")
    har.add_argument("--host", action="append", default=[], metavar="HOST",
                     help="only requests to this host (or host:port; repeatable)")
    har.set_defaults(handler=from_har_command)
    run = source.add_parser("from-run", help="the requests a (mirror) run recorded, secrets out, to replay in CI")
    run.add_argument("run_dir", type=Path, help="the run directory")
    _output_options(run)
    run.add_argument("--divergent", action="store_true",
                     help="every recorded request that diverged or could not be compared (default: one per way of "
                          "answering: every divergence class, every endpoint that matched)")
    run.set_defaults(handler=from_run_command)


def _output_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, help="write the cases file here, .toml or .jsonl (default: print it)")
    parser.add_argument("--format", choices=("toml", "jsonl"),
                        help="the format printed (default toml); with --out it must agree with the extension")
    parser.add_argument("--verbose", action="store_true", help="list every case and every note, however many")


def from_openapi_command(args: argparse.Namespace) -> int:
    from probes import InputError, from_openapi
    from probes.cases import output_format

    chosen = output_format(args.out, args.format)
    if args.base_path and not args.base_path.startswith("/"):
        raise InputError(f"--base-path {args.base_path}: a base path starts with '/' (/v2)")
    progress = _Progress(stderr() if args.out is None else stdout())
    result = from_openapi(args.spec, base_path=args.base_path, progress=progress)
    console = _emit(result.jsonl() if chosen == "jsonl" else result.toml(), args.out)
    console.print(Text(neutralise(
        f"{result.title} {result.version} (OpenAPI {result.openapi}): {result.operations} operation(s) → "
        f"{len(result.cases)} cases ({result.valid} valid, {len(result.cases) - result.valid} invalid); "
        f"{result.dropped} invalid request(s) dropped as in fact valid")))
    if result.server_path and not result.base_path:
        console.print(Text(neutralise(
            f"paths are relative to the contract's server path {result.server_path}: aim each target at it "
            f"(http://127.0.0.1:3100{result.server_path}) or give --base-path {result.server_path}")))
    _cases_table(console, result.cases, args.verbose)
    _notes(console, result.notes, args.verbose)
    return 0


def from_har_command(args: argparse.Namespace) -> int:
    from probes import from_har
    from probes.cases import output_format

    chosen = output_format(args.out, args.format)
    result = from_har(args.har, keep_headers=args.keep_header, hosts=args.host)
    console = _emit(result.jsonl() if chosen == "jsonl" else result.toml(), args.out)
    hosts = ", ".join(f"{host} ({n})" for host, n in result.hosts.items())
    console.print(Text(neutralise(f"{result.requests} request(s) → {len(result.cases)} cases; hosts: {hosts}")))
    if result.dropped_headers:
        console.print(Text(neutralise(f"headers left out: {', '.join(result.dropped_headers)}")))
    if result.redacted:
        console.print(Text(neutralise(f"values replaced by REDACTED: {', '.join(result.redacted)}")))
    _cases_table(console, result.cases, args.verbose)
    _notes(console, result.notes, args.verbose)
    return 0


def from_run_command(args: argparse.Namespace) -> int:
    from probes.cases import output_format
    from probes.mirror import cases_from_run

    from .common import run_dir

    chosen = output_format(args.out, args.format)
    result = cases_from_run(run_dir(args.run_dir), divergent=args.divergent)
    console = _emit(result.jsonl() if chosen == "jsonl" else result.toml(), args.out)
    console.print(Text(neutralise(f"{result.recorded} recorded request(s) → {len(result.cases)} cases"
                                  + (" (every divergent one)" if args.divergent else " (one per way of answering)"))))
    _case_lines(console, result.cases[:SHOWN_CASES] if not args.verbose else result.cases, "  ")
    if len(result.cases) > SHOWN_CASES and not args.verbose:
        console.print(Text(f"  … {len(result.cases) - SHOWN_CASES} more (--verbose lists every one)", style="cli.note"))
    return 0


class _Progress:
    """`operations: 130/520` at each quarter of a large contract, for a person watching."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.said = 0

    def __call__(self, done: int, total: int) -> None:
        quarter = done * 4 // total
        if total >= PROGRESS_FROM and quarter > self.said and done < total:
            self.said = quarter
            self.console.print(Text(f"operations: {done}/{total}"), style="cli.note")


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


def _cases_table(console: Console, cases: Sequence[GeneratedCase], verbose: bool) -> None:
    """A line per case; past SHOWN_CASES, the classes with their counts and a few cases each."""
    if verbose or len(cases) <= SHOWN_CASES:
        _case_lines(console, cases, "  ")
        return
    classes: dict[str, list[GeneratedCase]] = {}
    for case in cases:
        classes.setdefault(case.kind or "case", []).append(case)
    console.print(Text(f"{len(cases)} cases in {len(classes)} classes, {EXAMPLES} of each shown "
                       "(--verbose lists every one):"))
    width = max(len(kind) for kind in classes)
    for kind, members in classes.items():
        statuses = sorted({str(c.expect_status) for c in members if c.expect_status})
        console.print(Text(neutralise(f"  {kind:<{width}}  {len(members):>6}  {' '.join(statuses)}")))
        _case_lines(console, members[:EXAMPLES], "      ")


def _case_lines(console: Console, cases: Sequence[GeneratedCase], indent: str) -> None:
    width = max((len(c.name) for c in cases), default=0)
    for case in cases:
        status = str(case.expect_status) if case.expect_status else "   "
        console.print(Text(neutralise(f"{indent}{case.name:<{width}}  {status}  {case.why}")))


def _notes(console: Console, notes: Sequence[str], verbose: bool) -> None:
    shown = notes if verbose else notes[:SHOWN_NOTES]
    for note in shown:
        console.print(Text(neutralise(f"note: {note}"), style="cli.note"))
    if len(notes) > len(shown):
        console.print(Text(f"note: {len(notes) - len(shown)} more note(s) (--verbose prints every one)",
                           style="cli.note"))
