#!/bin/sh
# The contract is there and says which OpenAPI it is.
set -eu
grep -q '^openapi: 3\.' openapi.yaml
echo "contract ok: $(grep -c 'operationId:' openapi.yaml) operations"
