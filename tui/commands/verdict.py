"""`gauntlet verdict RUN_DIR`: judge a finished run again from its events and the gaps file as it is now."""

from __future__ import annotations

import argparse
from pathlib import Path

from .common import print_judgement, stdout


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    verdict = sub.add_parser("verdict", help="judge a finished run again from its events and the gaps file")
    verdict.add_argument("run_dir", type=Path)
    verdict.add_argument("--strict", action="store_true", help="known gaps fail (exit 1)")
    verdict.set_defaults(handler=verdict_command)


def verdict_command(args: argparse.Namespace) -> int:
    from probes import judge_run

    judgement = judge_run(args.run_dir, strict=args.strict)
    print_judgement(judgement, stdout())
    return judgement.exit_code
