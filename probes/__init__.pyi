# The engine's public API, loaded on first use (__init__.py reads this file).

# a config and its problems
from .config import Config, load_config, preflight, unwritable_dir
from .parity import scan_case_lines
from .core import EXIT_INTERRUPTED, ConfigError, GauntletError, InputError, Problem, read_input, write_atomic
# a run, and following one
from .engine import Engine, RunOutcome, select_phases
from .parity import Shard, parse_shard
from .merge import Merged, merge_runs
from .core.events import Event, EventBus
from .core import Writer, writer_gone
# the scrum offline
from .scrum import tally_files, load_ledger, record_dismissal, run_findings, run_tokens, split_diff
# parity diffs and known gaps
from .parity import CaseView, GAP, load_case, latency_parts, latency_classes, AimCheck, check_aim, read_noise, suggest_ignore, NOISE_FILE, ENDPOINT_PATHS
from .verdict import KnownGap, gaps_path_of_run, load_gaps, record_gap, Judgement, judge_run, run_gaps
# history
from .verdict import HistoryUnavailable, RunSummary, open_store, rebuild, sparkline, compare_runs
# the persistent stack and the demo's twins
from .stack import StackUpError, bring_up, check_services, read_stack, stack_document, stop_all, write_merged
from .parity import server_url, start_twins, parse_latency
# parity cases and a starter config
from .cases import GeneratedCase, from_har, from_openapi
from .init_project import InitOptions, write_starter

__all__ = [
    "AimCheck",
    "CaseView",
    "Config",
    "ConfigError",
    "ENDPOINT_PATHS",
    "EXIT_INTERRUPTED",
    "Engine",
    "Event",
    "EventBus",
    "GAP",
    "GauntletError",
    "GeneratedCase",
    "HistoryUnavailable",
    "InitOptions",
    "InputError",
    "Judgement",
    "KnownGap",
    "Merged",
    "NOISE_FILE",
    "Problem",
    "RunOutcome",
    "RunSummary",
    "Shard",
    "StackUpError",
    "Writer",
    "bring_up",
    "check_aim",
    "check_services",
    "compare_runs",
    "from_har",
    "from_openapi",
    "gaps_path_of_run",
    "judge_run",
    "latency_classes",
    "latency_parts",
    "load_case",
    "load_config",
    "load_gaps",
    "load_ledger",
    "merge_runs",
    "open_store",
    "parse_latency",
    "parse_shard",
    "preflight",
    "read_input",
    "read_noise",
    "read_stack",
    "rebuild",
    "record_dismissal",
    "record_gap",
    "run_findings",
    "run_gaps",
    "run_tokens",
    "scan_case_lines",
    "select_phases",
    "server_url",
    "sparkline",
    "split_diff",
    "stack_document",
    "start_twins",
    "stop_all",
    "suggest_ignore",
    "tally_files",
    "unwritable_dir",
    "write_atomic",
    "write_merged",
    "write_starter",
    "writer_gone",
]
