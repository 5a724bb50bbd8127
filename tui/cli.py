"""The `gauntlet` command line.

Bad input never ends in a traceback: GauntletError (and its ConfigError) become a message
naming what and where, with exit code 2. Textual is imported only by the commands that
open the app, so headless commands start fast.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.text import Text

from probes.config import Config, load_config, preflight
from probes.errors import ConfigError, GauntletError

if TYPE_CHECKING:  # the engine (HTTP client, runners) loads only for commands that run one
    from probes.engine import Engine, RunOutcome
    from probes.judge import Judgement

EXIT_USAGE = 2
EXIT_INTERNAL = 3
PHASE_CHOICES = ("smokes", "scrum", "parity")
DEMO_CONFIG = "demo.toml"


def sample_configs_dir() -> Path:
    """sample_configs/ in a checkout, or its copy inside an installed wheel."""
    import probes

    packaged = Path(probes.__file__).parent / "_sample_configs"
    return packaged if packaged.is_dir() else Path(probes.__file__).parent.parent / "sample_configs"


def _stderr() -> Console:
    return Console(stderr=True, highlight=False, soft_wrap=True)


def _err(message: str) -> None:
    _stderr().print(Text(message, style="bold red"))


def _config_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", nargs="?", default="gauntlet.toml",
                        help="the gauntlet config (default: ./gauntlet.toml)")


def _run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--headless", action="store_true",
                        help="print plain progress instead of opening the TUI")
    parser.add_argument("--out", type=Path, help="write the run directory under this folder")
    parser.add_argument("--strict", action="store_true", help="known gaps fail the run (exit 1)")
    parser.add_argument("--force-oversize", action="store_true",
                        help="send scrum bundles over max_kb anyway (also SCRUM_FORCE_OVERSIZE=1)")
    _theme_option(parser)


def _theme_option(parser: argparse.ArgumentParser) -> None:
    from themes import THEME_NAMES

    parser.add_argument("--theme", choices=THEME_NAMES, help="the TUI's theme (remembered)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gauntlet",
        description="A production-readiness gauntlet over a service stack built twice.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    demo = sub.add_parser("demo", help="run the whole gauntlet on the embedded default, offline")
    _run_options(demo)

    run = sub.add_parser("run", help="run every phase the config has")
    _config_arg(run)
    _run_options(run)
    run.add_argument("--only", action="append", choices=PHASE_CHOICES, default=[],
                     help="run only this phase (repeatable)")
    run.add_argument("--skip", action="append", choices=PHASE_CHOICES, default=[],
                     help="skip this phase (repeatable)")

    smokes = sub.add_parser("smokes", help="run the smoke chain only")
    _config_arg(smokes)
    _run_options(smokes)

    scrum = sub.add_parser("scrum", help="run the per-component review scrum only")
    _config_arg(scrum)
    _run_options(scrum)

    tally_cmd = sub.add_parser("tally", help="re-tally saved reviewer outputs offline")
    tally_cmd.add_argument("reviews", nargs="+", type=Path, help="review files, or folders of *.md reviews")
    tally_cmd.add_argument("--diff", type=Path, required=True, help="the bundle's diff")
    tally_cmd.add_argument("--bundle", help="the bundle's name (default: the diff's file name)")
    tally_cmd.add_argument("--lineage", action="append", default=[], metavar="REVIEWER=LINEAGE",
                           help="the model family of a reviewer (default: guessed from its name)")
    tally_cmd.add_argument("--line-tolerance", type=int, default=3)
    tally_cmd.add_argument("--min-tokens-out", type=int, default=100)
    tally_cmd.add_argument("--out", type=Path, help="write tally.json into this folder")

    bundle = sub.add_parser("bundle", help="work with scrum bundles")
    bundle_sub = bundle.add_subparsers(dest="bundle_command", metavar="ACTION")
    bundle_sub.required = True
    split_cmd = bundle_sub.add_parser("split", help="cut a large diff into component bundles under a size limit")
    split_cmd.add_argument("diff", type=Path)
    split_cmd.add_argument("--max-kb", type=float, default=60)
    split_cmd.add_argument("--group", action="append", default=[], metavar="NAME=GLOB",
                           help="put files matching GLOB in bundle NAME (repeatable; default: by top-level folder)")
    split_cmd.add_argument("--out", type=Path, help="folder for the bundles (default: <diff>_bundles beside it)")

    verdict_cmd = sub.add_parser("verdict", help="judge a finished run again from its events and the gaps file")
    verdict_cmd.add_argument("run_dir", type=Path)
    verdict_cmd.add_argument("--strict", action="store_true", help="known gaps fail (exit 1)")

    gap = sub.add_parser("gap", help="known gaps: divergences documented and accepted for now")
    gap_sub = gap.add_subparsers(dest="gap_command", metavar="ACTION")
    gap_sub.required = True
    gap_add = gap_sub.add_parser("add", help="record a parity case's divergence as a known gap")
    gap_add.add_argument("run_dir", type=Path)
    gap_add.add_argument("case")
    gap_add.add_argument("--note", required=True, help="what diverges and the fix")
    gap_add.add_argument("--owner", required=True)
    gap_add.add_argument("--id", dest="gap_id", help="the gap's id (default: <case>-<kind>)")
    gap_add.add_argument("--expires", type=_iso_date, help="YYYY-MM-DD: after it the gap covers nothing")
    gap_add.add_argument("--gaps", type=Path, help="the known-gaps file (default: the run's [verdict] known_gaps)")
    gap_add.add_argument("--tracker", type=Path, help="a Markdown decisions tracker (default: [verdict] tracker)")

    stack = sub.add_parser("stack", help="the persistent-stack TOML: write, check, bring up")
    stack_sub = stack.add_subparsers(dest="stack_command", metavar="ACTION")
    stack_sub.required = True
    stack_write = stack_sub.add_parser("write", help="merge the config's [stack] services into [stack] output")
    _config_arg(stack_write)
    stack_write.add_argument("--output", type=Path, help="the stack file (default: [stack] output)")
    stack_check = stack_sub.add_parser("check", help="per service: can it start, is its port taken, does it answer")
    stack_check.add_argument("file", type=Path)
    stack_up = stack_sub.add_parser("up", help="start every service, wait for health, stop all on Ctrl-C")
    stack_up.add_argument("file", type=Path)
    stack_up.add_argument("--logs", type=Path, default=Path("stack-logs"), help="one log per service here")

    parity = sub.add_parser("parity", help="run the cross-runtime parity probe only")
    _config_arg(parity)
    _run_options(parity)
    parity.add_argument("--case", action="append", default=[], metavar="NAME",
                        help="probe only this case (repeatable) and show its differences")

    check = sub.add_parser("check", help="validate a config and list every problem")
    _config_arg(check)

    watch = sub.add_parser("watch", help="follow a run in progress (read-only), or replay a finished one")
    watch.add_argument("run_dir", type=Path)
    watch.add_argument("--no-follow", action="store_true", help="replay what is there and stop")
    _theme_option(watch)

    diff = sub.add_parser("diff", help="open a stored parity diff from an earlier run (no servers needed)")
    diff.add_argument("run_dir", type=Path)
    diff.add_argument("case")
    diff.add_argument("--target", help="the candidate facing the reference (default: the first)")
    diff.add_argument("--headless", action="store_true", help="print a side-by-side rendering instead")
    _theme_option(diff)

    history = sub.add_parser("history", help="past runs: verdicts, smokes, findings, parity, trend")
    history.add_argument("where", nargs="?", default=None, type=Path,
                         help="a config (its out_dir) or an out dir (default: ./gauntlet.toml's, else ./gauntlet-runs)")
    history.add_argument("--last", type=int, default=20, help="how many runs (default 20)")
    history.add_argument("--rebuild", action="store_true", help="recreate history.sqlite from the run directories")

    compare_cmd = sub.add_parser("compare", help="what changed between two runs")
    compare_cmd.add_argument("run_a", type=Path, help="the earlier run directory")
    compare_cmd.add_argument("run_b", type=Path, help="the later run directory")

    twins = sub.add_parser("twins", help="serve the demo's twin reference services on loopback")
    twins.add_argument("--rust-port", type=int, default=3100)
    twins.add_argument("--go-port", type=int, default=4110)
    twins.add_argument("--only", choices=("rust", "go"), help="serve one wire shape only")
    twins.add_argument("--latency-ms", type=float, default=0.0,
                       help="answer each request after this long (models a service's own I/O)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code = _dispatch(args)
    except ConfigError as exc:
        _err(f"{exc.source}: {len(exc.problems)} problem(s)")
        for problem in exc.problems:
            _stderr().print(Text(f"  {problem}"))
        code = EXIT_USAGE
    except GauntletError as exc:
        _err(f"gauntlet: {exc}")
        code = EXIT_USAGE
    except KeyboardInterrupt:
        code = 130
    except Exception as exc:  # noqa: BLE001 - a fault of gauntlet itself: one line here, the traceback kept
        _err(f"gauntlet: internal error: {type(exc).__name__}: {exc} (traceback in {_keep_traceback(exc)})")
        code = EXIT_INTERNAL
    return code


def _keep_traceback(exc: BaseException) -> Path:
    """A command outside a run has no run directory: its traceback goes to a file of its own."""
    import tempfile
    import traceback

    path = Path(tempfile.gettempdir()) / f"gauntlet-crash-{date.today():%Y%m%d}-{os.getpid()}.txt"
    with open(path, "a", encoding="utf-8") as fh:
        fh.write("".join(traceback.format_exception(exc)))
    return path


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "check":
        return _check(Path(args.config))
    if args.command == "twins":
        return asyncio.run(_twins(args))
    if args.command == "tally":
        return _tally(args)
    if args.command == "bundle":
        return _bundle_split(args)
    if args.command == "gap":
        return _gap_add(args)
    if args.command == "verdict":
        return _verdict(args)
    if args.command == "watch":
        return _watch(args)
    if args.command == "history":
        return _history(args)
    if args.command == "compare":
        return _compare(args)
    if args.command == "diff":
        return _diff(args.run_dir, args.case, args)
    if args.command == "stack":
        return _stack(args)
    from probes.engine import select_phases

    if args.command == "demo":
        config = load_config(sample_configs_dir() / DEMO_CONFIG)
        out = args.out or Path.cwd() / "gauntlet-runs"
        return _run(config, select_phases(config), args, out)
    config = load_config(args.config)
    if args.command in ("smokes", "scrum"):
        return _run(config, select_phases(config, only=[args.command]), args, args.out)
    if args.command == "parity":
        unknown = [c for c in args.case if c not in {case.name for case in config.parity.cases}]
        if unknown:
            names = ", ".join(c.name for c in config.parity.cases)
            raise GauntletError(f"{args.config}: no parity case {', '.join(map(repr, unknown))} (cases: {names})")
        return _run(config, select_phases(config, only=["parity"]), args, args.out, parity_only=args.case)
    return _run(config, select_phases(config, args.only, args.skip), args, args.out)


def _check(path: Path) -> int:
    config = load_config(path)
    problems = preflight(config)
    if problems:
        raise ConfigError(str(path), problems)
    Console(highlight=False, soft_wrap=True).print(Text.assemble(
        ("ok ", "bold green"), f"{path}: {len(config.smokes.smokes)} smokes, "
        f"{len(config.scrum.bundles)} bundles x {len(config.scrum.reviewers)} reviewers, "
        f"{len(config.parity.cases)} parity cases, {len(config.stack.services)} stack services"))
    return 0


def _interactive(args: argparse.Namespace) -> bool:
    return not getattr(args, "headless", False) and sys.stdout.isatty() and sys.stdin.isatty()


def _run(config: Config, phases: Sequence[str], args: argparse.Namespace, out: Path | None,
         parity_only: Sequence[str] = ()) -> int:
    from probes.engine import Engine

    from .headless import HeadlessPrinter

    engine = Engine(config, phases, out_dir=out, strict=args.strict, parity_only=parity_only,
                    force_oversize=args.force_oversize)
    if _interactive(args) and not parity_only:
        from .app import GauntletApp
        from .sources import LiveSource

        app = GauntletApp(LiveSource(engine), theme=args.theme, gaps=list(engine.tracker.gaps))
        code = app.run()
        if code is None:  # the app stopped without exit(): it failed; say so in the exit code
            return app.return_code or app.exit_code or 1
        return code
    if _interactive(args) and parity_only:
        outcome = asyncio.run(_drive(engine))  # probe first, quietly; then open straight into the diff
        code = _diff(outcome.run_dir, parity_only[0], args)
        return outcome.exit_code if code == 0 else code
    printer = HeadlessPrinter(show_diffs=bool(parity_only))
    engine.bus.subscribe(printer.apply)
    try:
        outcome = asyncio.run(_drive(engine))
    finally:
        printer.close()
    return outcome.exit_code


async def _drive(engine: Engine) -> RunOutcome:
    """Run the engine with SIGINT, SIGTERM and SIGHUP turned into an orderly interrupt."""
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    for sig in signals:
        loop.add_signal_handler(sig, engine.interrupt)
    try:
        return await engine.run()
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)


def _tally(args: argparse.Namespace) -> int:
    """The scrum's tally over saved reviews: one per file, reviewer named by the file."""
    import json

    from probes.events import ScrumPlanned
    from probes.rundir import write_atomic
    from probes.scrum import bundle_event
    from probes.scrum_report import ScrumBoard
    from probes.tally import estimate_tokens, guess_lineage, parse_review, tally
    from themes.palette import CONSOLE_THEME

    lineages = dict(_pair(spec, "--lineage") for spec in args.lineage)
    files: list[Path] = []
    for item in args.reviews:
        if item.is_dir():
            files += sorted(p for p in item.glob("*.md") if not p.name.startswith("."))
        elif item.is_file():
            files.append(item)
        else:
            raise GauntletError(f"{item}: no such file or folder")
    if not files:
        raise GauntletError("no review files given (folders are searched for *.md)")
    try:
        diff = args.diff.read_bytes().decode("utf-8", errors="replace")
    except OSError as exc:
        raise GauntletError(f"{args.diff}: {exc.strerror or exc}") from None
    reviews = []
    for path in files:
        text = path.read_bytes().decode("utf-8", errors="replace")
        review = parse_review(text, path.stem, lineages.get(path.stem) or guess_lineage(path.stem))
        review.tokens_out, review.tokens_estimated = estimate_tokens(text), True
        reviews.append(review)
    bundle = args.bundle or args.diff.stem
    result = tally(bundle, len(diff.encode()) / 1024, diff, reviews, tolerance=args.line_tolerance,
                   min_tokens_out=args.min_tokens_out, source=str(args.diff))
    board = ScrumBoard()
    board.apply(0, ScrumPlanned(((bundle, round(result.kb, 1), round(result.kb, 1), "ok", ""),),
                                tuple((r.reviewer, r.lineage, "replay") for r in reviews), args.min_tokens_out))
    board.apply(0, bundle_event(result))
    console = Console(highlight=False, soft_wrap=True, theme=CONSOLE_THEME)  # the table's styles name meanings
    console.print(board.bundle_table())
    console.print(Text(result.line(), style="bold"))
    if args.out:
        write_atomic(args.out / "tally.json", json.dumps(result.to_json(), indent=2, ensure_ascii=False) + "\n")
        console.print(f"wrote {args.out / 'tally.json'}")
    return 0


