"""A real mock as the oracle of generated OpenAPI cases: Connexion serves a contract of our
own (arrays in each query style, enums, patterns, bounds, a nullable field, a JSON body, a
urlencoded form and a multipart form) and validates every request against it. Every
generated invalid case must draw a 4xx from it and every valid case a 2xx: an "invalid"
request the contract in fact allows (`?tags=not-an-array`, a one-item array) is a case a
person would not have written.

pydantic's lax mode is the oracle for coercion: a FastAPI service (pydantic models) turns
`"1"` into 1 and `"true"` into True, so a wrong type that either would accept is no wrong type.
"""

from __future__ import annotations

import socket
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import connexion
import httpx
import pytest
import uvicorn

from probes.cases._openapi import from_openapi
from probes.config import load_config
from probes.parity._exchange import build_request

PETS = """
openapi: 3.0.3
info: {title: pets, version: "1"}
servers: [{url: "https://pets.example.com/v1"}]
paths:
  /pets:
    get:
      operationId: listPets
      parameters:
        - {name: tags, in: query, schema: {type: array, items: {type: string}}}
        - name: kinds
          in: query
          required: true
          style: form
          explode: false
          schema: {type: array, items: {type: string, enum: [cat, dog, owl]}, minItems: 1, maxItems: 2}
        - {name: colours, in: query, style: pipeDelimited, explode: false,
           schema: {type: array, items: {type: string, pattern: "^[a-z]+$"}, maxItems: 2}}
        - {name: limit, in: query, required: true, schema: {type: integer, minimum: 1, maximum: 50}}
        - {name: X-Request-Id, in: header, required: true, schema: {type: string, pattern: "^[a-f0-9]{8}$"}}
      responses: {"200": {description: the pets}, "400": {description: refused}}
    post:
      operationId: addPet
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: "#/components/schemas/Pet"}
      responses: {"201": {description: added}, "400": {description: refused}}
  /pets/{petId}:
    get:
      operationId: getPet
      parameters:
        - {name: petId, in: path, required: true, schema: {type: integer, minimum: 1, maximum: 9999}}
      responses: {"200": {description: the pet}, "400": {description: refused}}
  /pets/{petId}/photo:
    post:
      operationId: addPhoto
      parameters:
        - {name: petId, in: path, required: true, schema: {type: integer, minimum: 1}}
      requestBody:
        content:
          multipart/form-data:
            schema:
              type: object
              required: [caption, file]
              properties:
                caption: {type: string, minLength: 2, maxLength: 30}
                rating: {type: integer, minimum: 1, maximum: 5}
                file: {type: string, format: binary}
      responses: {"201": {description: stored}, "400": {description: refused}}
  /login:
    post:
      operationId: login
      requestBody:
        required: true
        content:
          application/x-www-form-urlencoded:
            schema:
              type: object
              required: [user, password]
              properties:
                user: {type: string, pattern: "^[a-z][a-z0-9]{2,11}$"}
                password: {type: string, minLength: 8, maxLength: 64}
                remember: {type: boolean}
                age: {type: integer, minimum: 13, maximum: 150}
                scopes: {type: array, items: {type: string, enum: [read, write]}, maxItems: 2}
      responses: {"200": {description: in}, "400": {description: refused}}
components:
  schemas:
    Pet:
      type: object
      required: [name, kind]
      properties:
        name: {type: string, minLength: 1, maxLength: 20}
        kind: {type: string, enum: [cat, dog, owl]}
        age: {type: integer, minimum: 0, maximum: 30}
        weight: {type: number, minimum: 0, exclusiveMinimum: true, maximum: 100}
        tags: {type: array, items: {type: string, pattern: "^[a-z]+$"}, maxItems: 3, uniqueItems: true}
        nickname: {type: string, nullable: true, maxLength: 10}
        chip: {anyOf: [{type: string, minLength: 15, maxLength: 15}, {type: integer, minimum: 1}]}
        owner:
          type: object
          required: [email]
          properties:
            email: {type: string, format: email, minLength: 6}
"""

STATUS = {"listPets": 200, "addPet": 201, "getPet": 200, "addPhoto": 201, "login": 200}


def _handler(operation_id: str) -> Any:
    status = STATUS[operation_id]

    async def handle(*args: Any, **kwargs: Any) -> tuple[dict[str, bool], int]:
        return {"ok": True}, status

    return handle


