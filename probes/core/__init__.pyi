# The public names of this package, loaded on first use (__init__.py reads this file).

from . import procs
from ._errors import ConfigError, GauntletError, InputError, Problem, RunDirUnwritable, read_input
from ._files import append_entry, locked, writing
from ._reader import ENV_REF, TableReader, check_duplicates, check_name, expand_env, resolve_path
from ._redact import MIN_LENGTH, Secrets, basic_credentials, shown_url, url_secrets
from ._rundir import RunDir, Writer, write_all, write_atomic, writer_gone
from ._states import EXIT_BLOCK, EXIT_INTERNAL, EXIT_INTERRUPTED, FindingState, LatencyState, Reason, SmokeStatus, VerdictWord
from ._textsafe import UNSAFE, decode_safe, md_cell, md_code, neutralise
from ._values import schema_type

__all__ = [
    "basic_credentials",
    "EXIT_BLOCK",
    "EXIT_INTERNAL",
    "EXIT_INTERRUPTED",
    "ConfigError",
    "ENV_REF",
    "FindingState",
    "GauntletError",
    "InputError",
    "LatencyState",
    "MIN_LENGTH",
    "Problem",
    "Reason",
    "RunDir",
    "RunDirUnwritable",
    "Secrets",
    "SmokeStatus",
    "TableReader",
    "UNSAFE",
    "VerdictWord",
    "Writer",
    "append_entry",
    "check_duplicates",
    "check_name",
    "decode_safe",
    "expand_env",
    "locked",
    "md_cell",
    "md_code",
    "neutralise",
    "procs",
    "read_input",
    "resolve_path",
    "schema_type",
    "shown_url",
    "url_secrets",
    "write_all",
    "write_atomic",
    "writer_gone",
    "writing",
]
