"""Parity cases from an OpenAPI contract: $ref chains, allOf/oneOf, parameters, broken
specs, determinism, the validatord contract against the seed, and a probe of the twins."""

from __future__ import annotations

import json
import re
import tempfile
import textwrap
import tomllib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from probes.cases._casefile import shape
from probes.cases._case import UNSET
from probes.config import load_config
from probes.core._errors import InputError
from probes.cases._openapi import from_openapi
from tui.cli import main

from ..conftest import REPO

SHOP = """
openapi: 3.0.3
info: {title: shop, version: "1"}
servers: [{url: "https://shop.example.com/api/"}]
paths:
  /shops/{shopId}/items:
    parameters:
      - {name: shopId, in: path, required: true, schema: {$ref: "#/components/schemas/ShopId"}}
    post:
      operationId: addItem
      parameters:
        - {name: sort, in: query, required: true, schema: {type: string, enum: [asc, desc]}}
        - {name: limit, in: query, schema: {type: integer, maximum: 100}}
        - {name: X-Tenant, in: header, required: true, schema: {type: string, pattern: "^t-[0-9]{3}$"}}
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: "#/components/schemas/NewItem"}
      responses:
        "201": {description: created}
        "400": {description: a bad path}
        "404": {description: no such shop}
        "422": {description: the item breaks a rule}
  /shops/{shopId}:
    get:
      operationId: getShop
      parameters:
        - {name: shopId, in: path, required: true, schema: {$ref: "#/components/schemas/ShopId"}}
      responses:
        "200": {description: the shop}
        "404": {description: no such shop}
  /pay:
    post:
      operationId: pay
      requestBody:
        content:
          application/json:
            schema:
              oneOf:
                - {$ref: "#/components/schemas/Card"}
                - {$ref: "#/components/schemas/Voucher"}
      responses:
        "200": {description: paid}
  /trees:
    post:
      operationId: plant
      requestBody:
        content:
          application/json:
            schema: {$ref: "#/components/schemas/Tree"}
      responses:
        "204": {description: planted}
components:
  schemas:
    ShopId: {$ref: "#/components/schemas/PositiveId"}
    PositiveId: {type: integer, minimum: 1}
    Sku: {$ref: "#/components/schemas/SkuCode"}
    SkuCode: {type: string, pattern: "^SKU-[A-Z]{3}[0-9]{2}$"}
    Named:
      type: object
      required: [name]
      properties:
        name: {type: string, minLength: 2, maxLength: 10}
    NewItem:
      allOf:
        - $ref: "#/components/schemas/Named"
        - type: object
          required: [sku, qty, price]
          properties:
            sku: {$ref: "#/components/schemas/Sku"}
            qty: {type: integer, minimum: 1, maximum: 9}
            price: {type: number, minimum: 0, exclusiveMinimum: true}
            colour: {type: string, enum: [red, blue]}
            tags: {type: array, items: {type: string}, minItems: 1, maxItems: 2, uniqueItems: true}
            id: {type: string, readOnly: true}
            payment:
              oneOf:
                - {$ref: "#/components/schemas/Card"}
                - {$ref: "#/components/schemas/Voucher"}
    Card:
      type: object
      title: card
      required: [number]
      properties:
        number: {type: string, minLength: 12}
    Voucher:
      type: object
      title: voucher
      required: [code]
      properties:
        code: {type: string}
    Tree:
      type: object
      required: [label]
      properties:
        label: {type: string}
        children: {type: array, items: {$ref: "#/components/schemas/Tree"}}
"""