def _bundle_split(args: argparse.Namespace) -> int:
    from probes.bundle_split import parse_group, split
    from probes.rundir import write_atomic

    try:
        diff = args.diff.read_bytes().decode("utf-8", errors="replace")
    except OSError as exc:
        raise GauntletError(f"{args.diff}: {exc.strerror or exc}") from None
    bundles, too_big = split(diff, args.max_kb, [parse_group(g) for g in args.group], str(args.diff))
    out = args.out or args.diff.with_name(f"{args.diff.stem}_bundles")
    console = Console(highlight=False, soft_wrap=True)
    for b in bundles:
        write_atomic(out / f"{b.name}.diff", b.text)
        console.print(f"{b.name:<28} {b.size / 1024:7.1f} KB  {len(b.files):3d} files  → {out / (b.name + '.diff')}")
    for f in too_big:
        _err(f"{f.path} alone is {f.size / 1024:.1f} KB, over --max-kb {args.max_kb:g}: it is a bundle of its own")
    return 1 if too_big else 0


def _watch(args: argparse.Namespace) -> int:
    from .app import GauntletApp
    from .sources import FileSource

    if not (args.run_dir / "events.jsonl").is_file():
        raise GauntletError(f"{args.run_dir}: not a run directory (no events.jsonl)")
    app = GauntletApp(FileSource(args.run_dir, follow=not args.no_follow), theme=args.theme, clock=False,
                      gaps=_gaps_of_run(args.run_dir))
    app.run()
    return 0


