"""Shadow traffic: a reverse proxy that answers every client from the reference and judges
each candidate's answer to the same live request, with the parity probe's comparison,
classes, noise and known gaps (or a sink that nginx or Envoy feed with copies).

It sits above the parity phase, whose comparison, judging and record it reuses, and below
the config, which composes its section. Its public names are in `__init__.pyi`; each is
imported when first used.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
