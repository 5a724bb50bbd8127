"""Values from JSON Schema (as OpenAPI 3.0/3.1 writes it): a valid one, and the invalid
variants of a valid one, one per constraint the schema states.

Valid values come from the schema's own examples where it gives them, else from its
type and constraints; a string a `pattern` demands is drawn from a generator seeded by
where it is, so a schema gives the same value every time. Each invalid variant breaks one
constraint of the valid value and keeps everything else, so a service that answers it
differently from another disagrees about that constraint alone.
"""

from __future__ import annotations

import copy
import json
import math
import random
import re
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeGuard

import rstr

from ..core import schema_type
from ._casefile import safe_name

MAX_DEPTH = 12  # nesting a generated body goes to; recursive schemas stop well before
MAX_ITEMS = 10_000  # no array past this is made (a maxItems above it gets no overfull request)
MAX_TEXT = 100_000  # nor a string past this
NO_VALUE: Any = object()
_FORMATS: dict[str, Callable[[int], str]] = {  # a valid string per format; `salt` makes distinct ones
    "date-time": lambda n: f"2026-01-{2 + n % 27:02d}T03:04:05Z",
    "date": lambda n: f"2026-01-{2 + n % 27:02d}",
    "time": lambda n: f"03:04:{5 + n % 50:02d}Z",
    "email": lambda n: f"user{n or ''}@example.com",
    "uuid": lambda n: f"00000000-0000-4000-8000-{n:012d}",
    "uri": lambda n: f"https://example.com/{n or ''}",
    "url": lambda n: f"https://example.com/{n or ''}",
    "hostname": lambda n: f"host{n}.example.com" if n else "example.com",
    "ipv4": lambda n: f"192.0.2.{1 + n % 254}",
    "ipv6": lambda n: f"2001:db8::{1 + n:x}",
}


def as_text(value: Any) -> str:
    """One value as text, as a URL, a header or a form field carries it: strings as they
    are, `true`/`false`, numbers as JSON writes them, nothing for null, and JSON text for
    what nests further."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _flat(schema: Any, depth: int = 0) -> dict[str, Any]:
    """`allOf` folded into one schema: properties and required lists joined, the first
    statement of any other keyword kept."""
    if not isinstance(schema, dict):
        return {}
    parts = schema.get("allOf")
    if not isinstance(parts, list) or not parts or depth > MAX_DEPTH:
        return schema
    out = {k: v for k, v in schema.items() if k != "allOf"}
    for part in parts:
        for key, value in _flat(part, depth + 1).items():
            if key == "properties" and isinstance(value, dict):
                props = dict(properties(out))
                for name, sub in value.items():
                    props[name] = {"allOf": [props[name], sub]} if name in props else sub
                out["properties"] = props
            elif key == "required" and isinstance(value, list):
                out["required"] = list(dict.fromkeys([*_required(out), *value]))
            elif key not in out:
                out[key] = value
    return out


def properties(schema: Mapping[str, Any]) -> dict[str, Any]:
    props = schema.get("properties")
    return props if isinstance(props, dict) else {}


def _required(schema: Mapping[str, Any]) -> list[str]:
    """The required property names; `required: true` on a property (a Swagger 2 habit) is
    no list of names and requires nothing here."""
    names = schema.get("required")
    return [n for n in names if isinstance(n, str)] if isinstance(names, list) else []


def alternatives(schema: Any) -> list[dict[str, Any]]:
    """The forms a schema takes: its `oneOf`/`anyOf` alternatives, each joined with what the
    schema states beside them; or the schema itself."""
    flat = _flat(schema)
    alts = flat.get("oneOf") or flat.get("anyOf")
    if not isinstance(alts, list) or not alts:
        return [flat]
    common = {k: v for k, v in flat.items() if k not in ("oneOf", "anyOf", "discriminator")}
    return [_flat({"allOf": [common, alt]}) if common else _flat(alt) for alt in alts]


def alternative_labels(schema: Any, alts: list[dict[str, Any]]) -> list[str]:
    """A name per alternative: the discriminator's value, else its title, else its place."""
    if len(alts) == 1:
        return [""]
    disc = _flat(schema).get("discriminator")
    prop = disc.get("propertyName") if isinstance(disc, dict) and isinstance(disc.get("propertyName"), str) else None
    labels = []
    for i, alt in enumerate(alts, 1):
        fixed = _fixed_value(_flat(properties(alt).get(prop))) if prop else NO_VALUE
        if fixed is not NO_VALUE:
            labels.append(safe_name(str(fixed), f"alt{i}"))
        elif isinstance(alt.get("title"), str):
            labels.append(safe_name(alt["title"], f"alt{i}"))
        else:
            labels.append(f"alt{i}")
    return [label if labels.count(label) == 1 else f"alt{i}" for i, label in enumerate(labels, 1)]


