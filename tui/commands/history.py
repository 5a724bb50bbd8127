"""`gauntlet history [CONFIG|OUT_DIR]` and `gauntlet compare RUN_A RUN_B`: past runs, and what
changed between two of them."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

import probes  # its config loader loads every phase: looked up when a command runs
from probes import GauntletError
from themes.palette import CONSOLE_THEME

from .common import err, run_dir, stdout


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    history = sub.add_parser("history", help="past runs: verdicts, smokes, findings, parity, trend")
    history.add_argument("where", nargs="?", default=None, type=Path,
                         help="a config (its out_dir) or an out dir (default: ./gauntlet.toml's, else ./gauntlet-runs)")
    history.add_argument("--last", type=int, default=20, help="how many runs (default 20)")
    history.add_argument("--rebuild", action="store_true", help="recreate history.sqlite from the run directories")
    history.set_defaults(handler=history_command)

    compare = sub.add_parser("compare", help="what changed between two runs")
    compare.add_argument("run_a", type=Path, help="the earlier run directory")
    compare.add_argument("run_b", type=Path, help="the later run directory")
    compare.set_defaults(handler=compare_command)


def out_dir_of(where: Path | None) -> Path:
    if where is None:
        default = Path("gauntlet.toml")
        return probes.load_config(default).out_dir if default.is_file() else Path("gauntlet-runs")
    if where.is_file():
        return probes.load_config(where).out_dir
    if where.is_dir():
        return where
    raise GauntletError(f"{where}: neither a config file nor an out dir")


def history_command(args: argparse.Namespace) -> int:
    from probes import HistoryUnavailable, open_store, rebuild, run_tokens, sparkline

    out_dir = out_dir_of(args.where)
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 120, theme=CONSOLE_THEME)
    if args.rebuild:
        count = rebuild(out_dir, err)
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
    scrum = any(r.bundles for r in runs)  # the tokens column only when a run had a scrum: the table stays narrow
    for head in ("When (UTC)", "Run", "Verdict", "Smokes", "Conv.", *(("Tokens in/out",) if scrum else ()),
                 "Parity: status · diverge", "Time"):
        table.add_column(head, justify="right" if head in ("Conv.", "Time") else "left", no_wrap=True)
    for r in runs:
        passed = sum(1 for s in r.smokes.values() if s["status"] == "pass")
        cases, statuses, diverge = r.parity_totals()
        parity = f"{statuses}/{cases} · {diverge}/{cases}" if cases else ""
        verdict = f"{r.verdict} (abandoned)" if r.abandoned else (
            (r.verdict or "running") + ("" if r.complete or not r.finished else " (incomplete)"))
        table.add_row(r.started.replace("T", " ")[5:16], r.run_id, verdict,
                      f"{passed}/{len(r.smokes)}" if r.smokes else "", str(sum(b["convergent"] for b in r.bundles.values())),
                      *((run_tokens(r.bundles).short() if r.bundles else "",) if scrum else ()), parity,
                      f"{r.duration:.1f}s")
    console.print(table)
    walls = [r.smokes_wall for r in runs if r.smokes]
    if walls:
        console.print(f"smoke chain wall time: {sparkline(walls)}  ({min(walls):.1f}s … {max(walls):.1f}s)")
    return 0


def compare_command(args: argparse.Namespace) -> int:
    from probes import RunSummary, compare_runs, run_gaps

    summaries = []
    for run in (run_dir(args.run_a), run_dir(args.run_b)):
        try:
            summaries.append(RunSummary.of_run_dir(run))
        except ValueError as exc:
            raise GauntletError(str(exc)) from None
    _, gaps = run_gaps(args.run_b)
    result = compare_runs(summaries[0], summaries[1], gaps)
    console = stdout()
    for line in result.lines():
        console.print(Text(line.text, style=f"delta.{line.tone}" if line.tone else ""))
    rows = result.engagement()
    if rows:
        reviewers = sorted({r for row in rows for r in row.tokens})
        table = Table(title="reviewer engagement (tokens out)", show_edge=False)
        table.add_column("Wave")
        table.add_column("Bundle KB", justify="right")
        for r in reviewers:
            table.add_column(r, justify="right")
        for row in rows:
            table.add_row(row.wave, f"{row.kb:.0f}", *(str(row.tokens.get(r, "–")) for r in reviewers))
        console.print(table)
    return 1 if result.regressed or result.newly_failing else 0
