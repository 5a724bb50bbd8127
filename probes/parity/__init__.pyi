# The public names of this package, loaded on first use (__init__.py reads this file).

from ._board import CaseRow, ClassGroup, INCONCLUSIVE, ParityBoard, Shared, body_kind, body_kinds, divergences, examples, head_kinds, status_kind
from ._compare import KINDS
from ._config import ParityConfig, parity_section, scan_case_lines, valid_port
from ._latency import FIRST_FAILED, LATENCY, LATENCY_CLASS, LatencyBoard, NO_DATA, OK, SLOWER, held, latency_classes, ms, p_text, remember, times, trend_lines, worst_ratio
from ._latency_render import group_head, latency_cell, latency_markdown, latency_parts
from ._noise import ENDPOINT_PATHS, NoisePool, Settler
from ._noise_report import NOISE_FILE, noise_json, noise_markdown, noise_notices, read_noise, suggest_ignore
from ._probe import AimCheck, check_aim, run_head, run_parity
from ._render import ParityTables, cases_markdown, classes_markdown, parity_json, parity_markdown, report_markdown
from ._results import PACK, RESULTS, StoredDifference, entries, read_body, read_case, read_cases, read_head
from ._shard import Shard, parse_shard
from ._sidebyside import CaseView, GAP, KIND_MARK, case_view, load_case
from ._store import BodyPack, RecordFile, ResultWriter, record_line
from ._twins import parse_latency, server_url, start_twins

__all__ = [
    "AimCheck",
    "BodyPack",
    "CaseRow",
    "CaseView",
    "ClassGroup",
    "ENDPOINT_PATHS",
    "FIRST_FAILED",
    "GAP",
    "INCONCLUSIVE",
    "KINDS",
    "KIND_MARK",
    "LATENCY",
    "LATENCY_CLASS",
    "LatencyBoard",
    "NOISE_FILE",
    "NO_DATA",
    "NoisePool",
    "OK",
    "PACK",
    "ParityBoard",
    "ParityConfig",
    "ParityTables",
    "RESULTS",
    "RecordFile",
    "ResultWriter",
    "SLOWER",
    "Settler",
    "Shard",
    "Shared",
    "StoredDifference",
    "body_kind",
    "body_kinds",
    "case_view",
    "cases_markdown",
    "check_aim",
    "classes_markdown",
    "divergences",
    "entries",
    "examples",
    "group_head",
    "head_kinds",
    "held",
    "latency_cell",
    "latency_classes",
    "latency_markdown",
    "latency_parts",
    "load_case",
    "ms",
    "noise_json",
    "noise_markdown",
    "noise_notices",
    "p_text",
    "parity_json",
    "parity_markdown",
    "parity_section",
    "parse_latency",
    "parse_shard",
    "read_body",
    "read_case",
    "read_cases",
    "read_head",
    "read_noise",
    "record_line",
    "remember",
    "report_markdown",
    "run_head",
    "run_parity",
    "scan_case_lines",
    "server_url",
    "start_twins",
    "status_kind",
    "suggest_ignore",
    "times",
    "trend_lines",
    "valid_port",
    "worst_ratio",
]
