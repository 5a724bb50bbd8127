"""gauntlet's engine, by phase, with no terminal UI.

    core      events, the run directory, processes, errors, secrets, text safety
    cases     parity cases: from a config, a cases file, an OpenAPI contract, a HAR file
    smokes    phase 1, the smoke chain
    scrum     phase 2, the review scrum and its tally
    parity    phase 3, the cross-runtime probe, its classes, noise and latency
    stack     the persistent stack
    config    the whole config, composed from each phase's own section
    verdict   phase 4: the verdict, known gaps, history, the comparison of runs
    engine    runs the phases; merge joins shards; init_project writes a starter config

Each layer imports only those above it in this list (`lint-imports` holds it). The faces
(the TUI, the headless printer, the CLI) consume the events (`probes.core.events`), the
phases' public names and boards, and the names below: the engine's API, loaded on first
use so a command that only reads the history does not pay for the HTTP client and the
runners. The names are listed in `__init__.pyi`.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