def _gaps_of_run(run_dir: Path) -> list:
    """The known gaps the run was judged with, for the live verdict while watching it."""
    from probes.gaps import gaps_path_of_run, load_gaps

    try:
        gaps_file, _ = gaps_path_of_run(run_dir)
        return load_gaps(gaps_file) if gaps_file is not None and gaps_file.is_file() else []
    except (GauntletError, ValueError):
        return []  # the run's own verdict events still say what it concluded


def _diff(run_dir: Path, case: str, args: argparse.Namespace) -> int:
    from probes.sidebyside import load_case

    view = load_case(run_dir, case, candidate=getattr(args, "target", None))
    if not _interactive(args):
        from .diff_print import print_case

        print_case(view, Console(highlight=False))
        return 0
    from .screens.diff import DiffApp

    DiffApp(run_dir, case, theme=getattr(args, "theme", None)).run()
    return 0


def _out_dir_of(where: Path | None) -> Path:
    if where is None:
        default = Path("gauntlet.toml")
        return load_config(default).out_dir if default.is_file() else Path("gauntlet-runs")
    if where.is_file():
        return load_config(where).out_dir
    if where.is_dir():
        return where
    raise GauntletError(f"{where}: neither a config file nor an out dir")


def _history(args: argparse.Namespace) -> int:
    from rich.table import Table

    from probes.history import HistoryUnavailable, open_store, rebuild, sparkline

    out_dir = _out_dir_of(args.where)
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 120)
    if args.rebuild:
        count = rebuild(out_dir, lambda problem: _err(problem))
        console.print(f"rebuilt {out_dir / 'history.sqlite'} from {count} run directories")
    if not (out_dir / "history.sqlite").exists():
        raise GauntletError(f"{out_dir}: no history.sqlite yet (no run here, or pass --rebuild)")
    try:
        store = open_store(out_dir)
        runs = store.runs(args.last)
        store.close()
    except HistoryUnavailable as exc:
        raise GauntletError(f"history unavailable: {exc}") from None
    table = Table(title=f"gauntlet history: {out_dir}", show_edge=False)
    for head in ("When (UTC)", "Run", "Verdict", "Smokes", "Conv.", "Parity: status · diverge", "Time"):
        table.add_column(head, justify="right" if head in ("Conv.", "Time") else "left", no_wrap=True)
    for r in runs:
        passed = sum(1 for s in r.smokes.values() if s["status"] == "pass")
        statuses = sum(1 for c in r.parity.values() if len(set(c["statuses"].values())) == 1 and not c["errors"])
        diverge = sum(1 for c in r.parity.values() if any(c["kinds"].values()))
        parity = f"{statuses}/{len(r.parity)} · {diverge}/{len(r.parity)}" if r.parity else ""
        verdict = f"{r.verdict} (abandoned)" if r.abandoned else (
            (r.verdict or "running") + ("" if r.complete or not r.finished else " (incomplete)"))
        table.add_row(r.started.replace("T", " ")[5:16], r.run_id, verdict,
                      f"{passed}/{len(r.smokes)}" if r.smokes else "", str(sum(b["convergent"] for b in r.bundles.values())),
                      parity, f"{r.duration:.1f}s")
    console.print(table)
    walls = [r.smokes_wall for r in runs if r.smokes]
    if walls:
        console.print(f"smoke chain wall time: {sparkline(walls)}  ({min(walls):.1f}s … {max(walls):.1f}s)")
    return 0


