"""`gauntlet bundle split DIFF`: cut a large diff into component bundles under a size limit."""

from __future__ import annotations

import argparse
from pathlib import Path

from .common import err, pair, stdout


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    bundle = sub.add_parser("bundle", help="work with scrum bundles")
    action = bundle.add_subparsers(dest="bundle_command", metavar="ACTION")
    action.required = True
    split = action.add_parser("split", help="cut a large diff into component bundles under a size limit")
    split.add_argument("diff", type=Path)
    split.add_argument("--max-kb", type=float, default=60)
    split.add_argument("--group", action="append", default=[], metavar="NAME=GLOB",
                       help="put files matching GLOB in bundle NAME (repeatable; default: by top-level folder)")
    split.add_argument("--out", type=Path, help="folder for the bundles (default: <diff>_bundles beside it)")
    split.set_defaults(handler=split_command)


def split_command(args: argparse.Namespace) -> int:
    from probes import read_input, split_diff, write_atomic

    diff = read_input(args.diff, "a diff", errors="replace")
    groups = [pair(spec, "--group", "validatord='crates/validatord/*'") for spec in args.group]
    bundles, too_big = split_diff(diff, args.max_kb, groups, str(args.diff))
    out = args.out or args.diff.with_name(f"{args.diff.stem}_bundles")
    console = stdout()
    for b in bundles:
        write_atomic(out / f"{b.name}.diff", b.text)
        console.print(f"{b.name:<28} {b.size / 1024:7.1f} KB  {len(b.files):3d} files  → {out / (b.name + '.diff')}")
    for f in too_big:
        err(f"{f.path} alone is {f.size / 1024:.1f} KB, over --max-kb {args.max_kb:g}: it is a bundle of its own")
    return 1 if too_big else 0
