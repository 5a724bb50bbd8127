"""Parity cases from an OpenAPI 3.0/3.1 contract, regenerated whenever the contract changes.

Per operation: one valid request (from the contract's examples, else generated from its
schemas) and one invalid request per constraint the contract states: a required property
missing, a wrong type, a pattern broken, minItems/maxItems, minLength/maxLength,
minimum/maximum, an enum value outside the set, a bad path parameter. Each invalid request
breaks exactly one constraint of an otherwise valid request, so two runtimes that answer it
differently disagree about that constraint and nothing else. A request body that is a
`oneOf`/`anyOf` gets a valid request per alternative (each is a distinct form the service
accepts) and that alternative's invalid ones.

Bodies are JSON, `application/x-www-form-urlencoded` or `multipart/form-data`; an
operation whose body is none of them is skipped with a note. Parameters and form fields are
written after their `style` (`_wire`), and every invalid request is validated as the server
will read it against the schema it breaks (`_check`): one that is in fact valid
(`?tags=not-an-array` is a one-item array) is dropped and counted.

Paths are relative to the contract's server, as its operations are written: the server's
path (`/v2` of `https://api.example.com/v2`) belongs to the target, whose URL says where the
service is (`http://127.0.0.1:3100/v2`), unless `base_path` puts it in the cases.

Names are the operationId, the alternative and the variant (`validate_playbook_missing_
fingerprint`), the expected status is the one the contract documents (a 2xx for the valid
request, 422 or 400 for the invalid ones), and the output depends on the document alone.
`$ref`s are resolved by jsonref, within the document and to local files, never over the
network; the values themselves come from `_schema`.
"""

from __future__ import annotations

import copy
import json
import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urldefrag, urlencode, urljoin, urlparse
from urllib.request import url2pathname

import yaml

from ..core import InputError, read_input
from ._case import UNSET
from ._casefile import GeneratedCase, cases_jsonl, cases_toml, safe_name, toml_value, unique_names
from ._check import SchemaCheck
from ._schema import (NO_VALUE, Generator, Variant, alternative_labels, alternatives, fits, main_type, properties,
                      value_at)
from ._wire import BOUNDARY, FORM_MEDIA, Pairs, Style, form_pairs, multipart, read, read_form, write

OPERATION_KEYS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
SENDABLE = {"get", "put", "post", "delete", "options", "head", "patch"}
BODY_INVALID = (422, 400)  # what a service answers a body or query it refuses, in order of preference
PATH_INVALID = (400, 422, 404)
MAX_NESTING = 100  # levels of mappings and lists in a document: real ones stay under a few dozen
MAX_ALIAS_GROWTH = 100_000  # nodes YAML aliases may add to a document: sharing, never a bomb
SKIPPED_HEADERS = {"accept", "content-type", "authorization"}  # OpenAPI says these parameters are ignored