def _fixed_value(schema: dict[str, Any]) -> Any:
    if "const" in schema:
        return schema["const"]
    enum = schema.get("enum")
    return enum[0] if isinstance(enum, list) and len(enum) == 1 else NO_VALUE


def declared_types(schema: Mapping[str, Any]) -> list[str]:
    t = schema.get("type")
    types = [t] if isinstance(t, str) else [x for x in t if isinstance(x, str)] if isinstance(t, list) else []
    if schema.get("nullable") is True and types:
        types.append("null")
    return types


def main_type(schema: Mapping[str, Any]) -> str | None:
    """The type a generated value takes: the first non-null type stated, else the one the
    keywords imply."""
    stated = [t for t in declared_types(schema) if t != "null"]
    if stated:
        return stated[0]
    if any(k in schema for k in ("properties", "required", "additionalProperties")):
        return "object"
    if any(k in schema for k in ("items", "minItems", "maxItems")):
        return "array"
    if any(k in schema for k in ("pattern", "minLength", "maxLength", "format")):
        return "string"
    if any(k in schema for k in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")):
        return "number"
    return None


def _type_allows(types: list[str], value: Any) -> bool:
    kind = schema_type(value)
    return not types or kind in types or (kind == "integer" and "number" in types) or (
        kind == "number" and "integer" in types and float(value).is_integer())


def fits(schema: dict[str, Any], value: Any) -> bool:
    """Whether a value plausibly is this alternative: its type, its required keys, and the
    fixed values (a discriminator's) it states."""
    if not _type_allows(declared_types(schema), value):
        return False
    if isinstance(value, dict):
        if any(r not in value for r in _required(schema)):
            return False
        for name, sub in properties(schema).items():
            sub = _flat(sub)
            if name in value:
                allowed = [sub["const"]] if "const" in sub else sub.get("enum")
                if isinstance(allowed, list) and value[name] not in allowed:
                    return False
    return True


def _choose(alts: list[dict[str, Any]], value: Any) -> dict[str, Any]:
    return next((alt for alt in alts if fits(alt, value)), alts[0])


def _bound(schema: Mapping[str, Any], side: str) -> tuple[float, bool] | None:
    """(limit, exclusive) of `minimum`/`maximum`, in either the 3.0 or the 3.1 spelling."""
    ex = schema.get(f"exclusive{side.capitalize()}")
    if _is_number(ex):
        return ex, True
    limit = schema.get(side)
    return (limit, ex is True) if _is_number(limit) else None


def _is_number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _count(schema: Mapping[str, Any], key: str) -> int | None:
    value = schema.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _read_only(schema: Any) -> bool:
    return _flat(schema).get("readOnly") is True


Scope = tuple[tuple[Any, ...], Any]  # (pointer, schema): a node of a document and the schema it answers to


@dataclass(frozen=True)
class Variant:
    key: str  # `minLength_payment.number`: the constraint broken, then where
    value: Any
    why: str
    # The deepest node whose refusal makes the whole document invalid: the node the variant
    # changed, or the nearest above it with an `anyOf`/`oneOf`/`not` (below which a refused
    # value may still be excused). Validating that node alone settles most variants.
    scope: Scope | None = None

    @property
    def kind(self) -> str:
        """The constraint broken (`minLength`): the class the case is counted in."""
        return self.key.split("_", 1)[0]


def value_at(doc: Any, pointer: tuple[Any, ...]) -> Any:
    for part in pointer:
        doc = doc[part]
    return doc


def _set(doc: Any, pointer: tuple[Any, ...], value: Any) -> Any:
    """doc with the value at pointer replaced (or the key added): the containers on the way
    are copied, the rest is shared. Generated values are never changed once made, so a
    thousand variants of a large body cost a thousand paths, not a thousand bodies."""
    if not pointer:
        return value
    out = copy.copy(doc)
    out[pointer[0]] = _set(doc[pointer[0]], pointer[1:], value) if len(pointer) > 1 else value
    return out


def _delete(doc: Any, pointer: tuple[Any, ...]) -> Any:
    out = copy.copy(doc)
    if len(pointer) > 1:
        out[pointer[0]] = _delete(doc[pointer[0]], pointer[1:])
    else:
        del out[pointer[0]]
    return out


def _join(label: str, name: Any) -> str:
    return f"{label}.{name}" if label else str(name)


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 40 else text[:37] + "…"


class Generator:
    """Valid values from schemas, and the invalid variants of a valid value."""

    def __init__(self, notes: list[str]) -> None:
        self.notes = notes

    # -- valid values ---------------------------------------------------------------------

    def value(self, schema: Any, seed: str, salt: int = 0, stack: tuple[int, ...] = ()) -> Any:
        raw = schema if isinstance(schema, dict) else {}
        if id(raw) in stack or len(stack) > MAX_DEPTH:
            return _empty(main_type(_flat(raw)))
        if "example" in raw and salt == 0:
            return copy.deepcopy(raw["example"])
        if isinstance(raw.get("examples"), list) and raw["examples"] and salt == 0:
            return copy.deepcopy(raw["examples"][0])
        if "const" in raw:
            return copy.deepcopy(raw["const"])
        if "default" in raw and salt == 0:
            return copy.deepcopy(raw["default"])
        enum = [v for v in raw.get("enum") or [] if v is not None] if isinstance(raw.get("enum"), list) else []
        if enum:
            return copy.deepcopy(enum[salt % len(enum)])
        stack = (*stack, id(raw))
        alts = alternatives(raw)
        if alts[0] is not raw:
            return self.value(alts[0], seed, salt, stack)
        kind = main_type(raw)
        if kind == "object":
            return self._object(raw, seed, stack)
        if kind == "array":
            return self._array(raw, seed, salt, stack)
        if kind in ("integer", "number"):
            return _number(raw, kind == "integer", salt)
        if kind == "boolean":
            return salt % 2 == 0
        if kind == "null":
            return None
        return self._string(raw, seed, salt)

    def _object(self, schema: dict[str, Any], seed: str, stack: tuple[int, ...]) -> dict[str, Any]:
        props, required = properties(schema), _required(schema)
        out: dict[str, Any] = {}
        for name, sub in props.items():
            if _read_only(sub) or (name not in required and isinstance(sub, dict) and id(sub) in stack):
                continue
            out[name] = self.value(sub, f"{seed}.{name}", 0, stack)
        for name in required:
            out.setdefault(name, "example")
        return out

    def _array(self, schema: dict[str, Any], seed: str, salt: int, stack: tuple[int, ...]) -> list[Any]:
        low, high = _count(schema, "minItems") or 0, _count(schema, "maxItems")
        if low == 0 and isinstance(schema.get("items"), dict) and id(schema["items"]) in stack:
            return []  # a tree's children: the recursion ends with none
        n = max(low, 1) if high is None else min(max(low, 1), high)
        return self.items(schema, seed, min(n, MAX_ITEMS), [], stack)

    def items(self, schema: dict[str, Any], seed: str, n: int, start: list[Any],
              stack: tuple[int, ...] = ()) -> list[Any]:
        """`start` extended to n items (distinct ones when the schema asks for uniqueItems)."""
        out = list(start)
        unique = schema.get("uniqueItems") is True
        seen = {json.dumps(v, sort_keys=True) for v in out}
        salt = len(out)
        while len(out) < n and salt < 3 * n + 10:
            item = self.value(schema.get("items"), f"{seed}[]", salt, stack)
            salt += 1
            key = json.dumps(item, sort_keys=True)
            if unique and key in seen:
                continue
            seen.add(key)
            out.append(item)
        return out

    def _string(self, schema: dict[str, Any], seed: str, salt: int) -> str:
        low, high = _count(schema, "minLength") or 0, _count(schema, "maxLength")
        pattern = schema.get("pattern")
        if isinstance(pattern, str):
            made = _from_pattern(pattern, seed, salt, low, high)
            if made is not None:
                return made
            self.notes.append(f"{seed}: no string matching pattern {pattern!r} could be made; "
                              "an example in the contract fixes this")
        fmt = schema.get("format")
        text = _FORMATS[fmt](salt) if isinstance(fmt, str) and fmt in _FORMATS else f"example{salt or ''}"
        if len(text) < low:
            text += "x" * (min(low, MAX_TEXT) - len(text))
        return text[:high] if high is not None else text

    # -- invalid variants -----------------------------------------------------------------

    def variants(self, schema: Any, doc: Any, pointer: tuple[Any, ...], label: str, seed: str,
                 textual: bool = False, stack: tuple[int, ...] = (), frozen: Scope | None = None) -> Iterator[Variant]:
        """One invalid doc per constraint stated on the value at pointer, and below it, each
        with its scope (`frozen`: the scope fixed above, at a node with alternatives).

        `textual` is for parameters and form fields, which travel as text (and so do their
        items and properties): a number sent as "3" is still a number there, so a wrong type
        is text that is no number.
        """
        raw = schema if isinstance(schema, dict) else {}
        if id(raw) in stack or len(stack) > MAX_DEPTH:
            return
        scope = frozen or (pointer, raw)
        below = frozen or (scope if _disjunctive(raw) else None)
        for v in self._variants(raw, doc, pointer, label, seed, textual, (*stack, id(raw)), below):
            yield v if v.scope is not None else Variant(v.key, v.value, v.why, scope)

    def _variants(self, raw: dict[str, Any], doc: Any, pointer: tuple[Any, ...], label: str, seed: str,
                  textual: bool, stack: tuple[int, ...], frozen: Scope | None) -> Iterator[Variant]:
        value = value_at(doc, pointer)
        rule = _choose(alternatives(raw), value)
        where = label or "the body"
        suffix = f"_{label}" if label else ""
        declared = declared_types(rule)
        wrong = _wrong_type(declared, value, textual)
        if wrong is not NO_VALUE:
            yield Variant(f"type{suffix}", _set(doc, pointer, wrong),
                          f"{where} is {schema_type(wrong)} {_show(wrong)}, the contract says {'/'.join(declared)}")
        allowed = [rule["const"]] if "const" in rule else rule.get("enum")
        if isinstance(allowed, list) and allowed:
            outside = _outside(allowed, textual)
            yield Variant(f"enum{suffix}", _set(doc, pointer, outside),
                          f"{where} = {_show(outside)}, outside {_show(allowed)}")
        if isinstance(value, str):
            yield from self._string_variants(rule, doc, pointer, value, where, suffix)
        elif _is_number(value):
            yield from _number_variants(rule, doc, pointer, value, where, suffix)
        elif isinstance(value, list):
            yield from self._array_variants(rule, doc, pointer, value, label, seed, textual, stack, frozen)
        elif isinstance(value, dict):
            yield from self._object_variants(rule, doc, pointer, value, label, seed, textual, stack, frozen)

    def _string_variants(self, rule: dict[str, Any], doc: Any, pointer: tuple[Any, ...], value: str,
                         where: str, suffix: str) -> Iterator[Variant]:
        low, high = _count(rule, "minLength"), _count(rule, "maxLength")
        pattern = rule.get("pattern")
        if isinstance(pattern, str):
            broken = _break_pattern(pattern, value, low or 0, high)
            if broken is not None:
                yield Variant(f"pattern{suffix}", _set(doc, pointer, broken),
                              f"{where} = {_show(broken)} does not match {pattern}")
        if low and low <= MAX_TEXT:
            short = (value * low)[:low - 1] if value else ""
            yield Variant(f"minLength{suffix}", _set(doc, pointer, short),
                          f"{where} has {len(short)} character(s), minLength is {low}")
        if high is not None and high < MAX_TEXT:
            long = (value or "x").ljust(high + 1, (value or "x")[-1])[:high + 1]
            yield Variant(f"maxLength{suffix}", _set(doc, pointer, long),
                          f"{where} has {high + 1} characters, maxLength is {high}")

    def _array_variants(self, rule: dict[str, Any], doc: Any, pointer: tuple[Any, ...], value: list[Any],
                        label: str, seed: str, textual: bool, stack: tuple[int, ...],
                        frozen: Scope | None) -> Iterator[Variant]:
        where, suffix = label or "the body", f"_{label}" if label else ""
        low, high = _count(rule, "minItems"), _count(rule, "maxItems")
        if low:
            fewer = value[:low - 1]
            yield Variant(f"minItems{suffix}", _set(doc, pointer, fewer),
                          f"{where} has {len(fewer)} item(s), minItems is {low}")
        if high is not None and high < MAX_ITEMS:
            more = self.items(rule, f"{seed}.{label}", high + 1, value[:high + 1])
            if len(more) > high:
                yield Variant(f"maxItems{suffix}", _set(doc, pointer, more),
                              f"{where} has {len(more)} items, maxItems is {high}")
            else:
                self.notes.append(f"{seed}: no {high + 1} distinct items for an overfull {where}")
        if value:
            yield from self.variants(rule.get("items"), doc, (*pointer, 0), _join(label, 0), seed, textual, stack, frozen)

    def _object_variants(self, rule: dict[str, Any], doc: Any, pointer: tuple[Any, ...], value: dict[str, Any],
                         label: str, seed: str, textual: bool, stack: tuple[int, ...],
                         frozen: Scope | None) -> Iterator[Variant]:
        props, required = properties(rule), _required(rule)
        for name in [*props, *(r for r in required if r not in props)]:
            sub = props.get(name)
            child = _join(label, name)
            if name in required and name in value and not _read_only(sub):
                yield Variant(f"missing_{child}", _delete(doc, (*pointer, name)),
                              f"required {child!r} left out")
            if sub is None or _read_only(sub):
                continue
            if name in value:
                yield from self.variants(sub, doc, (*pointer, name), child, seed, textual, stack, frozen)
            elif isinstance(sub, dict) and id(sub) not in stack:
                present = _set(doc, (*pointer, name), self.value(sub, f"{seed}.{child}"))
                yield from self.variants(sub, present, (*pointer, name), child, seed, textual, stack, frozen)


_DISJUNCTIONS = ("anyOf", "oneOf", "not", "if", "then", "else", "dependentSchemas")


def _disjunctive(schema: Any) -> bool:
    """Whether a value this schema refuses in one part may be accepted all the same (an
    alternative, a negation, a condition): a child's refusal is then not the node's."""
    flat = _flat(schema)
    return any(key in flat for key in _DISJUNCTIONS)


def _empty(kind: str | None) -> Any:
    """Where a recursive schema stops: the smallest value of its type."""
    return {"object": {}, "array": [], "string": "", "integer": 0, "number": 0, "boolean": False}.get(kind or "", None)


def _number(schema: Mapping[str, Any], integer: bool, salt: int) -> int | float:
    """1 (1.5 for a number), else the nearest value the bounds allow, rounded up to a
    multiple of `multipleOf`."""
    step = 1 if integer else 0.5
    low, high = _bound(schema, "minimum"), _bound(schema, "maximum")
    least = None if low is None else low[0] + step if low[1] else low[0]
    most = None if high is None else high[0] - step if high[1] else high[0]
    if integer:
        least = None if least is None else math.ceil(least)
        most = None if most is None else math.floor(most)
    value: float = (1 if integer else 1.5) + salt
    if least is not None and value < least:
        value = least
    if most is not None and value > most:
        value = most
    multiple = schema.get("multipleOf")
    if _is_number(multiple) and multiple > 0:
        value = math.ceil(value / multiple) * multiple
    return int(value) if integer else value


def _number_variants(rule: dict[str, Any], doc: Any, pointer: tuple[Any, ...], value: float,
                     where: str, suffix: str) -> Iterator[Variant]:
    declared = declared_types(rule)
    integer = "integer" in declared or (isinstance(value, int) and "number" not in declared)
    for side, keyword in ((-1, "minimum"), (1, "maximum")):
        bound = _bound(rule, keyword)
        if bound is None:
            continue
        limit, exclusive = bound
        beyond = _beyond(limit, exclusive, integer, side)
        stated = f"exclusive{keyword.capitalize()}" if exclusive else keyword
        yield Variant(f"{keyword}{suffix}", _set(doc, pointer, beyond), f"{where} = {beyond}, {stated} is {limit}")


def _beyond(limit: float, exclusive: bool, integer: bool, side: int) -> float:
    """The nearest value out of bounds: below a minimum (side -1), above a maximum (+1)."""
    if exclusive:
        return (math.floor(limit) if side < 0 else math.ceil(limit)) if integer else limit
    if integer:
        return math.ceil(limit) - 1 if side < 0 else math.floor(limit) + 1
    return limit + side


def _wrong_type(declared: list[str], value: Any, textual: bool) -> Any:
    """A value of a type the schema does not allow, and that no common server coerces into
    one: text that is no number or boolean (`"not-an-integer"`, never `"1"` or `"true"`,
    which lax validation such as pydantic's default turns into 1 and True), a number where
    text is due (which pydantic never makes text). For text-borne values, text that is no
    value of the type; none for an array or an object, which text cannot fail to be.
    `NO_VALUE` when the schema states no type, or every type."""
    if not declared:
        return NO_VALUE
    allowed = set(declared) | ({"integer"} if "number" in declared else set())
    main = next((t for t in declared if t != "null"), declared[0])
    not_one = f"not-{'an' if main[0] in 'aeiou' else 'a'}-{main}"
    if textual:  # any text is an array of one item, and an object's properties travel as text of their own
        return NO_VALUE if "string" in allowed or main in ("array", "object") else not_one
    for kind, candidate in (("string", not_one), ("integer", 12345), ("boolean", True), ("object", {})):
        if kind not in allowed:
            return candidate
    return NO_VALUE


def _outside(allowed: list[Any], textual: bool) -> Any:
    """A value of the enum's own type that is not in the set."""
    members = {json.dumps(v, sort_keys=True) for v in allowed}
    if all(_is_number(v) for v in allowed) and not textual:
        candidate: Any = max(allowed) + 1
    elif all(isinstance(v, bool) for v in allowed) and len(members) == 1 and not textual:
        candidate = not allowed[0]
    else:
        candidate = f"{allowed[0]}_unknown" if isinstance(allowed[0], str) else "unknown"
        while json.dumps(candidate) in members or (textual and candidate in {as_text(v) for v in allowed}):
            candidate += "_"
    return candidate


def _pattern_rx(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern)
    except re.error:
        return None  # ECMA-262 syntax Python does not read: generated strings go unchecked


def _from_pattern(pattern: str, seed: str, salt: int, low: int, high: int | None) -> str | None:
    """A string matching the pattern and the length limits, the same one every time."""
    rx = _pattern_rx(pattern)
    for attempt in range(20):
        generator = rstr.Rstr(random.Random(zlib.crc32(f"{seed}#{salt}#{attempt}".encode())))
        try:
            text = generator.xeger(pattern)
        except (re.error, ValueError, KeyError, IndexError, TypeError, OverflowError):
            return None
        if low <= len(text) and (high is None or len(text) <= high) and (rx is None or rx.search(text)):
            return text
    return None


def _break_pattern(pattern: str, value: str, low: int, high: int | None) -> str | None:
    """The valid string changed as little as possible so the pattern no longer matches: its
    first character swapped (a prefix broken), else a character added or taken away."""
    rx = _pattern_rx(pattern)
    first = value[:1]
    swapped = (chr((ord(first.lower()) - ord("a") + 1) % 26 + ord("a")) if first.isascii() and first.isalpha()
               else "a" if first.isdigit() else "0")
    if first.isupper():
        swapped = swapped.upper()
    candidates = [swapped + value[1:], ("0" if first.isalpha() else "a") + value[1:], "!" + value[1:],
                  value + "!", "!" + value, value[1:], ""]
    for candidate in candidates:
        if candidate == value or len(candidate) < low or (high is not None and len(candidate) > high):
            continue
        if rx is None or not rx.search(candidate):
            return candidate
    return None
