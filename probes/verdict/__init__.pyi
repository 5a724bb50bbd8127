# The public names of this package, loaded on first use (__init__.py reads this file).

from ._delta import compare_runs
from ._gaps import KnownGap, gaps_path_of_run, load_gaps, record_gap
from ._history import HistoryStore, HistoryUnavailable, RunSummary, open_store, rebuild, sparkline
from ._judge import Judgement, judge_run, run_gaps
from ._render import bare_verdict, verdict_json, verdict_markdown
from ._verdict import EXIT_INTERNAL, EXIT_INTERRUPTED, Verdict, VerdictTracker

__all__ = [
    "EXIT_INTERNAL",
    "EXIT_INTERRUPTED",
    "HistoryStore",
    "HistoryUnavailable",
    "Judgement",
    "KnownGap",
    "RunSummary",
    "Verdict",
    "VerdictTracker",
    "bare_verdict",
    "compare_runs",
    "gaps_path_of_run",
    "judge_run",
    "load_gaps",
    "open_store",
    "rebuild",
    "record_gap",
    "run_gaps",
    "sparkline",
    "verdict_json",
    "verdict_markdown",
]