class _Loader(yaml.SafeLoader):
    """YAML as OpenAPI means it: only `true`/`false` are booleans (a property named `on` or
    `no` stays a name), dates stay strings (an example is sent as written), and every key
    is a string (a response code `200:` is the key "200")."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        mapping = super().construct_mapping(node, deep)
        return {k if isinstance(k, str) else _yaml_key(k): v for k, v in mapping.items()}


def _yaml_key(key: Any) -> str:
    return "null" if key is None else str(key).lower() if isinstance(key, bool) else str(key)


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:timestamp")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                              list("tTfF"))


def read_document(path: Path) -> Any:
    """A YAML or JSON document; a syntax error names the file, line and column. A document
    nested past MAX_NESTING is refused: each step after this one walks it recursively."""
    text = read_input(path, "an OpenAPI document")
    try:
        doc = _parse(path, text)
        deep = _deeper_than(doc, MAX_NESTING)
    except RecursionError:  # the parser's own recursion gave out, hundreds of levels down
        deep = True
    if deep:
        raise InputError(f"{path}: nested more than {MAX_NESTING} deep; no OpenAPI document needs that")
    return doc


def _deeper_than(doc: Any, limit: int) -> bool:
    """Whether mappings and lists nest past `limit` (leaves are never queued: a large
    document is mostly leaves)."""
    todo = [(doc, 0)] if isinstance(doc, (dict, list)) else []
    while todo:
        node, depth = todo.pop()
        if depth >= limit:
            return True
        children = node.values() if isinstance(node, dict) else node
        todo += [(child, depth + 1) for child in children if isinstance(child, (dict, list))]
    return False


def _parse(path: Path, text: str) -> Any:
    if path.suffix.lower() == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from None
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        _bound_aliases(path, node)
        doc = None if node is None else loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise InputError(f"{where}: invalid YAML: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: invalid YAML: {exc}") from None
    finally:
        loader.dispose()
    try:
        json.dumps(doc, allow_nan=False)  # YAML says more than JSON: an alias in itself, .inf, a set, bytes
    except (ValueError, TypeError) as exc:
        hint = "; a schema recurses through $ref, not through a YAML alias" if "Circular" in str(exc) else ""
        raise InputError(f"{path}: not JSON data ({exc}){hint}") from None
    return doc


def _bound_aliases(path: Path, root: yaml.Node | None) -> None:
    """Refuse a document whose aliases multiply it (a billion laughs: nine aliases of nine
    aliases of ... a few hundred bytes that are gigabytes as a tree): everything after the
    parse walks the document as a tree. The YAML nodes are counted as the tree would hold
    them, each node once (an alias counts what it points at), before anything is built."""
    sizes: dict[int, int] = {}  # id(node) -> nodes in its tree, aliases expanded
    open_: set[int] = set()  # the nodes being counted: an alias to one of them is a loop, named later
    todo: list[tuple[yaml.Node, bool]] = [(root, False)] if root is not None else []
    while todo:
        node, counted = todo.pop()
        children = (node.value if isinstance(node, yaml.SequenceNode) else
                    [n for pair in node.value for n in pair] if isinstance(node, yaml.MappingNode) else [])
        if counted:
            open_.discard(id(node))
            sizes[id(node)] = 1 + sum(sizes.get(id(child), 1) for child in children)
        elif id(node) not in sizes and id(node) not in open_:
            open_.add(id(node))
            todo.append((node, True))
            todo += [(child, False) for child in children]
    expanded = sizes.get(id(root), 0)
    if expanded > len(sizes) + MAX_ALIAS_GROWTH:
        raise InputError(f"{path}: YAML aliases expand the document to {expanded:,} nodes from the "
                         f"{len(sizes):,} written (more than {MAX_ALIAS_GROWTH:,} added); an OpenAPI "
                         "document shares a schema through $ref, not through YAML aliases")


def _local_only(uri: str) -> Any:
    """jsonref's loader for a `$ref` to another document: a local file, never the network."""
    parsed = urlparse(uri)
    if parsed.scheme != "file":
        raise InputError(f"only references inside the document or to local files are followed, not {uri}")
    return read_document(Path(url2pathname(unquote(parsed.path))))