def _compare(args: argparse.Namespace) -> int:
    from probes.delta import compare
    from probes.gaps import gaps_path_of_run, load_gaps
    from probes.history import RunSummary

    summaries = []
    for run_dir in (args.run_a, args.run_b):
        if not (run_dir / "events.jsonl").is_file():
            raise GauntletError(f"{run_dir}: not a run directory (no events.jsonl)")
        try:
            summaries.append(RunSummary.of_run_dir(run_dir))
        except ValueError as exc:
            raise GauntletError(str(exc)) from None
    gaps_file, _ = gaps_path_of_run(args.run_b)
    gaps = load_gaps(gaps_file) if gaps_file and gaps_file.is_file() else []
    result = compare(summaries[0], summaries[1], gaps)
    console = Console(highlight=False, soft_wrap=True)
    for line in result.lines():
        console.print(line)
    rows = result.engagement()
    if rows:
        from rich.table import Table

        reviewers = sorted({r for _, _, tokens in rows for r in tokens})
        table = Table(title="reviewer engagement (tokens out)", show_edge=False)
        table.add_column("Wave")
        table.add_column("Bundle KB", justify="right")
        for r in reviewers:
            table.add_column(r, justify="right")
        for wave, kb, tokens in rows:
            table.add_row(wave, f"{kb:.0f}", *(str(tokens.get(r, "–")) for r in reviewers))
        console.print(table)
    return 1 if result.regressed or result.newly_failing else 0


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date like 2026-06-01, got {text!r}") from None


