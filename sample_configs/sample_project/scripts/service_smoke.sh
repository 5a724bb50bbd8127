#!/bin/sh
# The service parses (without writing bytecode into the project).
set -eu
python3 -c 'import ast, sys; ast.parse(open(sys.argv[1]).read(), sys.argv[1]); print("service parses")' service/notes.py
