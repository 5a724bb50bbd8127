# The public names of this package, loaded on first use (__init__.py reads this file).

from ._config import ScrumConfig, prompt_template, scrum_section
from ._findings import bundle_summary, run_tokens, scrum_delta
from ._ledger import load_ledger, record_dismissal, run_findings
from ._offline import tally_files
from ._report import ANY_LINEAGE, BundleState, ScrumBoard, seen
from ._run import ScrumRun
from ._split import split
from ._tally import guess_lineage

__all__ = [
    "ANY_LINEAGE",
    "BundleState",
    "ScrumBoard",
    "ScrumConfig",
    "ScrumRun",
    "bundle_summary",
    "guess_lineage",
    "load_ledger",
    "prompt_template",
    "record_dismissal",
    "run_findings",
    "run_tokens",
    "scrum_delta",
    "scrum_section",
    "seen",
    "split",
    "tally_files",
]
