# The public names of this package, loaded on first use (__init__.py reads this file).

from ._compare import KINDS
from ._config import ParityConfig, parity_section, scan_case_lines
from ._latency import FIRST_FAILED, LATENCY, LATENCY_CLASS, LatencyBoard, NO_DATA, SLOWER, held, recorded_classes, remember, trend_lines, viewer_parts
from ._noise import ENDPOINT_PATHS, NOISE_FILE, NoisePool, Settler, noise_json, noise_markdown, noise_notices, read_noise, suggest_ignore
from ._probe import AimCheck, check_aim, run_head, run_parity
from ._report import CaseRow, ParityBoard, Shared, body_kind, body_kinds, divergences, examples, head_kinds, noise_lines, status_kind
from ._results import PACK, RESULTS, entries, read_body, read_case, read_head
from ._shard import Shard, parse_shard
from ._sidebyside import CaseView, GAP, load_case
from ._store import BodyPack, RecordFile, ResultWriter, record_line
from ._twins import parse_latency, server_url, start_twins

__all__ = [
    "AimCheck",
    "BodyPack",
    "CaseRow",
    "CaseView",
    "ENDPOINT_PATHS",
    "FIRST_FAILED",
    "GAP",
    "KINDS",
    "LATENCY",
    "LATENCY_CLASS",
    "LatencyBoard",
    "NOISE_FILE",
    "NO_DATA",
    "NoisePool",
    "PACK",
    "ParityBoard",
    "ParityConfig",
    "RESULTS",
    "RecordFile",
    "ResultWriter",
    "SLOWER",
    "Settler",
    "Shard",
    "Shared",
    "body_kind",
    "body_kinds",
    "check_aim",
    "divergences",
    "entries",
    "examples",
    "head_kinds",
    "held",
    "load_case",
    "noise_json",
    "noise_lines",
    "noise_markdown",
    "noise_notices",
    "parity_section",
    "parse_latency",
    "parse_shard",
    "read_body",
    "read_case",
    "read_head",
    "read_noise",
    "record_line",
    "recorded_classes",
    "remember",
    "run_head",
    "run_parity",
    "scan_case_lines",
    "server_url",
    "start_twins",
    "status_kind",
    "suggest_ignore",
    "trend_lines",
    "viewer_parts",
]
