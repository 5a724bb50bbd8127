"""A parity case as the config and the cases files give it: one request and what it expects.

The cases phase owns the case's shape and its validation, so a `[[parity.case]]` table, a
TOML cases file and a JSON Lines line are read by the same code and report problems alike.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core import InputError, Problem, TableReader, check_name, read_input


class _Unset:
    """A parity case with no `json` key (None is a valid JSON body: null). One object, told by
    identity, including in a process a case was pickled to (a mirror judges in its own)."""

    def __reduce__(self) -> str:
        return "UNSET"

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()


@dataclass(frozen=True)
class ParityCase:
    name: str
    method: str = "GET"
    path: str = "/"
    query: Mapping[str, str | list[str]] = field(default_factory=dict)  # a list: the name repeated, once per item
    headers: Mapping[str, str] = field(default_factory=dict)
    json: Any = UNSET
    body: str | None = None
    expect_status: int | None = None
    template: str | None = None  # the endpoint's path template (`/v1/playbooks/{id}`): noise is pooled by it


CASE_KEYS = ("name", "method", "path", "query", "headers", "json", "body", "expect_status", "template")


_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


def cases_from_file(p: TableReader, path: Path) -> list[TableReader]:
    try:
        raw = tomllib.loads(read_input(path, "a cases file"))
    except InputError as exc:
        p.problem("cases_file", str(exc))
        return []
    except tomllib.TOMLDecodeError as exc:
        p.problem("cases_file", f"{path}: invalid TOML: {exc}")
        return []
    return TableReader(raw, f"{path.name}: ", p.problems, ("case",)).tables("case", CASE_KEYS)


def read_case_lines(path: Path, taken: set[str]) -> Iterator[tuple[ParityCase | None, list[Problem]]]:
    """A JSON Lines cases file, one case object a line with the keys of [[parity.case]]: per
    line the case and its problems, each located `file:line`. `taken` holds the names seen so
    far (it grows as the file is read): a set of names is all that is kept of the file."""
    try:
        fh = open(path, "rb")
    except OSError as exc:
        raise InputError(f"{path}: cannot read the cases file: {exc.strerror or exc}") from None
    with fh:
        for number, raw in enumerate(fh, 1):
            if not raw.strip():
                continue
            where = f"{path.name}:{number}"
            problems: list[Problem] = []
            try:
                value = _CASE_JSON.decode(raw.rstrip(b"\r\n").decode("utf-8"))
            except UnicodeDecodeError as exc:
                yield None, [Problem(where, f"not UTF-8 text ({exc.reason} at byte {exc.start})")]
                continue
            except json.JSONDecodeError as exc:
                yield None, [Problem(where, f"invalid JSON: {exc.msg} (column {exc.colno})")]
                continue
            except ValueError as exc:
                yield None, [Problem(where, f"invalid JSON: {exc}")]
                continue
            if not isinstance(value, dict):
                yield None, [Problem(where, f"expected a JSON object (one case), got {json.dumps(value)[:40]}")]
                continue
            case = read_case(TableReader(value, f"{where}: ", problems, CASE_KEYS))
            if case.name in taken:
                problems.append(Problem(f"{where}: name",
                                        f"duplicate case name {case.name!r} (an earlier case has it)"))
            taken.add(case.name)
            yield (None if problems else case), problems


def _no_constant(name: str) -> Any:
    """Python reads NaN and Infinity in JSON; no JSON body can carry them."""
    raise ValueError(f"{name} is not a JSON value")


_CASE_JSON = json.JSONDecoder(parse_constant=_no_constant)  # one decoder: json.loads with an option makes one a call


def _query(c: TableReader) -> dict[str, str | list[str]]:
    """`query = {page = "2", tag = ["a", "b"]}`: a value, or a list sent as the name repeated
    (`?tag=a&tag=b`, how OpenAPI sends an array by default)."""
    raw = c.raw.get("query")
    if not isinstance(raw, dict) or not any(isinstance(v, list) for v in raw.values()):
        return dict(c.string_map("query"))
    out: dict[str, str | list[str]] = {}
    for name, value in raw.items():
        items = value if isinstance(value, list) else [value]
        texts = [str(v) for v in items if isinstance(v, (str, int, float)) and not isinstance(v, bool)]
        if len(texts) != len(items):
            c.problem(f"query.{name}", f"expected a string or a list of strings, got {json.dumps(value)[:40]}")
        else:
            out[name] = texts if isinstance(value, list) else texts[0]
    return out


def read_case(c: TableReader) -> ParityCase:
    name = c.string("name", required=True)
    check_name(c, name)
    if c.has("json") and c.has("body"):
        c.problem("body", "give either `json` or `body`, not both")
    method = (c.string("method", "GET") or "GET").upper()
    if method not in _METHODS:
        c.problem("method", f"expected one of {', '.join(_METHODS)}, got {method!r}")
    path = c.string("path", "/") or "/"
    if not path.startswith("/"):
        c.problem("path", f"must start with '/', got {path!r}")
    template = c.string("template")
    if template is not None and not template.startswith("/"):
        c.problem("template", f"a path template starts with '/', got {template!r}")
    return ParityCase(
        name=name or f"<{c.path}>",
        method=method,
        path=path,
        query=_query(c),
        headers=c.string_map("headers"),
        json=c.raw.get("json", UNSET),
        body=c.string("body"),
        expect_status=c.integer("expect_status", None, minimum=100, maximum=599),
        template=template,
    )
