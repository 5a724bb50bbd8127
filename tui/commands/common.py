"""What several commands share: the consoles, the error line, argument helpers, exit codes."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.text import Text

from probes import InputError
from probes.core import neutralise
# The exit codes, for every command.
from probes.core import EXIT_INTERNAL as EXIT_INTERNAL
from probes.core import EXIT_INTERRUPTED as EXIT_INTERRUPTED
from themes.palette import CONSOLE_THEME

if TYPE_CHECKING:
    from probes import Judgement
    from probes.verdict import Verdict, VerdictTracker

EXIT_USAGE = 2


def stdout() -> Console:
    """The command's output; its styles name meanings of the palette (NO_COLOR honoured)."""
    return Console(highlight=False, soft_wrap=True, theme=CONSOLE_THEME)


def stderr() -> Console:
    return Console(stderr=True, highlight=False, soft_wrap=True, theme=CONSOLE_THEME)


def err(message: str) -> None:
    stderr().print(Text(message, style="cli.error"))


def config_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", nargs="?", default="gauntlet.toml",
                        help="the gauntlet config (default: ./gauntlet.toml)")


def run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--headless", action="store_true",
                        help="print plain progress instead of opening the TUI")
    parser.add_argument("--out", type=Path, help="write the run directory under this folder")
    parser.add_argument("--strict", action="store_true", help="known gaps fail the run (exit 1)")
    parser.add_argument("--force-oversize", action="store_true",
                        help="send scrum bundles over max_kb anyway (also SCRUM_FORCE_OVERSIZE=1)")
    baseline_option(parser)
    theme_option(parser)


def baseline_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--baseline", type=Path, metavar="RUN_DIR",
                        help="a previous run's directory (e.g. the last main-branch artifact) to judge recurring "
                             "findings, regressed gaps and changed classes against, in place of the history")


def append_step_summary(tracker: VerdictTracker, verdict: Verdict, *, interrupted: bool) -> None:
    """On GitHub Actions (GITHUB_STEP_SUMMARY set), the verdict as Markdown appended to the
    step's summary, cut to what the summary still holds; a failure is said, never fatal."""
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if not path:
        return
    from probes.verdict import GITHUB_STEP_SUMMARY_BYTES, fitted_markdown

    try:
        room = GITHUB_STEP_SUMMARY_BYTES - (os.path.getsize(path) if os.path.exists(path) else 0) - 1
        text = fitted_markdown(tracker, verdict, limit=room, measure=lambda s: len(s.encode()), interrupted=interrupted)
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(text)
    except (InputError, OSError) as exc:
        err(f"gauntlet: GITHUB_STEP_SUMMARY {path}: the verdict was not added: {exc}")


def theme_option(parser: argparse.ArgumentParser) -> None:
    from themes import THEME_NAMES

    parser.add_argument("--theme", choices=THEME_NAMES, help="the TUI's theme (remembered)")


def interactive(args: argparse.Namespace) -> bool:
    """The app opens only on a terminal, and never under --headless."""
    return not getattr(args, "headless", False) and sys.stdout.isatty() and sys.stdin.isatty()


def pair(spec: str, flag: str, example: str) -> tuple[str, str]:
    """`NAME=VALUE` from the command line, or an error naming the flag and showing one that works."""
    name, sep, value = spec.partition("=")
    if not sep or not name.strip() or not value.strip():
        raise InputError(f"{flag} {spec!r}: expected NAME=VALUE, e.g. {flag} {example}")
    return name.strip(), value.strip()


def iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date like 2026-06-01, got {text!r}") from None


def run_dir(path: Path) -> Path:
    """A finished or running run's directory, or an error saying it is not one."""
    if not (path / "events.jsonl").is_file():
        raise InputError(f"{path}: not a run directory (no events.jsonl)")
    return path


def print_judgement(judgement: Judgement, out: Console) -> None:
    """A run judged again: the verdict, the files rewritten, each reason."""
    v = judgement.verdict
    written = (f" — rewrote {judgement.run_dir / 'verdict.json'} and verdict.md" if judgement.written
               else " — the run is still going: its own writer will write the verdict files")
    out.print(Text.assemble((v.verdict, "bold"), "" if v.complete else " (incomplete)", written,
                            f" (known gaps: {judgement.gaps_file})" if judgement.gaps_file else ""))
    for reason in v.reasons:
        out.print(Text(f"  - {neutralise(reason)}"))