@pytest.fixture(scope="module")
def mock(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """Connexion serving PETS on 127.0.0.1 (a port of its own), once for the module: the
    contract's path and the target URL, which carries the server path /v1."""
    folder = tmp_path_factory.mktemp("oracle")
    spec = folder / "pets.yaml"
    spec.write_text(textwrap.dedent(PETS))
    app = connexion.AsyncApp(__name__)
    app.add_api(spec, resolver=connexion.resolver.Resolver(function_resolver=_handler))
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()  # connections wait in the backlog until the server accepts them
    server = uvicorn.Server(uvicorn.Config(app, log_level="error", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    try:
        yield spec, f"http://127.0.0.1:{listener.getsockname()[1]}/v1"
    finally:
        server.should_exit = True
        thread.join(10)
        listener.close()


def test_every_invalid_case_draws_a_4xx_and_every_valid_one_a_2xx(mock, tmp_path, parity_config):
    spec, url = mock
    generated = from_openapi(spec)
    (tmp_path / "cases.toml").write_text(generated.toml())
    config = load_config(parity_config(url, url, parity='cases_file = "cases.toml"', names=("mock", "again")), env={})
    kinds = {c.name: c.kind for c in generated.cases}
    wrong = []
    with httpx.Client(timeout=10, trust_env=False) as client:
        for case in config.parity.cases:
            status = client.request(**build_request(case, url)).status_code
            valid = kinds[case.name] == "valid"
            if not (200 <= status < 300 if valid else 400 <= status < 500):
                wrong.append(f"{case.name}: {status}")
    assert not wrong, wrong
    assert generated.valid == 5 and len(generated.cases) > 60
    names = {c.name for c in generated.cases}
    # every kind of constraint is exercised, in each place a value travels
    for expected in ("listPets_maxItems_query.kinds", "listPets_enum_query.kinds.0", "listPets_pattern_query.colours.0",
                     "listPets_maximum_query.limit", "listPets_pattern_header.X-Request-Id", "getPet_type_path.petId",
                     "addPet_maxLength_nickname", "addPet_minimum_weight", "addPet_missing_owner.email",
                     "addPhoto_maximum_rating", "addPhoto_missing_file", "login_pattern_user", "login_type_age",
                     "login_enum_scopes.0", "login_maxItems_scopes", "login_type_remember"):
        assert expected in names, expected
    # ?tags=not-an-array is a one-item array under the default style: never sent as invalid
    assert not {"listPets_type_query.tags", "listPets_type_query.kinds", "listPets_type_query.colours"} & names
    assert "listPets_type_query.limit" in names  # text that is no integer is a wrong type
    # a number where the first alternative wants text is the second alternative: dropped, counted
    assert "addPet_type_chip" not in names and "addPet_minLength_chip" in names
    assert generated.dropped == 1 and any("addPet_type_chip" in n for n in generated.notes)


FASTAPI_STYLE = """
openapi: 3.1.0
info: {title: FastAPI, version: 0.1.0}
paths:
  /items/:
    post:
      operationId: create_item_items__post
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: "#/components/schemas/Item"}
      responses:
        "200": {description: Successful Response}
        "422": {description: Validation Error}
components:
  schemas:
    Item:
      type: object
      title: Item
      required: [name, size, is_active]
      properties:
        name: {type: string, title: Name}
        size: {type: integer, title: Size}
        price: {anyOf: [{type: number}, {type: "null"}], title: Price}
        is_active: {type: boolean, title: Is Active}
        tags: {type: array, items: {type: string}, title: Tags}
"""


def test_a_wrong_type_is_one_that_lax_coercion_refuses_too(tmp_path):
    """FastAPI's own spec style: `size = "1"` or `is_active = "true"` would be accepted by
    pydantic's default lax mode, so no generated wrong type may be such a value."""
    from pydantic import TypeAdapter, ValidationError

    spec = tmp_path / "fastapi.yaml"
    spec.write_text(textwrap.dedent(FASTAPI_STYLE))
    cases = {c.name: c for c in from_openapi(spec).cases}
    lax = {"": dict[str, Any], "name": str, "size": int, "price": float | None, "is_active": bool,
           "tags": list[str], "tags.0": str}
    typed = {name.removeprefix("create_item_items__post_type").lstrip("_"): case
             for name, case in cases.items() if case.kind == "type"}
    assert set(typed) == set(lax)
    for where, case in typed.items():
        value = case.json
        for part in filter(None, where.split(".")):
            value = value[int(part) if part.isdigit() else part]
        with pytest.raises(ValidationError):
            TypeAdapter(lax[where]).validate_python(value)
    assert "neither strict nor lax validation coerces" in from_openapi(spec).toml()
