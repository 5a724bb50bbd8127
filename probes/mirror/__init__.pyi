# The public names of this package, loaded on first use (__init__.py reads this file).

from ._board import MirrorBoard
from ._config import DropLimit, MirrorConfig, Route, SAFE_METHODS, join_address, loopback, mirror_section, parse_listen
from ._replay import RunCases, cases_from_run
from ._run import Mirror
from ._worker import loop_factory

__all__ = [
    "DropLimit",
    "Mirror",
    "MirrorBoard",
    "MirrorConfig",
    "Route",
    "RunCases",
    "SAFE_METHODS",
    "cases_from_run",
    "join_address",
    "loop_factory",
    "loopback",
    "mirror_section",
    "parse_listen",
]
