"""What a parsed JSON value is, in the words JSON Schema uses."""

from __future__ import annotations

from typing import Any


def schema_type(value: Any) -> str:
    """The JSON Schema name of a parsed value's type (`integer`, `object`, ...): the word a
    contract and a divergence use for it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__
