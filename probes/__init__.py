"""gauntlet's engine, by phase, with no terminal UI.

    core      events, the run directory, processes, errors, secrets, text safety
    cases     parity cases: from a config, a cases file, an OpenAPI contract, a HAR file
    smokes    phase 1, the smoke chain
    scrum     phase 2, the review scrum and its tally
    parity    phase 3, the cross-runtime probe, its classes, noise and latency
    stack     the persistent stack
    config    the whole config, composed from each phase's own section
    verdict   phase 4: the verdict, known gaps, history, the comparison of runs
    engine    runs the phases; merge joins shards; init_project writes a starter config

Each layer imports only those above it in this list (`lint-imports` holds it). The faces
(the TUI, the headless printer, the CLI) consume the events (`probes.core.events`), the
phases' public names and boards, and the names below: the engine's API, loaded on first
use so a command that only reads the history does not pay for the HTTP client and the
runners. A few are exported under a name that says more out here (`judge_run` is the
verdict's `judge`).
"""

from __future__ import annotations

import importlib
from typing import Any

# public name -> "package" (the same name there) or "package:name"
_EXPORTS = {
    # a config and its problems
    "Config": "config", "load_config": "config", "preflight": "config", "scan_case_lines": "parity",
    "unwritable_dir": "config",
    "ConfigError": "core", "GauntletError": "core", "InputError": "core", "Problem": "core",
    "read_input": "core",
    "write_atomic": "core",
    # a run, and following one
    "Engine": "engine", "RunOutcome": "engine", "select_phases": "engine",
    "Shard": "parity", "parse_shard": "parity", "Merged": "merge", "merge_runs": "merge",
    "Event": "core.events", "EventBus": "core.events",
    "Writer": "core", "writer_gone": "core", "EXIT_INTERRUPTED": "verdict",
    # the scrum offline
    "tally_files": "scrum",
    "load_ledger": "scrum", "record_dismissal": "scrum", "run_findings": "scrum",
    "run_tokens": "scrum",
    "split_diff": "scrum:split",
    # parity diffs and known gaps
    "CaseView": "parity", "GAP": "parity", "load_case": "parity", "latency_parts": "parity:viewer_parts",
    "latency_classes": "parity:recorded_classes",
    "KnownGap": "verdict", "gaps_path_of_run": "verdict", "load_gaps": "verdict", "record_gap": "verdict",
    "AimCheck": "parity", "check_aim": "parity",
    "read_noise": "parity", "suggest_ignore": "parity", "NOISE_FILE": "parity", "ENDPOINT_PATHS": "parity",
    "Judgement": "verdict", "judge_run": "verdict:judge", "run_gaps": "verdict",
    # history
    "HistoryUnavailable": "verdict", "RunSummary": "verdict", "open_store": "verdict", "rebuild": "verdict",
    "sparkline": "verdict",
    "compare_runs": "verdict:compare",
    # the persistent stack and the demo's twins
    "StackUpError": "stack", "bring_up": "stack", "check_services": "stack", "read_stack": "stack",
    "stack_document": "stack", "stop_all": "stack", "write_merged": "stack",
    "server_url": "parity", "start_twins": "parity", "parse_latency": "parity",
    # parity cases and a starter config
    "GeneratedCase": "cases", "from_har": "cases", "from_openapi": "cases",
    "InitOptions": "init_project", "write_starter": "init_project:init_project",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        module, _, attr = _EXPORTS[name].partition(":")
        return getattr(importlib.import_module(f".{module}", __name__), attr or name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
