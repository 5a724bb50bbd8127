"""`gauntlet init [DIR]`: a starter gauntlet.toml from what the project has."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.text import Text

from probes.core import neutralise

from .common import pair, stdout

_STYLE = {"found": "cli.found", "guessed": "cli.guessed", "decide": "cli.decide", "wrote": "bold"}


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    init = sub.add_parser("init", help="write a starter gauntlet.toml from what a project has "
                                       "(smoke scripts, an OpenAPI contract, a Procfile, git history)")
    init.add_argument("directory", nargs="?", type=Path, default=Path("."), metavar="DIR",
                      help="the project (default: the current folder)")
    init.add_argument("--target", action="append", default=[], metavar="NAME=URL",
                      help="a runtime to probe (repeatable; the first is the reference)")
    init.add_argument("--layer", action="append", default=[], metavar="LAYER=GLOB",
                      help="smokes whose name or path matches GLOB go in LAYER (repeatable; first match wins)")
    init.add_argument("--git-range", metavar="A..B", help="the commits to review (default: since the latest tag, "
                                                          "else the last five)")
    init.add_argument("--reviewer", action="append", default=[], metavar="NAME=MODEL",
                      help="a scrum reviewer through the gateway (repeatable)")
    init.add_argument("--gateway", metavar="URL", help="the reviewers' OpenAI-compatible gateway")
    init.add_argument("--force", action="store_true", help="overwrite gauntlet.toml and its cases file")
    init.set_defaults(handler=init_command)


def init_command(args: argparse.Namespace) -> int:
    from probes import InitOptions, write_starter

    options = InitOptions(
        directory=args.directory,
        targets=[pair(t, "--target", "rust=http://127.0.0.1:3100") for t in args.target],
        layers=[pair(spec, "--layer", "Substrate='d*'") for spec in args.layer],
        git_range=args.git_range,
        reviewers=[pair(r, "--reviewer", "opus=claude-opus-4-7") for r in args.reviewer],
        gateway=args.gateway,
        force=args.force,
    )
    report = write_starter(options)
    console = stdout()
    lines = [("found", t) for t in report.found] + [("guessed", t) for t in report.guessed]
    lines += [("decide", t) for t in report.decide]
    lines.append(("wrote", ", ".join(str(p) for p in (report.config, report.cases_file) if p is not None)))
    for kind, text in lines:
        console.print(Text.assemble((f"{kind:<8}", _STYLE[kind]), neutralise(text)))
    console.print(Text(f"next    gauntlet check {report.config} && gauntlet run {report.config}"))
    return 0
