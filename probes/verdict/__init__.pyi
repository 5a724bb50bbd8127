# The public names of this package, loaded on first use (__init__.py reads this file).

from ._delta import compare_runs
from ._gaps import KnownGap, gaps_path_of_run, load_gaps, record_gap
from ._history import HistoryStore, HistoryUnavailable, RunSummary, open_store, read_baseline, rebuild, sparkline
from ._html import REPORT_HTML, report_html
from ._judge import Judgement, judge_run, run_gaps, run_report
from ._render import GITHUB_STEP_SUMMARY_BYTES, bare_verdict, fitted_markdown, verdict_json, verdict_markdown
from ._verdict import Verdict, VerdictTracker

__all__ = [
    "GITHUB_STEP_SUMMARY_BYTES",
    "HistoryStore",
    "HistoryUnavailable",
    "Judgement",
    "KnownGap",
    "REPORT_HTML",
    "RunSummary",
    "Verdict",
    "VerdictTracker",
    "bare_verdict",
    "compare_runs",
    "fitted_markdown",
    "gaps_path_of_run",
    "judge_run",
    "load_gaps",
    "open_store",
    "read_baseline",
    "rebuild",
    "record_gap",
    "report_html",
    "run_gaps",
    "run_report",
    "sparkline",
    "verdict_json",
    "verdict_markdown",
]
