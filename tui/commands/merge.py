"""`gauntlet merge RUN_DIR… --out DIR`: the runs of `--shard K/N` (one machine each, e.g. the
jobs of a CI matrix) joined into one run directory and one verdict."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.text import Text

from probes.core import neutralise

from .common import append_step_summary, baseline_option, print_judgement, stdout


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    merge = sub.add_parser("merge", help="join the shards' runs (--shard K/N) into one run and one verdict")
    merge.add_argument("run_dirs", nargs="+", type=Path, metavar="RUN_DIR", help="a shard's run directory")
    merge.add_argument("--out", type=Path, required=True, help="write the merged run directory under this folder")
    merge.add_argument("--strict", action="store_true", help="known gaps fail (exit 1)")
    baseline_option(merge)
    merge.set_defaults(handler=merge_command)


def merge_command(args: argparse.Namespace) -> int:
    from probes import merge_runs

    merged = merge_runs(args.run_dirs, args.out, strict=args.strict, baseline=args.baseline)
    out = stdout()
    out.print(Text.assemble(("gauntlet merge ", "bold"), (neutralise(merged.name), "run.name"),
                            f"  {len(merged.shards)} shards → {merged.run_dir}"))
    for note in merged.notes:
        out.print(Text(f"  {neutralise(note)}", style="dim"))
    out.print(Text(merged.headline, style="bold"))
    print_judgement(merged.judgement, out)
    judgement = merged.judgement
    append_step_summary(judgement.tracker, judgement.verdict, interrupted=False)
    return judgement.exit_code