def _gap_add(args: argparse.Namespace) -> int:
    from probes.gaps import gaps_path_of_run, record_gap
    from probes.judge import judge

    if not (args.run_dir / "events.jsonl").is_file():
        raise GauntletError(f"{args.run_dir}: not a run directory (no events.jsonl)")
    gaps_file, tracker = args.gaps, args.tracker
    if gaps_file is None or tracker is None:
        try:
            configured_gaps, configured_tracker = gaps_path_of_run(args.run_dir)
        except ValueError as exc:
            raise GauntletError(str(exc)) from None
        gaps_file = gaps_file or configured_gaps
        tracker = tracker or configured_tracker
    if gaps_file is None:
        raise GauntletError("the run's config names no [verdict] known_gaps file: pass --gaps FILE")
    gap = record_gap(args.run_dir, args.case, gaps_file, note=args.note, owner=args.owner, gap_id=args.gap_id,
                     expires=args.expires, tracker=tracker)
    out = Console(highlight=False, soft_wrap=True)
    out.print(Text.assemble(("recorded ", "bold green"), f"gap {gap.id}: {gap.case} {gap.kind} "
                            f"{', '.join(gap.fingerprints)} → {gaps_file}"))
    if tracker is not None:
        out.print(f"added an _open_ row to {tracker}")
    if args.gaps is None:  # the run's own gaps file: its verdict follows the new entry
        _print_judgement(judge(args.run_dir), out)
    return 0


