# The public names of this package, loaded on first use (__init__.py reads this file).

from ._config import StackConfig, stack_section
from ._stack import RunningService, StackUpError, bring_up, check_services, read_stack, stack_document, stop_all, write_merged

__all__ = [
    "RunningService",
    "StackConfig",
    "StackUpError",
    "bring_up",
    "check_services",
    "read_stack",
    "stack_document",
    "stack_section",
    "stop_all",
    "write_merged",
]
