"""`gauntlet finding dismiss RUN_DIR ID`: put an answered scrum finding to rest in the findings
ledger, then judge the run again when the entry went to the run's own ledger."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.text import Text

from probes import InputError

from .common import iso_date, print_judgement, run_dir, stdout


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    finding = sub.add_parser("finding", help="scrum findings: dismiss one that was answered (a ledger with expiry)")
    action = finding.add_subparsers(dest="finding_command", metavar="ACTION")
    action.required = True
    dismiss = action.add_parser("dismiss", help="record a scrum finding as answered: shown dimmed, never counted")
    dismiss.add_argument("run_dir", type=Path)
    dismiss.add_argument("finding_id", metavar="ID", help="the finding's id (fnd:…, as summary.md and the pane show it)")
    dismiss.add_argument("--reason", required=True, help="why it needs no more review")
    dismiss.add_argument("--owner", required=True)
    dismiss.add_argument("--expires", type=iso_date, help="YYYY-MM-DD: after it the finding counts again")
    dismiss.add_argument("--ledger", type=Path, help="the findings ledger (default: the run's [scrum] findings_ignore)")
    dismiss.set_defaults(handler=dismiss_command)


def dismiss_command(args: argparse.Namespace) -> int:
    from probes import judge_run, record_dismissal, run_findings

    run = run_dir(args.run_dir)
    ledger = args.ledger
    if ledger is None:
        configured, _ = run_findings(run)
        if not configured:
            raise InputError("the run's config names no [scrum] findings_ignore file: pass --ledger FILE")
        ledger = Path(configured)
    row = record_dismissal(run, args.finding_id, ledger, reason=args.reason, owner=args.owner, expires=args.expires)
    out = stdout()
    out.print(Text.assemble(("dismissed ", "cli.ok"), f"{row.id}: {row.reason} (owner {row.owner}"
                            + (f", until {row.expires}" if row.expires else "") + f") → {ledger}"))
    if args.ledger is None:  # the run's own ledger: its verdict and reports follow the new entry
        print_judgement(judge_run(run), out)
    return 0
