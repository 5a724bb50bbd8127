"""Whether a generated value satisfies its schema, as JSON Schema validation says.

An invalid request is made by breaking one constraint, but whether the result is in fact
invalid depends on everything else the schema says and on how the value travels:
`?tags=not-an-array` is a one-item array, a broken `oneOf` alternative may be another one.
So each invalid request is validated, as the server will read it, against the schema it was
made to break, and dropped when it passes; each valid request is validated too, and a note
says so when the contract's own schema refuses it.

A value is first validated against the node's own keywords alone (its type, bounds, enum,
required names: none that descends into its children), a weaker schema than the whole, so
a refusal there is a refusal; only a value it accepts is validated in full. Most variants
are refused by what they were made to break, at the cost of a keyword or two, however
large the body around them.

OpenAPI 3.1 schemas are JSON Schema 2020-12; 3.0's are a dialect of draft 4 with `nullable`.
Formats are not asserted (servers differ on them and no variant breaks one). A schema
jsonschema cannot apply (a keyword of the wrong type, a pattern Python cannot read) leaves
the value unchecked: the request is kept as it was made.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

# jsonschema is imported when a contract is checked, not when this module loads: a config
# that names a contract loads the cases package, and every command loads a config.
_CANNOT_APPLY = (TypeError, AttributeError, ValueError, KeyError, IndexError, re.error, RecursionError)
# A node's own keywords: none looks into a child, so keeping only these drops conjuncts
# (children, alternatives, conditions) and weakens the schema, never strengthens it.
_OWN = frozenset({"type", "nullable", "enum", "const", "required", "minProperties", "maxProperties", "minItems",
                  "maxItems", "uniqueItems", "minLength", "maxLength", "pattern", "minimum", "maximum",
                  "exclusiveMinimum", "exclusiveMaximum", "multipleOf"})


class SchemaCheck:
    """The validators of one contract, one per schema, made on first use."""

    def __init__(self, openapi: str) -> None:
        import jsonschema
        from jsonschema.exceptions import SchemaError, UnknownType

        def nullable_type(validator: Any, types: Any, instance: Any, schema: dict[str, Any]) -> Iterator[Any]:
            """OpenAPI 3.0's `nullable: true` beside a `type`: null is one more type allowed."""
            if instance is None and schema.get("nullable") is True:
                return
            yield from jsonschema.Draft4Validator.VALIDATORS["type"](validator, types, instance, schema)

        self._kind = (jsonschema.validators.extend(jsonschema.Draft4Validator, {"type": nullable_type})
                      if openapi.startswith("3.0") else jsonschema.Draft202012Validator)
        self._cannot_apply = (SchemaError, UnknownType, *_CANNOT_APPLY)
        self._own: dict[int, tuple[Any, Any]] = {}  # id(schema) -> (schema, its own keywords' validator)
        self._own_by_text: dict[str, Any] = {}  # the same few own keywords recur: one validator for each set
        self._whole: dict[int, tuple[Any, Any]] = {}  # id(schema) -> (schema, its validator), when one was needed

    def problem(self, schema: Any, value: Any) -> str | None:
        """The first thing the schema refuses in the value (`$.qty: 0 is less than the
        minimum of 1`); None when it accepts it, or when it cannot be applied."""
        if not isinstance(schema, dict):
            return None
        try:
            error = next(self._validator(schema).iter_errors(value), None)
        except self._cannot_apply:
            return None
        return None if error is None else f"{error.json_path}: {error.message[:120]}"

    def accepts(self, schema: Any, value: Any) -> bool:
        """Whether the schema accepts the value; False when it cannot be applied (the
        request is then kept as made)."""
        if not isinstance(schema, dict):
            return False
        try:
            held = self._own.get(id(schema))  # each schema is held beside its validator: its id is not reused
            if held is None:
                held = self._own[id(schema)] = (schema, self._own_validator(schema))
            own_validator = held[1]
            if own_validator is not None and not own_validator.is_valid(value):
                return False
            return bool(self._validator(schema).is_valid(value))
        except self._cannot_apply:
            return False

    def _own_validator(self, schema: dict[str, Any]) -> Any:
        """The validator of the schema's own keywords; None when it has no other (the whole
        validator is then the same check)."""
        own = {key: value for key, value in schema.items() if key in _OWN}
        return None if len(own) == len(schema) else self._by_text(own)

    def _by_text(self, own: dict[str, Any]) -> Any:
        """One validator for each set of own keywords, however many schemas state it (a
        contract repeats `{type: string}` thousands of times): no child schema is in them,
        so their text is short and finite."""
        text = json.dumps(own, sort_keys=True, default=repr)
        if text not in self._own_by_text:
            self._own_by_text[text] = self._kind(own)
        return self._own_by_text[text]

    def _validator(self, schema: dict[str, Any]) -> Any:
        held = self._whole.get(id(schema))
        if held is None:
            whole = self._by_text(schema) if schema.keys() <= _OWN else self._kind(schema)
            held = self._whole[id(schema)] = (schema, whole)
        return held[1]
