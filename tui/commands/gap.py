"""`gauntlet gap add RUN_DIR CASE`: record a parity case's divergence as a known gap, then
judge the run again when the gap went to the run's own gaps file."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.text import Text

from probes import InputError

from .common import iso_date, print_judgement, run_dir, stdout


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    gap = sub.add_parser("gap", help="known gaps: divergences documented and accepted for now")
    action = gap.add_subparsers(dest="gap_command", metavar="ACTION")
    action.required = True
    add = action.add_parser("add", help="record a parity case's divergence as a known gap")
    add.add_argument("run_dir", type=Path)
    add.add_argument("case")
    add.add_argument("--note", required=True, help="what diverges and the fix")
    add.add_argument("--owner", required=True)
    add.add_argument("--id", dest="gap_id", help="the gap's id (default: <case>-<kind>; a case also slower gets a "
                     "second gap for its time, <id>-latency or <case>-latency)")
    add.add_argument("--expires", type=iso_date, help="YYYY-MM-DD: after it the gap covers nothing")
    add.add_argument("--cases", metavar="GLOB", help="the cases it covers (default: every case diverging the same "
                     "way, and a slowdown in CASE alone, since every slowdown is one class)")
    add.add_argument("--gaps", type=Path, help="the known-gaps file (default: the run's [verdict] known_gaps)")
    add.add_argument("--tracker", type=Path, help="a Markdown decisions tracker (default: [verdict] tracker)")
    add.set_defaults(handler=add_command)


def add_command(args: argparse.Namespace) -> int:
    from probes import gaps_path_of_run, judge_run, record_gap

    run = run_dir(args.run_dir)
    gaps_file, tracker = args.gaps, args.tracker
    if gaps_file is None or tracker is None:
        try:
            configured_gaps, configured_tracker = gaps_path_of_run(run)
        except ValueError as exc:
            raise InputError(str(exc)) from None
        gaps_file = gaps_file or configured_gaps
        tracker = tracker or configured_tracker
    if gaps_file is None:
        raise InputError("the run's config names no [verdict] known_gaps file: pass --gaps FILE")
    gaps = record_gap(run, args.case, gaps_file, note=args.note, owner=args.owner, gap_id=args.gap_id,
                      expires=args.expires, tracker=tracker, cases=args.cases)
    out = stdout()
    for gap in gaps:  # the cases glob each covers, the kind and what
        out.print(Text.assemble(("recorded ", "cli.ok"), f"gap {gap.id}: {gap.case} {gap.kind} "
                                f"{', '.join(gap.classes or gap.fingerprints)} → {gaps_file}"))
    if tracker is not None:
        out.print(f"added an _open_ row to {tracker}" if len(gaps) == 1
                  else f"added {len(gaps)} _open_ rows to {tracker}")
    if args.gaps is None:  # the run's own gaps file: its verdict follows the new entry
        print_judgement(judge_run(run), out)
    return 0