def write_spec(tmp_path: Path, text: str, name: str = "spec.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture
def shop(tmp_path):
    return {c.name: c for c in from_openapi(write_spec(tmp_path, SHOP)).cases}


def test_the_valid_request_follows_ref_chains_allof_and_every_parameter(shop):
    valid = shop["addItem_valid"]
    assert (valid.method, valid.path, valid.expect_status) == ("POST", "/shops/1/items", 201)
    assert valid.query == {"sort": "asc"}  # the optional limit is left out of the valid request
    assert re.fullmatch(r"t-[0-9]{3}", valid.headers["X-Tenant"])
    body = valid.json
    assert re.fullmatch(r"SKU-[A-Z]{3}[0-9]{2}", body["sku"])  # through Sku -> SkuCode
    assert 2 <= len(body["name"]) <= 10 and 1 <= body["qty"] <= 9 and body["price"] > 0
    assert body["colour"] == "red" and len(body["tags"]) == 1
    assert set(body["payment"]) == {"number"} and len(body["payment"]["number"]) >= 12
    assert "id" not in body  # readOnly: the server's to write
    assert shop["getShop_valid"].path == "/shops/1"


def test_one_invalid_request_per_constraint_each_breaking_only_that(shop):
    valid = shop["addItem_valid"].json
    body_variants = {
        "missing_name": None, "minLength_name": "e", "maxLength_name": "examplee" + "eee",
        "missing_sku": None, "type_sku": 12345, "missing_qty": None, "type_qty": "not-an-integer", "minimum_qty": 0,
        "maximum_qty": 10, "missing_price": None, "type_price": "not-a-number", "minimum_price": 0,
        "type_colour": 12345, "enum_colour": "red_unknown", "type_tags": "not-an-array", "minItems_tags": [],
        "type_tags.0": 12345,
    }
    for variant, broken in body_variants.items():
        case = shop[f"addItem_{variant}"]
        field = variant.split("_", 1)[1].split(".")[0]
        changed = {k for k in valid.keys() | case.json.keys() if valid.get(k, UNSET) != case.json.get(k, UNSET)}
        assert changed == {field}, variant
        assert case.expect_status == 422, variant
        assert (case.path, case.query, case.headers) == (shop["addItem_valid"].path, shop["addItem_valid"].query,
                                                         shop["addItem_valid"].headers)
        if broken is None:
            assert field not in case.json
        elif variant == "type_tags.0":
            assert case.json["tags"] == [12345]
        else:
            assert case.json[field] == broken, variant
    sku = shop["addItem_pattern_sku"].json["sku"]
    assert not re.fullmatch(r"SKU-[A-Z]{3}[0-9]{2}", sku) and len(sku) == len(valid["sku"])  # the prefix broken
    overfull = shop["addItem_maxItems_tags"].json["tags"]
    assert len(overfull) == 3 and len(set(overfull)) == 3  # uniqueItems honoured while breaking maxItems
    assert shop["addItem_missing_payment.number"].json["payment"] == {}
    assert len(shop["addItem_minLength_payment.number"].json["payment"]["number"]) == 11
    assert "addItem_missing_query.limit" not in shop  # optional
    assert not [name for name in shop if re.search(r"_(missing|type)_id$", name)]  # readOnly


def test_parameters_are_broken_one_at_a_time_with_the_documented_status(shop):
    assert shop["addItem_type_path.shopId"].path == "/shops/not-an-integer/items"
    assert shop["addItem_minimum_path.shopId"].path == "/shops/0/items"
    assert shop["addItem_type_path.shopId"].expect_status == 400  # addItem documents 400 for a bad path
    assert shop["getShop_minimum_path.shopId"].expect_status == 404  # getShop documents only 404
    assert "sort" not in shop["addItem_missing_query.sort"].query
    assert shop["addItem_enum_query.sort"].query == {"sort": "asc_unknown"}
    assert shop["addItem_maximum_query.limit"].query == {"sort": "asc", "limit": "101"}
    assert "X-Tenant" not in shop["addItem_missing_header.X-Tenant"].headers
    assert not re.fullmatch(r"t-[0-9]{3}", shop["addItem_pattern_header.X-Tenant"].headers["X-Tenant"])
    for name in ("addItem_missing_query.sort", "addItem_pattern_header.X-Tenant"):
        assert shop[name].expect_status == 422 and shop[name].json == shop["addItem_valid"].json


def test_a_oneof_body_gets_a_valid_request_per_alternative_and_recursion_ends(shop):
    assert shop["pay_card_valid"].json == {"number": "examplexxxxx"}
    assert shop["pay_voucher_valid"].json == {"code": "example"}
    assert shop["pay_card_minLength_number"].json == {"number": "examplexxxx"}
    assert shop["pay_voucher_type_code"].json == {"code": 12345}
    # leaving out the voucher's code sends {} as leaving out the card's number does: one case
    assert shop["pay_card_missing_number"].json == {} and "pay_voucher_missing_code" not in shop
    assert shop["plant_valid"].json == {"label": "example", "children": []}
    assert shop["plant_valid"].expect_status == 204


def test_names_are_unique_and_the_file_loads_as_a_cases_file(tmp_path, write_config):
    result = from_openapi(write_spec(tmp_path, SHOP))
    (tmp_path / "cases.toml").write_text(result.toml())
    config = load_config(write_config("""
        [parity]
        reference = "a"
        cases_file = "cases.toml"
        [parity.targets]
        a = "http://127.0.0.1:1"
        b = "http://127.0.0.1:2"
    """), env={})
    loaded = {c.name: c for c in config.parity.cases}
    assert list(loaded) == [c.name for c in result.cases] and len(loaded) == len(result.cases)
    for case in result.cases:
        got = loaded[case.name]
        assert (got.method, got.path, dict(got.query), dict(got.headers), got.json, got.expect_status) == (
            case.method, case.path, dict(case.query), dict(case.headers), case.json, case.expect_status)


def test_json_and_yaml_and_a_ref_to_another_file_give_the_same_cases(tmp_path):
    yaml_cases = from_openapi(write_spec(tmp_path, SHOP)).cases
    import yaml

    doc = yaml.safe_load(SHOP)
    doc["components"]["schemas"]["SkuCode"] = {"$ref": "common.json#/SkuCode"}
    sku_code = {"type": "string", "pattern": "^SKU-[A-Z]{3}[0-9]{2}$"}
    (tmp_path / "common.json").write_text(json.dumps({"SkuCode": sku_code}))
    json_cases = from_openapi(write_spec(tmp_path, json.dumps(doc), "spec.json")).cases
    assert json_cases == yaml_cases


def test_nulls_and_control_characters_survive_the_toml(tmp_path, write_config):
    spec = write_spec(tmp_path, """
        openapi: 3.1.0
        info: {title: "odd\\u001b[31m", version: "1"}
        paths:
          /things:
            post:
              operationId: "make thing!"
              requestBody:
                content:
                  application/json:
                    schema:
                      type: object
                      properties:
                        note: {type: [string, "null"], pattern: "^a\\u0007"}
                    example: {note: null, on: yes}
              responses:
                "200": {description: ok}
    """)
    result = from_openapi(spec)
    text = result.toml()
    assert "\x1b" not in text and "\x07" not in text
    valid = next(c for c in result.cases if c.name == "make_thing_valid")
    assert valid.json == {"note": None, "on": "yes"}  # YAML 1.1's `on`/`yes` stay strings
    (tmp_path / "cases.toml").write_text(text)
    config = load_config(write_config("""
        [parity]
        reference = "a"
        cases_file = "cases.toml"
        [parity.targets]
        a = "http://127.0.0.1:1"
        b = "http://127.0.0.1:2"
    """), env={})
    loaded = next(c for c in config.parity.cases if c.name == "make_thing_valid")
    assert json.loads(loaded.body) == {"note": None, "on": "yes"}  # TOML has no null: sent as JSON text
    assert loaded.headers == {"Content-Type": "application/json"}


BROKEN = {
    "yaml": ("spec.yaml", "openapi: 3.0.0\npaths:\n  /x:\n    get: [unclosed\n", r"spec\.yaml:5:1: invalid YAML"),
    "json": ("spec.json", '{"openapi": "3.0.0",\n  "paths": {,}}', r"spec\.json:2:13: invalid JSON"),
    "missing-ref": ("spec.yaml", """
        openapi: 3.0.0
        paths:
          /things:
            post:
              requestBody:
                content:
                  application/json:
                    schema: {$ref: "#/components/schemas/Nope"}
              responses: {"200": {description: ok}}
        """, re.escape("""spec.yaml: paths["/things"].post.requestBody.content["application/json"].schema: """
                       """$ref '#/components/schemas/Nope' does not resolve""")),
    "broken-chain": ("spec.yaml", """
        openapi: 3.0.0
        paths:
          /things:
            get:
              parameters: [{name: id, in: query, schema: {$ref: "#/components/schemas/A"}}]
              responses: {"200": {description: ok}}
        components:
          schemas:
            A: {$ref: "#/components/schemas/B"}
        """, re.escape("spec.yaml: components.schemas.A: $ref '#/components/schemas/B' does not resolve")),
    "remote-ref": ("spec.yaml", """
        openapi: 3.0.0
        paths:
          /things:
            get:
              parameters: [{$ref: "https://example.com/params.yaml#/id"}]
              responses: {"200": {description: ok}}
        """, r"only references inside the document or to local files are followed"),
    "alias-loop": ("spec.yaml", "openapi: 3.0.0\nx: &l [*l]\npaths: {}\n",
                   r"spec\.yaml: not JSON data \(Circular reference detected\)"),
    "deep-yaml": ("spec.yaml", "openapi: 3.0.0\npaths: {}\nx: " + "[" * 150 + "]" * 150 + "\n",
                  r"spec\.yaml: nested more than \d+ deep"),
    "deep-json": ("spec.json", '{"openapi": "3.0.0", "x": ' + "[" * 5000 + "]" * 5000 + "}",
                  r"spec\.json: nested more than \d+ deep"),
    "infinity": ("spec.yaml", "openapi: 3.0.0\nx: {minimum: .inf}\npaths: {}\n",
                 r"spec\.yaml: not JSON data \(Out of range float values"),
    "swagger": ("spec.yaml", "swagger: '2.0'\npaths: {}\n", r"spec\.yaml: Swagger 2\.0 is not read"),
    "no-version": ("spec.yaml", "info: {title: x}\npaths: {}\n", r"no `openapi: 3\.x` version key"),
    "version-4": ("spec.yaml", "openapi: 4.0.0\npaths: {}\n", r"'4\.0\.0': only OpenAPI 3\.0 and 3\.1"),
    "a-list": ("spec.yaml", "- openapi\n", r"not an OpenAPI document"),
    "no-paths": ("spec.yaml", "openapi: 3.1.0\ninfo: {title: x, version: '1'}\n", r"paths: no operation"),
    "bad-parameter": ("spec.yaml", """
        openapi: 3.0.0
        paths:
          /things:
            get:
              parameters: [{name: id}]
              responses: {"200": {description: ok}}
        """, re.escape('spec.yaml: paths["/things"].get.parameters[0]: a parameter needs `name` and `in`')),
}


@pytest.mark.parametrize("name", list(BROKEN))
def test_a_spec_that_cannot_be_read_is_named_with_where(tmp_path, name, capsys):
    filename, text, expected = BROKEN[name]
    spec = write_spec(tmp_path, text, filename)
    assert main(["cases", "from-openapi", str(spec), "--out", str(tmp_path / "out.toml")]) == 2
    err = capsys.readouterr().err
    assert re.search(expected, err), err
    assert not (tmp_path / "out.toml").exists()


def test_a_missing_spec_is_named(tmp_path):
    with pytest.raises(InputError, match=re.escape(f"{tmp_path / 'nope.yaml'}: no such file")):
        from_openapi(tmp_path / "nope.yaml")


def test_a_few_yaml_aliases_are_still_read(tmp_path):
    """Anchors that share a parameter or a schema are YAML a person writes: not a bomb."""
    spec = write_spec(tmp_path, """
        openapi: 3.0.0
        info: {title: shared, version: "1"}
        x-limit: &limit {name: limit, in: query, schema: {type: integer, maximum: 100}}
        paths:
          /a: {get: {operationId: a, parameters: [*limit], responses: {"200": {description: ok}}}}
          /b: {get: {operationId: b, parameters: [*limit], responses: {"200": {description: ok}}}}
    """)
    names = {c.name for c in from_openapi(spec).cases}
    assert {"a_maximum_query.limit", "b_maximum_query.limit"} <= names


CYCLE = """
    openapi: 3.0.0
    info: {title: cycle, version: "1"}
    paths:
      /things:
        post:
          operationId: addThing
          requestBody:
            content:
              application/json:
                schema: {$ref: "#/components/schemas/Thing"}
          responses: {"200": {description: ok}}
    components:
      schemas:
        Thing: {type: object, properties: {id: {$ref: "#/components/schemas/Id"}}}
        Id: {$ref: "#/components/schemas/Id2"}
        Id2: {$ref: "#/components/schemas/Id"}
"""


def test_a_ref_cycle_is_named_with_its_path(tmp_path, capsys):
    spec = write_spec(tmp_path, CYCLE)
    assert main(["cases", "from-openapi", str(spec), "--out", str(tmp_path / "out.toml")]) == 2
    err = capsys.readouterr().err
    assert (f"{spec}: $ref cycle: #/components/schemas/Id → #/components/schemas/Id2 → #/components/schemas/Id"
            in err.replace("\n", "")), err
    assert not (tmp_path / "out.toml").exists()


def test_a_ref_cycle_through_another_file_is_named_with_its_path(tmp_path, capsys):
    spec = write_spec(tmp_path, CYCLE.replace('Id: {$ref: "#/components/schemas/Id2"}',
                                              'Id: {$ref: "common/ids.yaml#/Id2"}'))
    (tmp_path / "common").mkdir()
    (tmp_path / "common" / "ids.yaml").write_text('Id2: {$ref: "../spec.yaml#/components/schemas/Id"}\n')
    assert main(["cases", "from-openapi", str(spec), "--out", str(tmp_path / "out.toml")]) == 2
    err = capsys.readouterr().err.replace("\n", "")
    assert f"{spec}: $ref cycle: #/components/schemas/Id → common/ids.yaml#/Id2 → #/components/schemas/Id" in err, err


def test_a_config_whose_spec_has_a_ref_cycle_is_refused_by_check(tmp_path, write_config, capsys):
    write_spec(tmp_path, CYCLE)
    config = write_config("""
        [parity]
        reference = "a"
        cases_openapi = "spec.yaml"
        [parity.targets]
        a = "http://127.0.0.1:1"
        b = "http://127.0.0.1:2"
    """)
    assert main(["check", str(config)]) == 2
    err = capsys.readouterr().err.replace("\n", "")
    assert "parity.cases_openapi" in err and "#/components/schemas/Id2 → #/components/schemas/Id" in err, err


def test_a_schema_that_recurses_through_an_optional_property_is_no_cycle(tmp_path):
    spec = write_spec(tmp_path, """
        openapi: 3.1.0
        info: {title: tree, version: "1"}
        paths:
          /nodes:
            post:
              operationId: addNode
              requestBody:
                content:
                  application/json:
                    schema: {$ref: "#/components/schemas/Node"}
              responses: {"201": {description: ok}, "422": {description: refused}}
        components:
          schemas:
            Node:
              type: object
              required: [name]
              properties:
                name: {type: string, minLength: 1}
                parent: {$ref: "#/components/schemas/NodeRef"}
                children: {type: array, items: {$ref: "#/components/schemas/Node"}}
            NodeRef: {$ref: "#/components/schemas/Node"}
    """)
    cases = {c.name: c for c in from_openapi(spec).cases}
    assert cases["addNode_valid"].json == {"name": "example", "children": []}
    assert cases["addNode_missing_name"].expect_status == 422


SEED_TO_GENERATED = {
    "playbook_happy": "validate_playbook_valid",
    "playbook_missing_fingerprint": "validate_playbook_missing_fingerprint",
    "playbook_wrong_prefix": "validate_playbook_pattern_fingerprint",
    "playbook_empty_endorsed": "validate_playbook_minItems_endorsed",
    "playbook_overfull": "validate_playbook_maxItems_endorsed",
    "fill_phantom": "validate_fill_pattern_playbook",
}


def test_the_validatord_contract_reproduces_the_six_seed_cases(tmp_path, capsys):
    out = tmp_path / "cases.toml"
    assert main(["cases", "from-openapi", str(REPO / "sample_configs" / "validatord.openapi.yaml"),
                 "--out", str(out)]) == 0
    generated = {c["name"]: c for c in tomllib.loads(out.read_text())["case"]}
    seeds = {c["name"]: c for c in tomllib.loads((REPO / "sample_configs" / "parity" /
                                                 "validator_cases.toml").read_text())["case"]}
    assert set(seeds) == set(SEED_TO_GENERATED)
    for seed_name, name in SEED_TO_GENERATED.items():
        seed, case = seeds[seed_name], generated[name]
        assert (case["method"], case["path"], case["expect_status"]) == (
            seed["method"], seed["path"], seed["expect_status"]), name
        assert shape(case["json"]) == shape(seed["json"]), name
    assert generated["validate_playbook_pattern_fingerprint"]["json"]["fingerprint"][:3] != "pb_"  # a prefix broken
    printed = capsys.readouterr().out
    assert f"wrote {out}" in printed and "2 operation(s) → 20 cases (3 valid, 17 invalid)" in printed


def test_a_sloppy_contract_still_gives_cases_and_says_what_it_could_not_make(tmp_path):
    spec = write_spec(tmp_path, """
        openapi: 3.0.0
        info: {title: sloppy, version: "0"}
        security: [{bearer: []}]
        paths:
          /upload:
            post:
              operationId: upload
              requestBody:
                required: true
                content: {application/octet-stream: {schema: {type: string, format: binary}}}
              responses: {"200": {description: ok}}
            trace:
              responses: {"200": {description: ok}}
          /things/{id}:
            put:
              operationId: putThing
              parameters: [{name: session, in: cookie, required: true, schema: {type: string}}]
              requestBody:
                content:
                  application/json:
                    schema:
                      type: object
                      properties:
                        name: {type: string, required: true, maxLength: 1000000000}
                        list: {type: array, items: string, minItems: 1000000000}
                        odd: {properties: [1, 2], enum: "x"}
                        code: {type: string, pattern: "(?<=x)\\\\p{L}+"}
              responses: {"200": {description: ok}}
    """)
    result = from_openapi(spec)
    cases = {c.name: c for c in result.cases}
    assert cases["putThing_valid"].path == "/things/1"
    body = cases["putThing_valid"].json
    assert 0 < len(body["list"]) <= 10_000 and body["name"] == "example"
    assert "putThing_maxLength_name" not in cases  # a billion characters is not sent
    assert "upload_valid" not in cases
    notes = "\n".join(result.notes)
    for expected in ('paths["/upload"].post.requestBody: only JSON and form bodies are generated '
                     "(application/octet-stream); operation skipped",
                     'paths["/upload"].trace: TRACE is not probed',
                     'path parameter {id} is not declared; sent as 1',
                     "cookie parameter 'session' is not sent",
                     "no string matching pattern",
                     "1 operation(s) need credentials (putThing)"):
        assert expected in notes, expected


_KEYWORDS = ("type", "properties", "required", "items", "enum", "const", "pattern", "minLength", "maxLength",
             "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minItems", "maxItems", "uniqueItems",
             "allOf", "oneOf", "anyOf", "discriminator", "readOnly", "nullable", "example", "format", "multipleOf")
_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-3, 12), st.floats(-2, 5, allow_nan=False),
                     st.sampled_from(["string", "integer", "number", "object", "array", "boolean", "null", "^a+$",
                                      "kind", "date", "(", "uuid"]))
