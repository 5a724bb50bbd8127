"""gauntlet's engine: config, smoke chain, scrum, parity, verdict and stack — no terminal UI.

Everything here is usable without Textual; the TUI, the headless printer and the CLI are
consumers of the engine's event stream and of the names below, the engine's public API
(with `probes.events`, the boards in `probes.verdict` and `probes.*_report`, and
`probes.textsafe`). Names are loaded on first use, so a command that only reads the
history does not pay for the HTTP client and the runners. A function named like a
module (`judge`, `compare`, `init_project`) is exported under another name: once the module
is imported, the package attribute of that name is the module, not the function.
"""

from __future__ import annotations

import importlib
from typing import Any

# public name -> "module" (the same name there) or "module:name"
_EXPORTS = {
    # a config and its problems
    "Config": "config", "load_config": "config", "preflight": "config", "scan_case_lines": "config",
    "unwritable_dir": "config",
    "ConfigError": "errors", "GauntletError": "errors", "InputError": "errors", "Problem": "errors",
    "read_input": "errors",
    "write_atomic": "rundir",
    # a run, and following one
    "Engine": "engine", "RunOutcome": "engine", "select_phases": "engine",
    "Shard": "shard", "parse_shard": "shard", "Merged": "merge", "merge_runs": "merge",
    "Event": "events", "EventBus": "events",
    "Writer": "rundir", "writer_gone": "rundir", "EXIT_INTERRUPTED": "verdict",
    # the scrum offline
    "tally_files": "offline_tally",
    "load_ledger": "findings_ledger", "record_dismissal": "findings_ledger", "run_findings": "findings_ledger",
    "run_tokens": "findings",
    "split_diff": "bundle_split:split",
    # parity diffs and known gaps
    "CaseView": "sidebyside", "GAP": "sidebyside", "load_case": "sidebyside", "latency_parts": "latency:viewer_parts",
    "latency_classes": "latency:recorded_classes",
    "KnownGap": "gaps", "gaps_path_of_run": "gaps", "load_gaps": "gaps", "record_gap": "gaps",
    "AimCheck": "parity", "check_aim": "parity",
    "read_noise": "noise", "suggest_ignore": "noise", "NOISE_FILE": "noise", "ENDPOINT_PATHS": "noise",
    "Judgement": "judge", "judge_run": "judge:judge", "run_gaps": "judge",
    # history
    "HistoryUnavailable": "history", "RunSummary": "history", "open_store": "history", "rebuild": "history",
    "sparkline": "history",
    "compare_runs": "delta:compare",
    # the persistent stack and the demo's twins
    "StackUpError": "stack", "bring_up": "stack", "check_services": "stack", "read_stack": "stack",
    "stack_document": "stack", "stop_all": "stack", "write_merged": "stack",
    "server_url": "twins", "start_twins": "twins", "parse_latency": "twins",
    # parity cases and a starter config
    "GeneratedCase": "casefile", "from_har": "har_cases", "from_openapi": "openapi_cases",
    "InitOptions": "init_project", "write_starter": "init_project:init_project",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        module, _, attr = _EXPORTS[name].partition(":")
        return getattr(importlib.import_module(f".{module}", __name__), attr or name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