def location(parts: Sequence[Any]) -> str:
    """`paths["/v1/validate"].post.requestBody`: where in the document, as a person reads it."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z_$][A-Za-z0-9_$-]*", str(part)):
            out += f".{part}" if out else str(part)
        else:
            out += f"[{json.dumps(str(part))}]"
    return out or "(top level)"


def load_contract(path: Path) -> dict[str, Any]:
    """The document as cases are made from it (`_requests_only`), with every `$ref` replaced
    by what it points at (chains followed, recursion kept as shared objects); InputError
    names the reference that does not resolve."""
    doc = read_document(path)
    if not isinstance(doc, dict):
        raise InputError(f"{path}: not an OpenAPI document (the top level is not a mapping)")
    if "swagger" in doc:
        raise InputError(f"{path}: Swagger {doc['swagger']} is not read; convert it to OpenAPI 3 first")
    version = doc.get("openapi")
    if not isinstance(version, str):
        raise InputError(f"{path}: not an OpenAPI document (no `openapi: 3.x` version key)")
    if not version.startswith("3."):
        raise InputError(f"{path}: openapi: {version!r}: only OpenAPI 3.0 and 3.1 are read")
    if not isinstance(doc.get("paths"), dict) or not doc["paths"]:
        hooks = doc.get("webhooks")
        if isinstance(hooks, dict) and hooks:
            raise InputError(f"{path}: webhooks only ({', '.join(map(str, list(hooks)[:3]))}"
                             f"{', …' if len(hooks) > 3 else ''}): a webhook is a request this API sends, not one "
                             "it answers; there is nothing to call (no `paths`)")
        raise InputError(f"{path}: paths: no operation to make cases from")
    base = path.resolve().as_uri()
    doc = _requests_only(doc)
    documents = {base: doc}

    def load(uri: str) -> Any:  # each file read once, for the cycle check and jsonref alike
        if uri not in documents:
            documents[uri] = _local_only(uri)
        return documents[uri]

    # jsonref is imported when a contract is read: it brings `requests` along where that is
    # installed (0.2 s), which every command that loads a config would otherwise pay.
    import jsonref

    cycle = _ref_cycle(path, base, load)
    if cycle:
        raise InputError(f"{path}: $ref cycle: {' → '.join(cycle)}; a schema that refers to itself does so "
                         "through a property or an array's items, not through $ref alone")
    try:
        resolved = jsonref.replace_refs(doc, base_uri=base, loader=load,
                                        merge_props=True, proxies=False, lazy_load=False)
    except jsonref.JsonRefError as exc:
        ref = exc.reference.get("$ref") if isinstance(exc.reference, dict) else exc.reference
        cause = exc.cause if isinstance(exc.cause, InputError) else exc.message.split(": ", 1)[-1]
        raise InputError(f"{path}: {location(exc.path)}: $ref {ref!r} does not resolve: {cause}") from None
    document: dict[str, Any] = resolved
    return document


def _requests_only(doc: dict[str, Any]) -> dict[str, Any]:
    """The document without what describes answers: each operation's responses by their
    codes alone (a case sends requests; it needs the codes for its expected status, never
    the answers' schemas), and `components` cut to the entries the rest still refers to. In
    a large contract the answers' schemas are most of its bytes, and resolving the `$ref`s
    of what no case uses would be most of the time. A reference into anything but this
    document's `components` (another path's parameter, another file) keeps it whole."""
    paths = {}
    for raw_path, item in doc["paths"].items():
        if isinstance(item, dict):
            item = {method: {**op, "responses": {code: {} for code in op["responses"]}}
                    if method in OPERATION_KEYS and isinstance(op, dict) and isinstance(op.get("responses"), dict)
                    else op for method, op in item.items()}
        paths[raw_path] = item
    trimmed = {key: value for key, value in doc.items() if key not in ("paths", "components", "webhooks")}
    trimmed["paths"] = paths
    components = doc.get("components")
    if not isinstance(components, dict):
        return trimmed | ({"components": components} if "components" in doc else {})
    schemes = components.get("securitySchemes")  # named by `security`, never by a $ref
    kept: dict[str, dict[str, Any]] = {"securitySchemes": schemes} if isinstance(schemes, dict) else {}
    todo: list[Any] = [trimmed, schemes]
    while todo:
        for ref in _refs(todo.pop()):
            if not ref.startswith("#"):
                return doc  # another file, which may refer back to any entry of this one
            parts = [unquote(p).replace("~1", "/").replace("~0", "~") for p in ref[1:].split("/")[1:]]
            if len(parts) < 3 or parts[0] != "components":
                return doc
            section, name = parts[1], parts[2]
            entries = components.get(section)
            if isinstance(entries, dict) and name in entries and name not in kept.get(section, {}):
                kept.setdefault(section, {})[name] = entries[name]
                todo.append(entries[name])
    return trimmed | {"components": kept}


def _ref_cycle(source: Path, base: str, load: Callable[[str], Any]) -> list[str]:
    """The first chain of `$ref`s that comes back to where it started with nothing but
    `$ref`s on the way (`Id: {$ref: Id2}`, `Id2: {$ref: Id}`), within the document or through
    local files, which jsonref would follow forever; as a person reads them, or empty when
    there is none. A schema that recurses through a property or an array's items is no such
    chain: its cases end where the recursion does."""
    ends: set[str] = set()  # references known to reach something other than a $ref
    for ref in _refs(load(base)):
        uri: str | None = urljoin(base, ref)
        chain: list[str] = []
        while uri is not None and uri not in ends:
            if uri in chain:
                return [_shown(u, source, base) for u in (*chain[chain.index(uri):], uri)]
            chain.append(uri)
            uri = _next_ref(uri, load)
        ends.update(chain)
    return []


def _next_ref(uri: str, load: Callable[[str], Any]) -> str | None:
    """Where the reference uri points at points on to, when it is itself a `$ref`; None
    when it is something else or cannot be read (jsonref then says so, with where it is used)."""
    where, fragment = urldefrag(uri)
    try:
        node = load(where)
    except InputError:
        return None
    for raw in unquote(fragment).split("/")[1:]:
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    ref = node.get("$ref") if isinstance(node, dict) else None
    return urljoin(where, ref) if isinstance(ref, str) else None


def _refs(doc: Any) -> Iterator[str]:
    """Every `$ref` of a document, in document order."""
    todo = [doc]
    while todo:
        node = todo.pop()
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                yield node["$ref"]
            todo += [child for child in reversed(node.values()) if isinstance(child, (dict, list))]
        elif isinstance(node, list):
            todo += [child for child in reversed(node) if isinstance(child, (dict, list))]


def _shown(uri: str, source: Path, base: str) -> str:
    """`#/components/schemas/Id` in the document itself, `common.yaml#/Id` in a file beside it."""
    where, fragment = urldefrag(uri)
    if where == base:
        return f"#{fragment}"
    return f"{os.path.relpath(url2pathname(unquote(urlparse(where).path)), source.resolve().parent)}#{fragment}"


@dataclass(frozen=True)
class OpenApiCases:
    """What one contract gives: the cases and the notes about what could not be generated."""

    source: Path
    title: str
    version: str
    openapi: str
    operations: int
    valid: int  # how many of the cases are valid requests (the rest break one constraint each)
    cases: tuple[GeneratedCase, ...]
    notes: tuple[str, ...] = ()
    server_path: str = ""  # the path of the contract's server URL (`/v2`), which the target's URL carries
    base_path: str = ""  # what the cases' paths start with (`--base-path`)
    dropped: int = 0  # invalid requests the schema check found valid, left out
    credentials: str = ""  # the `[parity] headers` line the secured operations need, when there are some

    def tables(self) -> list[dict[str, Any]]:
        """The cases as `[[case]]` tables: what a cases file holds, for the config to read."""
        return [case.table() for case in self.cases]

    def header(self) -> list[str]:
        """What the cases file says of itself, in comment lines."""
        lines = [
            f"Parity cases generated from {self.source.name} ({self.title} {self.version}, OpenAPI {self.openapi})",
            "by `gauntlet cases from-openapi`: per operation one valid request and one invalid request per",
            f"constraint the contract states. {self.operations} operations, {self.valid} valid and "
            f"{len(self.cases) - self.valid} invalid requests.",
            "Each invalid request was validated, as a server reads it (parameter styles, form fields), against",
            f"the schema it breaks: {self.dropped} that proved valid were left out. A wrong type is a value",
            'neither strict nor lax validation coerces ("not-an-integer", never "1" or "true"): the cases',
            "assume nothing of the server's coercion.",
        ]
        if self.base_path:
            lines.append(f"Paths start with the base path {self.base_path} (--base-path).")
        elif self.server_path:
            lines += [f"Paths are relative to the contract's server path {self.server_path}: aim each target at it",
                      f"(http://127.0.0.1:3100{self.server_path}), or regenerate with --base-path {self.server_path}."]
        if self.credentials:
            lines += ["Operations need credentials: set them once for every case in the config, not in each case:",
                      f"  {self.credentials}",
                      '  (per target: [parity.targets] NAME = {url = "…", headers = {…}})']
        lines.append("Regenerate rather than edit: cases written by hand belong in the config's [[parity.case]].")
        return lines

    def toml(self) -> str:
        return cases_toml(self.header(), self.cases)

    def jsonl(self) -> str:
        return cases_jsonl(self.cases)


def from_openapi(path: str | Path, base_path: str = "",
                 progress: Callable[[int, int], None] | None = None) -> OpenApiCases:
    """The parity cases of an OpenAPI 3.0/3.1 document (YAML or JSON), their paths relative
    to its server unless `base_path` is given; `progress(done, total)` after each operation."""
    source = Path(path)
    doc = load_contract(source)
    info = doc["info"] if isinstance(doc.get("info"), dict) else {}
    openapi = str(doc.get("openapi"))
    builder = _Builder(base_path.rstrip("/"), doc.get("security"), SchemaCheck(openapi))
    total = sum(method in SENDABLE for item in doc["paths"].values() if isinstance(item, dict) for method in item)
    operations = 0
    for raw_path, item in doc["paths"].items():
        where = ["paths", raw_path]
        if not isinstance(raw_path, str) or not raw_path.startswith("/"):
            raise InputError(f"{source}: {location(where)}: a path starts with '/'")
        if not isinstance(item, dict):
            raise InputError(f"{source}: {location(where)}: expected a path item (a mapping of operations)")
        common = _parameters(source, item.get("parameters"), [*where, "parameters"])
        for method, op in item.items():
            if method not in OPERATION_KEYS:
                continue
            if not isinstance(op, dict):
                raise InputError(f"{source}: {location([*where, method])}: expected an operation (a mapping)")
            if method not in SENDABLE:
                builder.notes.append(f"{location([*where, method])}: {method.upper()} is not probed")
                continue
            operations += 1
            own = _parameters(source, op.get("parameters"), [*where, method, "parameters"])
            params = _merge_parameters(common, own)
            builder.operation(method, raw_path, op, params, [*where, method])
            if progress is not None:
                progress(operations, total)
    if operations == 0:
        raise InputError(f"{source}: paths: no operation to make cases from")
    secured = builder.secured
    credentials = _credentials(doc) if secured else ""
    if secured:
        line = credentials or '[parity] headers = {NAME = "${TOKEN}"}'
        builder.notes.append(
            f"{len(secured)} operation(s) need credentials ({', '.join(secured[:5])}{'…' if len(secured) > 5 else ''}): "
            f"set them once in the config, {line}, rather than in each case")
    if builder.dropped:
        builder.notes.append(f"{len(builder.dropped)} invalid request(s) dropped as in fact valid once sent "
                             f"({', '.join(builder.dropped[:3])}{'…' if len(builder.dropped) > 3 else ''})")
    cases = unique_names(_dedupe(builder.cases))
    return OpenApiCases(source, str(info.get("title", source.stem)), str(info.get("version", "")), openapi,
                        operations, builder.valid, tuple(cases), tuple(builder.notes), _server_path(doc),
                        builder.base_path, len(builder.dropped), credentials)


def _needs_credentials(security: Any) -> bool:
    return isinstance(security, list) and bool(security) and all(isinstance(s, dict) and s for s in security)


def _credentials(doc: Mapping[str, Any]) -> str:
    """The `[parity] headers` line the document's security schemes ask for: a bearer token,
    Basic credentials or an API key header, each from an environment variable."""
    components = doc.get("components")
    schemes = components.get("securitySchemes") if isinstance(components, dict) else None
    headers: dict[str, str] = {}
    for scheme in schemes.values() if isinstance(schemes, dict) else ():
        if not isinstance(scheme, dict):
            continue
        kind = scheme.get("type")
        if kind == "apiKey" and scheme.get("in") == "header" and isinstance(scheme.get("name"), str):
            headers.setdefault(scheme["name"].lower(), "${API_KEY}")
        elif kind == "http" and str(scheme.get("scheme", "")).lower() == "basic":
            headers.setdefault("authorization", "Basic ${CREDENTIALS}")
        elif kind in ("http", "oauth2", "openIdConnect"):
            headers.setdefault("authorization", "Bearer ${TOKEN}")
    if not headers:
        return ""
    return f"[parity] headers = {toml_value(headers)}"


def _dedupe(cases: list[GeneratedCase]) -> list[GeneratedCase]:
    """Two variants that send the same request are one case (the first name is kept)."""
    seen: set[str] = set()
    out = []
    for case in cases:
        key = case.identity()
        if key not in seen:
            seen.add(key)
            out.append(case)
    return out


def _server_path(doc: Mapping[str, Any]) -> str:
    """The path of the first server URL, its variables at their defaults: `/ds-api` of
    `{scheme}://developer.uspto.gov/ds-api`, `/v2` of `https://x/v2/`; empty when there is
    none, or a variable has no default."""
    servers = doc.get("servers")
    if not isinstance(servers, list) or not servers or not isinstance(servers[0], dict):
        return ""
    variables = servers[0].get("variables")
    variables = variables if isinstance(variables, dict) else {}

    def default(match: re.Match[str]) -> str:
        variable = variables.get(match.group(1))
        return str(variable["default"]) if isinstance(variable, dict) and "default" in variable else match.group(0)

    url = re.sub(r"\{([^{}]*)\}", default, str(servers[0].get("url", "")))
    if "{" in url:
        return ""
    path = urlparse(url).path.rstrip("/")
    return path if not path or path.startswith("/") else "/" + path


@dataclass(frozen=True)
class _Param:
    name: str
    where: str  # path | query | header | cookie
    required: bool
    schema: dict[str, Any]
    example: Any
    style: Style  # how its value is written


def _parameters(source: Path, raw: Any, where: list[Any]) -> list[_Param]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise InputError(f"{source}: {location(where)}: expected a list of parameters")
    out = []
    for i, p in enumerate(raw):
        if not isinstance(p, dict) or not isinstance(p.get("name"), str) or p.get("in") not in (
                "path", "query", "header", "cookie"):
            raise InputError(f"{source}: {location([*where, i])}: a parameter needs `name` and "
                             "`in` (path, query, header or cookie)")
        schema = p.get("schema")
        as_json = False
        if schema is None and isinstance(p.get("content"), dict) and p["content"]:
            media = next(iter(p["content"].values()))
            schema = media.get("schema") if isinstance(media, dict) else None
            as_json = True
        example = p["example"] if "example" in p else _first_example(p.get("examples"))
        out.append(_Param(p["name"], p["in"], bool(p.get("required")) or p["in"] == "path",
                          schema if isinstance(schema, dict) else {}, example, Style.of(p, p["in"], as_json)))
    return out


def _merge_parameters(common: list[_Param], own: list[_Param]) -> list[_Param]:
    """An operation's parameter replaces the path item's of the same name and place."""
    mine = {(p.name, p.where) for p in own}
    return [p for p in common if (p.name, p.where) not in mine] + own


def _first_example(examples: Any) -> Any:
    """The value of the first entry of an OpenAPI `examples` map (or a JSON Schema list)."""
    if isinstance(examples, dict):
        for entry in examples.values():
            if isinstance(entry, dict) and "value" in entry:
                return entry["value"]
    if isinstance(examples, list) and examples:
        return examples[0]
    return NO_VALUE


def _media_examples(media: Mapping[str, Any]) -> list[Any]:
    found = [media["example"]] if "example" in media else []
    if isinstance(media.get("examples"), dict):
        found += [e["value"] for e in media["examples"].values() if isinstance(e, dict) and "value" in e]
    return found


def _body_media(content: Any) -> tuple[str, dict[str, Any]] | None:
    """The media type a body is generated in: JSON first, then a form, in the contract's
    order within each; None when the body is none of them."""
    if not isinstance(content, dict):
        return None
    names = [n for n in content if isinstance(n, str)]

    def rank(name: str) -> int:
        base = name.split(";")[0].strip().lower()
        if base == "application/json":
            return 0
        if base.endswith("+json"):
            return 1
        return 2 + FORM_MEDIA.index(base) if base in FORM_MEDIA else 9

    found = sorted((rank(n), i, n) for i, n in enumerate(names))
    if not found or found[0][0] == 9:
        return None
    name = found[0][2]
    media = content[name]
    return name, media if isinstance(media, dict) else {}


@dataclass(frozen=True)
class _Body:
    """One form a request body takes: the value and how it is sent."""

    label: str  # the `oneOf`/`anyOf` alternative ("" when there is one)
    value: Any
    schema: dict[str, Any]  # the alternative's: its constraints are the ones broken
    whole: dict[str, Any]  # the body's: what the server validates
    media: str  # the media type as the contract names it
    form: str | None = None  # "urlencoded" | "multipart" for a form body, None for JSON


@dataclass
class _Request:
    """A request under construction: what an invalid variant changes one part of."""

    path_values: dict[str, Any]
    query: dict[str, Any]
    headers: dict[str, Any]
    styles: dict[tuple[str, str], Style]  # (where, name) -> how the parameter is written
    body: Any = UNSET
    shape: _Body | None = None

    def with_body(self, body: Any) -> _Request:
        return _Request(self.path_values, self.query, self.headers, self.styles, body, self.shape)


@dataclass
class _Builder:
    """The cases of one document, operation by operation, and what could not be made."""

    base_path: str
    security: Any  # the document's: an operation without its own `security` needs what it says
    check: SchemaCheck
    cases: list[GeneratedCase] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    secured: list[str] = field(default_factory=list)  # operations that need credentials
    dropped: list[str] = field(default_factory=list)  # invalid requests found valid, by name
    valid: int = 0

    def operation(self, method: str, raw_path: str, op: Mapping[str, Any], params: list[_Param],
                  where: list[Any]) -> None:
        op_name = safe_name(str(op.get("operationId") or f"{method}_{raw_path}"))
        codes = {str(code) for code in (op.get("responses") or {})} if isinstance(op.get("responses"), dict) else set()
        ok_codes = sorted(int(c) for c in codes if c.isdigit() and 200 <= int(c) < 300)
        ok = ok_codes[0] if ok_codes else None
        bad = next((s for s in BODY_INVALID if str(s) in codes), None)
        bad_path = next((s for s in PATH_INVALID if str(s) in codes), None)
        gen = Generator(self.notes)
        self.notes += [f"{location(where)}: cookie parameter {p.name!r} is not sent"
                       for p in params if p.where == "cookie" and p.required]
        params = [p for p in params if p.where != "cookie" and not (
            p.where == "header" and p.name.lower() in SKIPPED_HEADERS)]
        base = _Request({}, {}, {}, {(p.where, p.name): p.style for p in params})
        for p in params:
            label = f"{p.where}.{p.name}"
            value = p.example if p.example is not NO_VALUE else gen.value(p.schema, f"{op_name}.{label}")
            if p.where == "path":
                base.path_values[p.name] = value
            elif p.required:
                (base.query if p.where == "query" else base.headers)[p.name] = value
        for name in re.findall(r"\{([^}]+)\}", raw_path):
            if name not in base.path_values:
                self.notes.append(f"{location(where)}: path parameter {{{name}}} is not declared; sent as 1")
                base.path_values[name] = 1
                base.styles[("path", name)] = Style(name, "path", "simple", False)
        bodies = self._bodies(op, where, gen, op_name)
        if bodies is None:
            return
        if _needs_credentials(op.get("security", self.security)):
            self.secured.append(op_name)
        for i, body in enumerate(bodies):
            prefix = f"{op_name}_{body.label}" if body.label else op_name
            request = replace(base, body=body.value, shape=body if body.value is not UNSET else None)
            what = f"{method.upper()} {raw_path}" + (f" ({body.label})" if body.label else "")
            self._add(prefix + "_valid", "valid", method, raw_path, request, ok, f"{what}: a valid request")
            self.valid += 1
            self._refused_valid(prefix, request, params if i == 0 else [], body)
            if body.value is not UNSET:
                alternatives_above = ((), body.whole) if len(bodies) > 1 else None
                for v in gen.variants(body.schema, body.value, (), "", f"{op_name}.{body.label}",
                                      textual=body.form is not None, frozen=alternatives_above):
                    name = f"{prefix}_{v.key}"
                    if self._in_fact_valid(name, body, v):
                        continue
                    self._add(name, v.kind, method, raw_path, request.with_body(v.value), bad, f"{what}: {v.why}")
            if i == 0:  # a parameter is broken once, beside the first form of the body
                self._parameter_variants(method, raw_path, request, params, gen, op_name, bad, bad_path)

    def _bodies(self, op: Mapping[str, Any], where: list[Any], gen: Generator, op_name: str) -> list[_Body] | None:
        """Each form the body takes; [no body] for an operation without one; None when the
        operation cannot be sent (a body that is neither JSON nor a form, whether required
        or not: leaving it out sends a request the contract does not describe)."""
        rb = op.get("requestBody")
        if not isinstance(rb, dict) or not isinstance(rb.get("content"), dict) or not rb["content"]:
            return [_Body("", UNSET, {}, {}, "")]
        found = _body_media(rb["content"])
        if found is None:
            kinds = ", ".join(map(str, rb["content"]))
            self.notes.append(f"{location([*where, 'requestBody'])}: only JSON and form bodies are generated "
                              f"({kinds}); operation skipped")
            return None
        media_name, media = found
        base = media_name.split(";")[0].strip().lower()
        form = {"application/x-www-form-urlencoded": "urlencoded", "multipart/form-data": "multipart"}.get(base)
        raw_schema = media.get("schema")
        schema = raw_schema if isinstance(raw_schema, dict) else {}
        examples = _media_examples(media)
        alts = alternatives(schema)
        labels = alternative_labels(schema, alts)
        out: list[_Body] = []
        for alt, label in zip(alts, labels):
            example = next((e for e in examples if fits(alt, e)), NO_VALUE) if len(alts) > 1 else (
                examples[0] if examples else NO_VALUE)
            body = copy.deepcopy(example) if example is not NO_VALUE else gen.value(alt, f"{op_name}.{label}")
            if form is not None and not isinstance(body, dict):
                self.notes.append(f"{location([*where, 'requestBody'])}: a {base} body is an object of fields, "
                                  "its schema gives none; operation skipped")
                return None
            out.append(_Body(label, body, alt, schema, media_name, form))
        return out

    def _read_body(self, body: _Body, value: Any) -> Any:
        """The body as the server reads it: a form's fields converted after their schemas."""
        return value if body.form is None else read_form(form_pairs(value), body.whole)

    def _read_param(self, p: _Param, value: Any) -> Any:
        return read(write(value, p.style), p.style, p.schema)

    def _in_fact_valid(self, name: str, body: _Body, variant: Variant) -> bool:
        """Whether an invalid body is one the schema accepts (counted and left out). A JSON
        body is validated at the variant's scope first: the node it changed refused is the
        whole refused, and a node is a fraction of a large body. A form is read back whole;
        one that is no object of fields cannot be sent at all."""
        if body.form is not None:
            if not isinstance(variant.value, dict):
                return True
            accepted = self.check.accepts(body.whole, self._read_body(body, variant.value))
        else:
            pointer, schema = variant.scope or ((), body.whole)
            accepted = self.check.accepts(schema if pointer else body.whole, value_at(variant.value, pointer)) and (
                not pointer or self.check.accepts(body.whole, variant.value))
        if accepted:
            self.dropped.append(name)
        return accepted

    def _refused_valid(self, prefix: str, request: _Request, params: list[_Param], body: _Body) -> None:
        """A note when the contract's own schema refuses the valid request (a pattern no
        string could be made for, an example that breaks its schema)."""
        found = [("body", self.check.problem(body.whole, self._read_body(body, body.value)))
                 ] if body.value is not UNSET else []
        for p in params:
            place = {"path": request.path_values, "query": request.query, "header": request.headers}[p.where]
            if p.name in place:
                found.append((f"{p.where} parameter {p.name!r}", self.check.problem(p.schema,
                                                                                    self._read_param(p, place[p.name]))))
        for what, problem in found:
            if problem is not None:
                self.notes.append(f"{prefix}_valid: its {what} is refused by its own schema ({problem}); "
                                  "an example in the contract fixes this")

    def _parameter_variants(self, method: str, raw_path: str, request: _Request, params: list[_Param],
                            gen: Generator, op_name: str, bad: int | None, bad_path: int | None) -> None:
        what = f"{method.upper()} {raw_path}"
        for p in params:
            label = f"{p.where}.{p.name}"
            status = bad_path if p.where == "path" else bad
            place = {"path": request.path_values, "query": request.query, "header": request.headers}[p.where]
            if p.where != "path" and p.required and p.name in place:
                without = {k: v for k, v in place.items() if k != p.name}
                self._add(f"{op_name}_missing_{label}", "missing", method, raw_path, _with(request, p.where, without),
                          status, f"{what}: required {p.where} parameter {p.name!r} left out")
            value = place[p.name] if p.name in place else (
                p.example if p.example is not NO_VALUE else gen.value(p.schema, f"{op_name}.{label}"))
            for v in gen.variants(p.schema, value, (), label, f"{op_name}.{label}", textual=not p.style.as_json):
                name = f"{op_name}_{v.key}"
                read_back = self._read_param(p, v.value)
                if (read_back is None and not p.required) or (
                        read_back is not None and self.check.accepts(p.schema, read_back)):
                    self.dropped.append(name)
                    continue
                self._add(name, v.kind, method, raw_path, _with(request, p.where, {**place, p.name: v.value}),
                          status, f"{what}: {v.why}")

    def _add(self, name: str, kind: str, method: str, raw_path: str, request: _Request, status: int | None,
             why: str) -> None:
        path = raw_path
        for pname, value in request.path_values.items():
            text = _text(write(value, request.styles[("path", pname)]))
            path = path.replace("{" + pname + "}", quote(text, safe=",;="))
        query: dict[str, str | list[str]] = {}
        for pname, value in request.query.items():
            for key, text in write(value, request.styles[("query", pname)]):
                held = query.get(key)
                query[key] = text if held is None else [*([held] if isinstance(held, str) else held), text]
        headers = {k: _text(write(v, request.styles[("header", k)])) for k, v in request.headers.items()}
        json_body, text_body = request.body, None
        shape = request.shape
        if shape is not None and request.body is not UNSET:
            if shape.form is not None:
                pairs = form_pairs(request.body)
                text_body = urlencode(pairs) if shape.form == "urlencoded" else multipart(pairs, _files(shape.schema))
                json_body = UNSET
                headers["Content-Type"] = (shape.media if shape.form == "urlencoded"
                                           else f"multipart/form-data; boundary={BOUNDARY}")
            elif shape.media.split(";")[0].strip().lower() != "application/json":
                headers["Content-Type"] = shape.media
        self.cases.append(GeneratedCase(
            name=safe_name(name), method=method.upper(), path=(self.base_path + path) or "/", query=query,
            headers=headers, json=json_body, body=text_body, expect_status=status, why=why,
            template=(self.base_path + raw_path) or "/", kind=kind))


def _text(pairs: Pairs) -> str:
    """A path or header parameter's text: the one pair its style writes."""
    return pairs[0][1] if pairs else ""


def _files(schema: Mapping[str, Any]) -> set[str]:
    """The fields of a multipart body sent as files: strings of format binary or base64."""
    return {name for name, sub in properties(schema).items()
            if isinstance(sub, dict) and main_type(sub) == "string" and sub.get("format") in ("binary", "base64")}


def _with(request: _Request, where: str, values: dict[str, Any]) -> _Request:
    key = {"path": "path_values", "query": "query", "header": "headers"}[where]
    change: dict[str, Any] = {key: values}
    return replace(request, **change)