_JUNK = st.recursive(_SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(_KEYWORDS + ("kind", "name")), inner, max_size=4)),
    max_leaves=12)


@settings(max_examples=150, deadline=None)
@given(schema=_JUNK, parameter=_JUNK)
def test_any_schema_gives_cases_or_an_input_error_never_a_crash(schema, parameter):
    doc = {"openapi": "3.1.0", "info": {"title": "fuzz", "version": "1"},
           "paths": {"/x/{id}": {"post": {
               "parameters": [{"name": "id", "in": "path", "schema": parameter},
                              {"name": "q", "in": "query", "required": True, "schema": parameter}],
               "requestBody": {"content": {"application/json": {"schema": schema}}},
               "responses": {"200": {"description": "ok"}, "422": {"description": "no"}}}}}}
    with tempfile.TemporaryDirectory() as folder:
        spec = Path(folder) / "fuzz.json"
        spec.write_text(json.dumps(doc))
        try:
            result = from_openapi(spec)
        except InputError:
            return
        tomllib.loads(result.toml())  # whatever was made is a valid cases file
        assert any(c.name.endswith("_valid") for c in result.cases)


SERVED = """
openapi: 3.0.3
info: {title: patents, version: "1"}
servers:
  - url: "{scheme}://developer.example.gov/ds-api/{version}"
    variables:
      scheme: {default: https, enum: [https, http]}
      version: {default: v1}
paths:
  /fields:
    get:
      operationId: listFields
      responses: {"200": {description: the fields}}
"""


