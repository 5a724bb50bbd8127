# The public names of this package, loaded on first use (__init__.py reads this file).

from ._config import DropLimit, MirrorConfig, Route, SAFE_METHODS, join_address, loopback, mirror_section, parse_listen

__all__ = [
    "DropLimit",
    "MirrorConfig",
    "Route",
    "SAFE_METHODS",
    "join_address",
    "loopback",
    "mirror_section",
    "parse_listen",
]
