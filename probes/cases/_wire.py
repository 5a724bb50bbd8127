"""How a value travels as text, and the value a server reads back from that text.

OpenAPI says how a parameter is written into a URL or a header (`style` and `explode`: an
array in a query is `?tags=a&tags=b` by default, `?tags=a,b` without explode, `a|b` piped),
and a form body carries each field as text the same way. Generated requests are written
after these rules, and the check that an invalid request really breaks its schema reads
the text back as a server does before it validates: `?tags=not-an-array` is a legal
one-item array, `?limit=101` the number 101.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ._schema import alternatives, as_text, declared_types, main_type, properties

FORM_MEDIA = ("application/x-www-form-urlencoded", "multipart/form-data")
BOUNDARY = "gauntlet-form-boundary"  # fixed, so the same contract gives the same file
DEFAULT_STYLE = {"path": "simple", "header": "simple", "query": "form", "cookie": "form", "form": "form"}
DELIMITER = {"spaceDelimited": " ", "pipeDelimited": "|"}
Pairs = list[tuple[str, str]]


@dataclass(frozen=True)
class Style:
    """How one parameter (or form field) is written: `where` it goes, its `style` and
    `explode`, and `as_json` when the contract gives it as `content: application/json`."""

    name: str
    where: str  # path | query | header | cookie | form
    style: str = "form"
    explode: bool = True
    as_json: bool = False

    @classmethod
    def of(cls, raw: Mapping[str, Any], where: str, as_json: bool = False) -> Style:
        given, exploded = raw.get("style"), raw.get("explode")
        style = given if isinstance(given, str) else DEFAULT_STYLE[where]
        explode = exploded if isinstance(exploded, bool) else style == "form"
        return cls(str(raw.get("name", "")), where, style, explode, as_json)


def write(value: Any, style: Style) -> Pairs:
    """The (name, text) pairs a value travels as: one for a path or header parameter, one per
    item of an exploded array in a query or a form, one per property of an exploded object."""
    name, kind = style.name, style.style
    if style.as_json:
        return [(name, as_text(value) if not isinstance(value, str) else json.dumps(value, ensure_ascii=False))]
    if isinstance(value, list):
        items = [as_text(v) for v in value]
        if kind == "form" and style.explode:
            return [(name, text) for text in items]
        if kind == "matrix":
            return [(name, "".join(f";{name}={t}" for t in items) if style.explode else f";{name}={','.join(items)}")]
        if kind == "label":
            return [(name, "." + ("." if style.explode else ",").join(items))]
        return [(name, DELIMITER.get(kind, ",").join(items))]
    if isinstance(value, dict):
        fields = [(str(k), as_text(v)) for k, v in value.items()]
        if kind == "deepObject":
            return [(f"{name}[{k}]", t) for k, t in fields]
        if kind == "form" and style.explode:
            return fields
        if style.explode:  # `a=1,b=2`; label `.a=1.b=2`; matrix `;a=1;b=2`
            separator = {"label": ".", "matrix": ";"}.get(kind, ",")
            text = separator.join(f"{k}={t}" for k, t in fields)
            prefix = separator if kind in ("label", "matrix") else ""
        else:  # `a,1,b,2`; label `.a,1,b,2`; matrix `;name=a,1,b,2`
            text = ",".join(f"{k},{t}" for k, t in fields)
            prefix = {"label": ".", "matrix": f";{name}="}.get(kind, "")
        return [(name, prefix + text)]
    text = as_text(value)
    return [(name, {"label": f".{text}", "matrix": f";{name}={text}"}.get(kind, text))]


def read(pairs: Sequence[tuple[str, str]], style: Style, schema: Any) -> Any:
    """What a server makes of the pairs for this parameter: the text split and converted
    after the schema's types, as it does before it validates; None when absent."""
    name, kind = style.name, style.style
    if style.as_json:
        text = _last(pairs, name)
        return None if text is None else _json_or_text(text)
    rule = _rule(schema)
    shape = main_type(rule)
    if shape == "object":
        if kind == "deepObject":
            fields = [(k[len(name) + 1:-1], t) for k, t in pairs if k.startswith(f"{name}[") and k.endswith("]")]
        elif kind == "form" and style.explode:
            fields = [(k, t) for k, t in pairs if k in properties(rule)]
        else:
            text = _last(pairs, name)
            if text is None:
                return None
            fields = _split_object(text, kind, name, style.explode)
        return {k: coerce(t, properties(rule).get(k)) for k, t in fields}
    values = [t for k, t in pairs if k == name]
    if not values:
        return None
    if shape == "array":
        if kind == "form" and style.explode:
            items = values
        else:
            text = _strip(values[-1], kind, name)
            items = text.split(f";{name}=" if kind == "matrix" and style.explode else
                               "." if kind == "label" and style.explode else DELIMITER.get(kind, ","))
        return [coerce(t, rule.get("items")) for t in items]
    return coerce(_strip(values[-1], kind, name), rule)