def test_paths_are_relative_to_the_server_and_its_variables_resolve_to_their_defaults(tmp_path, capsys):
    """uspto's server URL is `{scheme}://developer.uspto.gov/ds-api`: its path is the
    target's, so a service mounted at / is probed at `/fields`, and one at /ds-api/v1 by its URL."""
    spec = write_spec(tmp_path, SERVED)
    result = from_openapi(spec)
    assert result.server_path == "/ds-api/v1"
    assert [c.path for c in result.cases] == ["/fields"]
    assert "aim each target at it" in result.toml() and "/ds-api/v1" in result.toml()
    assert [c.path for c in from_openapi(spec, base_path="/ds-api/v1").cases] == ["/ds-api/v1/fields"]
    assert main(["cases", "from-openapi", str(spec), "--base-path", "/ds-api/v1",
                 "--out", str(tmp_path / "c.toml")]) == 0
    assert tomllib.loads((tmp_path / "c.toml").read_text())["case"][0]["path"] == "/ds-api/v1/fields"
    assert main(["cases", "from-openapi", str(spec), "--base-path", "ds-api"]) == 2
    assert "a base path starts with '/'" in capsys.readouterr().err


def test_the_format_follows_the_extension_and_anything_else_is_refused(tmp_path, write_config, capsys):
    spec = write_spec(tmp_path, SHOP)
    out = tmp_path / "cases.jsonl"
    assert main(["cases", "from-openapi", str(spec), "--out", str(out)]) == 0
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["name"] for line in lines] == [c.name for c in from_openapi(spec).cases]
    config = write_config("""
        [parity]
        reference = "a"
        cases_file = "cases.jsonl"
        [parity.targets]
        a = "http://127.0.0.1:1"
        b = "http://127.0.0.1:2"
    """)
    capsys.readouterr()
    assert main(["check", str(config)]) == 0, capsys.readouterr().err
    for argv, said in ((["--out", str(tmp_path / "cases.txt")], "a cases file ends in .toml or .jsonl"),
                       (["--out", str(tmp_path / "cases.jsonl"), "--format", "toml"], "--format toml, but")):
        assert main(["cases", "from-openapi", str(spec), *argv]) == 2
        assert said in capsys.readouterr().err
    assert not (tmp_path / "cases.txt").exists()
    assert main(["cases", "from-openapi", str(spec), "--format", "jsonl"]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert [json.loads(line)["name"] for line in printed] == [line["name"] for line in lines]


FORMS = """
openapi: 3.0.3
info: {title: calls, version: "2010-04-01"}
paths:
  /Calls.json:
    post:
      operationId: CreateCall
      requestBody:
        content:
          application/x-www-form-urlencoded:
            schema:
              type: object
              required: [To, From]
              properties:
                To: {type: string, pattern: "^\\\\+[1-9][0-9]{6,14}$"}
                From: {type: string, pattern: "^\\\\+[1-9][0-9]{6,14}$"}
                Timeout: {type: integer, minimum: 1, maximum: 600}
                StatusCallbackEvent: {type: array, items: {type: string, enum: [initiated, ringing]}}
      responses: {"201": {description: created}, "400": {description: refused}}
  /Recordings:
    post:
      operationId: CreateRecording
      requestBody:
        content:
          audio/mpeg: {schema: {type: string, format: binary}}
      responses: {"201": {description: created}}
"""


def test_a_form_body_is_generated_like_a_json_one_and_one_that_cannot_be_is_skipped_with_a_note(tmp_path):
    """Twilio's CreateCall takes a urlencoded form, not marked required: it was sent with no
    body at all and expected 201. Its form is generated; a body of audio is not, so that
    operation is left out (with a note) rather than sent without what it needs."""
    result = from_openapi(write_spec(tmp_path, FORMS))
    cases = {c.name: c for c in result.cases}
    valid = cases["CreateCall_valid"]
    assert valid.headers == {"Content-Type": "application/x-www-form-urlencoded"} and valid.json is UNSET
    fields = dict(pair.split("=") for pair in valid.body.split("&"))
    assert {"To", "From", "Timeout", "StatusCallbackEvent"} <= set(fields)
    assert re.fullmatch(r"%2B[1-9][0-9]{6,14}", fields["To"])
    assert "To=" not in cases["CreateCall_missing_To"].body and cases["CreateCall_missing_To"].expect_status == 400
    assert "Timeout=not-an-integer" in cases["CreateCall_type_Timeout"].body
    assert "Timeout=601" in cases["CreateCall_maximum_Timeout"].body
    assert "StatusCallbackEvent=initiated_unknown" in cases["CreateCall_enum_StatusCallbackEvent.0"].body
    assert not [name for name in cases if name.startswith("CreateRecording")]
    assert any("CreateRecording" not in n and 'paths["/Recordings"].post.requestBody: only JSON and form bodies'
               in n and "operation skipped" in n for n in result.notes)


def test_a_large_contract_prints_its_classes_with_examples_not_a_line_per_case(tmp_path, capsys):
    doc = {"openapi": "3.0.3", "info": {"title": "many", "version": "1"}, "paths": {
        f"/things{i}": {"post": {"operationId": f"make{i}", "requestBody": {"content": {"application/json": {
            "schema": {"type": "object", "required": ["name"], "properties": {
                "name": {"type": "string", "maxLength": 5}, "size": {"type": "integer", "minimum": 0}}}}}},
            "responses": {"201": {"description": "made"}, "422": {"description": "no"}}}}
        for i in range(120)}}
    spec = write_spec(tmp_path, json.dumps(doc), "many.json")
    out = tmp_path / "cases.toml"
    assert main(["cases", "from-openapi", str(spec), "--out", str(out)]) == 0
    printed = capsys.readouterr().out.splitlines()
    cases = len(tomllib.loads(out.read_text())["case"])
    assert cases == 120 * 7  # valid, the body and name and size of a wrong type, missing name, two bounds
    assert len(printed) < 40, "\n".join(printed)
    assert "operations: 30/120" in printed and f"{cases} cases in 5 classes, 3 of each shown" in "\n".join(printed)
    assert any(line.split()[:2] == ["maxLength", "120"] for line in printed)
    assert main(["cases", "from-openapi", str(spec), "--out", str(out), "--verbose"]) == 0
    assert len(capsys.readouterr().out.splitlines()) > cases


def test_a_contract_with_only_webhooks_says_there_is_nothing_to_call(tmp_path, capsys):
    spec = write_spec(tmp_path, """
        openapi: 3.1.0
        info: {title: hooks, version: "1"}
        webhooks:
          newPet:
            post:
              requestBody: {content: {application/json: {schema: {type: object}}}}
              responses: {"200": {description: ok}}
    """)
    assert main(["cases", "from-openapi", str(spec)]) == 2
    err = capsys.readouterr().err.replace("\n", " ")
    assert "webhooks only (newPet)" in err and "nothing to call" in err and "no operation" not in err


_WORDS = st.text(alphabet="abcxyz019-_", min_size=1, max_size=6)


@settings(max_examples=100, deadline=None)
@given(items=st.lists(_WORDS, min_size=1, max_size=4), numbers=st.lists(st.integers(-50, 50), min_size=1, max_size=3),
       style=st.sampled_from([("query", "form", True), ("query", "form", False), ("query", "spaceDelimited", False),
                              ("query", "pipeDelimited", False), ("path", "simple", False), ("path", "label", True),
                              ("path", "label", False), ("path", "matrix", True), ("path", "matrix", False),
                              ("header", "simple", False)]))
def test_a_value_written_after_its_style_reads_back_as_the_same_value(items, numbers, style):
    """What a server reads from a parameter is what was meant: the check of an invalid request
    reads it back this way, so a round trip that lost an item would misjudge it."""
    from probes.cases._wire import Style, read, write

    where, kind, explode = style
    for value, schema in ((items, {"type": "array", "items": {"type": "string"}}),
                          (numbers, {"type": "array", "items": {"type": "integer"}}),
                          (numbers[0], {"type": "integer"}), (items[0], {"type": "string"})):
        wire = Style("p", where, kind, explode)
        assert read(write(value, wire), wire, schema) == value, (value, write(value, wire))
    shaped = {"type": "object", "properties": {"n": {"type": "integer"}, "s": {"type": "string"}}}
    for wire in (Style("p", where, kind, explode), Style("p", "query", "deepObject", True)):
        value = {"n": numbers[0], "s": items[0]}
        assert read(write(value, wire), wire, shaped) == value, write(value, wire)
