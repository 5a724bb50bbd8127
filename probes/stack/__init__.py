"""The persistent stack: its config section, writing and merging the stack TOML, bringing
services up and checking them.

Its public names are in `__init__.pyi`; each is imported when first used, so a command
that needs one part of a phase does not load the rest (the HTTP client, the runners).
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
