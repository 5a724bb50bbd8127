# The public names of this package, loaded on first use (__init__.py reads this file).

from ._config import SmokesConfig, smokes_section
from ._report import STATUS_STYLE, STATUS_WORD, SmokeBoard, junit_xml, summary_text
from ._run import run_smokes

__all__ = [
    "STATUS_STYLE",
    "STATUS_WORD",
    "SmokeBoard",
    "SmokesConfig",
    "junit_xml",
    "run_smokes",
    "smokes_section",
    "summary_text",
]
