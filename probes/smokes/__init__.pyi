# The public names of this package, loaded on first use (__init__.py reads this file).

from ._board import STATUS_WORD, SmokeBoard
from ._config import SmokesConfig, smokes_section
from ._render import STATUS_STYLE, SmokeTables, junit_xml, layers_markdown, smokes_json, summary_text
from ._run import run_smokes

__all__ = [
    "STATUS_STYLE",
    "STATUS_WORD",
    "SmokeBoard",
    "SmokeTables",
    "SmokesConfig",
    "junit_xml",
    "layers_markdown",
    "run_smokes",
    "smokes_json",
    "smokes_section",
    "summary_text",
]
