"""`gauntlet report RUN_DIR`: a past or merged run as one self-contained HTML page, or its
verdict as Markdown cut to fit a CI summary or a pull request's comment."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.text import Text

from probes import InputError, write_atomic

from .common import run_dir, stdout

PR_COMMENT_CHARS = 65_536  # what GitHub keeps of a pull request's comment


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    report = sub.add_parser("report", help="a run as one self-contained HTML page (or Markdown that fits a CI summary)")
    report.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    report.add_argument("--out", type=Path, metavar="FILE",
                        help="write here (default: RUN_DIR/report.html; with --markdown, standard output)")
    report.add_argument("--markdown", action="store_true", help="the verdict as Markdown instead of the page")
    report.add_argument("--max-chars", type=positive, metavar="N",
                        help=f"with --markdown: cut to N characters, classes before cases (a PR comment holds "
                             f"{PR_COMMENT_CHARS:,})")
    report.set_defaults(handler=report_command)


def positive(text: str) -> int:
    try:
        value = int(text.replace(",", "").replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of characters, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of characters, got {text!r}")
    return value


def report_command(args: argparse.Namespace) -> int:
    from probes.verdict import REPORT_HTML, run_report

    if args.max_chars is not None and not args.markdown:
        raise InputError("--max-chars cuts the Markdown summary: give --markdown with it")
    text = run_report(run_dir(args.run_dir), markdown=args.markdown, limit=args.max_chars)
    target = args.out if args.out is not None or args.markdown else args.run_dir / REPORT_HTML
    if target is None or str(target) == "-":
        sys.stdout.write(text)
        return 0
    try:
        write_atomic(target, text)
    except OSError as exc:
        raise InputError(f"--out {target}: cannot write there: {exc.strerror or exc}") from None
    stdout().print(Text(f"wrote {target} ({len(text.encode()) / 1024:,.0f} KB)"))
    return 0
