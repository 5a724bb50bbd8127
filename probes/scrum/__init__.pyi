# The public names of this package, loaded on first use (__init__.py reads this file).

from ._board import ANY_LINEAGE, BundleState, ScrumBoard, seen
from ._config import ScrumConfig, prompt_template, scrum_section
from ._findings import bundle_summary, run_tokens, scrum_delta
from ._hunks import DiffHunk, read_hunks
from ._ledger import load_ledger, record_dismissal, run_findings
from ._offline import tally_files
from ._render import ScrumTables, bundle_notes, bundle_table, findings_sarif, scrum_json, summary_markdown, tables_markdown, tokens_line
from ._run import ScrumRun
from ._split import split_diff
from ._tally import guess_lineage

__all__ = [
    "ANY_LINEAGE",
    "BundleState",
    "DiffHunk",
    "ScrumBoard",
    "ScrumConfig",
    "ScrumRun",
    "ScrumTables",
    "bundle_notes",
    "bundle_summary",
    "bundle_table",
    "findings_sarif",
    "guess_lineage",
    "load_ledger",
    "prompt_template",
    "read_hunks",
    "record_dismissal",
    "run_findings",
    "run_tokens",
    "scrum_delta",
    "scrum_json",
    "scrum_section",
    "seen",
    "split_diff",
    "summary_markdown",
    "tables_markdown",
    "tally_files",
    "tokens_line",
]