def form_pairs(value: Mapping[str, Any]) -> Pairs:
    """A form body's fields: an array's items each under its field's name (style form,
    explode, the default for forms), a nested object as JSON text."""
    pairs: Pairs = []
    for key, field in value.items():
        pairs += [(key, as_text(v)) for v in field] if isinstance(field, list) else [(key, as_text(field))]
    return pairs


def read_form(pairs: Sequence[tuple[str, str]], schema: Any) -> dict[str, Any]:
    """A form body as a server reads it: each field converted after its schema, the items of
    an array field gathered from its repeated name."""
    props = properties(_rule(schema))
    out: dict[str, Any] = {}
    for key, text in pairs:
        sub = _rule(props.get(key))
        if main_type(sub) == "array":
            out.setdefault(key, []).append(coerce(text, sub.get("items")))
        else:
            out[key] = coerce(text, sub)
    return out


def multipart(pairs: Sequence[tuple[str, str]], files: set[str]) -> str:
    """A multipart/form-data body: a part per field, a file part for binary fields."""
    parts = []
    for key, text in pairs:
        head = f'Content-Disposition: form-data; name="{key}"'
        if key in files:
            head += f'; filename="{key}.bin"\r\nContent-Type: application/octet-stream'
        parts.append(f"--{BOUNDARY}\r\n{head}\r\n\r\n{text}\r\n")
    return "".join(parts) + f"--{BOUNDARY}--\r\n"


def coerce(text: str, schema: Any) -> Any:
    """Text converted to the first type its schema allows that it can be: `"3"` to 3 for an
    integer, `"true"` to True for a boolean, JSON text for an array or object; else the text."""
    types = _types(schema)
    for kind in types:
        if kind == "integer" and _is_integer(text):
            return int(text)
        if kind == "number" and _is_number(text):
            number = float(text)
            return int(number) if number.is_integer() and _is_integer(text) else number
        if kind == "boolean" and text in ("true", "false"):
            return text == "true"
        if kind == "null" and text in ("", "null"):
            return None
        if kind in ("array", "object") and text[:1] in "[{":
            parsed = _json_or_text(text)
            if isinstance(parsed, (list, dict)):
                return parsed
    return text


def _rule(schema: Any) -> dict[str, Any]:
    """The schema a value is read by: its first alternative when it has several."""
    return alternatives(schema)[0]


def _types(schema: Any) -> list[str]:
    """The types the schema or any of its alternatives states, in order."""
    found: list[str] = []
    for alt in alternatives(schema):
        found += [t for t in declared_types(alt) or [main_type(alt) or "string"] if t not in found]
    return found


_INTEGER = re.compile(r"-?[0-9]+")
_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?")


def _is_integer(text: str) -> bool:
    return _INTEGER.fullmatch(text) is not None


def _is_number(text: str) -> bool:
    return _NUMBER.fullmatch(text) is not None


def _json_or_text(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _last(pairs: Sequence[tuple[str, str]], name: str) -> str | None:
    return next((t for k, t in reversed(pairs) if k == name), None)


def _strip(text: str, kind: str, name: str) -> str:
    """The text without the prefix a label (`.`) or matrix (`;name=`) style puts before it."""
    if kind == "label":
        return text.removeprefix(".")
    if kind == "matrix":
        return text.removeprefix(f";{name}=")
    return text


def _split_object(text: str, kind: str, name: str, explode: bool) -> list[tuple[str, str]]:
    """An object's fields from the text `write` made of it."""
    if explode:
        separator = {"label": ".", "matrix": ";"}.get(kind, ",")
        parts = text.removeprefix(separator).split(separator) if kind in ("label", "matrix") else text.split(",")
        return [(k, v) for k, _, v in (part.partition("=") for part in parts if part)]
    parts = _strip(text, kind, name).split(",") if text else []
    return list(zip(parts[::2], parts[1::2]))