def _verdict(args: argparse.Namespace) -> int:
    from probes.judge import judge

    judgement = judge(args.run_dir, strict=args.strict)
    _print_judgement(judgement, Console(highlight=False, soft_wrap=True))
    return judgement.exit_code


def _print_judgement(judgement: Judgement, out: Console) -> None:
    from probes.textsafe import neutralise

    v = judgement.verdict
    out.print(Text.assemble((v.verdict, "bold"), "" if v.complete else " (incomplete)",
                            f" — rewrote {judgement.run_dir / 'verdict.json'} and verdict.md"
                            + (f" (known gaps: {judgement.gaps_file})" if judgement.gaps_file else "")))
    for reason in v.reasons:
        out.print(Text(f"  - {neutralise(reason)}"))


def _stack(args: argparse.Namespace) -> int:
    from probes.stack import (
        StackUpError,
        bring_up,
        check_services,
        read_stack,
        stack_document,
        stop_all,
        write_merged,
    )

    out = Console(highlight=False, soft_wrap=True)
    if args.stack_command == "write":
        config = load_config(args.config)
        target = args.output or config.stack.output
        if target is None:
            raise GauntletError(f"{args.config}: [stack] output is not set: pass --output FILE")
        if not config.stack.services:
            raise GauntletError(f"{args.config}: no [[stack.service]] to write")
        merged = write_merged(target, stack_document(config.stack, config.workdir, f"gauntlet stack write {args.config}"))
        out.print(f"wrote {target}: {len(merged.get('services', {}))} services "
                  f"({', '.join(s.name for s in config.stack.services)} from this config)")
        return 0
    if not args.file.is_file():
        raise GauntletError(f"{args.file}: no such stack file")
    document = read_stack(args.file)
    if args.stack_command == "check":
        checks = asyncio.run(check_services(document))
        for c in checks:
            port = "" if c.port is None else f"port {c.port} {'taken' if c.port_taken else 'free'}"
            out.print(Text.assemble((f"{'ok' if c.ok else 'FAIL':<5}", "green" if c.ok else "bold red"),
                                    f"{c.name:<20} {c.program_note}; {port}; health {c.health_note}"))
        return 0 if all(c.ok for c in checks) else 1

    async def up() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        main_task = asyncio.current_task()
        assert main_task is not None

        def interrupt() -> None:
            # While services come up, abort (bring_up stops what it started); after, stop.
            stop.set() if services else main_task.cancel()

        services: list = []
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            loop.add_signal_handler(sig, interrupt)
        try:
            services = await bring_up(document, args.logs,
                                      lambda name, took: out.print(f"{name} healthy in {took:.1f}s"))
        except StackUpError as exc:
            _err(f"stack up: {exc}")
            return 1
        except asyncio.CancelledError:
            _err("stack up: interrupted; every service started so far was stopped")
            return 130
        out.print(Text(f"stack up: {len(services)} services healthy; Ctrl-C stops them", style="bold green"))
        await stop.wait()
        await stop_all(services)
        out.print(f"stopped {len(services)} services")
        return 0

    return asyncio.run(up())


def _pair(spec: str, flag: str) -> tuple[str, str]:
    key, sep, value = spec.partition("=")
    if not sep or not key or not value:
        raise GauntletError(f"{flag} {spec!r}: expected NAME=VALUE")
    return key, value


async def _twins(args: argparse.Namespace) -> int:
    """Serve until interrupted; one line says when every server is ready."""
    from probes.twins import GO, RUST, serve_http, server_url, twin_handler

    ports = {RUST: args.rust_port, GO: args.go_port}
    shapes = [args.only] if args.only else [RUST, GO]
    servers = {}
    try:
        for shape in shapes:
            servers[shape] = await serve_http(twin_handler(shape, args.latency_ms / 1000), "127.0.0.1", ports[shape])
    except OSError as exc:
        for server in servers.values():
            server.close()
        raise GauntletError(f"cannot serve the twins: {exc.strerror or exc}") from None
    print("twins ready: " + " · ".join(f"{s} {server_url(srv)}" for s, srv in servers.items()), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    for server in servers.values():
        server.close()
        await server.wait_closed()
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
