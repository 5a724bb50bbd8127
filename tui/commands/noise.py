"""`gauntlet noise suggest RUN_DIR`: the noise a run learned, as `ignore` lines to review and
commit, so the config says outright what the probe would otherwise learn at each run."""

from __future__ import annotations

import argparse
from pathlib import Path

from probes import InputError

from .common import run_dir


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    noise = sub.add_parser("noise", help="the noise a run learned from its reference")
    action = noise.add_subparsers(dest="noise_command", metavar="ACTION")
    action.required = True
    suggest = action.add_parser("suggest", help="print the ignore lines that make a run's learned noise explicit")
    suggest.add_argument("run_dir", type=Path)
    suggest.set_defaults(handler=suggest_command)


def suggest_command(args: argparse.Namespace) -> int:
    from probes import read_noise, suggest_ignore

    settled = read_noise(run_dir(args.run_dir))
    if settled is None or not any(e.paths for e in settled.endpoints):
        raise InputError(f"{args.run_dir}: the run learned no noise (it sampled none: set noise_samples in "
                         "[parity], or its reference answered every sample the same way)")
    # Plain print: the lines are pasted into a TOML file, so no wrapping and no markup.
    print("\n".join(suggest_ignore(settled)))
    return 0
