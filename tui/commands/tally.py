"""`gauntlet tally REVIEWS --diff DIFF`: the scrum's tally over saved reviews, offline."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rich.console import Console
from rich.text import Text

from .common import pair


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    tally = sub.add_parser("tally", help="re-tally saved reviewer outputs offline")
    tally.add_argument("reviews", nargs="+", type=Path, help="review files, or folders of *.md reviews")
    tally.add_argument("--diff", type=Path, required=True, help="the bundle's diff")
    tally.add_argument("--bundle", help="the bundle's name (default: the diff's file name)")
    tally.add_argument("--lineage", action="append", default=[], metavar="REVIEWER=LINEAGE",
                       help="the model family of a reviewer (default: guessed from its name)")
    tally.add_argument("--line-tolerance", type=int, default=3)
    tally.add_argument("--min-tokens-out", type=int, default=100)
    tally.add_argument("--out", type=Path, help="write tally.json into this folder")
    tally.set_defaults(handler=tally_command)


def tally_command(args: argparse.Namespace) -> int:
    from probes import tally_files, write_atomic
    from probes.scrum import bundle_table
    from themes.palette import CONSOLE_THEME

    lineages = dict(pair(spec, "--lineage", "opus2=anthropic") for spec in args.lineage)
    result, board = tally_files(args.reviews, args.diff, args.bundle, lineages, tolerance=args.line_tolerance,
                                min_tokens_out=args.min_tokens_out)
    console = Console(highlight=False, soft_wrap=True, theme=CONSOLE_THEME)  # the table's styles name meanings
    console.print(bundle_table(board))
    console.print(Text(result.line(), style="bold"))
    if args.out:
        write_atomic(args.out / "tally.json", json.dumps(result.to_json(), indent=2, ensure_ascii=False) + "\n")
        console.print(f"wrote {args.out / 'tally.json'}")
    return 0
